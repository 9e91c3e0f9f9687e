// The judgement as findings, JSON and one summary line (p2p/judgement_report.hpp): a confirmed
// fault fails, an unconfirmed one warns and names itself, a healthy cluster passes, and every form
// says the same thing.
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "p2p/judgement_report.hpp"

namespace preflight::p2p {
namespace {

const std::vector<SurveyMetric> kMetrics = {{"bandwidth_Bps", Better::higher}};

JudgementContext context_of(int nodes) {
  JudgementContext context;
  for (int node = 0; node < nodes; ++node) {
    context.node_names.push_back("vc" + std::to_string(node + 1));
  }
  context.metrics = {{kMetrics[0], "bw", 262144}};
  return context;
}

std::vector<Measurement> survey(int nodes, const std::set<int>& slow_nodes,
                                const std::set<NodePair>& slow_links) {
  std::vector<Measurement> measured;
  int round = 0;
  for (int a = 0; a < nodes; ++a) {
    for (int b = a + 1; b < nodes; ++b) {
      const bool slow =
          slow_nodes.contains(a) || slow_nodes.contains(b) || slow_links.contains(NodePair{a, b});
      measured.push_back({{a, b}, 0, slow ? 0.05e9 : 0.11e9, round++, MeasurementRole::survey});
    }
  }
  return measured;
}

std::vector<std::string> ids(const std::vector<reports::Check>& checks) {
  std::vector<std::string> found;
  for (const auto& check : checks) {
    found.push_back(check.id);
  }
  return found;
}

TEST(JudgementReport, HealthyClusterIsOnePassingCheck) {
  const auto context = context_of(5);
  const Judgement j = judge(5, kMetrics, survey(5, {}, {}));
  const auto checks = judgement_checks(j, context);
  ASSERT_EQ(ids(checks), std::vector<std::string>{"CLUSTER_PAIRS_HEALTHY"});
  EXPECT_EQ(checks[0].status, Status::pass);
  EXPECT_NE(checks[0].message.find("10 node pairs"), std::string::npos) << checks[0].message;
  const auto verdict = judgement_json(j, context);
  EXPECT_EQ(verdict_summary(verdict), "bad nodes: none; bad links: none; suspects: none");
  EXPECT_TRUE(verdict.at("settled").get<bool>());
  EXPECT_EQ(verdict.at("known_good").size(), 5U);
}

TEST(JudgementReport, NothingCarriedIsAFailureNeverNoneSlow) {
  // Every pair test on rail 1 gave up (a bandwidth of 0: nothing arrived), while rail 0 is
  // healthy: rail 1 fails on its own, and "none slow" is never said of it.
  const auto context = context_of(4);
  std::vector<Measurement> measured;
  int round = 0;
  for (int a = 0; a < 4; ++a) {
    for (int b = a + 1; b < 4; ++b) {
      measured.push_back({{a, b}, 0, 0.11e9, round, MeasurementRole::survey, 0});
      measured.push_back({{a, b}, 0, 0.0, round++, MeasurementRole::survey, 1});
    }
  }
  const Judgement j = judge(4, kMetrics, measured);
  const auto checks = judgement_checks(j, context);
  const auto found = ids(checks);
  ASSERT_EQ(std::count(found.begin(), found.end(), "P2P_NOTHING_CARRIED"), 1)
      << fmt::format("{}", fmt::join(found, ", "));
  EXPECT_EQ(std::count(found.begin(), found.end(), "CLUSTER_PAIRS_HEALTHY"), 0);
  for (const auto& check : checks) {
    if (check.id == "P2P_NOTHING_CARRIED") {
      EXPECT_EQ(check.status, Status::fail);
      EXPECT_NE(check.message.find("rail 1: no pair carried data"), std::string::npos)
          << check.message;
      EXPECT_NE(check.message.find("0 of 6 links"), std::string::npos) << check.message;
      EXPECT_EQ(check.evidence.at("links_that_carried_data"), 0);
    }
  }
  const auto verdict = judgement_json(j, context);
  EXPECT_EQ(verdict.at("nothing_carried"), nlohmann::json::array({"rail 1"}));
  EXPECT_EQ(verdict_summary(verdict).rfind("nothing carried on rail 1: not judged there; ", 0), 0U)
      << verdict_summary(verdict);
}

TEST(JudgementReport, UnconfirmedFaultsWarnAndNameThemselves) {
  const auto context = context_of(6);
  const Judgement j = judge(6, kMetrics, survey(6, {2}, {{0, 4}}));
  const auto checks = judgement_checks(j, context);
  ASSERT_EQ(ids(checks), (std::vector<std::string>{"P2P_NODE_SUSPECT", "P2P_LINK_SUSPECT"}));
  for (const auto& check : checks) {
    EXPECT_EQ(check.status, Status::warn);
  }
  EXPECT_NE(checks[0].message.find("node vc3 may be slow"), std::string::npos) << checks[0].message;
  EXPECT_NE(checks[1].message.find("vc1 <-> vc5"), std::string::npos) << checks[1].message;
  const auto verdict = judgement_json(j, context);
  EXPECT_EQ(verdict.at("suspect_nodes"), nlohmann::json::array({"vc3"}));
  EXPECT_EQ(verdict.at("suspect_links"), nlohmann::json::parse(R"([["vc1","vc5"]])"));
  EXPECT_EQ(verdict.at("suspects"), nlohmann::json::parse(R"(["vc1","vc3","vc5"])"));
  EXPECT_EQ(verdict_summary(verdict), "bad nodes: none; bad links: none; suspects: vc3, vc1<->vc5");
}

TEST(JudgementReport, ConfirmedFaultsFailAndSayWhatSupportsThem) {
  const auto context = context_of(6);
  auto measured = survey(6, {2}, {{0, 4}});
  // One slow link in ten healthy ones: p = 0.1, so a link needs 4 slow measurements and a node
  // 3 known-good partners (15 links x 0.1^4, 6 nodes x 0.1^3 below 0.01).
  int round = 100;
  for (const auto& [partner, control] :
       std::vector<std::pair<int, NodePair>>{{1, {3, 5}}, {3, {1, 5}}, {5, {1, 3}}}) {
    measured.push_back({{partner, 2}, 0, 0.05e9, round, MeasurementRole::retest});
    measured.push_back({{0, 4}, 0, 0.051e9, round, MeasurementRole::retest});
    measured.push_back({control, 0, 0.11e9, round++, MeasurementRole::control});
  }
  const Judgement j = judge(6, kMetrics, measured);
  const auto checks = judgement_checks(j, context);
  ASSERT_EQ(ids(checks), (std::vector<std::string>{"P2P_NODE_OUTLIER", "P2P_LINK_OUTLIER"}));
  EXPECT_EQ(checks[0].status, Status::fail);
  EXPECT_EQ(checks[1].status, Status::fail);
  EXPECT_NE(checks[0].message.find("node vc3 is slow with most partners"), std::string::npos)
      << checks[0].message;
  EXPECT_NE(checks[0].message.find("slow with 5 of 5 partners"), std::string::npos);
  EXPECT_NE(checks[0].message.find("3 of 3 known-good partners in re-tests"), std::string::npos);
  EXPECT_EQ(checks[0].evidence.at("supporting_measurements").get<int>(), 8);
  EXPECT_NE(checks[1].message.find("4 measurements (3 re-tests)"), std::string::npos)
      << checks[1].message;
  const auto verdict = judgement_json(j, context);
  EXPECT_EQ(verdict_summary(verdict), "bad nodes: vc3; bad links: vc1<->vc5; suspects: none");
  const auto measurements = measurements_json(measured, context);
  ASSERT_EQ(measurements.size(), measured.size());
  EXPECT_EQ(measurements.back().at("role"), "control");
  EXPECT_EQ(measurements.back().at("metric"), "bandwidth_Bps");
}

}  // namespace
}  // namespace preflight::p2p
