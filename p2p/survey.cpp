#include "p2p/survey.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace preflight::p2p {

std::string_view to_string(SurveyPhase phase) {
  return phase == SurveyPhase::initial ? "initial" : "retest";
}

const std::vector<int>& PlannedRound::rails_of(std::size_t pair_index) const {
  static const std::vector<int> kEveryRail;
  return pair_index < rails.size() ? rails[pair_index] : kEveryRail;
}

SurveyPlan plan_initial_rounds(int node_count, const SurveyPolicy& policy) {
  switch (policy.schedule) {
    case InitialSchedule::all_pairs:
      return {"all-pairs", all_pairs_schedule(node_count)};
    case InitialSchedule::ring:
      return {"ring", ring_schedule(node_count)};
    case InitialSchedule::automatic:
      break;
  }
  if (node_count - 1 <= policy.max_rounds) {
    return {"all-pairs", all_pairs_schedule(node_count)};
  }
  SurveyPlan plan{"sparse", ring_schedule(node_count)};
  for (Round& round : random_matching_schedule(node_count, policy.random_rounds, policy.seed)) {
    plan.rounds.push_back(std::move(round));
  }
  return plan;
}

namespace {

// What the measurements so far say about each link, over every metric.
struct LinkHistory {
  int measurements = 0;
  int valid_retests = 0;  // re-test or control measurements that count (fewest over the metrics)
  bool healthy = true;    // fast (valid, not slow) in every metric that measured it
};

class RoundBuilder {
 public:
  RoundBuilder(int node_count, const Judgement& judgement, std::span<const Measurement> measured)
      : judgement_(judgement), busy_(static_cast<std::size_t>(node_count), false) {
    for (const Measurement& m : measured) {
      LinkHistory& history = history_[make_pair_of(m.pair.a, m.pair.b)];
      // Every metric of a pair test is one measurement of the link: count the first metric only.
      if (m.metric == 0) {
        ++history.measurements;
      }
    }
    // Re-tests that count: the fewest over the metrics of a rail (each pair test measures every
    // metric), the most over the rails (a re-test measures only the rails its suspicion is about).
    std::map<std::pair<NodePair, int>, int> retests_on_rail;
    for (const MetricJudgement& group : judgement.metrics) {
      for (const LinkEvidence& link : group.links) {
        auto found = history_.find(link.pair);
        if (found != history_.end()) {
          LinkHistory& history = found->second;
          history.healthy = history.healthy && !link.slow && link.valid > 0;
          // A re-test taken during a slow spell (or without a control) does not count.
          const auto [entry, first] =
              retests_on_rail.try_emplace({link.pair, group.rail}, link.retests);
          if (!first) {
            entry->second = std::min(entry->second, link.retests);
          }
        }
      }
    }
    for (const auto& [key, retests] : retests_on_rail) {
      LinkHistory& history = history_[key.first];
      history.valid_retests = std::max(history.valid_retests, retests);
    }
    adjacency_.resize(busy_.size());
    for (const auto& [pair, history] : history_) {
      adjacency_[static_cast<std::size_t>(pair.a)].push_back({pair.b, &history});
      adjacency_[static_cast<std::size_t>(pair.b)].push_back({pair.a, &history});
    }
    round_.phase = SurveyPhase::retest;
  }

  void add_suspect_links() {
    // Measured too few times (outside slow spells), or never in a re-test: measure it again.
    std::set<NodePair> remeasure;
    for (const MetricJudgement& group : judgement_.metrics) {
      for (const LinkEvidence& link : group.suspect_links) {
        if (link.valid < group.link_confirmations || link.retests == 0) {
          remeasure.insert(link.pair);
        }
      }
    }
    for (const NodePair& pair : judgement_.suspect_links) {
      const std::vector<int> rails = suspect_rails(pair);
      if (remeasure.contains(pair)) {
        take(pair, MeasurementRole::retest, rails);
        continue;
      }
      // Measured enough and still not attributable: an end lacks a fast partner. Test the ends
      // against known-good partners.
      for (const int end : {pair.a, pair.b}) {
        if (!fast_with_another(end, end == pair.a ? pair.b : pair.a)) {
          add_new_partner(end, rails);
        }
      }
    }
  }

