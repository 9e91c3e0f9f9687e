// add_steps_to_suite: a step superseded by a cause the plan found (a node lost mid-step) keeps its
// report and its failures, as warnings that name the cause; any other step's failures count.
#include <gtest/gtest.h>

#include "cli/suite.hpp"
#include "reports/report.hpp"

namespace preflight::cli {
namespace {

StepOutcome timed_out_step(const std::string& name) {
  StepOutcome outcome;
  outcome.spec.name = name;
  outcome.spec.timeout_s = 45;
  outcome.status = Status::timeout;
  outcome.exit_code = exit_code::timeout;
  outcome.timed_out = true;
  reports::Report report;
  report.checks.push_back(reports::make_check("BENCH_TIMEOUT", Status::timeout, "stalled on vc4"));
  report.checks.push_back(reports::make_check("RESULT_CORRECT", Status::pass, "checked"));
  outcome.report = report;
  return outcome;
}

const reports::Check* find_check(const reports::Report& suite, const std::string& id) {
  for (const auto& check : suite.checks) {
    if (check.id == id) {
      return &check;
    }
  }
  return nullptr;
}

TEST(AddStepsToSuite, ASupersededStepsFailuresBecomeWarningsNamingTheCause) {
  StepOutcome outcome = timed_out_step("p2p-all-pairs");
  outcome.superseded_by = "vc4 stopped answering";
  reports::Report suite;
  add_steps_to_suite(suite, {outcome});

  const auto* bench = find_check(suite, "BENCH_TIMEOUT");
  ASSERT_NE(bench, nullptr);
  EXPECT_EQ(bench->status, Status::warn);
  EXPECT_NE(bench->message.find("superseded: vc4 stopped answering"), std::string::npos);
  EXPECT_EQ(bench->evidence.at("status_before_superseded"), "timeout");
  const auto* step = find_check(suite, "STEP_TIMEOUT");
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->status, Status::warn);
  EXPECT_EQ(step->evidence.at("superseded_by"), "vc4 stopped answering");
  // Passing checks stay as they were; the step itself is recorded as it ended.
  EXPECT_EQ(find_check(suite, "RESULT_CORRECT")->status, Status::pass);
  EXPECT_EQ(suite.details.at("steps").at(0).at("status"), "timeout");
  EXPECT_EQ(suite.details.at("steps").at(0).at("superseded_by"), "vc4 stopped answering");
}

TEST(AddStepsToSuite, AnUnexplainedTimeoutStaysATimeout) {
  reports::Report suite;
  add_steps_to_suite(suite, {timed_out_step("p2p-all-pairs")});
  EXPECT_EQ(find_check(suite, "BENCH_TIMEOUT")->status, Status::timeout);
  EXPECT_EQ(find_check(suite, "STEP_TIMEOUT")->status, Status::timeout);
}

// A launch that fails says why on the terminal: the launcher's own words.
TEST(CauseFromStderr, OpenMpiBannerAndSrunErrors) {
  const std::string open_mpi =
      "--------------------------------------------------------------------------\n"
      "There are not enough slots available in the system to satisfy the 8\n"
      "slots that were requested by the application:\n"
      "\n"
      "  /opt/preflight/bin/preflight-allreduce\n"
      "\n"
      "Either request fewer slots for your application, or make more slots\n"
      "available for use.\n"
      "\n"
      "A \"slot\" is the Open MPI term for an allocatable unit where we can\n"
      "launch a process.\n"
      "--------------------------------------------------------------------------\n";
  EXPECT_EQ(cause_from_stderr(open_mpi),
            "There are not enough slots available in the system to satisfy the 8 slots that "
            "were requested by the application: /opt/preflight/bin/preflight-allreduce Either "
            "request fewer slots for your application, or make more slots available for use.");
  const std::string srun =
      "srun: Required node not available (down, drained or reserved)\n"
      "srun: error: Unable to allocate resources: Invalid partition name specified\n";
  EXPECT_EQ(cause_from_stderr(srun),
            "srun: error: Unable to allocate resources: Invalid partition name specified");
  EXPECT_EQ(cause_from_stderr(""), "");
  EXPECT_LE(cause_from_stderr(std::string(2000, 'x')).size(), 400U);
}

// A step that judges the earlier ones (history trend) repeats their report: only its own checks
// enter the suite.
TEST(AddStepsToSuite, AJudgeStepAddsOnlyItsOwnChecksAndNoRows) {
  StepOutcome measured = timed_out_step("allreduce");
  measured.status = Status::pass;
  measured.exit_code = 0;
  measured.report->checks = {reports::make_check("RESULT_CORRECT", Status::pass, "checked")};
  measured.report->results.resize(3);
  StepOutcome judge;
  judge.spec.name = "history-trend";
  judge.spec.own_check_ids = {"HISTORY_PASS", "HISTORY_REGRESSION"};
  judge.status = Status::fail;
  judge.exit_code = 1;
  judge.report = measured.report;  // the recorded run, shown again ...
  judge.report->checks.push_back(
      reports::make_check("HISTORY_REGRESSION", Status::fail, "run 5 left the band"));
  reports::Report suite;
  add_steps_to_suite(suite, {measured, judge});
  EXPECT_EQ(suite.results.size(), 3U) << "the judge's repeated rows are not added";
  std::vector<std::string> ids;
  for (const auto& check : suite.checks) {
    ids.push_back(check.id + "@" + check.evidence.at("step").get<std::string>());
  }
  EXPECT_EQ(
      ids, (std::vector<std::string>{"RESULT_CORRECT@allreduce", "HISTORY_REGRESSION@history-trend",
                                     "STEP_FAILED@history-trend"}));
}

}  // namespace
}  // namespace preflight::cli
