#include "p2p/survey.hpp"

#include <algorithm>
#include <set>

namespace preflight::p2p {

std::string_view to_string(SurveyPhase phase) {
  return phase == SurveyPhase::initial ? "initial" : "retest";
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

std::vector<OutlierVerdict> judge_survey(int node_count, std::span<const SurveyMetric> metrics,
                                         std::span<const SurveyMeasurement> measurements,
                                         const OutlierPolicy& policy) {
  std::vector<OutlierVerdict> verdicts;
  for (std::size_t metric = 0; metric < metrics.size(); ++metric) {
    std::vector<LinkMeasurement> links;
    for (const SurveyMeasurement& measurement : measurements) {
      if (measurement.metric == metric) {
        links.push_back({measurement.pair, measurement.value});
      }
    }
    verdicts.push_back(find_outliers(node_count, links, metrics[metric].better, policy));
  }
  return verdicts;
}

std::vector<Round> plan_retest_rounds(int node_count, std::span<const OutlierVerdict> verdicts,
                                      std::span<const SurveyMeasurement> measured,
                                      const SurveyPolicy& policy) {
  std::set<NodePair> bad_links;
  std::set<int> suspects;
  std::vector<bool> suspect_somewhere(static_cast<std::size_t>(std::max(node_count, 0)), false);
  std::vector<bool> good_somewhere(suspect_somewhere.size(), false);
  for (const OutlierVerdict& verdict : verdicts) {
    for (const LinkAssessment& link : verdict.bad_links) {
      bad_links.insert(link.pair);
    }
    for (const int node : verdict.suspects) {
      suspects.insert(node);
      suspect_somewhere[static_cast<std::size_t>(node)] = true;
    }
    for (const int node : verdict.known_good) {
      good_somewhere[static_cast<std::size_t>(node)] = true;
    }
  }
  // Known good in every metric: measured, and a suspect in none.
  std::vector<int> known_good;
  for (int node = 0; node < node_count; ++node) {
    if (good_somewhere[static_cast<std::size_t>(node)] &&
        !suspect_somewhere[static_cast<std::size_t>(node)]) {
      known_good.push_back(node);
    }
  }
  std::set<NodePair> already;
  for (const SurveyMeasurement& measurement : measured) {
    already.insert(measurement.pair);
  }

  std::vector<NodePair> pairs(bad_links.begin(), bad_links.end());
  if (!known_good.empty()) {
    // A cursor that keeps moving across suspects spreads the load over the known-good nodes, so
    // few of them are needed twice and the re-test stays a handful of rounds.
    std::size_t cursor = 0;
    for (const int suspect : suspects) {
      int chosen = 0;
      for (std::size_t tried = 0; tried < known_good.size() && chosen < policy.retest_partners;
           ++tried) {
        const int partner = known_good[cursor % known_good.size()];
        ++cursor;
        if (partner == suspect || already.contains(make_pair_of(suspect, partner))) {
          continue;
        }
        pairs.push_back(make_pair_of(suspect, partner));
        ++chosen;
      }
    }
  }
  return pack_into_rounds(pairs);
}

SurveyResult run_survey(int node_count, std::span<const SurveyMetric> metrics,
                        const SurveyPolicy& policy, const MeasureRound& measure) {
  SurveyResult result;
  const SurveyPlan plan = plan_initial_rounds(node_count, policy);
  result.mode = plan.mode;
  result.initial_rounds = static_cast<int>(plan.rounds.size());
  for (std::size_t index = 0; index < plan.rounds.size(); ++index) {
    for (const SurveyMeasurement& measurement :
         measure(plan.rounds[index], SurveyPhase::initial, static_cast<int>(index))) {
      result.measurements.push_back(measurement);
    }
  }
  result.initial_verdicts = judge_survey(node_count, metrics, result.measurements, policy.outliers);
  if (policy.retest) {
    const std::vector<Round> retests =
        plan_retest_rounds(node_count, result.initial_verdicts, result.measurements, policy);
    result.retest_rounds = static_cast<int>(retests.size());
    std::set<int> suspects;
    for (const OutlierVerdict& verdict : result.initial_verdicts) {
      suspects.insert(verdict.suspects.begin(), verdict.suspects.end());
    }
    result.retested_nodes.assign(suspects.begin(), suspects.end());
    for (std::size_t index = 0; index < retests.size(); ++index) {
      for (const SurveyMeasurement& measurement :
           measure(retests[index], SurveyPhase::retest, static_cast<int>(index))) {
        result.measurements.push_back(measurement);
      }
    }
  }
  result.verdicts = result.retest_rounds > 0
                        ? judge_survey(node_count, metrics, result.measurements, policy.outliers)
                        : result.initial_verdicts;
  return result;
}

}  // namespace preflight::p2p