  void add_suspect_nodes() {
    for (const int node : judgement_.suspect_nodes) {
      add_new_partner(node, suspect_rails(node));
    }
  }

  // A known-good link between two free known-good nodes, measured healthy in every metric.
  // Returns whether there was one.
  bool add_control() {
    const std::set<int> good(judgement_.known_good.begin(), judgement_.known_good.end());
    const NodePair* best = nullptr;
    int best_measurements = 0;
    for (const auto& [pair, history] : history_) {
      if (!good.contains(pair.a) || !good.contains(pair.b) || is_busy(pair) || !history.healthy) {
        continue;
      }
      if (best == nullptr || history.measurements > best_measurements) {
        best = &pair;
        best_measurements = history.measurements;
      }
    }
    if (best == nullptr) {
      return false;
    }
    take(*best, MeasurementRole::control);
    return true;
  }

  // Controls on every free known-good pair: a re-test round as loaded as a survey round. A
  // re-test in a round of two pairs ran faster than the crowded survey rounds that set the
  // threshold (on a shared fabric, or CPUs), so a half-rate node read above it and was cleared.
  void fill_with_controls() {
    while (add_control()) {
    }
  }

  PlannedRound finish() { return std::move(round_); }

 private:
  [[nodiscard]] bool is_busy(const NodePair& pair) const {
    return busy_[static_cast<std::size_t>(pair.a)] || busy_[static_cast<std::size_t>(pair.b)];
  }

  void take(const NodePair& pair, MeasurementRole role, std::vector<int> rails = {}) {
    if (is_busy(pair)) {
      return;
    }
    busy_[static_cast<std::size_t>(pair.a)] = true;
    busy_[static_cast<std::size_t>(pair.b)] = true;
    round_.pairs.push_back(pair);
    round_.roles.push_back(role);
    round_.rails.push_back(std::move(rails));
  }

  // The rails on which a node (or a link) is suspected: a re-test measures those alone. Empty
  // (every rail) when a suspicion is about all rails at once.
  [[nodiscard]] std::vector<int> suspect_rails(int node) const {
    std::set<int> rails;
    for (const MetricJudgement& group : judgement_.metrics) {
      const auto touches = [&](const auto& list, auto&& is_it) {
        return std::any_of(list.begin(), list.end(), is_it);
      };
      if (touches(group.suspect_nodes, [&](const NodeEvidence& e) { return e.node == node; }) ||
          touches(group.suspect_links,
                  [&](const LinkEvidence& e) { return e.pair.a == node || e.pair.b == node; })) {
        if (group.rail == kAllRails) {
          return {};
        }
        rails.insert(group.rail);
      }
    }
    return {rails.begin(), rails.end()};
  }
  [[nodiscard]] std::vector<int> suspect_rails(const NodePair& pair) const {
    std::set<int> rails;
    for (const MetricJudgement& group : judgement_.metrics) {
      if (std::any_of(group.suspect_links.begin(), group.suspect_links.end(),
                      [&](const LinkEvidence& e) { return e.pair == pair; })) {
        if (group.rail == kAllRails) {
          return {};
        }
        rails.insert(group.rail);
      }
    }
    return {rails.begin(), rails.end()};
  }

  // Fast (in every metric) with a partner other than `except`.
  [[nodiscard]] bool fast_with_another(int node, int except) const {
    const auto& mine = adjacency_[static_cast<std::size_t>(node)];
    return std::any_of(mine.begin(), mine.end(), [&](const auto& entry) {
      return entry.first != except && entry.second->healthy;
    });
  }

  // Pairs `node` with a free known-good partner: one it never met first (new evidence), else one
  // it has not been re-tested with (so far as the judgement counts it), else one whose link with
  // it is still slow, measured the fewest times (one fast reading clears a link; for a suspect
  // node in a small cluster, its partners are all there is).
  void add_new_partner(int node, const std::vector<int>& rails) {
    if (busy_[static_cast<std::size_t>(node)]) {
      return;
    }
    std::optional<NodePair> not_retested;
    std::optional<NodePair> still_slow;
    int fewest = 0;
    for (const int partner : judgement_.known_good) {
      if (partner == node || busy_[static_cast<std::size_t>(partner)]) {
        continue;
      }
      const NodePair pair = make_pair_of(node, partner);
      const auto found = history_.find(pair);
      if (found == history_.end()) {
        take(pair, MeasurementRole::retest, rails);
        return;
      }
      const LinkHistory& history = found->second;
      if (history.valid_retests == 0 && !not_retested) {
        not_retested = pair;
      }
      if (!history.healthy && (!still_slow || history.measurements < fewest)) {
        still_slow = pair;
        fewest = history.measurements;
      }
    }
    if (not_retested || still_slow) {
      take(not_retested ? *not_retested : *still_slow, MeasurementRole::retest, rails);
    }
  }

