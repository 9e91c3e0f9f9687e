// A link survey of a cluster: which pair tests to run, in which rounds, and what they say about
// nodes and links. Plain functions of (node count, measurements); the measuring itself is a
// callback, so the same code drives real pair tests (preflight-p2p, preflight cluster) and the
// simulated 1,024-node cluster of the unit tests.
//
//   1. initial rounds: every pair ("circle" schedule, N-1 rounds) while N-1 <= max_rounds, else the
//      scale mode: the ring neighbours plus `random_rounds` random perfect matchings (O(k) rounds);
//   2. verdict per metric (p2p/outliers.hpp);
//   3. re-test rounds: each bad link once more, and each suspect node against `retest_partners`
//      known-good partners it has not met yet (slow with every partner: a bad node; slow with one
//      partner only: a bad link);
//   4. final verdict on all measurements (a link counts with its best value).
//
// In the scale mode a bad link is found only if one of the initial rounds measured it: the ring and
// k matchings cover about (k + 2) N / 2 of the N (N - 1) / 2 links. Bad nodes are always found.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "p2p/outliers.hpp"
#include "p2p/schedule.hpp"

namespace preflight::p2p {

enum class InitialSchedule { automatic, all_pairs, ring };

struct SurveyPolicy {
  InitialSchedule schedule = InitialSchedule::automatic;
  int max_rounds = 32;      // automatic: all pairs while N - 1 <= max_rounds
  int random_rounds = 4;    // scale mode: k random perfect matchings after the ring
  int retest_partners = 3;  // known-good partners per suspect node
  bool retest = true;
  std::uint64_t seed = 1;
  OutlierPolicy outliers;
};

struct SurveyMetric {
  std::string name;  // e.g. "latency_s", "bandwidth_Bps"
  Better better = Better::higher;
};

struct SurveyMeasurement {
  NodePair pair;
  std::size_t metric = 0;  // index into the metrics
  double value = 0;
};

enum class SurveyPhase { initial, retest };
[[nodiscard]] std::string_view to_string(SurveyPhase phase);

struct SurveyPlan {
  std::string mode;  // "all-pairs", "ring" or "sparse" (ring + random matchings)
  std::vector<Round> rounds;
};

[[nodiscard]] SurveyPlan plan_initial_rounds(int node_count, const SurveyPolicy& policy);

// One verdict per metric over all measurements so far.
[[nodiscard]] std::vector<OutlierVerdict> judge_survey(
    int node_count, std::span<const SurveyMetric> metrics,
    std::span<const SurveyMeasurement> measurements, const OutlierPolicy& policy);

// The re-test rounds after `verdicts` (one per metric): bad links again, suspects against
// known-good partners (known good in every metric), avoiding partners already measured.
[[nodiscard]] std::vector<Round> plan_retest_rounds(int node_count,
                                                    std::span<const OutlierVerdict> verdicts,
                                                    std::span<const SurveyMeasurement> measured,
                                                    const SurveyPolicy& policy);

// Runs one round of pair tests and returns its measurements (every metric of every pair).
using MeasureRound = std::function<std::vector<SurveyMeasurement>(
    const Round& round, SurveyPhase phase, int round_index)>;

struct SurveyResult {
  std::string mode;
  int initial_rounds = 0;
  int retest_rounds = 0;
  std::vector<int> retested_nodes;  // the suspects of the initial verdicts
  std::vector<SurveyMeasurement> measurements;
  std::vector<OutlierVerdict> initial_verdicts;  // before the re-tests
  std::vector<OutlierVerdict> verdicts;          // final, one per metric
};

[[nodiscard]] SurveyResult run_survey(int node_count, std::span<const SurveyMetric> metrics,
                                      const SurveyPolicy& policy, const MeasureRound& measure);

}  // namespace preflight::p2p
