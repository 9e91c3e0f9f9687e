// The link survey on simulated clusters: planted bad nodes and links must be found, no healthy
// node blamed, in a number of rounds that stays O(k) at 1,024 nodes (DESIGN.md, "Scale").
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>

#include "p2p/survey.hpp"

namespace preflight::p2p {
namespace {

// A simulated cluster: healthy links at 12 GB/s and 4 us with +-3% noise that differs every time
// a link is measured; bad nodes are slow with every partner, bad links only between their two.
class SimulatedCluster {
 public:
  SimulatedCluster(int nodes, std::set<int> bad_nodes, std::set<NodePair> bad_links)
      : nodes_(nodes), bad_nodes_(std::move(bad_nodes)), bad_links_(std::move(bad_links)) {}

  std::vector<SurveyMeasurement> measure(const Round& round) {
    EXPECT_TRUE(rounds_are_valid(std::vector<Round>{round}, nodes_)) << "a node in two tests";
    ++rounds_;
    std::vector<SurveyMeasurement> out;
    for (const NodePair& pair : round) {
      double bandwidth = 12e9 * noise();
      double latency = 4e-6 * noise();
      if (bad_nodes_.contains(pair.a) || bad_nodes_.contains(pair.b)) {
        bandwidth *= 0.4;
        latency *= 3.0;
      }
      if (bad_links_.contains(pair)) {
        bandwidth *= 0.5;
        latency *= 2.0;
      }
      out.push_back({pair, 0, bandwidth});
      out.push_back({pair, 1, latency});
    }
    return out;
  }
  [[nodiscard]] int rounds() const { return rounds_; }

 private:
  double noise() {  // splitmix64 -> [0.97, 1.03]
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    z ^= z >> 31U;
    return 0.97 + 0.06 * static_cast<double>(z >> 11U) / static_cast<double>(1ULL << 53U);
  }