  const Judgement& judgement_;
  std::vector<bool> busy_;
  std::map<NodePair, LinkHistory> history_;
  std::vector<std::vector<std::pair<int, const LinkHistory*>>> adjacency_;  // into history_
  PlannedRound round_;
};

}  // namespace

PlannedRound plan_confirmation_round(int node_count, const Judgement& judgement,
                                     std::span<const Measurement> measured) {
  const auto retests = [](const PlannedRound& round) {
    return std::count(round.roles.begin(), round.roles.end(), MeasurementRole::retest);
  };
  const auto has_control = [](const PlannedRound& round) {
    return std::find(round.roles.begin(), round.roles.end(), MeasurementRole::control) !=
           round.roles.end();
  };
  // The re-tests first, then control pairs among the nodes left free.
  RoundBuilder builder(node_count, judgement, measured);
  builder.add_suspect_nodes();
  builder.add_suspect_links();
  builder.fill_with_controls();
  PlannedRound round = builder.finish();
  if (!has_control(round)) {
    // The re-tests took the known-good pairs a control needs (a slow spell of the survey makes
    // half the cluster suspect): give the control its place first. Without a control, the round's
    // slow readings are no evidence (p2p/judgement.hpp); its fast ones still clear suspects.
    RoundBuilder reserved(node_count, judgement, measured);
    reserved.add_control();
    reserved.add_suspect_nodes();
    reserved.add_suspect_links();
    reserved.fill_with_controls();
    PlannedRound with_control = reserved.finish();
    if (retests(with_control) > 0) {
      round = std::move(with_control);
    }
  }
  return retests(round) > 0 ? round : PlannedRound{SurveyPhase::retest, {}, {}, {}};
}

namespace {

void measure_into(SurveyResult& result, const MeasureRound& measure, const PlannedRound& round,
                  int round_index) {
  for (Measurement m : measure(round, round_index)) {
    m.round = round_index;
    const NodePair pair = make_pair_of(m.pair.a, m.pair.b);
    const auto found = std::find(round.pairs.begin(), round.pairs.end(), pair);
    m.role = found == round.pairs.end()
                 ? MeasurementRole::survey
                 : round.roles[static_cast<std::size_t>(found - round.pairs.begin())];
    result.measurements.push_back(m);
  }
}

}  // namespace

SurveyResult run_survey(int node_count, std::span<const SurveyMetric> metrics,
                        const SurveyPolicy& policy, const MeasureRound& measure) {
  SurveyResult result;
  const SurveyPlan plan = plan_initial_rounds(node_count, policy);
  result.mode = plan.mode;
  result.initial_rounds = static_cast<int>(plan.rounds.size());
  int round_index = 0;
  for (const Round& pairs : plan.rounds) {
    PlannedRound round{SurveyPhase::initial,
                       pairs,
                       std::vector<MeasurementRole>(pairs.size(), MeasurementRole::survey),
                       {}};
    measure_into(result, measure, round, round_index++);
  }
  result.initial = judge(node_count, metrics, result.measurements, policy.judgement);
  result.judgement = result.initial;
  while (policy.retest && !result.judgement.settled()) {
    if (result.retest_rounds >= policy.max_retest_rounds) {
      result.budget_spent = true;
      break;
    }
    const PlannedRound round =
        plan_confirmation_round(node_count, result.judgement, result.measurements);
    if (round.pairs.empty()) {
      break;
    }
    measure_into(result, measure, round, round_index++);
    ++result.retest_rounds;
    result.judgement = judge(node_count, metrics, result.measurements, policy.judgement);
  }
  return result;
}

}  // namespace preflight::p2p
