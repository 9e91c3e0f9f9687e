// The one JUnit writer on the umbrella's suite report (`preflight node|cluster|ci --junit`) and on
// a tool's report: one case per check with its host and step in the classname, the step's time,
// warnings visible (system-out and a testsuite property), skips as <skipped>, a failed step's
// stderr tail and a baseline's missed rows in the failure.
#include <gtest/gtest.h>

#include <regex>

#include "report_builders.hpp"
#include "reports/render.hpp"

namespace preflight::reports {
namespace {

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// The <testcase ...> element of a classname and name, up to its end; empty when absent.
std::string testcase(const std::string& xml, const std::string& classname,
                     const std::string& name) {
  const std::string open = "<testcase classname=\"" + classname + "\" name=\"" + name + "\"";
  const auto start = xml.find(open);
  if (start == std::string::npos) {
    return {};
  }
  const auto self_closed = xml.find("/>\n", start);
  const auto closed = xml.find("</testcase>", start);
  const auto end = std::min(self_closed == std::string::npos ? xml.size() : self_closed + 3,
                            closed == std::string::npos ? xml.size() : closed + 11);
  return xml.substr(start, end - start);
}

Check check_of(std::string id, Status status, std::string message, std::string step) {
  nlohmann::json evidence = nlohmann::json::object();
  if (!step.empty()) {
    evidence["step"] = step;
  }
  return judged_check(id, status, std::move(message), evidence);
}

nlohmann::json step_json(const std::string& name, const std::string& status, int exit_code,
                         double duration_s) {
  return {{"name", name},           {"status", status},
          {"exit_code", exit_code}, {"duration_s", duration_s},
          {"argv", {name}},         {"report", nullptr}};
}

// `preflight node` as the suite report has it: two probes with checks, a failing all-reduce
// with its stderr tail and a baseline comparison, a skipped step and a step that said nothing.
Report node_suite() {
  Report suite;
  suite.tool.name = "preflight";
  suite.run.hosts = {"ip-10-0-0-7.ec2.internal"};
  suite.run.started_at = "2026-03-02T10:15:00.000Z";
  suite.run.finished_at = "2026-03-02T10:16:40.000Z";  // the suite's own span is not a step's
  auto allreduce = step_json("allreduce", "fail", 1, 3.5);
  allreduce["stderr_tail"] = "rank 3: cudaMalloc failed <out of memory>";
  suite.details = {
      {"plan", "node"},
      {"steps",
       {step_json("probe-efa", "warn", 0, 1.25), allreduce, step_json("probe-gpu", "skip", 3, 0.25),
        step_json("inventory", "pass", 0, 0.5)}},
      {"baseline",
       {{"status", "compared"},
        {"comparisons",
         {{{"step", "allreduce"},
           {"baseline", "p5.48xlarge-1node-all_reduce-nccl"},
           {"path", "/baselines/p5.json"},
           {"status", "fail"},
           {"summary", "fail: 1 of 8 sizes"},
           {"failed_rows", {"1073741824 B: fail: busbw 40% below"}}}}}}}};
  suite.checks = {
      check_of("EFA_PORT_RATE_LOW", Status::pass, "rdmap0 at 100 Gb/s", "probe-efa"),
      check_of("MEMLOCK_LIMITED", Status::warn, "memlock is 64 KiB", "probe-efa"),
      check_of("RESULT_CORRECT", Status::pass, "8 sizes bit-exact", "allreduce"),
      check_of("STEP_FAILED", Status::fail, "step allreduce failed (exit 1)", "allreduce"),
      check_of("STEP_SKIPPED", Status::skip, "step probe-gpu skipped: no GPU", "probe-gpu"),
      check_of("HARNESS_ERROR", Status::error, "the plan's baseline was compared with no step", ""),
  };
  auto baseline =
      check_of("BASELINE_REGRESSION", Status::fail, "busbw below the baseline", "allreduce");
  baseline.evidence["baseline_path"] = "/baselines/p5.json";
  suite.checks.push_back(baseline);
  suite.verdict = compute_verdict(suite.checks, false);
  return suite;
}

constexpr const char* kHost = "preflight.ip-10-0-0-7_ec2_internal";

TEST(RenderJunitSuite, OneCasePerCheckOfASuiteWithTwoSteps) {
  Report suite;
  suite.tool.name = "preflight";
  suite.run.hosts = {"node-a"};
  suite.details = {
      {"plan", "ci"},
      {"steps", {step_json("first", "pass", 0, 2), step_json("second", "pass", 0, 1)}}};
  suite.checks = {check_of("RESULT_CORRECT", Status::pass, "a", "first"),
                  check_of("COLLECTIVE_MEASURED", Status::pass, "b", "first"),
                  check_of("RESULT_CORRECT", Status::pass, "c", "second")};
  const std::string xml = render_junit(suite, nullptr);
  EXPECT_EQ(count(xml, "<testcase "), 3U) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"preflight.ci\" tests=\"3\" failures=\"0\" errors=\"0\" "
                     "skipped=\"0\" time=\"3.000\""),
            std::string::npos)
      << xml;
  // The same id in two steps is two cases, each under its step: no "#2" needed.
  EXPECT_FALSE(testcase(xml, "preflight.node-a.first", "RESULT_CORRECT").empty()) << xml;
  EXPECT_FALSE(testcase(xml, "preflight.node-a.second", "RESULT_CORRECT").empty()) << xml;
  EXPECT_EQ(xml.find("#2"), std::string::npos) << xml;
}

