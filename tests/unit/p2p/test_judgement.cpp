// The one judgement (p2p/judgement.hpp) on hand-built measurements: nothing is blamed on one
// measurement, a confirmed half-rate node or link is, a slow spell of the whole machine is not
// evidence, and a node is bad only when slow with most of its partners.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "p2p/judgement.hpp"

namespace preflight::p2p {
namespace {

const std::vector<SurveyMetric> kBandwidth = {{"bandwidth_Bps", Better::higher}};
const std::vector<SurveyMetric> kLatency = {{"latency_s", Better::lower}};

// Measurements built round by round, the way the survey takes them.
class Log {
 public:
  // Every pair among `nodes` once (one "round" per pair is fine for the judgement), at
  // `healthy`, scaled by `factor(a, b)`.
  template <typename Factor>
  Log& all_pairs(int nodes, double healthy, Factor factor) {
    for (int a = 0; a < nodes; ++a) {
      for (int b = a + 1; b < nodes; ++b) {
        add({a, b}, healthy * factor(a, b), MeasurementRole::survey);
      }
    }
    ++round_;
    return *this;
  }
  Log& add(NodePair pair, double value, MeasurementRole role, int rail = kAllRails) {
    measurements_.push_back({pair, 0, value, round_, role, rail});
    return *this;
  }
  Log& next_round() {
    ++round_;
    return *this;
  }
  [[nodiscard]] const std::vector<Measurement>& get() const { return measurements_; }

 private:
  std::vector<Measurement> measurements_;
  int round_ = 0;
};

// Healthy links vary a little, deterministically (noise only lowers a rate).
double jitter(int a, int b) {
  return 1.0 - 0.01 * ((a * 7 + b * 3) % 10);
}

TEST(Judgement, HealthyClusterBlamesNobodyAndSuspectsNothing) {
  Log log;
  log.all_pairs(8, 1e9, jitter);
  const Judgement j = judge(8, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_nodes.empty());
  EXPECT_TRUE(j.bad_links.empty());
  EXPECT_TRUE(j.settled());
  EXPECT_EQ(j.known_good.size(), 8U);
  ASSERT_EQ(j.metrics.size(), 1U);
  EXPECT_NEAR(j.metrics[0].reference, 0.96e9, 0.04e9);
  EXPECT_NEAR(j.metrics[0].threshold, 0.7 * j.metrics[0].reference, 1.0);
}

TEST(Judgement, AHalfRateNodeMeasuredOnceIsOnlyASuspect) {
  Log log;
  log.all_pairs(6, 1e9, [](int a, int b) { return (a == 3 || b == 3) ? 0.5 : jitter(a, b); });
  const Judgement j = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_nodes.empty()) << "never blamed on one measurement";
  EXPECT_EQ(j.suspect_nodes, std::vector<int>{3});
  EXPECT_TRUE(j.bad_links.empty());
  EXPECT_TRUE(j.suspect_links.empty()) << "its slow links are explained by the suspect node";
  EXPECT_FALSE(j.settled());
}

TEST(Judgement, AHalfRateNodeConfirmedWithKnownGoodPartnersIsABadNode) {
  Log log;
  log.all_pairs(6, 1e9, [](int a, int b) { return (a == 3 || b == 3) ? 0.5 : jitter(a, b); });
  log.add({0, 3}, 0.49e9, MeasurementRole::retest).add({1, 2}, 1e9, MeasurementRole::control);
  log.next_round();
  const Judgement one = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(one.bad_nodes.empty()) << "one known-good partner is not enough";
  log.add({3, 4}, 0.5e9, MeasurementRole::retest).add({0, 1}, 1e9, MeasurementRole::control);
  const Judgement j = judge(6, kBandwidth, log.get());
  EXPECT_EQ(j.bad_nodes, std::vector<int>{3});
  EXPECT_TRUE(j.bad_links.empty()) << "a bad node's links are not also bad links";
  EXPECT_TRUE(j.settled());
  const NodeEvidence& evidence = j.metrics[0].bad_nodes.at(0);
  EXPECT_EQ(evidence.slow_partners, 5);
  EXPECT_EQ(evidence.partners, 5);
  EXPECT_EQ(evidence.confirmed_partners, 2);
  EXPECT_EQ(evidence.retested_partners, 2);
  EXPECT_EQ(evidence.supporting_measurements, 7);
  EXPECT_NEAR(evidence.rate_ratio, 0.5, 0.03);
}

TEST(Judgement, AHalfRateLinkNeedsThreeSlowMeasurementsOneARetest) {
  Log log;
  log.all_pairs(6, 1e9, [](int a, int b) { return (a == 1 && b == 2) ? 0.5 : jitter(a, b); });
  Judgement j = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_links.empty());
  EXPECT_EQ(j.suspect_links, (std::vector<NodePair>{{1, 2}}));
  EXPECT_TRUE(j.suspect_nodes.empty()) << "slow with 1 of 5 partners is not most";
  log.add({1, 2}, 0.5e9, MeasurementRole::retest).add({0, 3}, 1e9, MeasurementRole::control);
  log.next_round();
  j = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_links.empty()) << "two measurements are not yet three";
  log.add({1, 2}, 0.52e9, MeasurementRole::retest).add({0, 3}, 1e9, MeasurementRole::control);
  j = judge(6, kBandwidth, log.get());
  EXPECT_EQ(j.bad_links, (std::vector<NodePair>{{1, 2}}));
  EXPECT_TRUE(j.bad_nodes.empty()) << "a bad link is never blamed on a node";
  EXPECT_TRUE(j.settled());
  const LinkEvidence& link = j.metrics[0].bad_links.at(0);
  EXPECT_EQ(link.valid, 3);
  EXPECT_EQ(link.retests, 2);
  EXPECT_DOUBLE_EQ(link.best, 0.52e9);
}

