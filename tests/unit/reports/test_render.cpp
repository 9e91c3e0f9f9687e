#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "report_builders.hpp"
#include "reports/compare.hpp"
#include "reports/render.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

using testing::busbw_row;
using testing::collective_row;
using testing::p5_baseline;
using testing::p5_rows;
using testing::report_with;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A report with out-of-place and in-place rows, one failing size against the baseline, a
// skipped and a failing check, and hostile strings in places people and parsers read.
struct Fixture {
  Report report;
  Comparison comparison;
};

Fixture make_fixture() {
  auto rows = p5_rows();
  rows[2] = busbw_row(16777216, 105.52e9 * 0.5);  // fails the baseline
  for (const auto& row : p5_rows()) {
    ResultRow in_place = row;
    in_place.in_place = true;
    rows.push_back(in_place);
  }
  rows.push_back(collective_row(0, 6e-6));  // size 0: in the tables, not on a log axis
  Report report = report_with(rows);
  report.checks.push_back(
      skip_check("STEP_SKIPPED", "no GPU on this host <script>alert(1)</script>"));
  report.checks.push_back(
      judged_check("HARNESS_ERROR", Status::error, "bad | pipe & \"quote\" \xff"));
  report.run.hosts = {"node-1", "node-<2>"};
  report.run.started_at = "2026-03-02T10:15:00.250Z";
  report.inventory.versions["nccl"] = "2.21.5";
  report.inventory.env["NCCL_ALGO"] = "Ring";
  report.inventory.gpus.push_back({{"index", 0}, {"name", "NVIDIA H100"}});
  Comparison comparison = compare_to_baseline(report, p5_baseline(), "r.json");
  attach_comparison(report, comparison, false);
  return {report, comparison};
}

TEST(RenderText, KeepsTheNcclTestsTableLayout) {
  const Fixture f = make_fixture();
  const std::string text = render_text(f.report, &f.comparison);
  EXPECT_NE(text.find("#       size         count      type   redop    root     time   algbw   "
                      "busbw  #wrong     time   algbw   busbw  #wrong"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("     1048576        262144     float     sum      -1"), std::string::npos);
  EXPECT_NE(text.find("15.95"), std::string::npos);
  EXPECT_NE(text.find("# baseline: test-baseline"), std::string::npos);
  EXPECT_NE(text.find("fail"), std::string::npos);
  EXPECT_NE(text.find("SKIP    STEP_SKIPPED"), std::string::npos);
  EXPECT_NE(text.find("ERROR   HARNESS_ERROR"), std::string::npos);
}

TEST(RenderMarkdown, TablesAndEscapes) {
  const Fixture f = make_fixture();
  const std::string md = render_markdown(f.report, &f.comparison);
  EXPECT_NE(md.find("# preflight report: preflight-allreduce"), std::string::npos);
  EXPECT_NE(md.find("| size (B) | count |"), std::string::npos);
  EXPECT_NE(md.find("## Baseline: test-baseline"), std::string::npos);
  EXPECT_NE(md.find("**FAIL**"), std::string::npos);
  EXPECT_NE(md.find("| SKIP | `STEP_SKIPPED`"), std::string::npos);
  EXPECT_NE(md.find("bad \\| pipe"), std::string::npos);
  EXPECT_EQ(md.find("<script>"), std::string::npos);
}

TEST(RenderHtml, SelfContainedWithOnePointPerRowAndPlot) {
  const Fixture f = make_fixture();
  const std::string html = render_html(f.report, &f.comparison);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0U);
  // No scripts, no network: nothing to fetch, nothing to run.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  // 10 rows of size > 0, each in the bandwidth and the time plot.
  EXPECT_EQ(count(html, "<svg class=\"plot\""), 2U);
  EXPECT_EQ(count(html, "<circle class=\"pt "), 20U);
  EXPECT_EQ(count(html, "data-size=\"0\" data-series"), 0U);
  // The failing size is marked in both plots and in the table.
  EXPECT_EQ(count(html, "class=\"pt oop fail\" data-size=\"16777216\""), 2U);
  EXPECT_NE(html.find("<tr class=\"bad\" data-size=\"16777216\">"), std::string::npos);
  // The baseline bands are drawn behind the points.
  EXPECT_EQ(count(html, "class=\"band-pass\""), 2U);
  EXPECT_LT(html.find("class=\"band-pass\""), html.find("<circle class=\"pt "));
  // Checks keep skip distinct; inventory shown.
  EXPECT_NE(html.find("<span class=\"badge skip\">SKIP</span>"), std::string::npos);
  EXPECT_NE(html.find("NCCL_ALGO"), std::string::npos);
  EXPECT_NE(html.find("node-&lt;2&gt;"), std::string::npos);
  // Invalid UTF-8 is replaced, never copied.
  EXPECT_EQ(html.find('\xff'), std::string::npos);
}