TEST(RenderJunitSuite, HostAndStepAreInTheClassname) {
  const std::string xml = render_junit(node_suite(), nullptr);
  // Dots of the host become '_' (Jenkins reads dots as packages); the step follows.
  EXPECT_FALSE(testcase(xml, std::string(kHost) + ".probe-efa", "EFA_PORT_RATE_LOW").empty())
      << xml;
  EXPECT_FALSE(testcase(xml, std::string(kHost) + ".allreduce", "STEP_FAILED").empty()) << xml;
  // A check of the plan itself (no step) sits under the plan's name.
  EXPECT_FALSE(testcase(xml, std::string(kHost) + ".node", "HARNESS_ERROR").empty()) << xml;
  EXPECT_NE(xml.find("hostname=\"ip-10-0-0-7.ec2.internal\""), std::string::npos) << xml;
}

TEST(RenderJunitSuite, ManyHostsAreTheClusterAndACheckNamingItsHostKeepsIt) {
  Report suite = node_suite();
  suite.run.hosts = {"node-b", "node-a", "node-b"};
  auto unreachable =
      fire_check("NODE_UNREACHABLE", "node-c did not answer", {{"host", "node-c.cluster.local"}});
  suite.checks.push_back(unreachable);
  suite.checks.push_back(fire_check("P2P_NODE_OUTLIER", "node-d is slow",
                                    {{"node", "node-d"}, {"step", "all-pairs"}}));
  const std::string xml = render_junit(suite, nullptr);
  EXPECT_FALSE(testcase(xml, "preflight.cluster.probe-efa", "EFA_PORT_RATE_LOW").empty()) << xml;
  EXPECT_FALSE(testcase(xml, "preflight.node-d.all-pairs", "P2P_NODE_OUTLIER").empty()) << xml;
  EXPECT_FALSE(testcase(xml, "preflight.node-c_cluster_local.node", "NODE_UNREACHABLE").empty())
      << xml;
}

TEST(RenderJunitSuite, StepTimeIsOnItsFirstCaseAndTheTotalIsTheSteps) {
  const std::string xml = render_junit(node_suite(), nullptr);
  // 1.25 + 3.5 + 0.25 + 0.5: every step once, the suite's own 100 s span not counted.
  EXPECT_NE(xml.find("<testsuites name=\"preflight\" tests=\"8\" failures=\"2\" errors=\"1\" "
                     "time=\"5.500\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"preflight.node\" tests=\"8\" failures=\"2\" errors=\"1\" "
                     "skipped=\"2\" time=\"5.500\""),
            std::string::npos)
      << xml;
  const std::string host(kHost);
  EXPECT_NE(testcase(xml, host + ".allreduce", "RESULT_CORRECT").find("time=\"3.500\""),
            std::string::npos)
      << xml;
  EXPECT_NE(testcase(xml, host + ".allreduce", "STEP_FAILED").find("time=\"0.000\""),
            std::string::npos)
      << xml;
  EXPECT_NE(testcase(xml, host + ".probe-efa", "EFA_PORT_RATE_LOW").find("time=\"1.250\""),
            std::string::npos)
      << xml;
  // The step without a check still shows, with its time, and is no pass.
  const std::string inventory = testcase(xml, host + ".inventory", "inventory");
  EXPECT_NE(inventory.find("time=\"0.500\""), std::string::npos) << xml;
  EXPECT_NE(inventory.find("<skipped message=\"step inventory ended pass (exit 0) and reported "
                           "no checks\"/>"),
            std::string::npos)
      << inventory;
}

