// Internal to the HTML renderer: the pieces of the page, one file per kind of piece.
//   render_html.cpp         the page: head and style, facts, then the sections in reading order
//   render_html_plot.cpp    a series' SVG plots against message size, the baseline's bands behind
//   render_html_links.cpp   the node x node heatmap and the per-link table of all-pairs runs
//   render_html_tables.cpp  the results, comparison, checks and inventory tables
// Every piece escapes what it prints from the report (esc), so a hostile host name or message
// stays text.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "reports/compare.hpp"
#include "reports/render_series.hpp"
#include "reports/report.hpp"

namespace preflight::reports::html {

[[nodiscard]] std::string esc(std::string_view text);
// A status or verdict as a coloured pill (CSS class = the status).
[[nodiscard]] std::string badge(std::string_view status);
[[nodiscard]] std::string number(double value, int decimals = 2);

// The bandwidth and time plots of one series, with the baseline's bands when `comparison` is a
// baseline comparison of the same benchmark; "" when nothing can be plotted.
[[nodiscard]] std::string series_plots(const Report& report, const detail::Series& series,
                                       const Comparison* comparison,
                                       const std::map<int, const RowOutcome*>& outcomes);

[[nodiscard]] std::string link_heatmap(const detail::LinkGroup& group);
[[nodiscard]] std::string links_table(const Report& report, const detail::LinkGroup& group);

[[nodiscard]] std::string results_table(const Report& report, const detail::Series& series,
                                        const std::map<int, const RowOutcome*>& outcomes);
[[nodiscard]] std::string comparison_section(const Comparison& comparison);
// The verdict's reasons, before any plot: every check that failed, broke or warned.
[[nodiscard]] std::string attention_section(const Report& report);
// Every check, in the order they ran.
[[nodiscard]] std::string checks_section(const Report& report);
[[nodiscard]] std::string inventory_section(const Report& report);

}  // namespace preflight::reports::html
