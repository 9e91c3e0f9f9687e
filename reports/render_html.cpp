// HTML: one self-contained file a person opens from a CI artifact or a mail. Inline CSS and SVG
// only — no scripts, no fonts or images from the network — so it renders the same offline,
// behind a proxy, and in viewers that block scripts. The pieces of the page live in
// render_html_*.cpp (see render_html_parts.hpp).
#include <fmt/format.h>

#include <algorithm>

#include "common/text.hpp"
#include "preflight/build_config.hpp"
#include "reports/format.hpp"
#include "reports/render.hpp"
#include "reports/render_html_parts.hpp"
#include "reports/render_series.hpp"

namespace preflight::reports {
namespace html {

std::string esc(std::string_view text) {
  return xml_escape(text);
}

std::string badge(std::string_view status) {
  return fmt::format("<span class=\"badge {}\">{}</span>", esc(status), esc(to_upper(status)));
}

std::string number(double value, int decimals) {
  return fmt::format("{:.{}f}", value, decimals);
}

namespace {

constexpr std::string_view kStyle = R"CSS(
:root { --pass:#1a7f37; --warn:#9a6700; --fail:#cf222e; --skip:#6e7781; --error:#8250df;
        --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --panel:#f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
       Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 48px; }
header { display: flex; align-items: center; gap: 14px; flex-wrap: wrap;
         border-bottom: 1px solid var(--line); padding-bottom: 12px; }
h1 { font-size: 22px; margin: 0; font-weight: 600; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
.summary { color: var(--muted); margin: 8px 0 0; width: 100%; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600;
         font-size: 12px; letter-spacing: .04em; color: #fff; background: var(--skip); }
.badge.pass, .badge.improved { background: var(--pass); }
.badge.warn, .badge.inconclusive { background: var(--warn); }
.badge.fail, .badge.missing { background: var(--fail); }
.badge.error, .badge.timeout, .badge.usage { background: var(--error); }
.badge.skip { background: var(--skip); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 8px 24px;
         margin: 14px 0 0; }
.facts div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.facts dt { color: var(--muted); font-size: 12px; }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plot, .heatmap { border: 1px solid var(--line); border-radius: 6px; background: #fff; }
svg text.cellpct { fill: #1f2328; font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; vertical-align: middle; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 4px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.bad td { background: #ffebe9; }
tr.warnrow td { background: #fff8c5; }
.scroll { overflow-x: auto; }
.notes { color: var(--muted); margin: 4px 0 8px 18px; padding: 0; }
.remediation { color: var(--muted); font-style: italic; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px;
      overflow: auto; max-height: 480px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #59636e; }
svg .title { font-size: 13px; font-weight: 600; fill: #1f2328; }
)CSS";

// The run's facts: tool, instance type, ranks, nodes, hosts, times, run id (each only if known).
std::string facts_list(const Report& report) {
  std::string out;
  out += "<dl class=\"facts\">\n";
  const auto fact = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) {
      out += fmt::format("<div><dt>{}</dt><dd>{}</dd></div>\n", esc(name), esc(value));
    }
  };
  fact("tool", report.tool.version.empty() ? report.tool.name
                                           : report.tool.name + " " + report.tool.version);
  fact("instance type", report.inventory.instance_type);
  fact("ranks", std::to_string(report.run.ranks));
  fact("nodes", report.run.nodes > 0 ? std::to_string(report.run.nodes) : "");
  fact("hosts", report.run.hosts.size() > 4
                    ? fmt::format("{} \u2026 ({} hosts)",
                                  join(std::vector<std::string>(report.run.hosts.begin(),
                                                                report.run.hosts.begin() + 4),
                                       ", "),
                                  report.run.hosts.size())
                    : join(report.run.hosts, ", "));
  fact("started", report.run.started_at);
  fact("finished", report.run.finished_at);
  fact("run id", report.run.id);
  out += "</dl>\n";

  return out;
}

// All-pairs and cluster runs: a node x node heatmap and one table per test and size, instead of
// a plot per link.
std::string links_section(const Report& report, const std::vector<detail::LinkGroup>& link_groups) {
  std::string out = "<section id=\"links\">\n<h2>Links</h2>\n";
  for (const auto& group : link_groups) {
    out += fmt::format("<h3 id=\"{}\">{}</h3>\n", group.key, esc(group.title));
    out += link_heatmap(group);
    out += links_table(report, group);
  }
  out += "</section>\n";
  return out;
}

// Plots and a table per series; without the series that only hold links' rows when the links are
// shown as a heatmap (they would be a plot per link).
std::string results_section(const Report& report, const Comparison* comparison, bool links_shown) {
  const auto outcomes = detail::outcomes_by_row(comparison);
  auto series_list = detail::group_series(report);
  if (links_shown) {
    std::erase_if(series_list, [&](const detail::Series& series) {
      return std::all_of(series.lines.begin(), series.lines.end(), [&](const auto& line) {
        for (const int index : {line.out_of_place, line.in_place}) {
          if (index >= 0 && !detail::is_link_row(report.results[static_cast<std::size_t>(index)])) {
            return false;
          }
        }
        return true;
      });
    });
  }
  if (series_list.empty()) {
    return {};
  }
  std::string out = "<section id=\"results\">\n<h2>Results</h2>\n";
  for (const auto& series : series_list) {
    out += fmt::format("<h3 id=\"{}\">{}</h3>\n<div class=\"plots\">\n", series.key,
                       esc(series.title));
    out += series_plots(report, series, comparison, outcomes);
    out += "</div>\n";
    out += results_table(report, series, outcomes);
  }
  out += "</section>\n";
  return out;
}

// The report's details as indented JSON, folded, without the comparison (rendered above).
std::string details_section(const Report& report) {
  std::string out;
  if (report.details.is_object() && !report.details.empty()) {
    nlohmann::json shown = report.details;
    shown.erase("comparison");  // rendered above
    if (!shown.empty()) {
      std::string text = shown.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
      constexpr std::size_t kMaxDetails = 64 * 1024;
      if (text.size() > kMaxDetails) {
        text = text.substr(0, kMaxDetails) + "\n\u2026 (truncated)";
      }
      out +=
          "<section id=\"details\">\n<h2>Details</h2>\n<details><summary>report details "
          "(JSON)</summary><pre>" +
          esc(text) + "</pre></details>\n</section>\n";
    }
  }
  return out;
}

}  // namespace
}  // namespace html

std::string render_html(const Report& report, const Comparison* comparison) {
  using html::badge;
  using html::esc;
  const std::string status(to_string(report.verdict.status));
  std::string out;
  out.reserve(64 * 1024 + report.results.size() * 1200);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>preflight report: {} \u2014 {}</title>\n", esc(report.tool.name),
                     esc(to_upper(status)));
  out += "<style>";
  out += html::kStyle;
  out += "</style>\n</head>\n<body>\n<main>\n";
  out += fmt::format(
      "<header><h1>preflight report \u00b7 {}</h1>{}<p class=\"summary\">{}</p></header>\n",
      esc(report.tool.name), badge(status), esc(report.verdict.summary));
  out += html::facts_list(report);
  // First what decides the verdict, then the measurements.
  out += html::attention_section(report);
  const auto link_groups = detail::group_links(report);
  if (!link_groups.empty()) {
    out += html::links_section(report, link_groups);
  }
  out += html::results_section(report, comparison, !link_groups.empty());
  if (comparison != nullptr) {
    out += html::comparison_section(*comparison);
  }
  out += html::checks_section(report);
  out += html::inventory_section(report);
  out += html::details_section(report);
  out += fmt::format(
      "<footer>Rendered by preflight-report {} \u00b7 one self-contained file: no scripts, no "
      "network.</footer>\n",
      esc(PREFLIGHT_VERSION_STRING));
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace preflight::reports
