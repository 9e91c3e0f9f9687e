// The survey with its confirmation rounds on simulated clusters (p2p/simulation.hpp): planted bad
// nodes and links must be found, nothing healthy blamed, in a number of rounds that stays O(k) at
// 1,024 nodes, under per-measurement lognormal noise and slow spells of the whole machine.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "p2p/simulation.hpp"
#include "p2p/survey.hpp"

namespace preflight::p2p {
namespace {

SurveyResult run(SimulatedCluster& cluster, const SurveyPolicy& policy) {
  return run_survey(cluster.spec().nodes, simulated_metrics(), policy,
                    [&](const PlannedRound& round, int index) {
                      EXPECT_EQ(round.pairs.size(), round.roles.size());
                      return cluster.measure(round, index);
                    });
}

std::set<int> as_set(const std::vector<int>& nodes) {
  return {nodes.begin(), nodes.end()};
}
std::set<NodePair> as_set(const std::vector<NodePair>& links) {
  return {links.begin(), links.end()};
}

// Rails: every pair test measures both rails at once; node 2's rail 1 runs at half rate. The survey
// re-tests that rail alone (the other rail is not measured again) against new known-good partners,
// and names a bad NIC, not a bad node, in a few rounds.
TEST(Survey, ARailAtHalfRateIsReTestedAloneAndNamedABadNic) {
  const std::vector<SurveyMetric> metrics = {{"bandwidth_Bps", Better::higher}};
  std::vector<std::vector<int>> retest_rails;
  const MeasureRound measure = [&](const PlannedRound& round, int /*index*/) {
    std::vector<Measurement> taken;
    for (std::size_t i = 0; i < round.pairs.size(); ++i) {
      std::vector<int> rails = round.rails_of(i);
      if (round.phase == SurveyPhase::retest && round.roles[i] == MeasurementRole::retest) {
        retest_rails.push_back(rails);
      }
      if (rails.empty()) {
        rails = {0, 1};
      }
      const NodePair& pair = round.pairs[i];
      for (const int rail : rails) {
        const bool slow = rail == 1 && (pair.a == 2 || pair.b == 2);
        taken.push_back({pair, 0, slow ? 0.5e9 : 1e9, 0, MeasurementRole::survey, rail});
      }
    }
    return taken;
  };
  const SurveyResult result = run_survey(4, metrics, SurveyPolicy{}, measure);
  const Judgement& j = result.judgement;
  EXPECT_TRUE(j.bad_nodes.empty());
  EXPECT_TRUE(j.bad_links.empty());
  EXPECT_EQ(j.bad_nics, (std::vector<NicRef>{{2, 1}}));
  EXPECT_TRUE(j.settled());
  ASSERT_FALSE(retest_rails.empty());
  for (const auto& rails : retest_rails) {
    EXPECT_EQ(rails, std::vector<int>{1}) << "a re-test measures the suspect rail alone";
  }
  EXPECT_LE(result.retest_rounds, 4) << "new partners each round, not the same one again";
}

// The bar: 1,024 nodes, 20% noise, 5 half-rate nodes and 5 half-rate links planted, slow
// spells in 5% of the rounds: every fault found, nothing healthy blamed, at most 20 rounds.
TEST(Survey, ThousandNodesAtTwentyPercentNoiseFindEveryFaultAndBlameNothingHealthy) {
  constexpr int kNodes = 1024;
  for (const std::uint64_t seed : {1U, 2U, 3U}) {
    SurveyPolicy policy;
    policy.seed = seed;
    const SurveyPlan plan = plan_initial_rounds(kNodes, policy);
    ASSERT_EQ(plan.mode, "sparse");
    ASSERT_EQ(plan.rounds.size(), 2U + 4U);  // ring (even N: 2 rounds) + 4 random matchings
    SimulationSpec spec;
    spec.nodes = kNodes;
    spec.noise_sigma = 0.2;
    spec.spell_probability = 0.05;
    spec.seed = 100 + seed;
    plant_faults(spec, policy, 5, 5, 200 + seed);
    ASSERT_EQ(spec.bad_nodes.size(), 5U);
    ASSERT_EQ(spec.bad_links.size(), 5U);
    SimulatedCluster cluster(spec);
    const SurveyResult result = run(cluster, policy);
    const Judgement& j = result.judgement;
    EXPECT_EQ(as_set(j.bad_nodes), spec.bad_nodes) << "seed " << seed;
    EXPECT_EQ(as_set(j.bad_links), spec.bad_links) << "seed " << seed;
    const int rounds = result.initial_rounds + result.retest_rounds;
    EXPECT_EQ(rounds, cluster.rounds());
    EXPECT_LE(rounds, 20) << "rounds must stay O(k), not O(N)";
    EXPECT_TRUE(j.settled()) << j.suspect_nodes.size() << " suspect nodes, "
                             << j.suspect_links.size() << " suspect links left";
    std::cout << "1024 nodes, 20% noise, seed " << seed << ": " << result.initial_rounds
              << " initial + " << result.retest_rounds << " re-test rounds, "
              << cluster.spell_rounds().size() << " slow spells, " << result.measurements.size() / 2
              << " pair tests\n";
  }
}

// The virtual cluster's shape (bench/cluster): 6 hosts, all pairs, one host or one link at half
// rate, noise as a network-bound run shows it (healthy links 0.10-0.12 GB/s).
TEST(Survey, SixNodesFindAHalfRateHostOrLinkAndNothingElse) {
  for (const std::uint64_t seed : {1U, 2U, 3U, 4U, 5U}) {
    SurveyPolicy policy;
    for (const bool node_fault : {true, false}) {
      SimulationSpec spec;
      spec.nodes = 6;
      spec.noise_sigma = 0.1;
      spec.seed = seed;
      if (node_fault) {
        spec.bad_nodes = {2};
      } else {
        spec.bad_links = {{1, 4}};
      }
      SimulatedCluster cluster(spec);
      const SurveyResult result = run(cluster, policy);
      EXPECT_EQ(result.mode, "all-pairs");
      EXPECT_EQ(as_set(result.judgement.bad_nodes), spec.bad_nodes) << seed;
      EXPECT_EQ(as_set(result.judgement.bad_links), spec.bad_links) << seed;
      EXPECT_TRUE(result.judgement.settled());
      EXPECT_TRUE(result.initial.bad_nodes.empty() && result.initial.bad_links.empty())
          << "the initial rounds alone blame nothing";
      EXPECT_LE(result.retest_rounds, 4);
    }
  }
}

// A CPU-bound cluster: healthy links spread over 4x, and slow spells. Nothing may be blamed.
TEST(Survey, AVeryNoisyHealthyClusterBlamesNobody) {
  for (const std::uint64_t seed : {1U, 2U, 3U, 4U, 5U, 6U, 7U, 8U}) {
    SimulationSpec spec;
    spec.nodes = 6;
    spec.noise_sigma = 0.6;
    spec.spell_probability = 0.1;
    spec.seed = seed;
    SimulatedCluster cluster(spec);
    const SurveyResult result = run(cluster, SurveyPolicy{});
    EXPECT_TRUE(result.judgement.bad_nodes.empty()) << seed;
    EXPECT_TRUE(result.judgement.bad_links.empty()) << seed;
  }
}

TEST(Survey, ConfirmationRoundsAreFilledWithControlPairsAndNeverUseANodeTwice) {
  SimulationSpec spec;
  spec.nodes = 8;
  spec.noise_sigma = 0.05;
  spec.bad_nodes = {5};
  spec.bad_links = {{0, 1}};
  SimulatedCluster cluster(spec);
  std::vector<PlannedRound> seen;
  long most_controls = 0;
  const SurveyResult result =
      run_survey(8, simulated_metrics(), SurveyPolicy{}, [&](const PlannedRound& round, int index) {
        seen.push_back(round);
        return cluster.measure(round, index);
      });
  ASSERT_GT(result.retest_rounds, 0);
  for (const PlannedRound& round : seen) {
    EXPECT_TRUE(rounds_are_valid(std::vector<Round>{round.pairs}, 8));
    if (round.phase == SurveyPhase::retest) {
      const auto controls =
          std::count(round.roles.begin(), round.roles.end(), MeasurementRole::control);
      const auto retests =
          std::count(round.roles.begin(), round.roles.end(), MeasurementRole::retest);
      EXPECT_GE(controls, 1) << "known-good links beside the re-tests";
      EXPECT_EQ(static_cast<std::size_t>(retests + controls), round.pairs.size());
      most_controls = std::max<long>(most_controls, controls);
      for (std::size_t i = 0; i < round.pairs.size(); ++i) {
        if (round.roles[i] == MeasurementRole::control) {
          EXPECT_FALSE(spec.bad_nodes.contains(round.pairs[i].a) ||
                       spec.bad_nodes.contains(round.pairs[i].b));
          EXPECT_FALSE(spec.bad_links.contains(round.pairs[i]));
        }
      }
    }
  }
  // Filled: the free known-good pairs run beside the re-tests, as loaded as a survey round.
  EXPECT_GE(most_controls, 2);
  EXPECT_EQ(as_set(result.judgement.bad_nodes), spec.bad_nodes);
  EXPECT_EQ(as_set(result.judgement.bad_links), spec.bad_links);
  // Every measurement is kept, with its round and role.
  EXPECT_EQ(
      result.measurements.size(), 2 * [&] {
        std::size_t pairs = 0;
        for (const PlannedRound& round : seen) {
          pairs += round.pairs.size();
        }
        return pairs;
      }());
  EXPECT_TRUE(std::any_of(result.measurements.begin(), result.measurements.end(),
                          [](const Measurement& m) { return m.role == MeasurementRole::control; }));
}

TEST(Survey, WithoutRetestsSuspectsStaySuspectsAndNothingIsBlamed) {
  SimulationSpec spec;
  spec.nodes = 7;
  spec.noise_sigma = 0.05;
  spec.bad_nodes = {3};
  SimulatedCluster cluster(spec);
  SurveyPolicy policy;
  policy.retest = false;
  const SurveyResult result = run(cluster, policy);
  EXPECT_EQ(result.retest_rounds, 0);
  EXPECT_TRUE(result.judgement.bad_nodes.empty());
  EXPECT_EQ(result.judgement.suspect_nodes, std::vector<int>{3});
}

TEST(Survey, ASpentBudgetLeavesSuspectsNamed) {
  SimulationSpec spec;
  spec.nodes = 12;
  spec.noise_sigma = 0.05;
  spec.bad_links = {{2, 9}};
  SimulatedCluster cluster(spec);
  SurveyPolicy policy;
  policy.max_retest_rounds = 1;
  const SurveyResult result = run(cluster, policy);
  EXPECT_TRUE(result.budget_spent);
  EXPECT_EQ(result.retest_rounds, 1);
  EXPECT_TRUE(result.judgement.bad_links.empty());
  EXPECT_EQ(result.judgement.suspect_links, (std::vector<NodePair>{{2, 9}}));
}

TEST(Survey, ABadLinkTheSparseRoundsNeverMeasuredIsNotFoundAndBlamesNobody) {
  constexpr int kNodes = 256;
  SurveyPolicy policy;
  const SurveyPlan plan = plan_initial_rounds(kNodes, policy);
  std::set<NodePair> measured;
  for (const Round& round : plan.rounds) {
    measured.insert(round.begin(), round.end());
  }
  NodePair unmeasured{0, 0};
  for (int b = 2; b < kNodes && unmeasured.b == 0; ++b) {
    if (!measured.contains(NodePair{0, b})) {
      unmeasured = {0, b};
    }
  }
  ASSERT_NE(unmeasured.b, 0);
  SimulationSpec spec;
  spec.nodes = kNodes;
  spec.noise_sigma = 0.05;
  spec.bad_links = {unmeasured};
  SimulatedCluster cluster(spec);
  const SurveyResult result = run(cluster, policy);
  EXPECT_TRUE(result.judgement.bad_nodes.empty());
  EXPECT_TRUE(result.judgement.bad_links.empty());
}

TEST(Survey, RingScheduleWhenAsked) {
  SurveyPolicy policy;
  policy.schedule = InitialSchedule::ring;
  const SurveyPlan plan = plan_initial_rounds(9, policy);
  EXPECT_EQ(plan.mode, "ring");
  EXPECT_EQ(plan.rounds.size(), 3U);
  policy.schedule = InitialSchedule::automatic;
  policy.max_rounds = 8;
  EXPECT_EQ(plan_initial_rounds(9, policy).mode, "all-pairs");
  policy.max_rounds = 7;
  EXPECT_EQ(plan_initial_rounds(9, policy).mode, "sparse");
}

}  // namespace
}  // namespace preflight::p2p
