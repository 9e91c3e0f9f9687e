// add_steps_to_suite: a step superseded by a cause the plan found (a node lost mid-step) keeps its
// report and its failures, as warnings that name the cause; any other step's failures count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "cli/suite.hpp"
#include "common/text.hpp"
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
  report.checks.push_back(
      reports::judged_check("BENCH_TIMEOUT", Status::timeout, "stalled on vc4"));
  report.checks.push_back(reports::pass_check("RESULT_CORRECT", "checked"));
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
  measured.report->checks = {reports::pass_check("RESULT_CORRECT", "checked")};
  measured.report->results.resize(3);
  StepOutcome judge;
  judge.spec.name = "history-trend";
  judge.spec.own_check_ids = {"HISTORY_PASS", "HISTORY_REGRESSION"};
  judge.status = Status::fail;
  judge.exit_code = 1;
  judge.report = measured.report;  // the recorded run, shown again ...
  judge.report->checks.push_back(
      reports::judged_check("HISTORY_REGRESSION", Status::fail, "run 5 left the band"));
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

// A step's plain progress lines relayed under the step's name while it runs, its other stderr
// lines not; a heartbeat in a silence; the step's stderr tail without progress lines.
TEST(StepRunner, RelaysTheStepsProgressAndBeatsInASilence) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("preflight-relay-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  StepRunner runner(dir, 0, ProgressMode::plain, 0.2);  // ticks every 0.25 s, lines 0.5 s apart
  StepSpec spec;
  spec.name = "fake-sweep";
  spec.report_path = dir / "fake.json";
  spec.argv = {PREFLIGHT_FAKE_TOOL,  "--mode", "fail",   "--progress-lines",       "3",
               "--line-interval-ms", "500",    "--json", spec.report_path.string()};
  ::testing::internal::CaptureStderr();
  const StepOutcome outcome = runner.run(spec, 1, 4);
  const std::string text = ::testing::internal::GetCapturedStderr();
  std::filesystem::remove_all(dir);

  EXPECT_EQ(outcome.status, Status::fail);
  EXPECT_NE(text.find("[2/4] fake-sweep: running (timeout 60 s"), std::string::npos) << text;
  for (const char* line :
       {"[2/4] fake-sweep: [1/3] size 1 done\n", "[2/4] fake-sweep: [2/3] size 2 done\n",
        "[2/4] fake-sweep: [3/3] size 3 done\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in:\n" << text;
  }
  EXPECT_TRUE(
      std::regex_search(text, std::regex(R"(\[2/4\] fake-sweep: still running, \d+ s of 60 s)")))
      << text;
  EXPECT_EQ(text.find("a message that is not progress"), std::string::npos) << text;
  EXPECT_NE(text.find("[2/4] fake-sweep: fail (exit 1)"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  // The tail the suite keeps of a step that did not pass says what it said, not its progress.
  EXPECT_NE(outcome.stderr_tail.find("a message that is not progress"), std::string::npos)
      << outcome.stderr_tail;
  EXPECT_EQ(outcome.stderr_tail.find(": progress: "), std::string::npos) << outcome.stderr_tail;
}

// Open MPI 4.x's exit race: the job finished and rank 0's report is complete, then mpirun says a
// rank "with PID 0" exited improperly and exits 1. The report's verdict stands, with a note; the
// same message about a real pid is a real failure.
TEST(StepRunner, OpenMpisExitRaceAfterACompleteReportKeepsTheReportsVerdict) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("preflight-race-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  StepRunner runner(dir, 0, ProgressMode::none);
  const auto run_with_pid = [&](const std::string& pid) {
    StepSpec spec;
    spec.name = "mpi-allreduce";
    spec.launcher = "mpirun";
    spec.report_path = dir / ("report-" + pid + ".json");
    spec.argv = {"/bin/sh",
                 "-c",
                 "\"$0\" --mode pass --json \"$1\" >/dev/null || exit 9; "
                 "printf 'mpirun has exited due to process rank 1 with PID %s on\\nnode vm "
                 "exiting improperly. There are three reasons this could occur:\\n' \"$2\" >&2; "
                 "exit 1",
                 PREFLIGHT_FAKE_TOOL,
                 spec.report_path.string(),
                 pid};
    return runner.run(spec, 0, 1);
  };
  const StepOutcome race = run_with_pid("0");
  const StepOutcome real = run_with_pid("4242");
  std::filesystem::remove_all(dir);

  ASSERT_TRUE(race.report.has_value());
  EXPECT_EQ(race.status, Status::pass) << race.note;
  EXPECT_EQ(race.exit_code, 0);
  EXPECT_NE(race.note.find("mpirun exited 1 after the report was complete"), std::string::npos)
      << race.note;
  EXPECT_NE(real.status, Status::pass);
  EXPECT_EQ(real.exit_code, 1);
}

TEST(StepRunner, NoProgressPrintsNothingAndATerminalLineIsErasedBeforeTheStepsEnd) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("preflight-relay-tty-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  StepSpec spec;
  spec.name = "fake-sweep";
  spec.report_path = dir / "fake.json";
  spec.argv = {PREFLIGHT_FAKE_TOOL,  "--mode", "pass",   "--progress-lines",       "2",
               "--line-interval-ms", "300",    "--json", spec.report_path.string()};
  {
    StepRunner runner(dir, 0, ProgressMode::none);
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(runner.run(spec, 0, 1).status, Status::pass);
    EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  }
  StepRunner runner(dir, 0, ProgressMode::tty);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(runner.run(spec, 0, 1).status, Status::pass);
  const std::string text = ::testing::internal::GetCapturedStderr();
  std::filesystem::remove_all(dir);
  EXPECT_NE(text.find("\r\033[K[1/1] fake-sweep: [1/2] size 1 done"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\033[K[1/1] fake-sweep: pass (exit 0)"), std::string::npos) << text;
}

// A finding several steps report (PLATFORM_UNKNOWN from every probe) is printed once, with the
// steps it came from, at the worst status they gave it; findings that say different things stay
// apart, each with its step.
TEST(RenderSuiteText, EachFindingOnceWithItsSteps) {
  std::vector<StepOutcome> outcomes;
  for (const char* name : {"probe-versions", "probe-drivers", "probe-env", "mpi-allreduce"}) {
    StepOutcome outcome;
    outcome.spec.name = name;
    outcome.status = Status::pass;
    outcome.exit_code = 0;
    reports::Report report;
    report.checks.push_back(reports::skip_check("PLATFORM_UNKNOWN", "instance type unknown"));
    if (std::string(name) != "probe-versions") {
      report.checks.push_back(reports::judged_check(
          "MEMLOCK_LIMITED", std::string(name) == "probe-env" ? Status::warn : Status::pass,
          "memlock limit is 8 MiB"));
    }
    if (std::string(name) == "mpi-allreduce") {
      report.checks.push_back(reports::pass_check("RESULT_CORRECT", "5 sizes checked bit-exact"));
    }
    outcome.report = report;
    outcomes.push_back(std::move(outcome));
  }
  reports::Report suite;
  suite.tool.name = "preflight";
  add_steps_to_suite(suite, outcomes);
  suite.verdict = reports::compute_verdict(suite.checks, false);
  const std::string text = render_suite_text(suite);
  const auto lines_with = [&](const std::string& id) {
    std::vector<std::string> found;
    for (const auto line : split_lines(text)) {
      if (line.find(" " + id + " ") != std::string_view::npos) {
        found.emplace_back(line);
      }
    }
    return found;
  };
  const auto unknown = lines_with("PLATFORM_UNKNOWN");
  ASSERT_EQ(unknown.size(), 1U) << text;
  EXPECT_NE(unknown.front().find("[steps probe-versions, probe-drivers, probe-env, mpi-allreduce]"),
            std::string::npos)
      << unknown.front();
  const auto memlock = lines_with("MEMLOCK_LIMITED");
  ASSERT_EQ(memlock.size(), 1U) << text;
  EXPECT_EQ(memlock.front().rfind("WARN", 0), 0U) << memlock.front();  // the worst of pass, warn
  const auto correct = lines_with("RESULT_CORRECT");
  ASSERT_EQ(correct.size(), 1U) << text;
  EXPECT_NE(correct.front().find("[step mpi-allreduce]"), std::string::npos) << correct.front();
  // The remediation of the warning is shown once, with the catalog's severity.
  std::size_t remediations = 0;
  for (const auto line : split_lines(text)) {
    remediations += line.find("-> isolate: Set 'memlock unlimited'") != std::string_view::npos;
  }
  EXPECT_EQ(remediations, 1U) << text;
}

}  // namespace
}  // namespace preflight::cli
