// The suite's typed details: what `preflight node|cluster|ci` writes reads back the same, and a
// renderer handed a hand-edited or foreign report reads defaults instead of throwing.
#include <gtest/gtest.h>

#include "reports/suite_details.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;

SuiteStep sample_step() {
  SuiteStep step;
  step.name = "mpi-allreduce";
  step.argv = {"mpirun", "-np", "2", "preflight-allreduce"};
  step.exit_code = 1;
  step.status = Status::fail;
  step.duration_s = 2.5;
  step.timeout_s = 20;
  step.report = json{{"verdict", {{"summary", "1 failed: RESULT_WRONG"}}}};
  step.env = {{"FI_PROVIDER", "tcp"}, {"NCCL_DEBUG", std::nullopt}};
  step.stderr_tail = "rank 1: wrong element";
  return step;
}

TEST(SuiteDetails, AStepReadsBackAsWritten) {
  const json written = sample_step();
  EXPECT_EQ(written.at("status"), "fail");
  EXPECT_TRUE(written.at("env").at("NCCL_DEBUG").is_null());
  EXPECT_FALSE(written.contains("note"));  // empty optional fields are not written
  EXPECT_FALSE(written.contains("own_summary"));
  const auto read = written.get<SuiteStep>();
  EXPECT_EQ(json(read), written);
  EXPECT_EQ(read.summary(), "1 failed: RESULT_WRONG");
}

TEST(SuiteDetails, SummaryPrefersTheNoteThenTheOwnChecksThenTheReportError) {
  SuiteStep step = sample_step();
  step.own_summary = "all 2 own checks passed";
  EXPECT_EQ(step.summary(), "all 2 own checks passed");
  step.note = "exit 137 without a report";
  EXPECT_EQ(step.summary(), "exit 137 without a report");
  SuiteStep unreadable;
  unreadable.report_error = "line 3: not JSON";
  EXPECT_EQ(unreadable.summary(), "line 3: not JSON");
}

TEST(SuiteDetails, AForeignStepReadsAsDefaults) {
  const json foreign = {{"name", 7},
                        {"status", "exploded"},
                        {"duration_s", "slow"},
                        {"argv", {"a", 1, "b"}},
                        {"env", {{"X", 3}}}};
  const auto step = foreign.get<SuiteStep>();
  EXPECT_EQ(step.name, "");
  EXPECT_FALSE(step.status.has_value());
  EXPECT_EQ(step.duration_s, 0.0);
  EXPECT_EQ(step.exit_code, -1);
  EXPECT_EQ(step.argv, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(step.env.at("X").has_value());
}

TEST(SuiteDetails, TheBaselineSaysComparedOrWhyNot) {
  SuiteBaseline none;
  none.searched = {"/etc/preflight/baselines"};
  none.reason = "no baseline found";
  const json written_none = none;
  EXPECT_EQ(written_none.at("status"), "none");
  EXPECT_EQ(written_none.at("reason"), "no baseline found");
  EXPECT_FALSE(written_none.contains("comparisons"));

  SuiteBaseline compared = none;
  compared.comparisons.push_back(
      {"mpi-allreduce", "p5.48xlarge", "/b/p5.json", "fail", "2 rows missed", {"8 B: fail: slow"}});
  const json written = compared;
  EXPECT_EQ(written.at("status"), "compared");
  EXPECT_FALSE(written.contains("reason"));
  const auto read = written.get<SuiteBaseline>();
  ASSERT_EQ(read.comparisons.size(), 1U);
  EXPECT_EQ(read.comparisons[0].failed_rows, (std::vector<std::string>{"8 B: fail: slow"}));
  EXPECT_EQ(json(read), written);
}

TEST(SuiteDetails, AToolReportIsNoSuite) {
  Report tool_report;
  EXPECT_FALSE(is_suite_report(tool_report));
  EXPECT_TRUE(suite_steps(tool_report).empty());
  EXPECT_FALSE(suite_baseline(tool_report).has_value());
  Report suite;
  suite.details = {{"steps", json::array({json(sample_step())})}};
  EXPECT_TRUE(is_suite_report(suite));
  EXPECT_EQ(suite_plan(suite), "suite");
  ASSERT_EQ(suite_steps(suite).size(), 1U);
  EXPECT_EQ(suite_steps(suite)[0].name, "mpi-allreduce");
}

}  // namespace
}  // namespace preflight::reports
