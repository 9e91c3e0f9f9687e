#include "p2p/judgement.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "common/stats.hpp"

namespace preflight::p2p {

std::string_view to_string(Better better) {
  return better == Better::higher ? "higher_is_better" : "lower_is_better";
}

std::string_view to_string(MeasurementRole role) {
  switch (role) {
    case MeasurementRole::survey:
      return "survey";
    case MeasurementRole::retest:
      return "retest";
    case MeasurementRole::control:
      return "control";
  }
  return "survey";
}

std::optional<MeasurementRole> parse_measurement_role(std::string_view text) {
  for (const MeasurementRole role :
       {MeasurementRole::survey, MeasurementRole::retest, MeasurementRole::control}) {
    if (to_string(role) == text) {
      return role;
    }
  }
  return std::nullopt;
}

void validate_policy(const JudgementPolicy& policy) {
  if (!(policy.slow_fraction > 0 && policy.slow_fraction < 1)) {
    throw std::invalid_argument(
        fmt::format("slow fraction {} must be above 0 and below 1", policy.slow_fraction));
  }
  if (!(policy.node_slow_fraction >= 0 && policy.node_slow_fraction < 1)) {
    throw std::invalid_argument(
        fmt::format("node slow fraction {} must be in [0, 1)", policy.node_slow_fraction));
  }
  if (policy.min_partners < 1 || policy.link_confirmations < 1 || policy.node_confirmations < 1) {
    throw std::invalid_argument("partner and confirmation counts must be at least 1");
  }
  if (!(policy.false_blame > 0 && policy.false_blame < 1)) {
    throw std::invalid_argument(
        fmt::format("false blame {} must be above 0 and below 1", policy.false_blame));
  }
}

bool Judgement::is_bad_node(int node) const {
  return std::binary_search(bad_nodes.begin(), bad_nodes.end(), node);
}

bool Judgement::is_bad_nic(int node, int rail) const {
  return std::binary_search(bad_nics.begin(), bad_nics.end(), NicRef{node, rail});
}

namespace {

// A value as a rate, higher is better: bandwidth as it is, latency as its inverse.
double rate_of(double value, Better better) {
  return better == Better::higher ? value : 1.0 / value;
}
double value_of(double rate, Better better) {
  if (better == Better::higher) {
    return rate;
  }
  return rate > 0 ? 1.0 / rate : 0.0;
}

// Median of the rates; for an even count the higher middle value, so a healthy node with as many
// bad partners as good ones still shows what a good partner gets.
double favourable_median(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

// The upper quartile, interpolated between the two nearest ranks (so four nodes give a level
// between their two best, not one of them).
double upper_quartile(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  const double position = 0.75 * static_cast<double>(rates.size() - 1);
  const auto below = static_cast<std::size_t>(position);
  const std::size_t above = std::min(below + 1, rates.size() - 1);
  const double weight = position - static_cast<double>(below);
  return rates[below] * (1 - weight) + rates[above] * weight;
}

// The confirmations needed so that `trials` chances at probability `share` each give fewer than
// `allowed` false positives in expectation: the smallest k >= minimum with trials x share^k below
// allowed (capped, so a very noisy cluster asks for many re-tests rather than forever).
int confirmations_needed(int minimum, double trials, double share, double allowed) {
  constexpr int kMostConfirmations = 12;
  if (share <= 0 || trials <= 0) {
    return minimum;
  }
  if (share >= 1) {
    return kMostConfirmations;
  }
  const double k = std::ceil(std::log(allowed / trials) / std::log(share));
  return std::clamp(static_cast<int>(k), minimum, kMostConfirmations);
}

// A re-test and a control pair need four distinct nodes.
constexpr int kFewestNodesForAControl = 4;

class GroupJudge {
 public:
  GroupJudge(int node_count, const SurveyMetric& metric, int rail,
             const std::vector<const Measurement*>& measurements, const JudgementPolicy& policy)
      : node_count_(node_count), metric_(metric), policy_(policy), measurements_(measurements) {
    result_.metric = metric.name;
    result_.better = metric.better;
    result_.rail = rail;
  }

  MetricJudgement judge() {
    // Every measurement first; then the slow spells that level shows, and the level again without
    // their slow readings (twice: a reading near the threshold may change sides once).
    aggregate_links();
    if (set_reference()) {
      find_control_spells();
      find_majority_spells();
      for (int pass = 0; pass < 2 && !spells_.empty(); ++pass) {
        aggregate_links();
        (void)set_reference();
      }
    }
    result_.spell_rounds.assign(spells_.begin(), spells_.end());
    if (measured_.empty()) {
      // Nothing valid: every link measured only during slow spells must be measured again.
      for (auto& [pair, link] : links_) {
        result_.links.push_back(link);
        result_.suspect_links.push_back(link);
      }
      return result_;
    }
    for (auto& [pair, link] : links_) {
      link.rate_ratio = link.valid > 0 ? link.best_rate / reference_rate_ : 0.0;
      link.slow = link.valid > 0 && link.best_rate < threshold_rate_;
    }
    adjacency_.assign(static_cast<std::size_t>(node_count_), {});
    for (auto& [pair, link] : links_) {
      adjacency_[static_cast<std::size_t>(pair.a)].push_back({pair.b, &link});
      adjacency_[static_cast<std::size_t>(pair.b)].push_back({pair.a, &link});
    }
    peel_candidates();
    find_known_good();
    set_confirmations_needed();
    confirm();
    for (const auto& [pair, link] : links_) {
      result_.links.push_back(link);
    }
    return result_;
  }

 private:
  [[nodiscard]] double rate(const Measurement& m) const { return rate_of(m.value, metric_.better); }

  // Rounds in which most control pairs (known-good links) came out slow by the cluster's own
  // standard, and re-test rounds without a control (from four nodes on, where one is possible):
  // their slow readings are no evidence. Most, not any: a round carries a control on every free
  // known-good pair, and with many of them noise alone makes some slow.
  void find_control_spells() {
    std::set<int> retest_rounds;
    std::map<int, std::pair<int, int>> controls;  // round -> (controls, slow controls)
    for (const Measurement* m : measurements_) {
      if (m->role == MeasurementRole::control) {
        auto& [count, slow] = controls[m->round];
        ++count;
        slow += rate(*m) < threshold_rate_ ? 1 : 0;
      } else if (m->role == MeasurementRole::retest) {
        retest_rounds.insert(m->round);
      }
    }
    std::set<int> controlled;
    for (const auto& [round, counts] : controls) {
      controlled.insert(round);
      if (2 * counts.second > counts.first) {
        spells_.insert(round);
      }
    }
    if (node_count_ >= kFewestNodesForAControl) {
      for (const int round : retest_rounds) {
        if (!controlled.contains(round)) {
          spells_.insert(round);
        }
      }
    }
  }

  // A slow reading taken during a slow spell is no evidence; a fast one still is (noise only
  // lowers a rate).
  [[nodiscard]] bool valid(const Measurement& m) const {
    return !spells_.contains(m.round) || rate(m) >= threshold_rate_;
  }

  // Survey rounds of eight or more pairs in which most links came out slow: the survey's rounds
  // are a sample of the whole cluster, most of whose links are healthy. Returns whether any round
  // was added.
  void find_majority_spells() {
    // Fewer pairs than this, and noise alone often makes most of a round slow.
    constexpr int kFewestPairs = 8;
    std::map<int, std::pair<int, int>> rounds;  // round -> (pairs, slow)
    for (const Measurement* m : measurements_) {
      if (m->role != MeasurementRole::survey || spells_.contains(m->round)) {
        continue;
      }
      auto& [pairs, slow] = rounds[m->round];
      ++pairs;
      slow += rate(*m) < threshold_rate_ ? 1 : 0;
    }
    for (const auto& [round, counts] : rounds) {
      if (counts.first >= kFewestPairs && 2 * counts.second > counts.first) {
        spells_.insert(round);
      }
    }
  }

  void aggregate_links() {
    links_.clear();
    for (const Measurement* m : measurements_) {
      if (m->role == MeasurementRole::control) {
        // A control says how its round ran, not how its (known-good) link runs. Counted in the
        // link's best, the many controls of filled re-test rounds would raise healthy links'
        // best-of-N and with it the reference, turning links measured once into new suspects.
        continue;
      }
      auto [it, inserted] = links_.try_emplace(m->pair);
      LinkEvidence& e = it->second;
      if (inserted) {
        e.pair = m->pair;
        e.rail = result_.rail;
      }
      ++e.measurements;
      if (!valid(*m)) {
        continue;
      }
      if (e.valid == 0 || rate(*m) > e.best_rate) {
        e.best_rate = rate(*m);
        e.best = m->value;
      }
      ++e.valid;
      e.retests += m->role == MeasurementRole::survey ? 0 : 1;
    }
  }

  bool set_reference() {
    std::vector<std::vector<double>> rates(static_cast<std::size_t>(node_count_));
    for (const auto& [pair, link] : links_) {
      if (link.valid > 0) {
        rates[static_cast<std::size_t>(pair.a)].push_back(link.best_rate);
        rates[static_cast<std::size_t>(pair.b)].push_back(link.best_rate);
      }
    }
    typical_rate_.assign(static_cast<std::size_t>(node_count_), 0.0);
    measured_.clear();
    std::vector<double> typicals;
    for (int node = 0; node < node_count_; ++node) {
      const auto& mine = rates[static_cast<std::size_t>(node)];
      if (!mine.empty()) {
        typical_rate_[static_cast<std::size_t>(node)] = favourable_median(mine);
        typicals.push_back(typical_rate_[static_cast<std::size_t>(node)]);
        measured_.insert(node);
      }
    }
    if (typicals.empty()) {
      return false;
    }
    reference_rate_ = upper_quartile(typicals);
    threshold_rate_ = (1.0 - policy_.slow_fraction) * reference_rate_;
    result_.reference = value_of(reference_rate_, metric_.better);
    result_.threshold = value_of(threshold_rate_, metric_.better);
    return true;
  }

  // A node's partners (valid links to nodes not in `excluded`) and how many of those are slow.
  [[nodiscard]] std::pair<int, int> partner_counts(int node, const std::set<int>& excluded) const {
    int partners = 0;
    int slow = 0;
    for (const auto& [other, link] : neighbours(node)) {
      if (link->valid == 0 || excluded.contains(other)) {
        continue;
      }
      ++partners;
      slow += link->slow ? 1 : 0;
    }
    return {partners, slow};
  }

  [[nodiscard]] NodeEvidence node_evidence(int node, const std::set<int>& excluded) const {
    NodeEvidence e;
    e.node = node;
    e.rail = result_.rail;
    std::tie(e.partners, e.slow_partners) = partner_counts(node, excluded);
    const double typical = typical_rate_[static_cast<std::size_t>(node)];
    e.typical = value_of(typical, metric_.better);
    e.rate_ratio = reference_rate_ > 0 ? typical / reference_rate_ : 0.0;
    for (const auto& [other, link] : neighbours(node)) {
      e.supporting_measurements += link->slow ? link->valid : 0;
    }
    return e;
  }

  void peel_candidates() {
    while (true) {
      int worst = -1;
      double worst_fraction = 0;
      int worst_slow = 0;
      for (const int node : measured_) {
        if (candidates_.contains(node)) {
          continue;
        }
        const auto [partners, slow] = partner_counts(node, candidates_);
        if (partners < policy_.min_partners || !(slow > policy_.node_slow_fraction * partners)) {
          continue;
        }
        const double fraction = static_cast<double>(slow) / partners;
        if (worst < 0 || fraction > worst_fraction ||
            (fraction == worst_fraction && slow > worst_slow)) {
          worst = node;
          worst_fraction = fraction;
          worst_slow = slow;
        }
      }
      if (worst < 0) {
        return;
      }
      candidate_order_.push_back(node_evidence(worst, candidates_));
      candidates_.insert(worst);
    }
  }

  void find_known_good() {
    for (const int node : measured_) {
      if (candidates_.contains(node)) {
        continue;
      }
      bool explained = true;
      for (const auto& [other, link] : neighbours(node)) {
        if (link->slow || link->valid == 0) {
          explained = explained && candidates_.contains(other);
        }
      }
      if (explained) {
        known_good_.insert(node);
      }
    }
    result_.known_good.assign(known_good_.begin(), known_good_.end());
  }

  // p, and from it the confirmations a link and a node need here. p is the share of slow links in
  // the survey's rounds (not counting the candidates' links), leaving out rounds of two or more
  // such links in which every one came out slow: a slow spell makes a round slow all at once,
  // which is no evidence that a healthy link is often measured slow on its own (the controls
  // deal with spells in the re-tests).
  void set_confirmations_needed() {
    std::map<int, std::pair<int, int>> rounds;  // round -> (links, slow)
    for (const Measurement* m : measurements_) {
      if (m->role != MeasurementRole::survey || candidates_.contains(m->pair.a) ||
          candidates_.contains(m->pair.b)) {
        continue;
      }
      auto& [links, slow] = rounds[m->round];
      ++links;
      slow += rate(*m) < threshold_rate_ ? 1 : 0;
    }
    int links = 0;
    int slow = 0;
    for (const auto& [round, counts] : rounds) {
      if (counts.first >= 2 && counts.second == counts.first) {
        continue;
      }
      links += counts.first;
      slow += counts.second;
    }
    result_.slow_share = links > 0 ? static_cast<double>(slow) / links : 0.0;
    result_.link_confirmations =
        confirmations_needed(policy_.link_confirmations, static_cast<double>(links_.size()),
                             result_.slow_share, policy_.false_blame);
    // Every measured node had the chance to look bad by chance, not only the candidates.
    result_.node_confirmations =
        confirmations_needed(policy_.node_confirmations, static_cast<double>(measured_.size()),
                             result_.slow_share, policy_.false_blame);
  }

  // Fast with a partner other than `except` that is not a candidate.
  [[nodiscard]] bool fast_with_another(int node, int except) const {
    const auto& mine = neighbours(node);
    return std::any_of(mine.begin(), mine.end(), [&](const auto& entry) {
      const auto& [other, link] = entry;
      return other != except && !candidates_.contains(other) && link->valid > 0 && !link->slow;
    });
  }

  void confirm() {
    for (NodeEvidence evidence : candidate_order_) {
      for (const auto& [other, link] : neighbours(evidence.node)) {
        if (known_good_.contains(other) && link->retests > 0) {
          ++evidence.retested_partners;
          evidence.confirmed_partners += link->slow ? 1 : 0;
        }
      }
      if (evidence.confirmed_partners >= result_.node_confirmations &&
          evidence.confirmed_partners > policy_.node_slow_fraction * evidence.retested_partners) {
        result_.bad_nodes.push_back(evidence);
      } else {
        result_.suspect_nodes.push_back(evidence);
      }
    }
    for (const auto& [pair, link] : links_) {
      if (candidates_.contains(pair.a) || candidates_.contains(pair.b)) {
        continue;  // explained by a (candidate) bad node
      }
      if (link.valid == 0) {
        result_.suspect_links.push_back(link);  // measured only during slow spells
        continue;
      }
      if (!link.slow) {
        continue;
      }
      const bool attributable =
          fast_with_another(pair.a, pair.b) && fast_with_another(pair.b, pair.a);
      if (attributable && link.valid >= result_.link_confirmations && link.retests > 0) {
        result_.bad_links.push_back(link);
      } else {
        result_.suspect_links.push_back(link);
      }
    }
    for (const int node : measured_) {
      std::set<int> others = candidates_;
      others.erase(node);
      result_.nodes.push_back(node_evidence(node, others));
    }
  }

  using Neighbours = std::vector<std::pair<int, const LinkEvidence*>>;
  [[nodiscard]] const Neighbours& neighbours(int node) const {
    return adjacency_[static_cast<std::size_t>(node)];
  }

  int node_count_;
  const SurveyMetric& metric_;
  const JudgementPolicy& policy_;
  const std::vector<const Measurement*>& measurements_;
  MetricJudgement result_;
  std::set<int> spells_;
  std::map<NodePair, LinkEvidence> links_;
  std::vector<Neighbours> adjacency_;  // per node: (partner, link), pointing into links_
  std::vector<double> typical_rate_;
  double reference_rate_ = 0;
  double threshold_rate_ = 0;
  std::set<int> measured_;
  std::set<int> candidates_;
  std::vector<NodeEvidence> candidate_order_;
  std::set<int> known_good_;
};

void check_measurement(const Measurement& m, int node_count, std::size_t metric_count,
                       Better better) {
  if (m.pair.a < 0 || m.pair.b < 0 || m.pair.a >= node_count || m.pair.b >= node_count ||
      m.pair.a == m.pair.b) {
    throw std::invalid_argument(
        fmt::format("measurement of pair ({}, {}) names a node outside the "
                    "{} nodes of the cluster",
                    m.pair.a, m.pair.b, node_count));
  }
  if (m.metric >= metric_count) {
    throw std::invalid_argument(
        fmt::format("measurement names metric {} of {}", m.metric, metric_count));
  }
  const bool allowed_zero = better == Better::higher && m.value == 0;
  if (!std::isfinite(m.value) || m.value < 0 || (m.value == 0 && !allowed_zero)) {
    throw std::invalid_argument(
        fmt::format("measurement of pair ({}, {}) is {}: not a finite, "
                    "positive value",
                    m.pair.a, m.pair.b, m.value));
  }
}

// Per-rail verdicts folded into node, NIC and link verdicts: a node bad on every rail it was
// measured on is a bad node (its own fault, or its host's: every NIC of it is slow); bad on some
// rails only, it has bad NICs there. A link slow on a rail where an end's NIC is bad is explained
// by that NIC.
class RailFold {
 public:
  void add(const MetricJudgement& group) {
    if (group.rail == kAllRails) {
      return;
    }
    for (const NodeEvidence& node : group.nodes) {
      measured_[node.node].insert(group.rail);
    }
    for (const NodeEvidence& node : group.bad_nodes) {
      NicState& state = nics_[{node.node, group.rail}];
      state.bad = true;
      for (const LinkEvidence& link : group.links) {
        if ((link.pair.a == node.node || link.pair.b == node.node) && link.valid > 0) {
          state.carried = state.carried || link.best_rate > 0;
        }
      }
    }
    for (const LinkEvidence& link : group.bad_links) {
      bad_link_rails_[link.pair].insert(group.rail);
    }
  }

  void fold(Judgement& judgement, std::set<int>& bad_nodes) {
    std::map<int, std::set<int>> bad_rails;
    for (const auto& [nic, state] : nics_) {
      bad_rails[nic.node].insert(nic.rail);
    }
    for (const auto& [node, rails] : bad_rails) {
      if (std::includes(rails.begin(), rails.end(), measured_[node].begin(),
                        measured_[node].end())) {
        bad_nodes.insert(node);
      }
    }
    for (const auto& [nic, state] : nics_) {
      if (bad_nodes.contains(nic.node)) {
        continue;
      }
      judgement.bad_nics.push_back(nic);
      if (!state.carried) {
        judgement.unreachable_nics.push_back(nic);
      }
    }
    bad_nics_.insert(judgement.bad_nics.begin(), judgement.bad_nics.end());
  }

  // Every rail on which the link is bad has a bad NIC at one of its ends.
  [[nodiscard]] bool explained_by_nic(const NodePair& pair) const {
    const auto found = bad_link_rails_.find(pair);
    if (found == bad_link_rails_.end()) {
      return false;
    }
    return std::all_of(found->second.begin(), found->second.end(), [&](int rail) {
      return bad_nics_.contains({pair.a, rail}) || bad_nics_.contains({pair.b, rail});
    });
  }

 private:
  struct NicState {
    bool bad = false;
    bool carried = false;  // some valid measurement of its links moved bytes
  };
  std::map<int, std::set<int>> measured_;  // node -> rails it was measured on
  std::map<NicRef, NicState> nics_;        // bad on a rail, any metric
  std::map<NodePair, std::set<int>> bad_link_rails_;
  std::set<NicRef> bad_nics_;
};

}  // namespace

Judgement judge(int node_count, std::span<const SurveyMetric> metrics,
                std::span<const Measurement> measurements, const JudgementPolicy& policy) {
  validate_policy(policy);
  Judgement judgement;
  judgement.policy = policy;
  // Groups: (metric, rail), each judged on its own.
  // Pairs in either order (a < b after make_pair_of).
  std::vector<Measurement> normalised;
  normalised.reserve(measurements.size());
  for (const Measurement& m : measurements) {
    check_measurement(m, node_count, metrics.size(),
                      m.metric < metrics.size() ? metrics[m.metric].better : Better::higher);
    Measurement copy = m;
    copy.pair = make_pair_of(m.pair.a, m.pair.b);
    normalised.push_back(copy);
  }
  // Groups: (metric, rail), each judged on its own.
  std::map<std::pair<std::size_t, int>, std::vector<const Measurement*>> groups;
  for (const Measurement& m : normalised) {
    groups[{m.metric, m.rail}].push_back(&m);
  }

  std::set<int> bad_nodes;
  std::set<int> suspect_nodes;
  std::set<NodePair> bad_links;
  std::set<NodePair> suspect_links;
  std::set<int> measured;
  std::set<int> not_good;
  std::set<int> good_somewhere;
  RailFold rails;
  for (const auto& [key, members] : groups) {
    GroupJudge judge_group(node_count, metrics[key.first], key.second, members, policy);
    MetricJudgement group = judge_group.judge();
    rails.add(group);
    for (const NodeEvidence& node : group.bad_nodes) {
      if (group.rail == kAllRails) {
        bad_nodes.insert(node.node);
      }
    }
    for (const NodeEvidence& node : group.suspect_nodes) {
      suspect_nodes.insert(node.node);
    }
    for (const LinkEvidence& link : group.bad_links) {
      bad_links.insert(link.pair);
    }
    for (const LinkEvidence& link : group.suspect_links) {
      suspect_links.insert(link.pair);
    }
    for (const NodeEvidence& node : group.nodes) {
      measured.insert(node.node);
      const bool good =
          std::binary_search(group.known_good.begin(), group.known_good.end(), node.node);
      (good ? good_somewhere : not_good).insert(node.node);
    }
    judgement.metrics.push_back(std::move(group));
  }
  rails.fold(judgement, bad_nodes);
  judgement.bad_nodes.assign(bad_nodes.begin(), bad_nodes.end());
  const auto touches_bad_node = [&](const NodePair& pair) {
    return bad_nodes.contains(pair.a) || bad_nodes.contains(pair.b);
  };
  for (const NodePair& pair : bad_links) {
    if (!touches_bad_node(pair) && !rails.explained_by_nic(pair)) {
      judgement.bad_links.push_back(pair);
    }
  }
  for (const int node : suspect_nodes) {
    if (!bad_nodes.contains(node)) {
      judgement.suspect_nodes.push_back(node);
    }
  }
  for (const NodePair& pair : suspect_links) {
    if (!touches_bad_node(pair) &&
        !std::binary_search(judgement.bad_links.begin(), judgement.bad_links.end(), pair)) {
      judgement.suspect_links.push_back(pair);
    }
  }
  for (const int node : good_somewhere) {
    if (!not_good.contains(node)) {
      judgement.known_good.push_back(node);
    }
  }
  judgement.measured.assign(measured.begin(), measured.end());
  judgement.aggregates = node_aggregates(metrics, normalised, judgement);
  return judgement;
}

}  // namespace preflight::p2p
