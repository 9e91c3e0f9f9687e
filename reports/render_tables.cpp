#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "common/text.hpp"
#include "reports/format.hpp"
#include "reports/nccl_tests_table.hpp"
#include "reports/render.hpp"
#include "reports/render_series.hpp"
#include "reports/render_text.hpp"

namespace preflight::reports {

std::string render_results_text(const Report& report) {
  const auto row_at = [&](int index) {
    return index < 0 ? nullptr : &report.results.at(static_cast<std::size_t>(index));
  };
  std::string out;
  for (const auto& series : detail::group_series(report)) {
    out += fmt::format("# {}\n", series.title);
    out += nccl_tests_table_header();
    for (const auto& line : series.lines) {
      out += nccl_tests_table_line({row_at(line.out_of_place), row_at(line.in_place)});
    }
    out += "\n";
  }
  return out;
}

std::string render_comparison_text(const Comparison& c) {
  std::string out;
  if (c.kind == "diff") {
    out += fmt::format("# diff: {}\n", c.subject);
  } else {
    out += fmt::format("# baseline: {} ({})\n", c.reference, c.subject);
    out += fmt::format("# source:   {}\n", c.reference_source);
  }
  if (!c.matched.empty()) {
    out += fmt::format("# matched:  {}\n", join(c.matched, " "));
  }
  for (const auto& note : c.notes) {
    out += fmt::format("# note:     {}\n", note);
  }
  const bool diff = c.kind == "diff";
  // The series column as wide as the longest series (labels included), so series that differ
  // only in a label stay apart; capped so a line still fits a wide terminal.
  constexpr std::size_t kMaxSeriesWidth = 100;
  std::size_t width = std::string_view("# series").size();
  for (const auto& row : c.rows) {
    width = std::max(width, std::min(row.series.size(), kMaxSeriesWidth));
  }
  const auto series_cell = [&](std::string_view text) {
    const std::string cut =
        text.size() > width ? std::string(text.substr(0, width - 3)) + "..." : std::string(text);
    return fmt::format("{:<{}} ", cut, width);
  };
  out += fmt::format("{}{:>14}  {:<6} {:>14} {:>14} {:>8}  {:>16}  {}\n",
                     diff ? series_cell("# series") : "#", "size (B)", "metric",
                     diff ? "A" : "expected", diff ? "B" : "measured", "delta", "warn/fail band",
                     "verdict");
  // One line per row of a comparison of maybe 10,000 sizes: compiled formats into one buffer
  // (fmt writes a std::string's back_inserter a character at a time).
  fmt::memory_buffer lines;
  const auto append = [&](const auto& format, const auto&... args) {
    fmt::format_to(std::back_inserter(lines), format, args...);
  };
  // Cells padded as a whole are formatted first, each into a buffer of its own.
  std::array<fmt::memory_buffer, 3> cells;
  const auto cell = [&](std::size_t which, const auto& format, const auto&... args) {
    cells.at(which).clear();
    fmt::format_to(std::back_inserter(cells.at(which)), format, args...);
    return std::string_view(cells.at(which).data(), cells.at(which).size());
  };
  for (const auto& row : c.rows) {
    const std::string series = diff ? series_cell(row.series) : " ";
    if (row.metrics.empty()) {
      append(FMT_COMPILE("{}{:>14}  {}\n"), series, row.size_bytes, to_string(row.verdict));
      continue;
    }
    for (std::size_t k = 0; k < row.metrics.size(); ++k) {
      const MetricOutcome& m = row.metrics[k];
      const double shown_expected = metric_display_value(m.metric, m.expected);
      const std::string_view measured =
          m.measured ? cell(0, FMT_COMPILE("{:.2f}"), metric_display_value(m.metric, *m.measured))
                     : std::string_view("-");
      const double warn_pct = m.expected != 0 ? m.warn_allowance / m.expected * 100 : 0;
      const double fail_pct = m.expected != 0 ? m.fail_allowance / m.expected * 100 : 0;
      const char sign = m.direction == Direction::higher ? '-' : '+';
      std::string verdict(to_string(k == 0 ? row.verdict : m.verdict));
      if (k == 0 && row.within_budget) {
        verdict += " (within budget)";
      }
      append(FMT_COMPILE("{}{:>14}  {:<6} {:>14} {:>14} {:>8}  {:>16}  {}\n"), series,
             row.size_bytes, metric_label(m.metric),
             cell(1, FMT_COMPILE("{:.2f} {}"), shown_expected, metric_unit(m.metric)), measured,
             m.measured ? format_percent(m.delta) : "-",
             cell(2, FMT_COMPILE("{}{:.0f}%/{}{:.0f}%"), sign, warn_pct, sign, fail_pct), verdict);
    }
    if (row.verdict != RowVerdict::pass && row.verdict != RowVerdict::improved &&
        !row.reason.empty()) {
      append(FMT_COMPILE("{}{:>14}  -> {}\n"), series, "", row.reason);
    }
  }
  out.append(lines.data(), lines.size());
  out += fmt::format("comparison: {}\n", c.summary);
  return out;
}

std::string render_text(const Report& report, const Comparison* comparison) {
  std::string out = render_results_text(report);
  if (comparison != nullptr) {
    out += render_comparison_text(*comparison);
    out += "\n";
  }
  out += render_checks_text(report);
  return out;
}

std::optional<RenderFormat> parse_render_format(std::string_view name) {
  if (name == "text") {
    return RenderFormat::text;
  }
  if (name == "markdown" || name == "md") {
    return RenderFormat::markdown;
  }
  if (name == "html") {
    return RenderFormat::html;
  }
  if (name == "junit") {
    return RenderFormat::junit;
  }
  if (name == "prometheus" || name == "prom") {
    return RenderFormat::prometheus;
  }
  return std::nullopt;
}

std::string render_report(const Report& report, RenderFormat format, const Comparison* comparison) {
  switch (format) {
    case RenderFormat::text:
      return render_text(report, comparison);
    case RenderFormat::markdown:
      return render_markdown(report, comparison);
    case RenderFormat::html:
      return render_html(report, comparison);
    case RenderFormat::junit:
      return render_junit(report, comparison);
    case RenderFormat::prometheus:
      return render_prometheus(report, comparison);
  }
  return render_text(report, comparison);
}

}  // namespace preflight::reports
