// JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one testcase per check and
// one per compared row. A skipped check and an inconclusive row are <skipped>, never a silent
// pass; a warning passes but carries its message in <system-out>.
#include <fmt/format.h>

#include <map>

#include "common/text.hpp"
#include "reports/format.hpp"
#include "reports/history_format.hpp"
#include "reports/render.hpp"

namespace preflight::reports {

namespace {

std::string esc(std::string_view text) {
  return xml_escape(text);
}

struct Case {
  std::string classname;
  std::string name;
  std::string outcome;  // "", failure, error, skipped
  std::string message;
  std::string type;
  std::string body;
  std::string system_out;
};

struct Suite {
  std::string name;
  std::vector<Case> cases;
};

std::string render_suite(const Suite& suite, std::string_view timestamp, std::string_view host) {
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  for (const auto& c : suite.cases) {
    failures += c.outcome == "failure" ? 1 : 0;
    errors += c.outcome == "error" ? 1 : 0;
    skipped += c.outcome == "skipped" ? 1 : 0;
  }
  std::string out = fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"0\"",
      esc(suite.name), suite.cases.size(), failures, errors, skipped);
  if (!timestamp.empty()) {
    out += fmt::format(" timestamp=\"{}\"", esc(timestamp));
  }
  if (!host.empty()) {
    out += fmt::format(" hostname=\"{}\"", esc(host));
  }
  out += ">\n";
  for (const auto& c : suite.cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"0\"", esc(c.classname),
                       esc(c.name));
    if (c.outcome.empty() && c.system_out.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    if (c.outcome == "skipped") {
      out += fmt::format("      <skipped message=\"{}\"/>\n", esc(c.message));
    } else if (!c.outcome.empty()) {
      out += fmt::format("      <{} message=\"{}\" type=\"{}\">{}</{}>\n", c.outcome,
                         esc(c.message), esc(c.type), esc(c.body), c.outcome);
    }
    if (!c.system_out.empty()) {
      out += fmt::format("      <system-out>{}</system-out>\n", esc(c.system_out));
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n";
  return out;
}

// Timestamps in JUnit are xs:dateTime without a zone in the classic schema: keep the first 19
// characters of an RFC 3339 stamp when it has that shape.
std::string junit_timestamp(const std::string& rfc3339) {
  if (rfc3339.size() >= 19 && rfc3339[4] == '-' && rfc3339[10] == 'T') {
    return rfc3339.substr(0, 19);
  }
  return {};
}

}  // namespace

std::string render_junit(const Report& report, const Comparison* comparison) {
  const std::string tool = report.tool.name.empty() ? "preflight" : report.tool.name;
  std::vector<Suite> suites;

  Suite checks{tool + ".checks", {}};
  std::map<std::string, int> seen;
  for (const auto& check : report.checks) {
    Case c;
    c.classname = "preflight." + tool + ".checks";
    const int n = ++seen[check.id];
    c.name = n == 1 ? check.id : fmt::format("{} #{}", check.id, n);
    const std::string evidence =
        check.evidence.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string body = check.remediation.empty()
                                 ? fmt::format("{}\nevidence: {}", check.message, evidence)
                                 : fmt::format("{}\nremediation: {}\nevidence: {}", check.message,
                                               check.remediation, evidence);
    switch (check.status) {
      case Status::pass:
        c.system_out = check.message;
        break;
      case Status::warn:
        c.system_out = "WARN: " + body;
        break;
      case Status::fail:
        c.outcome = "failure";
        c.type = "fail";
        c.message = check.message;
        c.body = body;
        break;
      case Status::error:
      case Status::timeout:
      case Status::usage:
        c.outcome = "error";
        c.type = std::string(to_string(check.status));
        c.message = check.message;
        c.body = body;
        break;
      case Status::skip:
        c.outcome = "skipped";
        c.message = "skip: " + check.message;
        break;
    }
    checks.cases.push_back(std::move(c));
  }
  if (checks.cases.empty()) {
    // A run without checks is not a pass: say so as a skipped case.
    checks.cases.push_back(
        {"preflight." + tool + ".checks", "no checks", "skipped", "no checks ran", "", "", ""});
  }
  suites.push_back(std::move(checks));

  if (comparison != nullptr) {
    const Comparison& cmp = *comparison;
    Suite rows{fmt::format("{}.{}.{}", tool, cmp.kind, cmp.reference), {}};
    for (const auto& row : cmp.rows) {
      Case c;
      c.classname = fmt::format("preflight.{}.{}", cmp.kind, cmp.reference);
      c.name = fmt::format("{}{} ({} B)",
                           row.series.empty() ? (cmp.benchmark.empty() ? "" : cmp.benchmark + " ")
                                              : row.series + " ",
                           human_size(row.size_bytes), row.size_bytes);
      std::vector<std::string> lines;
      for (const auto& m : row.metrics) {
        lines.push_back(fmt::format(
            "{}: expected {}, measured {}, delta {}, warn allowance {}, fail allowance {}, "
            "verdict {}",
            metric_label(m.metric), format_metric(m.metric, m.expected),
            m.measured ? format_metric(m.metric, *m.measured) : "-",
            m.measured ? format_percent(m.delta) : "-", format_metric(m.metric, m.warn_allowance),
            format_metric(m.metric, m.fail_allowance), to_string(m.verdict)));
      }
      const std::string evidence = join(lines, "\n");
      switch (row.verdict) {
        case RowVerdict::pass:
        case RowVerdict::improved:
          c.system_out = fmt::format("{}: {}", to_string(row.verdict), evidence);
          break;
        case RowVerdict::warn:
          c.system_out = fmt::format("WARN: {}\n{}", row.reason, evidence);
          break;
        case RowVerdict::fail:
          if (row.within_budget) {
            // Absorbed by the baseline's budget: visible, not failing the pipeline.
            c.system_out = fmt::format("FAIL (within budget of {} sizes): {}\n{}",
                                       cmp.sizes_allowed_to_miss, row.reason, evidence);
          } else {
            c.outcome = "failure";
            c.type = "fail";
            c.message = row.reason;
            c.body = evidence;
          }
          break;
        case RowVerdict::missing:
          c.outcome = "failure";
          c.type = "missing";
          c.message = row.reason;
          c.body = evidence;
          break;
        case RowVerdict::inconclusive:
          c.outcome = "skipped";
          c.message = "inconclusive: " + row.reason;
          break;
      }
      rows.cases.push_back(std::move(c));
    }
    suites.push_back(std::move(rows));
  }

  // A `history trend --json` report: one case per judged row, a regression failing by name.
  if (report.details.is_object() && report.details.contains("trend") &&
      report.details.at("trend").contains("rows")) {
    const auto& trend = report.details.at("trend");
    Suite rows{tool + ".trend", {}};
    for (const auto& row : trend.at("rows")) {
      Case c;
      c.classname = "preflight." + tool + ".trend";
      const std::string metric = row.value("metric", std::string());
      c.name = fmt::format("{} ({} B)", readable_series(row.value("series", std::string())),
                           row.value("size_bytes", std::uint64_t{0}));
      const std::string verdict = row.value("verdict", std::string());
      const auto band = row.value("band", nlohmann::json::array());
      const std::string evidence =
          band.size() == 2
              ? fmt::format("{} {}, band [{}, {}], median {} of {} previous runs",
                            metric_label(metric), format_metric(metric, row.value("value", 0.0)),
                            format_metric(metric, band[0].get<double>()),
                            format_metric(metric, band[1].get<double>()),
                            format_metric(metric, row.value("median", 0.0)),
                            row.value("previous_runs", 0))
              : fmt::format("{} {}, {} previous runs", metric_label(metric),
                            format_metric(metric, row.value("value", 0.0)),
                            row.value("previous_runs", 0));
      if (verdict == "regression") {
        c.outcome = "failure";
        c.type = "regression";
        c.message = "regression: " + evidence;
        c.body = trend.value("summary", std::string());
      } else if (verdict == "insufficient") {
        c.outcome = "skipped";
        c.message = "not enough comparable runs: " + evidence;
      } else {
        c.system_out = verdict + ": " + evidence;
      }
      rows.cases.push_back(std::move(c));
    }
    suites.push_back(std::move(rows));
  }

  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  for (const auto& suite : suites) {
    for (const auto& c : suite.cases) {
      ++tests;
      failures += c.outcome == "failure" ? 1 : 0;
      errors += c.outcome == "error" ? 1 : 0;
      skipped += c.outcome == "skipped" ? 1 : 0;
    }
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"preflight\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"0\">\n",
      tests, failures, errors, skipped);
  const std::string timestamp = junit_timestamp(report.run.started_at);
  const std::string host = report.run.hosts.empty() ? "" : report.run.hosts.front();
  for (const auto& suite : suites) {
    out += render_suite(suite, timestamp, host);
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace preflight::reports
