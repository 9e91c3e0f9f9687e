#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "reports/format.hpp"
#include "reports/render_html_parts.hpp"

namespace preflight::reports::html {
namespace {

// A point-to-point series: its own metric names and no in-place columns.
std::string pair_results_table(const Report& report, const detail::Series& series,
                               const detail::MetricNames& names) {
  std::string out = fmt::format(
      "<div class=\"scroll\"><table class=\"results\"><thead><tr><th class=\"num\">size</th>"
      "<th class=\"num\">iterations</th><th class=\"num\">{} (us)</th>{}<th class=\"num\">"
      "wrong</th></tr></thead><tbody>\n",
      esc(names.time),
      names.bandwidth.empty()
          ? std::string()
          : fmt::format("<th class=\"num\">{} (GB/s)</th>", esc(names.bandwidth)));
  for (const auto& line : series.lines) {
    for (const int index : {line.out_of_place, line.in_place}) {
      if (index < 0) {
        continue;
      }
      const ResultRow& r = report.results[static_cast<std::size_t>(index)];
      out += fmt::format(
          "<tr{} data-size=\"{}\"><td class=\"num\" title=\"{} B\">{}</td><td "
          "class=\"num\">{}</td><td class=\"num\">{}</td>{}<td class=\"num\">{}</td></tr>\n",
          r.wrong_elements > 0 ? " class=\"bad\"" : "", r.size_bytes, r.size_bytes,
          esc(human_size(r.size_bytes)), r.time_s.n, number(r.time_s.median * 1e6, 3),
          names.bandwidth.empty()
              ? std::string()
              : fmt::format("<td class=\"num\">{}</td>", number(r.algbw_Bps / 1e9, 3)),
          r.wrong_elements < 0 ? std::string("N/A") : std::to_string(r.wrong_elements));
    }
  }
  return out + "</tbody></table></div>\n";
}

bool is_bad(Status status) {
  return status == Status::fail || status == Status::error || status == Status::timeout;
}

}  // namespace

std::string results_table(const Report& report, const detail::Series& series,
                          const std::map<int, const RowOutcome*>& outcomes) {
  {
    const auto& first = series.lines.front();
    const ResultRow& row = report.results[static_cast<std::size_t>(
        first.out_of_place >= 0 ? first.out_of_place : first.in_place)];
    if (row.labels.contains("time")) {
      return pair_results_table(report, series, detail::metric_names(row));
    }
  }
  std::string out =
      "<div class=\"scroll\"><table class=\"results\"><thead><tr><th class=\"num\">size</th><th "
      "class=\"num\">count</th>"
      "<th class=\"num\">time (us)</th><th class=\"num\">algbw (GB/s)</th>"
      "<th class=\"num\">busbw (GB/s)</th><th class=\"num\">#wrong</th>"
      "<th class=\"num\">in-place time (us)</th><th class=\"num\">in-place busbw (GB/s)</th>"
      "<th class=\"num\">in-place #wrong</th><th>baseline</th></tr></thead><tbody>\n";
  const auto cells = [&](int index, bool full) {
    if (index < 0) {
      return std::string(full ? "<td class=\"num\">-</td><td class=\"num\">-</td><td "
                                "class=\"num\">-</td><td class=\"num\">-</td>"
                              : "<td class=\"num\">-</td><td class=\"num\">-</td><td "
                                "class=\"num\">-</td>");
    }
    const ResultRow& r = report.results[static_cast<std::size_t>(index)];
    const std::string wrong =
        r.wrong_elements < 0 ? std::string("N/A") : std::to_string(r.wrong_elements);
    if (full) {
      return fmt::format(
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
          "class=\"num\">{}</td>",
          number(r.time_s.median * 1e6), number(r.algbw_Bps / 1e9), number(r.busbw_Bps / 1e9),
          wrong);
    }
    return fmt::format(
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        number(r.time_s.median * 1e6), number(r.busbw_Bps / 1e9), wrong);
  };
  for (const auto& line : series.lines) {
    const int any = line.out_of_place >= 0 ? line.out_of_place : line.in_place;
    const ResultRow& row = report.results[static_cast<std::size_t>(any)];
    const RowOutcome* outcome = nullptr;
    for (const int index : {line.out_of_place, line.in_place}) {
      const auto found = outcomes.find(index);
      if (index >= 0 && found != outcomes.end()) {
        outcome = found->second;
      }
    }
    std::string row_class;
    bool wrong = false;
    for (const int index : {line.out_of_place, line.in_place}) {
      if (index >= 0 && report.results[static_cast<std::size_t>(index)].wrong_elements > 0) {
        wrong = true;
      }
    }
    if (wrong || (outcome != nullptr && detail::is_failing(outcome->verdict))) {
      row_class = " class=\"bad\"";
    } else if (outcome != nullptr && (outcome->verdict == RowVerdict::warn ||
                                      outcome->verdict == RowVerdict::inconclusive)) {
      row_class = " class=\"warnrow\"";
    }
    out += fmt::format(
        "<tr{} data-size=\"{}\"><td class=\"num\" title=\"{} B\">{}</td><td "
        "class=\"num\">{}</td>{}{}"
        "<td>{}</td></tr>\n",
        row_class, line.size_bytes, line.size_bytes, esc(human_size(line.size_bytes)), row.count,
        cells(line.out_of_place, true), cells(line.in_place, false),
        // The reason is a tooltip here; the comparison table below spells it out.
        outcome == nullptr ? std::string()
                           : fmt::format("<span title=\"{}\">{}</span>", esc(outcome->reason),
                                         badge(to_string(outcome->verdict))));
  }
  out += "</tbody></table></div>\n";
  return out;
}

std::string comparison_section(const Comparison& c) {
  std::string out = "<section id=\"comparison\">\n";
  if (c.kind == "diff") {
    out += fmt::format("<h2>Diff {}</h2>\n", badge(to_string(c.status)));
    out += fmt::format("<p>{}</p>\n", esc(c.subject));
  } else {
    out += fmt::format("<h2>Baseline: {} {}</h2>\n", esc(c.reference), badge(to_string(c.status)));
    out += fmt::format("<p>{}<br><span class=\"remediation\">source: {}</span></p>\n",
                       esc(c.subject), esc(c.reference_source));
  }
  out += fmt::format("<p><strong>{}</strong></p>\n", esc(c.summary));
  if (!c.matched.empty() || !c.notes.empty()) {
    out += "<ul class=\"notes\">";
    if (!c.matched.empty()) {
      out += fmt::format("<li>matched on {}</li>", esc(join(c.matched, ", ")));
    }
    for (const auto& note : c.notes) {
      out += fmt::format("<li>{}</li>", esc(note));
    }
    out += "</ul>\n";
  }
  out += "<table class=\"comparison\"><thead><tr>" +
         std::string(c.kind == "diff" ? "<th>series</th>" : "") +
         "<th class=\"num\">size</th><th>metric</th><th class=\"num\">expected</th>"
         "<th class=\"num\">measured</th><th class=\"num\">delta</th><th class=\"num\">warn / fail "
         "allowance</th><th>verdict</th></tr></thead><tbody>\n";
  for (const auto& row : c.rows) {
    for (std::size_t k = 0; k < row.metrics.size(); ++k) {
      const MetricOutcome& m = row.metrics[k];
      const std::string css =
          detail::is_failing(row.verdict) ? " class=\"bad\""
          : (row.verdict == RowVerdict::warn || row.verdict == RowVerdict::inconclusive)
              ? " class=\"warnrow\""
              : "";
      out += fmt::format(
          "<tr{}>{}<td class=\"num\" title=\"{} B\">{}</td><td>{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} / {}</td>"
          "<td>{}{}</td></tr>\n",
          css, c.kind == "diff" ? "<td>" + esc(row.series) + "</td>" : "", row.size_bytes,
          esc(human_size(row.size_bytes)), esc(metric_label(m.metric)),
          esc(format_metric(m.metric, m.expected)),
          m.measured ? esc(format_metric(m.metric, *m.measured)) : "-",
          m.measured ? esc(format_percent(m.delta)) : "-",
          esc(format_metric(m.metric, m.warn_allowance)),
          esc(format_metric(m.metric, m.fail_allowance)), badge(to_string(m.verdict)),
          row.within_budget && k == 0 ? " <span class=\"remediation\">within budget</span>" : "");
    }
  }
  out += "</tbody></table>\n</section>\n";
  return out;
}

std::string attention_section(const Report& report) {
  std::vector<const Check*> shown;
  for (const bool bad : {true, false}) {
    for (const auto& check : report.checks) {
      if (bad ? is_bad(check.status) : check.status == Status::warn) {
        shown.push_back(&check);
      }
    }
  }
  std::string out = "<section id=\"attention\">\n<h2>Failing and warning checks</h2>\n";
  if (shown.empty()) {
    out += fmt::format("<p class=\"summary\">None: {}.</p>\n", esc(report.verdict.summary));
    return out + "</section>\n";
  }
  out +=
      "<table class=\"checks attention\"><thead><tr><th>status</th><th>id</th><th>severity</th>"
      "<th>message</th></tr></thead><tbody>\n";
  for (const Check* check : shown) {
    out += fmt::format(
        "<tr class=\"{}\" data-status=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td>"
        "<td>{}{}</td></tr>\n",
        is_bad(check->status) ? "bad" : "warnrow", esc(to_string(check->status)),
        badge(to_string(check->status)), esc(check->id), esc(to_string(check->severity)),
        esc(check->message),
        check->remediation.empty()
            ? std::string()
            : "<br><span class=\"remediation\">" + esc(check->remediation) + "</span>");
  }
  return out + "</tbody></table>\n</section>\n";
}

std::string checks_section(const Report& report) {
  std::string out = "<section id=\"checks\">\n<h2>All checks</h2>\n";
  out +=
      "<table class=\"checks\"><thead><tr><th>status</th><th>id</th><th>severity</th>"
      "<th>message</th></tr></thead><tbody>\n";
  for (const auto& check : report.checks) {
    const bool bad = check.status == Status::fail || check.status == Status::error ||
                     check.status == Status::timeout;
    out += fmt::format(
        "<tr{} "
        "data-status=\"{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}{}</td></tr>\n",
        bad ? " class=\"bad\"" : (check.status == Status::warn ? " class=\"warnrow\"" : ""),
        esc(to_string(check.status)), badge(to_string(check.status)), esc(check.id),
        esc(to_string(check.severity)), esc(check.message),
        check.remediation.empty() || check.status == Status::pass || check.status == Status::skip
            ? std::string()
            : "<br><span class=\"remediation\">" + esc(check.remediation) + "</span>");
  }
  if (report.checks.empty()) {
    out += "<tr><td>" + badge("skip") + "</td><td colspan=\"3\">no checks ran</td></tr>\n";
  }
  out += "</tbody></table>\n</section>\n";

  return out;
}

std::string inventory_section(const Report& report) {
  std::string out = "<section id=\"inventory\">\n<h2>Inventory</h2>\n";
  if (!report.inventory.versions.empty()) {
    out +=
        "<table class=\"versions\"><thead><tr><th>component</th><th>version</th></tr></thead>"
        "<tbody>\n";
    for (const auto& [name, version] : report.inventory.versions) {
      out += fmt::format("<tr><td>{}</td><td><code>{}</code></td></tr>\n", esc(name), esc(version));
    }
    out += "</tbody></table>\n";
  }
  const auto device_table = [&](const nlohmann::json& devices, std::string_view title) {
    if (!devices.is_array() || devices.empty()) {
      return;
    }
    std::vector<std::string> columns;
    for (const auto& device : devices) {
      if (device.is_object()) {
        for (const auto& [key, value] : device.items()) {
          if (std::find(columns.begin(), columns.end(), key) == columns.end() &&
              columns.size() < 8) {
            columns.push_back(key);
          }
        }
      }
    }
    out += fmt::format("<h3>{} ({})</h3>\n<table class=\"devices\"><thead><tr>", esc(title),
                       devices.size());
    for (const auto& column : columns) {
      out += fmt::format("<th>{}</th>", esc(column));
    }
    out += "</tr></thead><tbody>\n";
    std::size_t shown = 0;
    for (const auto& device : devices) {
      if (++shown > 32) {
        out += fmt::format("<tr><td colspan=\"{}\">\u2026 {} more</td></tr>\n", columns.size(),
                           devices.size() - 32);
        break;
      }
      out += "<tr>";
      for (const auto& column : columns) {
        std::string value;
        if (device.is_object() && device.contains(column)) {
          const auto& v = device.at(column);
          value = v.is_string() ? v.get<std::string>() : v.dump();
        }
        out += fmt::format("<td>{}</td>", esc(value));
      }
      out += "</tr>\n";
    }
    out += "</tbody></table>\n";
  };
  device_table(report.inventory.gpus, "GPUs");
  device_table(report.inventory.efa, "EFA devices");
  if (!report.inventory.env.empty()) {
    out += "<h3>Environment (allow-listed)</h3>\n<table class=\"env\"><tbody>\n";
    for (const auto& [name, value] : report.inventory.env) {
      out += fmt::format("<tr><td><code>{}</code></td><td><code>{}</code></td></tr>\n", esc(name),
                         esc(value));
    }
    out += "</tbody></table>\n";
  }
  if (report.inventory.versions.empty() && report.inventory.gpus.empty() &&
      report.inventory.efa.empty() && report.inventory.env.empty() &&
      report.inventory.instance_type.empty()) {
    out += "<p class=\"remediation\">The report records no inventory.</p>\n";
  }
  out += "</section>\n";

  return out;
}

}  // namespace preflight::reports::html