TEST(RenderHtml, VerdictAndFailingChecksComeBeforeThePlots) {
  Fixture f = make_fixture();
  f.report.checks.push_back(judged_check("MEMLOCK_LIMITED", Status::warn, "memlock 8 MiB"));
  const std::string html = render_html(f.report, &f.comparison);
  const auto attention = html.find("<section id=\"attention\">");
  ASSERT_NE(attention, std::string::npos);
  EXPECT_LT(attention, html.find("<svg class=\"plot\""));
  EXPECT_LT(html.find("<h1>"), attention);
  // The failing and warning checks are listed there, failures first; passes are not.
  const std::string section =
      html.substr(attention, html.find("</section>", attention) - attention);
  EXPECT_NE(section.find("HARNESS_ERROR"), std::string::npos) << section;
  EXPECT_NE(section.find("MEMLOCK_LIMITED"), std::string::npos);
  EXPECT_LT(section.find("HARNESS_ERROR"), section.find("MEMLOCK_LIMITED"));
  EXPECT_EQ(section.find("data-status=\"pass\""), std::string::npos);
  EXPECT_EQ(section.find("data-status=\"skip\""), std::string::npos);
}

TEST(RenderHtml, AllPairsRunIsOneHeatmapAndOneTable) {
  const Report report =
      read_report(testing::fixtures_dir() / "preflight-p2p-all-pairs-slow-node.json");
  ASSERT_EQ(report.results.size(), 10U);  // 5 nodes, 10 links
  const std::string html = render_html(report, nullptr);
  // No plot per link: one node x node heatmap, every link in both of its cells.
  EXPECT_EQ(count(html, "<svg class=\"plot\""), 0U);
  EXPECT_EQ(count(html, "<svg class=\"heatmap\" data-links=\"10\" data-nodes=\"5\""), 1U);
  EXPECT_EQ(count(html, "<rect class=\"cell\""), 20U);
  // Colour is the fraction of the reference (the median link): node4's links at 45%, red.
  EXPECT_EQ(count(html, "data-fraction=\"0.450\""), 8U);
  EXPECT_EQ(count(html, "data-fraction=\"1.000\""), 12U);
  EXPECT_NE(html.find("data-fraction=\"0.450\" x="), std::string::npos);
  EXPECT_NE(html.find("fill=\"hsl(0,65%,42%)\""), std::string::npos);
  // The per-link rows folded into one table, worst first.
  const auto table = html.find("<table class=\"links\"");
  ASSERT_NE(table, std::string::npos);
  const std::string rows = html.substr(table, html.find("</table>", table) - table);
  EXPECT_EQ(count(rows, "<tr"), 11U);  // header and 10 links
  EXPECT_LT(rows.find("node4"), rows.find("10.00 GB/s"));
  // The outlier finding comes before the heatmap.
  EXPECT_LT(html.find("P2P_NODE_OUTLIER"), html.find("<svg class=\"heatmap\""));
  // Point-to-point bandwidth is called bandwidth, never bus bandwidth.
  EXPECT_EQ(html.find("busbw"), std::string::npos);
  EXPECT_EQ(html.find("bus bandwidth"), std::string::npos);
  // A cluster run's suite report: the same rows, labelled with their step.
  Report suite = report;
  suite.tool.name = "preflight";
  for (auto& row : suite.results) {
    row.labels["step"] = "p2p-all-pairs";
  }
  const std::string cluster = render_html(suite, nullptr);
  EXPECT_EQ(count(cluster, "<svg class=\"heatmap\" data-links=\"10\" data-nodes=\"5\""), 1U);
  EXPECT_NE(cluster.find("bw \u00b7 mpi \u00b7 mpi \u00b7 p2p-all-pairs \u00b7 64 KiB"),
            std::string::npos);
  EXPECT_EQ(count(cluster, "<svg class=\"plot\""), 0U);
}

TEST(RenderHtml, EachMetricItsOwnAxisNames) {
  const Report latency = read_report(testing::fixtures_dir() / "preflight-p2p-pair-latency.json");
  const std::string p2p = render_html(latency, nullptr);
  EXPECT_NE(p2p.find(">one-way latency (us, log scale)</text>"), std::string::npos);
  EXPECT_EQ(count(p2p, "<svg class=\"plot\""), 1U);  // latency only: no bandwidth plot
  EXPECT_EQ(p2p.find("busbw"), std::string::npos);
  EXPECT_EQ(p2p.find("bus bandwidth"), std::string::npos);
  const Fixture f = make_fixture();
  const std::string collective = render_html(f.report, nullptr);
  EXPECT_NE(collective.find(">bus bandwidth (GB/s)</text>"), std::string::npos);
  EXPECT_NE(collective.find(">time (us, log scale)</text>"), std::string::npos);
}