TEST(RenderJunitSuite, AWarningPassesWithSystemOutAndAProperty) {
  const std::string xml = render_junit(node_suite(), nullptr);
  const std::string warn = testcase(xml, std::string(kHost) + ".probe-efa", "MEMLOCK_LIMITED");
  ASSERT_FALSE(warn.empty()) << xml;
  EXPECT_NE(warn.find("<system-out>WARN: memlock is 64 KiB"), std::string::npos) << warn;
  EXPECT_EQ(warn.find("<failure"), std::string::npos) << warn;
  EXPECT_EQ(warn.find("<skipped"), std::string::npos) << warn;
  EXPECT_NE(xml.find("<property name=\"preflight.status.preflight.ip-10-0-0-7_ec2_internal."
                     "probe-efa.MEMLOCK_LIMITED\" value=\"warn\"/>"),
            std::string::npos)
      << xml;
  // Only warnings get one: a pass is not listed.
  EXPECT_EQ(count(xml, "value=\"warn\""), 1U) << xml;
  EXPECT_NE(xml.find("<property name=\"preflight.verdict\" value=\"error: "), std::string::npos)
      << xml;
}

TEST(RenderJunitSuite, SkipIsSkippedFailIsFailureErrorIsError) {
  const std::string xml = render_junit(node_suite(), nullptr);
  const std::string host(kHost);
  EXPECT_NE(testcase(xml, host + ".probe-gpu", "STEP_SKIPPED")
                .find("<skipped message=\"skip: step probe-gpu skipped: no GPU\"/>"),
            std::string::npos)
      << xml;
  EXPECT_NE(testcase(xml, host + ".allreduce", "STEP_FAILED").find("<failure message="),
            std::string::npos)
      << xml;
  EXPECT_NE(testcase(xml, host + ".node", "HARNESS_ERROR").find("<error message=\""),
            std::string::npos)
      << xml;
  EXPECT_NE(testcase(xml, host + ".node", "HARNESS_ERROR").find("type=\"error\""),
            std::string::npos)
      << xml;
}

TEST(RenderJunitSuite, AFailedStepCarriesItsStderrTailAndTheRowsThatMissedTheBaseline) {
  const std::string xml = render_junit(node_suite(), nullptr);
  const std::string host(kHost);
  const std::string failed = testcase(xml, host + ".allreduce", "STEP_FAILED");
  EXPECT_NE(failed.find("step allreduce (exit 1), last lines of its stderr:\nrank 3: cudaMalloc "
                        "failed &lt;out of memory&gt;"),
            std::string::npos)
      << failed;
  const std::string baseline = testcase(xml, host + ".allreduce", "BASELINE_REGRESSION");
  EXPECT_NE(baseline.find("rows that missed the baseline /baselines/p5.json:\n1073741824 B: fail: "
                          "busbw 40% below"),
            std::string::npos)
      << baseline;
  // A passing case of the same step carries neither.
  EXPECT_EQ(testcase(xml, host + ".allreduce", "RESULT_CORRECT").find("stderr"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<property name=\"preflight.baseline\" value=\"1 comparison(s)\"/>"),
            std::string::npos)
      << xml;
}