  int nodes_;
  std::set<int> bad_nodes_;
  std::set<NodePair> bad_links_;
  int rounds_ = 0;
  std::uint64_t state_ = 12345;
};

const std::vector<SurveyMetric> kMetrics = {{"bandwidth_Bps", Better::higher},
                                            {"latency_s", Better::lower}};

std::set<int> found_nodes(const OutlierVerdict& verdict) {
  std::set<int> nodes;
  for (const auto& node : verdict.bad_nodes) {
    nodes.insert(node.node);
  }
  return nodes;
}

std::set<NodePair> found_links(const OutlierVerdict& verdict) {
  std::set<NodePair> links;
  for (const auto& link : verdict.bad_links) {
    links.insert(link.pair);
  }
  return links;
}

TEST(Survey, ThousandNodesFindPlantedBadNodesAndLinksInFewRounds) {
  constexpr int kNodes = 1024;
  SurveyPolicy policy;  // automatic: 1023 rounds > max_rounds 32 -> scale mode
  policy.seed = 7;
  const SurveyPlan plan = plan_initial_rounds(kNodes, policy);
  ASSERT_EQ(plan.mode, "sparse");
  ASSERT_EQ(plan.rounds.size(), 2U + 4U);  // ring (even N: 2 rounds) + 4 random matchings

  const std::set<int> bad_nodes = {17, 300, 511, 777, 1000};
  // Bad links can only be found where the initial rounds measure: plant them on ring neighbours
  // and on pairs the random matchings drew, away from the bad nodes.
  std::set<NodePair> bad_links = {{100, 101}, {640, 641}};
  for (const std::size_t round : {2U, 4U}) {
    for (const NodePair& pair : plan.rounds[round]) {
      if (!bad_nodes.contains(pair.a) && !bad_nodes.contains(pair.b) && pair.a > 200 &&
          !bad_links.contains(pair)) {
        bad_links.insert(pair);
        break;
      }
    }
  }
  ASSERT_EQ(bad_links.size(), 4U);

  SimulatedCluster cluster(kNodes, bad_nodes, bad_links);
  const SurveyResult result =
      run_survey(kNodes, kMetrics, policy,
                 [&](const Round& round, SurveyPhase, int) { return cluster.measure(round); });

  ASSERT_EQ(result.verdicts.size(), 2U);
  for (const OutlierVerdict& verdict : result.verdicts) {
    EXPECT_EQ(found_nodes(verdict), bad_nodes);  // all found, no healthy node blamed
    EXPECT_EQ(found_links(verdict), bad_links);  // all found, no healthy link blamed
  }
  const int rounds = result.initial_rounds + result.retest_rounds;
  EXPECT_EQ(rounds, cluster.rounds());
  EXPECT_EQ(result.initial_rounds, 6);
  EXPECT_LE(result.retest_rounds, 8);
  EXPECT_LE(rounds, 14) << "rounds must stay O(k), not O(N)";
  // Suspects: the bad nodes and the ends of the bad links, nothing else.
  std::set<int> expected_suspects = bad_nodes;
  for (const NodePair& link : bad_links) {
    expected_suspects.insert(link.a);
    expected_suspects.insert(link.b);
  }
  EXPECT_EQ(std::set<int>(result.retested_nodes.begin(), result.retested_nodes.end()),
            expected_suspects);
  RecordProperty("rounds", rounds);
  RecordProperty("retest_rounds", result.retest_rounds);
  std::cout << "1024 nodes: " << result.initial_rounds << " initial + " << result.retest_rounds
            << " re-test rounds = " << rounds << " rounds (all pairs would take 1023), "
            << result.measurements.size() / 2 << " pair tests\n";
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
  SimulatedCluster cluster(kNodes, {}, {unmeasured});
  const SurveyResult result =
      run_survey(kNodes, kMetrics, policy,
                 [&](const Round& round, SurveyPhase, int) { return cluster.measure(round); });
  for (const OutlierVerdict& verdict : result.verdicts) {
    EXPECT_TRUE(verdict.bad_nodes.empty());
    EXPECT_TRUE(verdict.bad_links.empty());
  }
  EXPECT_EQ(result.retest_rounds, 0);
}

TEST(Survey, SmallClusterRunsAllPairsAndSeparatesNodeFromLink) {
  constexpr int kNodes = 12;
  SimulatedCluster cluster(kNodes, {5}, {{0, 11}, {3, 8}});
  const SurveyResult result =
      run_survey(kNodes, kMetrics, SurveyPolicy{},
                 [&](const Round& round, SurveyPhase, int) { return cluster.measure(round); });
  EXPECT_EQ(result.mode, "all-pairs");
  EXPECT_EQ(result.initial_rounds, kNodes - 1);
  EXPECT_GT(result.retest_rounds, 0);
  for (const OutlierVerdict& verdict : result.verdicts) {
    EXPECT_EQ(found_nodes(verdict), std::set<int>{5});
    EXPECT_EQ(found_links(verdict), (std::set<NodePair>{{0, 11}, {3, 8}}));
    EXPECT_EQ(verdict.links.size(), static_cast<std::size_t>(kNodes * (kNodes - 1) / 2));
  }
}

TEST(Survey, RingScheduleAndNoRetest) {
  SurveyPolicy policy;
  policy.schedule = InitialSchedule::ring;
  policy.retest = false;
  SimulatedCluster cluster(9, {}, {});
  const SurveyResult result =
      run_survey(9, kMetrics, policy,
                 [&](const Round& round, SurveyPhase, int) { return cluster.measure(round); });
  EXPECT_EQ(result.mode, "ring");
  EXPECT_EQ(result.initial_rounds, 3);
  EXPECT_EQ(result.retest_rounds, 0);
  EXPECT_EQ(result.measurements.size(), 9U * 2U);
}

TEST(Survey, RetestPairsAvoidPartnersAlreadyMeasured) {
  SimulatedCluster cluster(40, {3}, {});
  SurveyPolicy policy;
  policy.max_rounds = 4;  // force the scale mode at 40 nodes
  policy.retest = false;
  const SurveyResult first =
      run_survey(40, kMetrics, policy,
                 [&](const Round& round, SurveyPhase, int) { return cluster.measure(round); });
  policy.retest = true;
  const auto rounds = plan_retest_rounds(40, first.verdicts, first.measurements, policy);
  ASSERT_FALSE(rounds.empty());
  std::set<NodePair> already;
  for (const auto& m : first.measurements) {
    already.insert(m.pair);
  }
  int partners_of_3 = 0;
  for (const Round& round : rounds) {
    for (const NodePair& pair : round) {
      EXPECT_FALSE(already.contains(pair));
      partners_of_3 += pair.a == 3 || pair.b == 3 ? 1 : 0;
    }
  }
  EXPECT_EQ(partners_of_3, policy.retest_partners);
}

}  // namespace
}  // namespace preflight::p2p