TEST(Judgement, ARetestRoundWithoutAControlConfirmsNothing) {
  Log log;
  log.all_pairs(6, 1e9, [](int a, int b) { return (a == 1 && b == 2) ? 0.5 : jitter(a, b); });
  for (int round = 0; round < 3; ++round) {
    log.next_round().add({1, 2}, 0.5e9, MeasurementRole::retest);
  }
  Judgement j = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_links.empty()) << "nothing showed the machine was not slow at the time";
  EXPECT_EQ(j.suspect_links, (std::vector<NodePair>{{1, 2}}));
  // Three nodes cannot hold a re-test and a control at once: there the re-tests count.
  Log small;
  small.all_pairs(3, 1e9, [](int a, int b) { return (a == 2 || b == 2) ? 0.5 : 1.0; });
  small.next_round().add({0, 2}, 0.5e9, MeasurementRole::retest);
  small.next_round().add({1, 2}, 0.5e9, MeasurementRole::retest);
  j = judge(3, kBandwidth, small.get());
  EXPECT_EQ(j.bad_nodes, std::vector<int>{2});
}

TEST(Judgement, OneFastMeasurementClearsALink) {
  Log log;
  log.all_pairs(6, 1e9, [](int a, int b) { return (a == 1 && b == 2) ? 0.3 : jitter(a, b); });
  log.add({1, 2}, 0.4e9, MeasurementRole::retest).next_round();
  log.add({1, 2}, 0.97e9, MeasurementRole::retest);
  const Judgement j = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_links.empty());
  EXPECT_TRUE(j.settled()) << "noise only lowers bandwidth: best-of-k";
}

TEST(Judgement, AControlPairThatCameOutSlowMakesTheRoundASpell) {
  Log log;
  log.all_pairs(6, 1e9, [](int a, int b) { return (a == 1 && b == 2) ? 0.5 : jitter(a, b); });
  // Two re-test rounds during which the whole machine ran at 40%: the control shows it.
  for (int round = 0; round < 2; ++round) {
    log.add({1, 2}, 0.2e9, MeasurementRole::retest).add({0, 3}, 0.4e9, MeasurementRole::control);
    log.next_round();
  }
  const Judgement j = judge(6, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_links.empty()) << "slow readings in a slow spell are no evidence";
  EXPECT_EQ(j.suspect_links, (std::vector<NodePair>{{1, 2}}));
  ASSERT_EQ(j.metrics[0].spell_rounds, (std::vector<int>{1, 2}));
  const auto& link = j.metrics[0].suspect_links.at(0);
  EXPECT_EQ(link.measurements, 3);
  EXPECT_EQ(link.valid, 1);
}

TEST(Judgement, ASurveyRoundWhereMostLinksAreSlowIsASpell) {
  // 16 nodes, one round of 8 disjoint pairs all at 40% (a spell), the other rounds healthy.
  Log log;
  log.all_pairs(16, 1e9, jitter);
  for (int pair = 0; pair < 8; ++pair) {
    log.add({2 * pair, 2 * pair + 1}, 0.4e9, MeasurementRole::survey);
  }
  const Judgement j = judge(16, kBandwidth, log.get());
  EXPECT_EQ(j.metrics[0].spell_rounds, std::vector<int>{1});
  EXPECT_TRUE(j.settled());
}