TEST(RenderJunit, OneCasePerCheckAndComparedRow) {
  const Fixture f = make_fixture();
  const std::string xml = render_junit(f.report, &f.comparison);
  const std::size_t checks = f.report.checks.size();
  const std::size_t rows = f.comparison.rows.size();
  EXPECT_EQ(count(xml, "<testcase "), checks + rows);
  EXPECT_NE(xml.find(fmt::format("<testsuites name=\"preflight\" tests=\"{}\"", checks + rows)),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"STEP_SKIPPED\""), std::string::npos);
  EXPECT_NE(xml.find("<skipped message=\"skip: no GPU on this host &lt;script&gt;"),
            std::string::npos);
  EXPECT_NE(xml.find("<error message=\"bad | pipe &amp; &quot;quote&quot;"), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"busbw"), std::string::npos);
  EXPECT_NE(xml.find("name=\"all_reduce 16 MiB (16777216 B)\""), std::string::npos);
  EXPECT_EQ(xml.find('\xff'), std::string::npos);
  EXPECT_EQ(xml.find("<script>"), std::string::npos);
}

TEST(RenderJunit, InconclusiveIsSkippedAndBudgetedFailsPass) {
  auto rows = p5_rows();
  rows[1] = busbw_row(1048576, 15.95e9 * 0.78, 0.15);  // inconclusive
  rows[2] = busbw_row(16777216, 105.52e9 * 0.5);       // fail, within a budget of 1
  Report report = report_with(rows);
  const Comparison c = compare_to_baseline(report, p5_baseline(1), "r.json");
  const std::string xml = render_junit(report, &c);
  EXPECT_NE(xml.find("<skipped message=\"inconclusive: "), std::string::npos);
  EXPECT_NE(xml.find("FAIL (within budget of 1 sizes)"), std::string::npos);
  EXPECT_EQ(count(xml, "<failure "), 0U);
}

TEST(RenderJunit, NoChecksIsNotAPass) {
  Report report;
  report.tool.name = "empty";
  const std::string xml = render_junit(report, nullptr);
  EXPECT_NE(xml.find("<skipped message=\"no checks ran\"/>"), std::string::npos);
}

TEST(RenderPrometheus, MetricsLabelsAndStatuses) {
  Fixture f = make_fixture();
  f.report.run.id = "run-4711";
  f.report.checks.push_back(pass_check("STEP_SKIPPED", "second"));
  f.report.results.push_back(busbw_row(1048576, 1e9));  // a repeat of one size
  f.report.results.back().labels["provider"] = "efa \"x\"\n";
  f.report.results.back().labels["benchmark"] = "clash";
  const std::string text = render_prometheus(f.report, &f.comparison);
  // Base units: bytes per second, seconds; no GB/s, no run id as a label.
  EXPECT_NE(text.find("# TYPE preflight_bus_bandwidth_bytes_per_second gauge"), std::string::npos);
  EXPECT_NE(text.find("preflight_bus_bandwidth_bytes_per_second{tool=\"preflight-allreduce\","
                      "benchmark=\"all_reduce\",backend=\"nccl\",transport=\"\",dtype=\"float\","
                      "op=\"sum\",placement=\"out_of_place\",ranks=\"16\",size_bytes=\"1048576\"} "
                      "15950000000"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("gbps"), std::string::npos);
  EXPECT_EQ(text.find("run-4711"), std::string::npos);
  EXPECT_EQ(text.find("run_id"), std::string::npos);
  EXPECT_NE(text.find("provider=\"efa \\\"x\\\"\\n\""), std::string::npos);
  EXPECT_NE(text.find("label_benchmark=\"clash\""), std::string::npos);
  // One state set per check id: the repeated STEP_SKIPPED id is one set of 7 samples, the worst
  // status ("pass" beats "skip") is the one at 1.
  EXPECT_EQ(count(text, "preflight_check_state{tool=\"preflight-allreduce\",id=\"STEP_SKIPPED\""),
            7U);
  EXPECT_NE(text.find("id=\"STEP_SKIPPED\",severity=\"info\",status=\"pass\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("id=\"STEP_SKIPPED\",severity=\"info\",status=\"skip\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("id=\"HARNESS_ERROR\",severity=\"isolate\",status=\"error\"} 1"),
            std::string::npos);
  // 2026-03-02T10:15:00.250Z
  EXPECT_NE(
      text.find("preflight_run_timestamp_seconds{tool=\"preflight-allreduce\"} 1772446500.25"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("preflight_baseline_state{tool=\"preflight-allreduce\",baseline=\"test-"
                      "baseline\",status=\"fail\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("size_bytes=\"16777216\",status=\"fail\"} 1"), std::string::npos);
  // The same status names everywhere; no numeric coding is left.
  EXPECT_EQ(text.find("_status{"), std::string::npos);
  // Every sample line is unique.
  std::set<std::string> lines;
  std::size_t samples = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line[0] != '#') {
      ++samples;
      lines.insert(line.substr(0, line.rfind(' ')));
    }
  }
  EXPECT_EQ(lines.size(), samples);
}

