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

}  // namespace
}  // namespace preflight::cli