TEST(Judgement, LatencyIsJudgedAsARateLowerIsBetter) {
  Log log;
  log.all_pairs(6, 4e-6,
                [](int a, int b) { return (a == 3 || b == 3) ? 2.0 : 2.0 - jitter(a, b); });
  log.add({0, 3}, 8.1e-6, MeasurementRole::retest).add({1, 2}, 4e-6, MeasurementRole::control);
  log.next_round();
  log.add({3, 4}, 7.9e-6, MeasurementRole::retest).add({1, 2}, 4e-6, MeasurementRole::control);
  const Judgement j = judge(6, kLatency, log.get());
  EXPECT_EQ(j.bad_nodes, std::vector<int>{3});
  EXPECT_NEAR(j.metrics[0].reference, 4.1e-6, 0.2e-6);
  EXPECT_NEAR(j.metrics[0].threshold, j.metrics[0].reference / 0.7, 1e-9);
  EXPECT_NEAR(j.metrics[0].bad_nodes[0].typical, 8e-6, 0.2e-6);
}

TEST(Judgement, SlowWithExactlyHalfItsPartnersIsNotABadNode) {
  // 4 nodes: links 0-1 and 0-2 slow, 0-3 fast. Node 0: 2 of 3 slow is most; drop 0-2's slowness
  // and it is 1 of 3. Here: node 0 slow with 2 of 4 (5 nodes).
  Log log;
  log.all_pairs(5, 1e9,
                [](int a, int b) { return (a == 0 && (b == 1 || b == 2)) ? 0.5 : jitter(a, b); });
  const Judgement j = judge(5, kBandwidth, log.get());
  EXPECT_TRUE(j.suspect_nodes.empty());
  EXPECT_EQ(j.suspect_links, (std::vector<NodePair>{{0, 1}, {0, 2}}));
}

TEST(Judgement, RetestingAHealthyNodeUntilItLooksSlowBlamesNobody) {
  Log log;
  log.all_pairs(8, 1e9, [](int a, int b) { return (a == 5 || b == 5) ? 0.6 : jitter(a, b); });
  // Re-tested with six known-good partners: slow with two, fast with four.
  const std::vector<std::pair<int, double>> retests = {{0, 0.6},  {1, 0.95}, {2, 0.6},
                                                       {3, 0.96}, {4, 0.97}, {6, 0.98}};
  for (const auto& [partner, factor] : retests) {
    log.next_round().add({partner, 5}, factor * 1e9, MeasurementRole::retest);
  }
  const Judgement j = judge(8, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_nodes.empty());
}

TEST(Judgement, ANoisySurveyRaisesTheConfirmationsNeeded) {
  // 20 nodes; one in six healthy measurements is slow by chance.
  Log log;
  log.all_pairs(20, 1e9, [](int a, int b) { return (a * 31 + b * 17) % 6 == 0 ? 0.6 : 1.0; });
  const Judgement j = judge(20, kBandwidth, log.get());
  const MetricJudgement& group = j.metrics.at(0);
  EXPECT_GT(group.slow_share, 0.1);
  // 190 links x p^k < 0.01: k = ceil(log(0.01 / 190) / log(p)).
  EXPECT_GE(group.link_confirmations, 5);
  EXPECT_GE(group.node_confirmations, 4);
  EXPECT_TRUE(j.bad_links.empty());
}

TEST(Judgement, TwoNodesCannotBeJudgedAgainstEachOther) {
  Log log;
  log.add({0, 1}, 1e8, MeasurementRole::survey);
  const Judgement j = judge(2, kBandwidth, log.get());
  EXPECT_TRUE(j.bad_nodes.empty());
  EXPECT_TRUE(j.bad_links.empty());
  EXPECT_TRUE(j.settled());
}

TEST(Judgement, EveryRailIsJudgedOnItsOwn) {
  Log log;
  for (const int rail : {0, 1}) {
    for (int a = 0; a < 4; ++a) {
      for (int b = a + 1; b < 4; ++b) {
        const double value = rail == 1 && b == 3 ? 0.2e9 : 1e9;
        log.add({a, b}, value, MeasurementRole::survey, rail);
      }
    }
  }
  const Judgement j = judge(4, kBandwidth, log.get());
  ASSERT_EQ(j.metrics.size(), 2U);
  EXPECT_EQ(j.metrics[0].rail, 0);
  EXPECT_TRUE(j.metrics[0].suspect_nodes.empty());
  EXPECT_EQ(j.metrics[1].rail, 1);
  ASSERT_EQ(j.metrics[1].suspect_nodes.size(), 1U);
  EXPECT_EQ(j.metrics[1].suspect_nodes[0].node, 3);
}

