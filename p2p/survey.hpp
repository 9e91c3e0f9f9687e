// A link survey of a cluster: which pair tests to run, in which rounds, until the judgement
// (p2p/judgement.hpp) is settled. Plain functions of (node count, measurements); the measuring is a
// callback, so the same code drives real pair tests (preflight-p2p, inside its one job: the
// re-tests cost no extra launch) and the simulated 1,024-node clusters of the unit tests.
//
//   1. initial rounds: every pair ("circle" schedule, N-1 rounds) while N-1 <= max_rounds, else the
//      scale mode: the ring neighbours plus `random_rounds` random perfect matchings (O(k) rounds);
//   2. judge;
//   3. confirm before blame: while something is only suspected and the re-test budget lasts, one
//      more round: each suspect link measured again, each suspect node against a known-good partner
//      it has not been re-tested with, the ends of a link that cannot be attributed against
//      known-good partners, and beside them control pairs (known-good links) on every free
//      known-good pair, so that the round is as loaded as a survey round and a slow spell of the
//      whole machine is seen as one; then judge again.
//
// In the scale mode a bad link is found only if one of the initial rounds measured it: the ring and
// k matchings cover about (k + 2) N / 2 of the N (N - 1) / 2 links. Bad nodes are always found.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "p2p/judgement.hpp"
#include "p2p/schedule.hpp"

namespace preflight::p2p {

enum class InitialSchedule { automatic, all_pairs, ring };

struct SurveyPolicy {
  InitialSchedule schedule = InitialSchedule::automatic;
  int max_rounds = 32;         // automatic: all pairs while N - 1 <= max_rounds
  int random_rounds = 4;       // scale mode: k random perfect matchings after the ring
  int max_retest_rounds = 14;  // confirm-before-blame budget (1,024 nodes: 6 + 14 = 20 rounds)
  bool retest = true;
  std::uint64_t seed = 1;
  JudgementPolicy judgement;
};

enum class SurveyPhase { initial, retest };
[[nodiscard]] std::string_view to_string(SurveyPhase phase);

struct SurveyPlan {
  std::string mode;  // "all-pairs", "ring" or "sparse" (ring + random matchings)
  std::vector<Round> rounds;
};

[[nodiscard]] SurveyPlan plan_initial_rounds(int node_count, const SurveyPolicy& policy);

// One round of pair tests and why each pair is in it (parallel to `pairs`).
struct PlannedRound {
  SurveyPhase phase = SurveyPhase::initial;
  Round pairs;
  std::vector<MeasurementRole> roles;
  // Runs over rails: the rails each pair is measured on (parallel to `pairs`; empty, or an empty
  // entry: every rail at once). A re-test measures only the rails its suspicion is about, each
  // alone; a control pair runs on every rail.
  std::vector<std::vector<int>> rails;

  [[nodiscard]] const std::vector<int>& rails_of(std::size_t pair_index) const;
};

// The next confirmation round after `judgement` over `measured`: empty when nothing a measurement
// could settle is left (or nothing can be paired).
[[nodiscard]] PlannedRound plan_confirmation_round(int node_count, const Judgement& judgement,
                                                   std::span<const Measurement> measured);

// Runs one round of pair tests and returns the measurements of every metric of every pair (pair,
// metric and value; the survey fills in the round and the role).
using MeasureRound =
    std::function<std::vector<Measurement>(const PlannedRound& round, int round_index)>;

struct SurveyResult {
  std::string mode;
  int initial_rounds = 0;
  int retest_rounds = 0;
  bool budget_spent = false;  // stopped with suspects left because the re-test budget ran out
  std::vector<Measurement> measurements;  // every one, in the order taken
  Judgement initial;                      // after the initial rounds
  Judgement judgement;                    // final
};

[[nodiscard]] SurveyResult run_survey(int node_count, std::span<const SurveyMetric> metrics,
                                      const SurveyPolicy& policy, const MeasureRound& measure);

}  // namespace preflight::p2p