TEST(RenderJunitSuite, ATrendStepsFailureNamesTheRegressedRows) {
  Report suite;
  suite.tool.name = "preflight";
  suite.run.hosts = {"ci-runner"};
  const nlohmann::json trend = {
      {"status", "fail"},
      {"summary", "fail: run 5: 1 regression(s)"},
      {"rows",
       {{{"series", "p5.48xlarge|1n|all_reduce|nccl|float|sum|out_of_place|8r|step=bw;"},
         {"size_bytes", 1048576},
         {"metric", "algbw_Bps"},
         {"value", 5e8},
         {"median", 1e9},
         {"band", {9.5e8, 1.05e9}},
         {"previous_runs", 4},
         {"verdict", "regression"}}}}};
  auto step = step_json("history-trend", "fail", 1, 0.75);
  step["report"] = {{"details", {{"trend", trend}}}};
  suite.details = {{"plan", "nightly"}, {"steps", {step}}, {"trend", trend}};
  suite.checks = {check_of("HISTORY_REGRESSION", Status::fail, "1 row regressed", "history-trend")};
  const std::string xml = render_junit(suite, nullptr);
  const std::string failed =
      testcase(xml, "preflight.ci-runner.history-trend", "HISTORY_REGRESSION");
  EXPECT_NE(failed.find("regressed rows:\nall_reduce nccl float sum out_of_place x8 on 1x "
                        "p5.48xlarge [step=bw] 1048576 B: algbw 0.5 GB/s, outside the band"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<property name=\"preflight.trend\" value=\"fail: run 5"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"preflight.trend\" tests=\"1\" failures=\"1\""),
            std::string::npos)
      << xml;
}

TEST(RenderJunitSuite, AToolsReportHasItsToolAsTheGroupAndItsRunsDuration) {
  Report report = testing::report_with(testing::p5_rows());
  report.run.hosts = {"build-1"};
  report.run.started_at = "2026-03-02T10:15:00.000Z";
  report.run.finished_at = "2026-03-02T10:15:04.500Z";
  report.checks = {pass_check("RESULT_CORRECT", "ok", nlohmann::json::object()),
                   pass_check("COLLECTIVE_MEASURED", "ok", nlohmann::json::object())};
  const std::string xml = render_junit(report, nullptr);
  const std::string tool = "preflight.build-1." + report.tool.name;
  EXPECT_NE(testcase(xml, tool, "RESULT_CORRECT").find("time=\"4.500\""), std::string::npos) << xml;
  EXPECT_NE(testcase(xml, tool, "COLLECTIVE_MEASURED").find("time=\"0.000\""), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testsuite name=\"" + report.tool.name + ".checks\""), std::string::npos)
      << xml;
  // A stamp with an offset, and a report without stamps (deterministic): 0.
  report.run.finished_at = "2026-03-02T12:15:06+02:00";
  EXPECT_NE(render_junit(report, nullptr).find("time=\"6.000\""), std::string::npos);
  report.run.finished_at.clear();
  EXPECT_NE(render_junit(report, nullptr)
                .find("<testsuites name=\"preflight\" tests=\"2\" "
                      "failures=\"0\" errors=\"0\" time=\"0.000\">"),
            std::string::npos);
  // No host at all is said so, never left out of the classname.
  report.run.hosts.clear();
  EXPECT_NE(render_junit(report, nullptr).find("classname=\"preflight.unknown-host."),
            std::string::npos);
}

TEST(RenderJunitSuite, TestsuitesCarriesNoSkippedAttributeTheJenkinsSchemaLacks) {
  const std::string xml = render_junit(node_suite(), nullptr);
  const std::regex testsuites("<testsuites [^>]*>");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(xml, match, testsuites)) << xml;
  EXPECT_EQ(match.str().find("skipped="), std::string::npos) << match.str();
  // Properties only at the testsuite level: none between a <testcase> and its end.
  for (auto at = xml.find("<testcase "); at != std::string::npos;
       at = xml.find("<testcase ", at + 1)) {
    const auto end = xml.find("</testcase>", at);
    const auto next = xml.find("<testcase ", at + 1);
    const auto properties = xml.find("<properties>", at);
    EXPECT_FALSE(properties != std::string::npos && properties < end &&
                 (next == std::string::npos || properties < next))
        << xml.substr(at, 200);
  }
}

}  // namespace
}  // namespace preflight::reports
