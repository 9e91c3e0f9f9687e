// Issue 8, "never lie": a skipped check is never counted or shown as a pass, in any renderer
// (text, markdown, HTML, JUnit, Prometheus), in the umbrella's suite text and JUnit, or in the
// exit code. Each renderer gets a report with one passing and one skipped check, then one whose
// every check skipped.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "cli/suite.hpp"
#include "common/status.hpp"
#include "reports/render.hpp"
#include "reports/report.hpp"

namespace preflight {
namespace {

using reports::pass_check;
using reports::RenderFormat;
using reports::Report;
using reports::skip_check;

constexpr const char* kSkipId = "NVIDIA_DRIVER_VERSION";
constexpr const char* kPassId = "VERSION_LIBFABRIC";

Report mixed_report() {
  Report report;
  report.tool.name = "preflight-drivers";
  report.checks.push_back(pass_check(kPassId, "libfabric 1.22"));
  report.checks.push_back(skip_check(kSkipId, "no NVIDIA driver here"));
  report.verdict = reports::compute_verdict(report.checks, false);
  return report;
}

Report all_skipped_report() {
  Report report;
  report.tool.name = "preflight-efa";
  report.checks.push_back(skip_check("EFA_ABSENT", "no EFA device"));
  report.checks.push_back(skip_check(kSkipId, "no NVIDIA driver here"));
  report.verdict = reports::compute_verdict(report.checks, false);
  return report;
}

std::string render(const Report& report, RenderFormat format) {
  return reports::render_report(report, format, nullptr);
}

// The line (or XML element, or table row) of `text` that names `id`.
std::string line_naming(const std::string& text, const std::string& id) {
  std::string found;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string line = text.substr(start, end - start);
    if (line.find(id) != std::string::npos) {
      found += line + "\n";
    }
    start = end + 1;
  }
  return found;
}

TEST(SkipStaysDistinct, VerdictAndExitCode) {
  const Report mixed = mixed_report();
  // The summary counts the skip apart: "pass: 1 pass, 1 skip".
  EXPECT_NE(mixed.verdict.summary.find("1 pass, 1 skip"), std::string::npos)
      << mixed.verdict.summary;
  const Report skipped = all_skipped_report();
  EXPECT_EQ(skipped.verdict.status, Status::skip);
  // The documented exit code of a skip (0 pass, 1 fail, 2 usage, 3 skip, 4 error): a number,
  // so that a change to the constant is caught too.
  EXPECT_EQ(skipped.verdict.exit_code, 3);
}

TEST(SkipStaysDistinct, Text) {
  const std::string skip_line = line_naming(render(mixed_report(), RenderFormat::text), kSkipId);
  EXPECT_NE(skip_line.find("SKIP"), std::string::npos) << skip_line;
  EXPECT_EQ(skip_line.find("PASS"), std::string::npos) << skip_line;
  const std::string all = render(all_skipped_report(), RenderFormat::text);
  EXPECT_TRUE(std::regex_search(all, std::regex("verdict: skip"))) << all;
}

TEST(SkipStaysDistinct, Markdown) {
  const std::string skip_row = line_naming(render(mixed_report(), RenderFormat::markdown), kSkipId);
  EXPECT_NE(skip_row.find("| SKIP |"), std::string::npos) << skip_row;
  EXPECT_EQ(skip_row.find("PASS"), std::string::npos) << skip_row;
}

TEST(SkipStaysDistinct, Html) {
  const std::string html = render(mixed_report(), RenderFormat::html);
  const std::string skip_row = line_naming(html, kSkipId);
  ASSERT_FALSE(skip_row.empty()) << "the skipped check is not shown";
  EXPECT_NE(skip_row.find("skip"), std::string::npos) << skip_row;
  EXPECT_EQ(skip_row.find(">pass<"), std::string::npos) << skip_row;
}

TEST(SkipStaysDistinct, Junit) {
  const std::string xml = render(mixed_report(), RenderFormat::junit);
  // The skipped check's testcase holds <skipped>; the passing one holds nothing.
  const std::regex skipped_case(std::string("<testcase[^>]*") + kSkipId + "[^>]*>\\s*<skipped");
  EXPECT_TRUE(std::regex_search(xml, skipped_case)) << xml;
  EXPECT_TRUE(std::regex_search(xml, std::regex("skipped=\"1\""))) << xml;
}

TEST(SkipStaysDistinct, Prometheus) {
  const std::string text = render(mixed_report(), RenderFormat::prometheus);
  const std::string skip_line = line_naming(text, kSkipId);
  EXPECT_TRUE(std::regex_search(text, std::regex(std::string(kSkipId) + R"(.*status="skip"\} 1)")))
      << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(std::string(kSkipId) + R"(.*status="pass"\} 0)")))
      << skip_line;
  const std::string all = render(all_skipped_report(), RenderFormat::prometheus);
  EXPECT_NE(all.find("preflight_verdict_state{tool=\"preflight-efa\",status=\"skip\"} 1"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("preflight_verdict_state{tool=\"preflight-efa\",status=\"pass\"} 0"),
            std::string::npos)
      << all;
}

TEST(SkipStaysDistinct, SuiteTextAndJunitOfTheUmbrella) {
  cli::StepOutcome skipped;
  skipped.spec.name = "probe-efa";
  skipped.status = Status::skip;
  skipped.exit_code = exit_code::skip;
  skipped.report = all_skipped_report();
  cli::StepOutcome passed;
  passed.spec.name = "probe-versions";
  passed.status = Status::pass;
  passed.exit_code = exit_code::pass;
  passed.report = mixed_report();
  Report suite;
  suite.tool.name = "preflight";
  cli::add_steps_to_suite(suite, {passed, skipped});
  suite.verdict = reports::compute_verdict(suite.checks, false);
  // Two skipped checks of the step and its STEP_SKIPPED, one of the other step.
  EXPECT_NE(suite.verdict.summary.find("4 skip"), std::string::npos) << suite.verdict.summary;

  const std::string text = cli::render_suite_text(suite);
  const std::string step_line = line_naming(text, "probe-efa");
  EXPECT_NE(step_line.find("SKIP"), std::string::npos) << text;
  EXPECT_EQ(step_line.find("PASS"), std::string::npos) << text;

  // One case per check: the step's STEP_SKIPPED and its own skipped checks are <skipped>, under
  // the step's classname; the other step's passing check is not.
  const std::string xml = reports::render_junit(suite, nullptr);
  const std::regex skipped_case(
      R"(<testcase classname="preflight\.[^"]*\.probe-efa" name="STEP_SKIPPED"[^>]*>\s*<skipped)");
  EXPECT_TRUE(std::regex_search(xml, skipped_case)) << xml;
  EXPECT_TRUE(std::regex_search(xml, std::regex(R"(<testsuite [^>]*skipped="4")"))) << xml;
}

}  // namespace
}  // namespace preflight