// Four nodes on two rails; `value(a, b, rail)` for every pair on every rail, then six re-test
// rounds in which node 2 meets known-good partners 0 and 1 (three times each) on every rail beside
// a control pair.
template <typename Value>
Judgement judge_rails(Value value) {
  Log log;
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b) {
      for (const int rail : {0, 1}) {
        log.add({a, b}, value(a, b, rail), MeasurementRole::survey, rail);
      }
      log.next_round();
    }
  }
  for (const int partner : {0, 1, 0, 1, 0, 1}) {
    const NodePair control = partner == 0 ? NodePair{1, 3} : NodePair{0, 3};
    for (const int rail : {0, 1}) {
      log.add({partner, 2}, value(partner, 2, rail), MeasurementRole::retest, rail);
      log.add(control, value(control.a, control.b, rail), MeasurementRole::control, rail);
    }
    log.next_round();
  }
  return judge(4, kBandwidth, log.get());
}

TEST(Judgement, ANodeSlowOnOneRailOnlyHasABadNic) {
  const Judgement j = judge_rails([](int a, int b, int rail) {
    return (a == 2 || b == 2) && rail == 1 ? 0.5e9 : 1e9 * jitter(a, b);
  });
  EXPECT_TRUE(j.bad_nodes.empty()) << "its rail 0 is fast with every partner";
  EXPECT_TRUE(j.bad_links.empty()) << "its slow links are explained by the NIC";
  ASSERT_EQ(j.bad_nics.size(), 1U);
  EXPECT_EQ(j.bad_nics[0], (NicRef{2, 1}));
  EXPECT_TRUE(j.is_bad_nic(2, 1));
  EXPECT_FALSE(j.is_bad_nic(2, 0));
  EXPECT_TRUE(j.unreachable_nics.empty()) << "it carried bytes, slowly";
  EXPECT_TRUE(j.settled());
}

TEST(Judgement, ANodeSlowOnEveryRailIsABadNodeNotBadNics) {
  const Judgement j = judge_rails(
      [](int a, int b, int /*rail*/) { return a == 2 || b == 2 ? 0.5e9 : 1e9 * jitter(a, b); });
  EXPECT_EQ(j.bad_nodes, std::vector<int>{2});
  EXPECT_TRUE(j.bad_nics.empty());
  EXPECT_TRUE(j.bad_links.empty());
}

TEST(Judgement, ANicThatCarriedNothingIsUnreachable) {
  const Judgement j = judge_rails([](int a, int b, int rail) {
    return (a == 2 || b == 2) && rail == 1 ? 0.0 : 1e9 * jitter(a, b);
  });
  EXPECT_TRUE(j.bad_nodes.empty());
  EXPECT_EQ(j.bad_nics, (std::vector<NicRef>{{2, 1}}));
  EXPECT_EQ(j.unreachable_nics, (std::vector<NicRef>{{2, 1}}));
}

TEST(Judgement, ALinkSlowOnEveryRailIsABadLink) {
  const Judgement j = judge_rails(
      [](int a, int b, int /*rail*/) { return a == 0 && b == 2 ? 0.5e9 : 1e9 * jitter(a, b); });
  EXPECT_TRUE(j.bad_nodes.empty());
  EXPECT_TRUE(j.bad_nics.empty());
  EXPECT_EQ(j.bad_links, (std::vector<NodePair>{{0, 2}}));
}

TEST(Judgement, RejectsMeasurementsThatCannotBeJudged) {
  const auto judged = [](Measurement m, const std::vector<SurveyMetric>& metrics) {
    return judge(3, metrics, std::vector<Measurement>{m});
  };
  EXPECT_THROW((void)judged({{0, 5}, 0, 1.0}, kBandwidth), std::invalid_argument);
  EXPECT_THROW((void)judged({{1, 1}, 0, 1.0}, kBandwidth), std::invalid_argument);
  EXPECT_THROW((void)judged({{0, 1}, 1, 1.0}, kBandwidth), std::invalid_argument);
  EXPECT_THROW((void)judged({{0, 1}, 0, std::nan("")}, kBandwidth), std::invalid_argument);
  EXPECT_THROW((void)judged({{0, 1}, 0, -1.0}, kBandwidth), std::invalid_argument);
  EXPECT_THROW((void)judged({{0, 1}, 0, 0.0}, kLatency), std::invalid_argument);
  EXPECT_NO_THROW((void)judged({{0, 1}, 0, 0.0}, kBandwidth)) << "nothing arrived: rate 0";
  EXPECT_NO_THROW((void)judged({{1, 0}, 0, 1.0}, kBandwidth)) << "either order";
  JudgementPolicy policy;
  policy.slow_fraction = 1.0;
  EXPECT_THROW(validate_policy(policy), std::invalid_argument);
  EXPECT_TRUE(judge(3, kLatency, {}).metrics.empty());
}

}  // namespace
}  // namespace preflight::p2p
