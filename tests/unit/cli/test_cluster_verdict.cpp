// The cluster plan takes preflight-p2p's verdict as it is (cli/cluster_verdict.hpp): the same
// lists, the same summary, unreachable hosts added, and no verdict read out of a report that holds
// none.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cluster_verdict.hpp"
#include "p2p/judgement_report.hpp"

namespace preflight::cli {
namespace {

using ::testing::ElementsAre;

// A p2p report as preflight-p2p writes it: details.survey with the judgement of `measurements`.
nlohmann::json p2p_report(int nodes, const std::vector<p2p::Measurement>& measurements) {
  p2p::JudgementContext context;
  for (int node = 0; node < nodes; ++node) {
    context.node_names.push_back("vc" + std::to_string(node + 1));
  }
  const std::vector<p2p::SurveyMetric> metrics = {{"bandwidth_Bps", p2p::Better::higher}};
  context.metrics = {{metrics[0], "bw", 262144}};
  const p2p::Judgement judgement = p2p::judge(nodes, metrics, measurements);
  return {{"schema", "preflight.report/1"},
          {"details",
           {{"survey",
             {{"nodes", context.node_names},
              {"rounds", 7},
              {"retest_rounds", 2},
              {"measurements", p2p::measurements_json(measurements, context)},
              {"verdict", p2p::judgement_json(judgement, context)}}}}}};
}

std::vector<p2p::Measurement> half_rate_node_confirmed() {
  std::vector<p2p::Measurement> measured;
  int round = 0;
  for (int a = 0; a < 5; ++a) {
    for (int b = a + 1; b < 5; ++b) {
      measured.push_back(
          {{a, b}, 0, (a == 2 || b == 2) ? 0.05e9 : 0.11e9, round++, p2p::MeasurementRole::survey});
    }
  }
  measured.push_back({{0, 2}, 0, 0.05e9, round, p2p::MeasurementRole::retest});
  measured.push_back({{3, 4}, 0, 0.11e9, round++, p2p::MeasurementRole::control});
  measured.push_back({{1, 2}, 0, 0.05e9, round, p2p::MeasurementRole::retest});
  measured.push_back({{3, 4}, 0, 0.11e9, round, p2p::MeasurementRole::control});
  return measured;
}

TEST(ClusterVerdict, TakesTheSurveysVerdictAsItIs) {
  const auto report = p2p_report(5, half_rate_node_confirmed());
  const auto verdict = verdict_from_p2p_report(report, "p2p-all-pairs");
  ASSERT_TRUE(verdict.has_value());
  EXPECT_TRUE(verdict->judged);
  EXPECT_EQ(verdict->judged_by, "p2p-all-pairs");
  EXPECT_EQ(verdict->nodes.size(), 5U);
  EXPECT_EQ(verdict->measurements, 14U);
  const auto details = cluster_details(*verdict, "");
  const auto& survey_verdict = report.at("details").at("survey").at("verdict");
  for (const char* key :
       {"bad_nodes", "bad_links", "suspect_nodes", "suspect_links", "suspects", "known_good"}) {
    EXPECT_EQ(details.at(key), survey_verdict.at(key)) << key;
  }
  EXPECT_EQ(details.at("bad_nodes"), nlohmann::json::array({"vc3"}));
  EXPECT_EQ(details.at("summary"),
            "bad nodes: vc3; bad links: none; unreachable: none; suspects: none");
  EXPECT_EQ(details.at("rounds"), 7);
}

TEST(ClusterVerdict, UnreachableHostsJoinTheSummary) {
  auto verdict = verdict_from_p2p_report(p2p_report(5, half_rate_node_confirmed()), "retry");
  ASSERT_TRUE(verdict.has_value());
  verdict->unreachable = {"vc6"};
  const auto details = cluster_details(*verdict, "");
  EXPECT_EQ(details.at("unreachable"), nlohmann::json::array({"vc6"}));
  EXPECT_EQ(details.at("summary"),
            "bad nodes: vc3; bad links: none; unreachable: vc6; suspects: none");
}

TEST(ClusterVerdict, NoVerdictIsSaidSoNeverNoneFound) {
  ClusterVerdict none;
  none.unreachable = {"vc4"};
  const auto details = cluster_details(none, "step p2p-all-pairs ended error without a verdict");
  EXPECT_FALSE(details.at("judged").get<bool>());
  EXPECT_EQ(details.at("summary"),
            "not judged: step p2p-all-pairs ended error without a verdict; unreachable: vc4");
  EXPECT_TRUE(details.at("bad_nodes").empty());
}

TEST(ClusterVerdict, ReportsWithoutAVerdictGiveNone) {
  EXPECT_FALSE(verdict_from_p2p_report(nlohmann::json(), "s").has_value());
  EXPECT_FALSE(verdict_from_p2p_report(nlohmann::json::array(), "s").has_value());
  EXPECT_FALSE(verdict_from_p2p_report({{"details", {{"pattern", "pair"}}}}, "s").has_value());
  auto report = p2p_report(4, {});
  report["details"]["survey"]["verdict"]["bad_nodes"] = {1, 2};  // not names
  EXPECT_FALSE(verdict_from_p2p_report(report, "s").has_value());
  report = p2p_report(4, {});
  report["details"]["survey"].erase("nodes");
  EXPECT_FALSE(verdict_from_p2p_report(report, "s").has_value());
}

}  // namespace
}  // namespace preflight::cli
