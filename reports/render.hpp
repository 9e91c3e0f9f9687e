// Renderers of `preflight-report render REPORT --format F [--baseline FILE]`. Each takes the
// report and, when there is one, a comparison with a baseline (computed from --baseline, or the
// one `compare --json` stored in the report). Formatting never measures: these are pure
// functions of their inputs, so golden tests can pin their output.
#pragma once

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

// Text: nccl-tests-like tables of the results (size, count, type, redop, root, then time, algbw,
// busbw, #wrong for out-of-place and in-place), the comparison, then the checks.
[[nodiscard]] std::string render_text(const Report& report, const Comparison* comparison);
// The results tables alone, in nccl-tests' column layout.
[[nodiscard]] std::string render_results_text(const Report& report);
// The comparison as a table: size, metric, expected, measured, delta, bands, verdict.
[[nodiscard]] std::string render_comparison_text(const Comparison& comparison);

[[nodiscard]] std::string render_markdown(const Report& report, const Comparison* comparison);

// One self-contained HTML file: inline CSS and SVG, no scripts, no network. Plots busbw (or
// algbw) and time against size on a log2 axis, the baseline's bands drawn behind the points,
// failing rows marked; then the results, comparison, checks and inventory tables. Every plotted
// point is an SVG <circle> of class "pt" carrying data-size and data-series attributes.
[[nodiscard]] std::string render_html(const Report& report, const Comparison* comparison);

// JUnit XML: one testsuite of the checks (one testcase each) and one of the compared rows.
// fail -> <failure>, error/timeout -> <error>, skip and inconclusive -> <skipped>; warn passes
// with the message in <system-out>.
[[nodiscard]] std::string render_junit(const Report& report, const Comparison* comparison);

// Prometheus / node_exporter textfile: preflight_busbw_gbps, preflight_algbw_gbps,
// preflight_time_median_seconds per result row; preflight_check_status per check id;
// preflight_run_timestamp_seconds; preflight_verdict_status; preflight_baseline_row_status.
[[nodiscard]] std::string render_prometheus(const Report& report, const Comparison* comparison);

// Status codes of the Prometheus and JUnit outputs: pass 0, warn 1, fail 2, skip 3, error 4,
// timeout 5, usage 6.
[[nodiscard]] int status_code(Status status);

}  // namespace preflight::reports
