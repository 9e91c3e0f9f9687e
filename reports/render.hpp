// Renderers of `preflight-report render REPORT --format F [--baseline FILE]`. Each takes the
// report and, when there is one, a comparison with a baseline (computed from --baseline, or the
// one `compare --json` stored in the report). Formatting never measures: these are pure
// functions of their inputs, so golden tests can pin their output.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "reports/compare.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

enum class RenderFormat { text, markdown, html, junit, prometheus };
[[nodiscard]] std::optional<RenderFormat> parse_render_format(std::string_view name);

[[nodiscard]] std::string render_report(const Report& report, RenderFormat format,
                                        const Comparison* comparison);

// Text: one nccl-tests table per series of results (printed by reports/nccl_tests_table.hpp, the
// printer the collective binaries use too), the comparison, then the checks.
[[nodiscard]] std::string render_text(const Report& report, const Comparison* comparison);
// The results tables alone, each under its series' title.
[[nodiscard]] std::string render_results_text(const Report& report);
// The comparison as a table: size, metric, expected, measured, delta, bands, verdict.
[[nodiscard]] std::string render_comparison_text(const Comparison& comparison);

[[nodiscard]] std::string render_markdown(const Report& report, const Comparison* comparison);

// One self-contained HTML file: inline CSS and SVG, no scripts, no network. Plots busbw (or
// algbw) and time against size on a log2 axis, the baseline's bands drawn behind the points,
// failing rows marked; then the results, comparison, checks and inventory tables. Every plotted
// point is an SVG <circle> of class "pt" carrying data-size and data-series attributes.
[[nodiscard]] std::string render_html(const Report& report, const Comparison* comparison);

// JUnit XML, the one writer for a tool's report and the umbrella's suite report: a testsuite of
// the checks (one testcase each, classname "preflight.<host>.<step or tool>", time the step's
// duration on its first case), then one of the compared rows and one of the trend's rows.
// fail -> <failure>, error/timeout/usage -> <error>, skip and inconclusive -> <skipped>; warn
// passes with "WARN: ..." in <system-out> and a testsuite property
// preflight.status.<classname>.<name> = warn. A suite's failing case carries its step's stderr
// tail, a baseline comparison's the rows that missed, the trend step's the regressed rows.
// Valid against Jenkins' junit-10.xsd (see render_junit.cpp for the choices).
[[nodiscard]] std::string render_junit(const Report& report, const Comparison* comparison);

// Prometheus / node_exporter textfile, names in base units and no per-run label:
//   preflight_bus_bandwidth_bytes_per_second, preflight_algorithm_bandwidth_bytes_per_second,
//   preflight_time_median_seconds, preflight_wrong_elements per result row;
//   state sets {status="pass|warn|fail|skip|error|usage|timeout"} 0/1: preflight_verdict_state,
//   preflight_check_state per check id, preflight_baseline_state (and per compared size
//   preflight_baseline_row_state, whose states are the row verdicts);
//   preflight_amazonefa_<counter>_total{device, port}: EFA hw_counters counted during the run;
//   preflight_run_info, preflight_run_timestamp_seconds.
[[nodiscard]] std::string render_prometheus(const Report& report, const Comparison* comparison);

// Writes render_prometheus(report) atomically as DIR/preflight_<plan>.prom, for node_exporter's
// textfile collector (--collector.textfile.directory=DIR); returns the path. Throws
// preflight::Error when the file cannot be written.
std::filesystem::path write_prometheus_textfile(const Report& report,
                                                const std::filesystem::path& directory,
                                                std::string_view plan);

}  // namespace preflight::reports
