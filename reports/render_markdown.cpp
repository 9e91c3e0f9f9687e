// Markdown: for pull requests, wikis and CI job summaries (GitHub's $GITHUB_STEP_SUMMARY).
#include <fmt/format.h>

#include "common/text.hpp"
#include "reports/format.hpp"
#include "reports/render.hpp"
#include "reports/render_series.hpp"

namespace preflight::reports {

namespace {

std::string status_word(Status status) {
  return to_upper(to_string(status));
}

std::string cell(std::string_view text) {
  return markdown_escape(text);
}

std::string time_us(const ResultRow& row) {
  return fmt::format("{:.2f}", row.time_s.median * 1e6);
}

std::string gbps(double bps) {
  return fmt::format("{:.2f}", bps / 1e9);
}

std::string wrong(const ResultRow& row) {
  return row.wrong_elements < 0 ? std::string("N/A") : std::to_string(row.wrong_elements);
}

}  // namespace

std::string render_markdown(const Report& report, const Comparison* comparison) {
  std::string out;
  out += fmt::format("# preflight report: {} \u2014 {}\n\n", cell(report.tool.name),
                     status_word(report.verdict.status));
  out += fmt::format("**Verdict:** {} (exit {})\n\n", cell(report.verdict.summary),
                     report.verdict.exit_code);
  out += "| run | |\n|---|---|\n";
  const auto fact = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) {
      out += fmt::format("| {} | {} |\n", name, cell(value));
    }
  };
  fact("tool", fmt::format("{} {}", report.tool.name, report.tool.version));
  fact("run id", report.run.id);
  fact("started", report.run.started_at);
  fact("finished", report.run.finished_at);
  fact("instance type", report.inventory.instance_type);
  fact("ranks", std::to_string(report.run.ranks));
  fact("nodes", report.run.nodes > 0 ? std::to_string(report.run.nodes) : "");
  fact("hosts", join(report.run.hosts, ", "));
  out += "\n";

  const auto outcomes = detail::outcomes_by_row(comparison);
  for (const auto& series : detail::group_series(report)) {
    out += fmt::format("## {}\n\n", cell(series.title));
    out +=
        "| size (B) | count | time (us) | algbw (GB/s) | busbw (GB/s) | #wrong | "
        "in-place time (us) | in-place busbw (GB/s) | in-place #wrong |";
    out += comparison != nullptr ? " baseline |\n" : "\n";
    out += "|---:|---:|---:|---:|---:|---:|---:|---:|---:|";
    out += comparison != nullptr ? "---|\n" : "\n";
    for (const auto& line : series.lines) {
      const auto column = [&](int index, auto&& field) -> std::string {
        return index < 0 ? std::string("-")
                         : field(report.results[static_cast<std::size_t>(index)]);
      };
      const int any = line.out_of_place >= 0 ? line.out_of_place : line.in_place;
      std::string verdict;
      for (const int index : {line.out_of_place, line.in_place}) {
        const auto found = outcomes.find(index);
        if (index >= 0 && found != outcomes.end()) {
          verdict = std::string(to_string(found->second->verdict));
          if (detail::is_failing(found->second->verdict)) {
            verdict = "**" + to_upper(verdict) + "**";
          }
        }
      }
      out += fmt::format(
          "| {} | {} | {} | {} | {} | {} | {} | {} | {} |", line.size_bytes,
          report.results[static_cast<std::size_t>(any)].count, column(line.out_of_place, time_us),
          column(line.out_of_place, [](const ResultRow& r) { return gbps(r.algbw_Bps); }),
          column(line.out_of_place, [](const ResultRow& r) { return gbps(r.busbw_Bps); }),
          column(line.out_of_place, wrong), column(line.in_place, time_us),
          column(line.in_place, [](const ResultRow& r) { return gbps(r.busbw_Bps); }),
          column(line.in_place, wrong));
      out += comparison != nullptr ? fmt::format(" {} |\n", verdict.empty() ? "-" : verdict) : "\n";
    }
    out += "\n";
  }

  if (comparison != nullptr) {
    const Comparison& c = *comparison;
    out += c.kind == "diff" ? fmt::format("## Diff: {}\n\n", cell(c.subject))
                            : fmt::format("## Baseline: {}\n\n", cell(c.reference));
    out += fmt::format("**{}** \u2014 {}\n\n", status_word(c.status), cell(c.summary));
    if (c.kind != "diff") {
      out += fmt::format("Source: {}\n\n", cell(c.reference_source));
    }
    for (const auto& note : c.notes) {
      out += fmt::format("- {}\n", cell(note));
    }
    if (!c.notes.empty()) {
      out += "\n";
    }
    out += "| size (B) | metric | expected | measured | delta | verdict |\n";
    out += "|---:|---|---:|---:|---:|---|\n";
    for (const auto& row : c.rows) {
      for (const auto& m : row.metrics) {
        std::string verdict(to_string(m.verdict));
        if (detail::is_failing(m.verdict)) {
          verdict = "**" + to_upper(verdict) + "**";
        }
        out += fmt::format("| {}{} | {} | {} | {} | {} | {} |\n",
                           row.series.empty() ? "" : cell(row.series) + " ", row.size_bytes,
                           metric_label(m.metric), format_metric(m.metric, m.expected),
                           m.measured ? format_metric(m.metric, *m.measured) : "-",
                           m.measured ? format_percent(m.delta) : "-", verdict);
      }
    }
    out += "\n";
  }

  out += "## Checks\n\n| status | id | severity | message |\n|---|---|---|---|\n";
  for (const auto& check : report.checks) {
    std::string message = cell(check.message);
    if (!check.remediation.empty() && check.status != Status::pass &&
        check.status != Status::skip) {
      message += " \u2014 *" + cell(check.remediation) + "*";
    }
    out += fmt::format("| {} | `{}` | {} | {} |\n", status_word(check.status), check.id,
                       to_string(check.severity), message);
  }
  if (report.checks.empty()) {
    out += "| SKIP | \u2014 | \u2014 | no checks ran |\n";
  }
  out += "\n";

  out += "## Inventory\n\n";
  if (!report.inventory.versions.empty()) {
    out += "| component | version |\n|---|---|\n";
    for (const auto& [name, version] : report.inventory.versions) {
      out += fmt::format("| {} | {} |\n", cell(name), cell(version));
    }
    out += "\n";
  }
  out += fmt::format("GPUs: {}, EFA devices: {}\n", report.inventory.gpus.size(),
                     report.inventory.efa.size());
  if (!report.inventory.env.empty()) {
    out += "\n| environment | value |\n|---|---|\n";
    for (const auto& [name, value] : report.inventory.env) {
      out += fmt::format("| `{}` | {} |\n", name, cell(value));
    }
  }
  return out;
}

}  // namespace preflight::reports