TEST(RenderPrometheus, EfaCounterDeltasAsCountersByDeviceAndPort) {
  Report report;
  report.tool.name = "preflight";
  report.hw_counters_delta["rdmap16s27"] = {
      {"rx_bytes", 4096}, {"rx_drops", 3}, {"port2/tx_pkts", 7}, {"cmds_err", 0}, {"lifespan", -5}};
  report.hw_counters_delta["node-b/rdmap32s27"] = {{"rx_bytes", 10}};
  const std::string text = render_prometheus(report, nullptr);
  EXPECT_NE(text.find("# TYPE preflight_amazonefa_rx_bytes_total counter"), std::string::npos)
      << text;
  EXPECT_NE(text.find("preflight_amazonefa_rx_bytes_total{tool=\"preflight\",device=\"rdmap16s27\","
                      "port=\"1\"} 4096"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("preflight_amazonefa_rx_bytes_total{tool=\"preflight\",host=\"node-b\","
                      "device=\"rdmap32s27\",port=\"1\"} 10"),
            std::string::npos);
  EXPECT_NE(text.find("preflight_amazonefa_tx_pkts_total{tool=\"preflight\",device=\"rdmap16s27\","
                      "port=\"2\"} 7"),
            std::string::npos);
  // A device-level counter has no port; a counter that went back (a reset) has no delta.
  EXPECT_NE(
      text.find("preflight_amazonefa_cmds_err_total{tool=\"preflight\",device=\"rdmap16s27\"} 0"),
      std::string::npos);
  EXPECT_EQ(text.find("lifespan"), std::string::npos);
}

TEST(RenderPrometheus, TextfileIsWrittenAtomicallyNamedByPlan) {
  const auto directory = std::filesystem::temp_directory_path() / "preflight-textfile-test";
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  Report report;
  report.tool.name = "preflight";
  report.checks.push_back(skip_check("EFA_ABSENT", "no EFA"));
  report.verdict = compute_verdict(report.checks, false);
  const auto path = write_prometheus_textfile(report, directory, "node");
  EXPECT_EQ(path, directory / "preflight_node.prom");
  std::ifstream input(path);
  std::stringstream text;
  text << input.rdbuf();
  EXPECT_EQ(text.str(), render_prometheus(report, nullptr));
  // Nothing else is left in the directory (no temporary the collector could read).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(directory),
                          std::filesystem::directory_iterator()),
            1);
  EXPECT_THROW(write_prometheus_textfile(report, directory / "missing", "node"), std::exception);
  std::filesystem::remove_all(directory);
}

TEST(RenderPrometheus, SkipStaysDistinctAndZonelessTimesAreLeftOut) {
  Report report;
  report.tool.name = "preflight-drivers";
  report.checks.push_back(skip_check("STEP_SKIPPED", "no GPU"));
  report.verdict = compute_verdict(report.checks, false);
  report.run.started_at = "2026-03-02T10:15:00";  // local time: no instant
  const std::string text = render_prometheus(report, nullptr);
  EXPECT_NE(text.find("preflight_verdict_state{tool=\"preflight-drivers\",status=\"skip\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("preflight_verdict_state{tool=\"preflight-drivers\",status=\"pass\"} 0"),
            std::string::npos);
  EXPECT_EQ(text.find("preflight_run_timestamp_seconds{"), std::string::npos);
  EXPECT_EQ(text.find("preflight_bus_bandwidth"), std::string::npos);
}

TEST(Render, FormatsByName) {
  EXPECT_EQ(parse_render_format("html"), RenderFormat::html);
  EXPECT_EQ(parse_render_format("md"), RenderFormat::markdown);
  EXPECT_EQ(parse_render_format("prom"), RenderFormat::prometheus);
  EXPECT_FALSE(parse_render_format("pdf"));
  const Report report = report_with(p5_rows());
  for (const auto format : {RenderFormat::text, RenderFormat::markdown, RenderFormat::html,
                            RenderFormat::junit, RenderFormat::prometheus}) {
    EXPECT_FALSE(render_report(report, format, nullptr).empty());
  }
}

}  // namespace
}  // namespace preflight::reports
