// Each node's aggregate over its rails (p2p/judgement.hpp NodeAggregate) and its judgement against
// the NICs' line rate (p2p/judgement_report.hpp): a cluster uniformly below line rate, which the
// relative verdict cannot see, is named node by node; a node a little slow on every rail, above
// the relative threshold, is named; a bad NIC is left out of its node's aggregate; a catalog rate
// is not judged below 1 MiB; no rate is said, never passed silently.
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "p2p/judgement_report.hpp"

namespace preflight::p2p {
namespace {

const std::vector<SurveyMetric> kMetrics = {{"bandwidth_Bps", Better::higher}};
constexpr double kLineRate_Bps = 12.5e9;  // 100 Gbit/s, one p5 EFA device

// Every pair of `nodes` measured twice, every rail at once; a rail of a pair carries the smaller
// of its two ends' shares of the line rate. Then, for a `suspect` node, six re-test rounds with
// known-good partners (nodes 0 and 1, or the two after it) beside a control pair, as the survey
// confirms before it blames.
std::vector<Measurement> rails_survey(int nodes, int rails,
                                      const std::function<double(int node, int rail)>& share,
                                      int suspect = -1) {
  std::vector<Measurement> measured;
  int round = 0;
  const auto add = [&](NodePair pair, MeasurementRole role) {
    for (int rail = 0; rail < rails; ++rail) {
      const double value = std::min(share(pair.a, rail), share(pair.b, rail)) * kLineRate_Bps;
      measured.push_back({pair, 0, value, round, role, rail});
    }
  };
  for (int repeat = 0; repeat < 2; ++repeat) {
    for (int a = 0; a < nodes; ++a) {
      for (int b = a + 1; b < nodes; ++b) {
        add({a, b}, MeasurementRole::survey);
        ++round;
      }
    }
  }
  if (suspect >= 0) {
    const int first = suspect < 2 ? suspect + 1 : 0;
    const int second = first + 1 == suspect ? first + 2 : first + 1;
    const int third = std::max({suspect, first, second}) + 1;  // control: the other two nodes
    for (const int partner : {first, second, first, second, first, second}) {
      add(make_pair_of(partner, suspect), MeasurementRole::retest);
      add(make_pair_of(partner == first ? second : first, third), MeasurementRole::control);
      ++round;
    }
  }
  return measured;
}

JudgementContext context_of(int nodes, std::uint64_t size_bytes, NicLineRate rate) {
  JudgementContext context;
  for (int node = 0; node < nodes; ++node) {
    context.node_names.push_back("vc" + std::to_string(node + 1));
    context.rail_devices.push_back({"eth0", "eth1"});
    context.nic_line_rates.push_back(rate);
  }
  context.metrics = {{kMetrics[0], "bw", size_bytes}};
  return context;
}

const NicLineRate kCatalogRate{kLineRate_Bps, "p5.48xlarge: 3200 Gb/s over 32 EFA devices", false};

std::vector<std::string> ids_of(const std::vector<reports::Check>& checks, const std::string& id) {
  std::vector<std::string> nodes;
  for (const auto& check : checks) {
    if (check.id == id) {
      nodes.push_back(check.evidence.value("node", "?"));
    }
  }
  return nodes;
}

const reports::Check& only(const std::vector<reports::Check>& checks, const std::string& id) {
  const auto found = std::find_if(checks.begin(), checks.end(),
                                  [&](const reports::Check& check) { return check.id == id; });
  if (found == checks.end()) {
    throw std::runtime_error("no " + id);
  }
  return *found;
}

TEST(NodeAggregate, SumsTheRailsOfOneRoundAndTakesTheBestPartner) {
  // vc1 rail 1 at half rate: with every partner its rail 1 carries half.
  const auto measured = rails_survey(
      4, 2, [](int node, int rail) { return node == 0 && rail == 1 ? 0.5 : 0.9; }, 0);
  const Judgement j = judge(4, kMetrics, measured);
  ASSERT_EQ(j.aggregates.size(), 4U);
  const NodeAggregate& first = j.aggregates[0];
  EXPECT_EQ(first.node, 0);
  EXPECT_EQ(first.rails, (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(first.aggregate, (0.9 + 0.5) * kLineRate_Bps);
  // vc1 rail 1 is a bad NIC: left out of what its healthy NICs carry.
  ASSERT_TRUE(j.is_bad_nic(0, 1)) << fmt::format("{}", j.bad_nics.size());
  EXPECT_EQ(first.healthy_rails, (std::vector<int>{0}));
  EXPECT_DOUBLE_EQ(first.healthy_aggregate, 0.9 * kLineRate_Bps);
  EXPECT_DOUBLE_EQ(first.cluster_expected, 0.9 * kLineRate_Bps);
  // The others carry both rails in full with any partner but vc1.
  EXPECT_DOUBLE_EQ(j.aggregates[1].aggregate, 1.8 * kLineRate_Bps);
}

TEST(NodeAggregate, ReTestsRunRailsAloneAndDoNotCount) {
  auto measured = rails_survey(4, 2, [](int, int) { return 0.9; });
  // A re-test of rail 0 alone reads more than the rail does beside its neighbour: not an aggregate.
  measured.push_back({{0, 1}, 0, 1.7 * kLineRate_Bps, 99, MeasurementRole::retest, 0});
  const Judgement j = judge(4, kMetrics, measured);
  EXPECT_DOUBLE_EQ(j.aggregates[0].aggregate, 1.8 * kLineRate_Bps);
}

TEST(NodeAggregate, NoneWithoutRails) {
  std::vector<Measurement> measured;
  for (int b = 1; b < 4; ++b) {
    measured.push_back({{0, b}, 0, 1e9, b, MeasurementRole::survey});
  }
  EXPECT_TRUE(judge(4, kMetrics, measured).aggregates.empty());
}

TEST(NodeAggregate, AClusterUniformlyBelowLineRateIsNamedNodeByNode) {
  // Every NIC of every node at half its line rate: the relative verdict sees a healthy cluster
  // (everyone is like everyone else); the line rate names each node.
  const auto context = context_of(5, 1U << 20U, kCatalogRate);
  const Judgement j = judge(5, kMetrics, rails_survey(5, 2, [](int, int) { return 0.5; }));
  EXPECT_TRUE(j.bad_nodes.empty());
  const auto checks = judgement_checks(j, context);
  EXPECT_EQ(ids_of(checks, "P2P_NODE_AGGREGATE_LOW"),
            (std::vector<std::string>{"vc1", "vc2", "vc3", "vc4", "vc5"}));
  const reports::Check& low = only(checks, "P2P_NODE_AGGREGATE_LOW");
  EXPECT_EQ(low.status, Status::fail);
  EXPECT_NE(low.message.find("50% of their 200 Gb/s line rate"), std::string::npos) << low.message;
  EXPECT_NE(low.message.find("p5.48xlarge"), std::string::npos) << low.message;
  const auto verdict = judgement_json(j, context);
  EXPECT_EQ(verdict.at("aggregate_low").size(), 5U);
  EXPECT_EQ(verdict.at("node_aggregates").at(0).at("line_rate_fraction").get<double>(), 0.5);
  EXPECT_NE(verdict_summary(verdict).find("; below line rate: vc1, vc2, vc3, vc4, vc5"),
            std::string::npos)
      << verdict_summary(verdict);
}

TEST(NodeAggregate, ANodeALittleSlowOnEveryRailIsNamedThoughNoRailIsSlow) {
  // vc4 at 75% on both rails, the others at 95%: above the relative threshold (70% of the
  // reference), so no rail and no node is slow, but its NICs together carry 75% of line rate.
  const auto context = context_of(6, 1U << 20U, kCatalogRate);
  const Judgement j =
      judge(6, kMetrics, rails_survey(6, 2, [](int node, int) { return node == 3 ? 0.75 : 0.95; }));
  EXPECT_TRUE(j.bad_nodes.empty());
  EXPECT_TRUE(j.bad_nics.empty());
  const auto checks = judgement_checks(j, context);
  EXPECT_EQ(ids_of(checks, "P2P_NODE_AGGREGATE_LOW"), (std::vector<std::string>{"vc4"}));
  const reports::Check& summary = only(checks, "P2P_RAILS_AGGREGATE");
  EXPECT_EQ(summary.status, Status::pass);
  EXPECT_NE(summary.message.find("6 of 6 node(s) judged"), std::string::npos) << summary.message;
  EXPECT_NE(summary.message.find("lowest vc4 at 75%"), std::string::npos) << summary.message;
}

TEST(NodeAggregate, HealthyNodesPassAndABadNicIsNotCountedTwice) {
  // vc3 rail 1 at 30%: named a bad NIC; what its healthy rail carries is at line rate.
  const auto context = context_of(5, 1U << 20U, kCatalogRate);
  const Judgement j =
      judge(5, kMetrics,
            rails_survey(
                5, 2, [](int node, int rail) { return node == 2 && rail == 1 ? 0.3 : 0.95; }, 2));
  ASSERT_TRUE(j.is_bad_nic(2, 1));
  const auto checks = judgement_checks(j, context);
  EXPECT_TRUE(ids_of(checks, "P2P_NODE_AGGREGATE_LOW").empty());
  const auto verdict = judgement_json(j, context);
  const auto& vc3 = verdict.at("node_aggregates").at(2);
  EXPECT_EQ(vc3.at("node"), "vc3");
  EXPECT_EQ(vc3.at("healthy_rails"), nlohmann::json::array({0}));
  EXPECT_DOUBLE_EQ(vc3.at("expected").get<double>(), kLineRate_Bps);
  EXPECT_DOUBLE_EQ(vc3.at("line_rate_fraction").get<double>(), 0.95);
}

TEST(NodeAggregate, ACatalogRateIsNotJudgedBelowOneMebibyte) {
  const auto context = context_of(4, 256U << 10U, kCatalogRate);
  const Judgement j = judge(4, kMetrics, rails_survey(4, 2, [](int, int) { return 0.3; }));
  const auto checks = judgement_checks(j, context);
  EXPECT_TRUE(ids_of(checks, "P2P_NODE_AGGREGATE_LOW").empty());
  const reports::Check& summary = only(checks, "P2P_RAILS_AGGREGATE");
  EXPECT_NE(summary.message.find("not judged against a line rate: measured at 256K"),
            std::string::npos)
      << summary.message;
  // A stated rate is the user's word for this size: judged.
  const auto stated = context_of(4, 256U << 10U, {kLineRate_Bps, "--nic-rate-gbps 100", true});
  EXPECT_EQ(ids_of(judgement_checks(j, stated), "P2P_NODE_AGGREGATE_LOW").size(), 4U);
}

TEST(NodeAggregate, WithoutALineRateItSaysSoAndJudgesNothing) {
  const auto context = context_of(
      4, 1U << 20U,
      {0,
       "no line rate: Standard PC is not in the platform catalog (state one with --nic-rate-gbps)",
       false});
  const Judgement j = judge(4, kMetrics, rails_survey(4, 2, [](int, int) { return 0.3; }));
  const auto checks = judgement_checks(j, context);
  EXPECT_TRUE(ids_of(checks, "P2P_NODE_AGGREGATE_LOW").empty());
  EXPECT_NE(only(checks, "P2P_RAILS_AGGREGATE").message.find("not in the platform catalog"),
            std::string::npos);
  const auto verdict = judgement_json(j, context);
  EXPECT_TRUE(verdict.at("node_aggregates").at(0).contains("not_judged"));
  EXPECT_FALSE(verdict.at("node_aggregates").at(0).contains("line_rate_fraction"));
}

}  // namespace
}  // namespace preflight::p2p
