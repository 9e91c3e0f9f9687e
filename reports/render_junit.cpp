// JUnit XML for CI systems (Jenkins' junit and xunit plugins, GitLab, GitHub test reporters). One
// writer for a tool's report and for the umbrella's suite report (`preflight node|cluster|ci
// --junit`):
//
//   <testsuites name="preflight" tests failures errors time>
//     <testsuite name="preflight.<plan>" (a suite) | "<tool>.checks" ... skipped time hostname>
//       <properties>: preflight.verdict; preflight.baseline and preflight.trend (a suite);
//         preflight.status.<classname>.<name> = warn for each warning case
//       <testcase classname="preflight.<host>.<step or tool>" name="<CHECK_ID>" time="<s>">
//     <testsuite> of the compared rows (with a Comparison), of the trend's rows (a trend report)
//
// Choices, and why:
// - One case per check. Its classname names the host, then the step that produced it (a suite's
//   checks carry evidence.step) or the tool: GitLab shows the classname, not the testsuite's
//   hostname attribute, and Jenkins groups by it. The host is the check's own evidence.host or
//   evidence.node when it names one (NODE_UNREACHABLE, P2P_NODE_OUTLIER), else the run's one
//   host, "cluster" when the run lists several, "unknown-host" when it lists none. Dots in host
//   and step become '_': Jenkins splits a classname at its dots into packages, and
//   ip-10-0-0-1.ec2.internal would become three.
// - Time: a step's duration (details.steps[].duration_s; for a tool's report, finished_at minus
//   started_at) sits on the first case of that step and its other cases get 0, so the testsuite's
//   time is exactly the steps' total (dividing it would round). A step without any check still
//   gets a case, skipped (nothing said what it checked), so that it and its time show.
// - fail -> <failure>, error/timeout/usage -> <error type=status>, skip and an inconclusive row ->
//   <skipped>: never a silent pass. A warning passes, with "WARN: ..." in <system-out> and a
//   testsuite property preflight.status.<classname>.<name> = warn. The property sits in the
//   testsuite because Jenkins' junit-10.xsd (xunit plugin) allows <properties> only there, not in
//   a <testcase>; for the same reason <testsuites> carries no skipped attribute.
// - A failing case of a suite's step carries the step's stderr tail; a BASELINE_* case the rows
//   that missed the baseline; the trend step's failing case every regressed row.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "common/text.hpp"
#include "reports/format.hpp"
#include "reports/history_format.hpp"
#include "reports/render.hpp"
#include "reports/suite_details.hpp"

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
  double time_s = 0;

  void set_outcome(std::string kind, std::string of_type, std::string why, std::string detail) {
    outcome = std::move(kind);
    type = std::move(of_type);
    message = std::move(why);
    body = std::move(detail);
  }
};

struct Suite {
  std::string name;
  std::vector<Case> cases;
  std::vector<std::pair<std::string, std::string>> properties;
};

struct Counts {
  std::size_t tests = 0;
  std::size_t failures = 0;
  std::size_t errors = 0;
  std::size_t skipped = 0;
  double time_s = 0;

  void add(const Case& c) {
    ++tests;
    failures += c.outcome == "failure" ? 1 : 0;
    errors += c.outcome == "error" ? 1 : 0;
    skipped += c.outcome == "skipped" ? 1 : 0;
    time_s += c.time_s;
  }
};

std::string render_suite(const Suite& suite, std::string_view timestamp, std::string_view host) {
  Counts counts;
  for (const auto& c : suite.cases) {
    counts.add(c);
  }
  std::string out = fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\"",
      esc(suite.name), counts.tests, counts.failures, counts.errors, counts.skipped, counts.time_s);
  if (!timestamp.empty()) {
    out += fmt::format(" timestamp=\"{}\"", esc(timestamp));
  }
  if (!host.empty()) {
    out += fmt::format(" hostname=\"{}\"", esc(host));
  }
  out += ">\n";
  if (!suite.properties.empty()) {
    out += "    <properties>\n";
    for (const auto& [name, value] : suite.properties) {
      out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", esc(name), esc(value));
    }
    out += "    </properties>\n";
  }
  for (const auto& c : suite.cases) {
    out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"",
                       esc(c.classname), esc(c.name), c.time_s);
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

// Seconds since the epoch of an RFC 3339 stamp ("2026-03-02T10:15:04.500Z", "...+02:00").
std::optional<double> epoch_seconds(const std::string& rfc3339) {
  int year = 0;
  unsigned month = 0;
  unsigned day = 0;
  int hour = 0;
  int minute = 0;
  double second = 0;
  int consumed = 0;
  if (std::sscanf(rfc3339.c_str(), "%4d-%2u-%2uT%2d:%2d:%lf%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                         std::chrono::day(day)};
  if (!date.ok()) {
    return std::nullopt;
  }
  double offset_s = 0;
  const std::string_view zone =
      std::string_view(rfc3339).substr(static_cast<std::size_t>(consumed));
  int zone_hours = 0;
  int zone_minutes = 0;
  if (!zone.empty() && (zone[0] == '+' || zone[0] == '-') &&
      std::sscanf(std::string(zone.substr(1)).c_str(), "%2d:%2d", &zone_hours, &zone_minutes) ==
          2) {
    offset_s = (zone[0] == '+' ? 1 : -1) * (zone_hours * 3600.0 + zone_minutes * 60.0);
  }
  const auto days = std::chrono::sys_days(date).time_since_epoch().count();
  return static_cast<double>(days) * 86400.0 + hour * 3600.0 + minute * 60.0 + second - offset_s;
}

// The run's duration from its stamps; 0 when either is missing (a partial or deterministic
// report) or they do not make sense.
double run_duration_s(const RunInfo& run) {
  const auto start = epoch_seconds(run.started_at);
  const auto end = epoch_seconds(run.finished_at);
  if (!start || !end || !std::isfinite(*end - *start) || *end < *start) {
    return 0;
  }
  return *end - *start;
}

// A classname segment: Jenkins reads dots as package separators.
std::string segment(std::string_view text) {
  std::string out(text.empty() ? std::string_view("unknown") : text);
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

// The run's host as the classname and the testsuite's hostname say it.
std::string run_host(const RunInfo& run) {
  const std::set<std::string> distinct(run.hosts.begin(), run.hosts.end());
  if (distinct.empty()) {
    return "unknown-host";
  }
  return distinct.size() == 1 ? *distinct.begin() : std::string("cluster");
}

std::string evidence_string(const nlohmann::json& evidence, const char* key) {
  if (evidence.is_object() && evidence.contains(key) && evidence.at(key).is_string()) {
    return evidence.at(key).get<std::string>();
  }
  return {};
}

// What a suite report (details.steps) says of one step.
struct StepFacts {
  double duration_s = 0;
  std::string stderr_tail;
  std::vector<std::string> regressed_rows;  // the trend step's
  int exit_code = -1;
  std::string status;
};

std::map<std::string, StepFacts> steps_of(const Report& report) {
  std::map<std::string, StepFacts> steps;
  for (const auto& step : suite_steps(report)) {
    auto& facts = steps[step.name];
    // Two steps of one name (a rerun) add up, so the total stays the steps' total.
    facts.duration_s += std::max(0.0, step.duration_s);
    facts.exit_code = step.exit_code;
    facts.status = step.status ? std::string(to_string(*step.status)) : std::string();
    facts.stderr_tail = step.stderr_tail;
    const auto& step_report = step.report;
    if (step_report.is_object() && step_report.contains("details") &&
        step_report.at("details").is_object() && step_report.at("details").contains("trend")) {
      facts.regressed_rows = regressed_trend_rows(step_report.at("details").at("trend"));
    }
  }
  return steps;
}

// The rows that missed a baseline, by step and baseline path (details.baseline.comparisons).
std::map<std::pair<std::string, std::string>, std::vector<std::string>> baseline_failed_rows(
    const Report& report) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> rows;
  if (const auto baseline = suite_baseline(report)) {
    for (const auto& use : baseline->comparisons) {
      auto& lines = rows[{use.step, use.path}];
      lines.insert(lines.end(), use.failed_rows.begin(), use.failed_rows.end());
    }
  }
  return rows;
}

Suite checks_suite(const Report& report, const std::string& tool) {
  const bool is_suite = is_suite_report(report);
  const std::string plan = is_suite ? suite_plan(report) : "";
  Suite suite{is_suite ? "preflight." + plan : tool + ".checks", {}, {}};
  const std::string host = run_host(report.run);
  // A suite's checks without a step (the plan's own: baseline, cluster verdict) go under the plan.
  const std::string fallback_group = is_suite ? plan : tool;
  const auto steps = steps_of(report);
  const auto failed_rows = baseline_failed_rows(report);
  // Seconds not yet given to a case: per step for a suite, the whole run ("") for a tool.
  std::map<std::string, double> time_left;
  for (const auto& [name, facts] : steps) {
    time_left[name] = facts.duration_s;
  }
  if (!is_suite) {
    time_left[""] = run_duration_s(report.run);
  }
  const auto classname_of = [&](const std::string& case_host, const std::string& group) {
    return fmt::format("preflight.{}.{}", segment(case_host), segment(group));
  };

  std::map<std::pair<std::string, std::string>, int> seen;
  std::set<std::string> steps_with_cases;
  for (const auto& check : report.checks) {
    Case c;
    const std::string step = evidence_string(check.evidence, "step");
    // A check about one machine names it: a cluster's NODE_UNREACHABLE ("host"), the p2p
    // judgement's slow node ("node").
    std::string own_host = evidence_string(check.evidence, "host");
    if (own_host.empty()) {
      own_host = evidence_string(check.evidence, "node");
    }
    c.classname =
        classname_of(own_host.empty() ? host : own_host, step.empty() ? fallback_group : step);
    const int n = ++seen[{c.classname, check.id}];
    c.name = n == 1 ? check.id : fmt::format("{} #{}", check.id, n);
    const auto left = time_left.find(is_suite ? step : std::string());
    if (left != time_left.end()) {
      c.time_s = left->second;
      left->second = 0;
    }
    if (!step.empty()) {
      steps_with_cases.insert(step);
    }

    const std::string evidence =
        check.evidence.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string body = check.remediation.empty()
                           ? fmt::format("{}\nevidence: {}", check.message, evidence)
                           : fmt::format("{}\nremediation: {}\nevidence: {}", check.message,
                                         check.remediation, evidence);
    const bool failing = check.status == Status::fail || check.status == Status::error ||
                         check.status == Status::timeout || check.status == Status::usage;
    if (failing) {
      const auto rows = failed_rows.find({step, evidence_string(check.evidence, "baseline_path")});
      if (rows != failed_rows.end() && !rows->second.empty()) {
        body += fmt::format("\nrows that missed the baseline {}:\n{}", rows->first.second,
                            join(rows->second, "\n"));
      }
      const auto facts = steps.find(step);
      if (facts != steps.end() && !facts->second.regressed_rows.empty()) {
        body += "\nregressed rows:\n" + join(facts->second.regressed_rows, "\n");
      }
      if (facts != steps.end() && !facts->second.stderr_tail.empty()) {
        body += fmt::format("\nstep {} (exit {}), last lines of its stderr:\n{}", step,
                            facts->second.exit_code, facts->second.stderr_tail);
      }
    }
    switch (check.status) {
      case Status::pass:
        c.system_out = check.message;
        break;
      case Status::warn:
        c.system_out = "WARN: " + body;
        suite.properties.emplace_back(fmt::format("preflight.status.{}.{}", c.classname, c.name),
                                      "warn");
        break;
      case Status::fail:
        c.set_outcome("failure", "fail", check.message, body);
        break;
      case Status::error:
      case Status::timeout:
      case Status::usage:
        c.set_outcome("error", std::string(to_string(check.status)), check.message, body);
        break;
      case Status::skip:
        c.outcome = "skipped";
        c.message = "skip: " + check.message;
        break;
    }
    suite.cases.push_back(std::move(c));
  }
  // A step that reported no check still shows, with its time: skipped, as nothing said what it
  // checked.
  for (const auto& [name, facts] : steps) {
    if (steps_with_cases.contains(name)) {
      continue;
    }
    Case c;
    c.classname = classname_of(host, name);
    c.name = name;
    c.outcome = "skipped";
    c.message = fmt::format("step {} ended {} (exit {}) and reported no checks", name,
                            facts.status.empty() ? "?" : facts.status, facts.exit_code);
    c.time_s = facts.duration_s;
    suite.cases.push_back(std::move(c));
  }
  if (suite.cases.empty()) {
    // A run without checks is not a pass: say so as a skipped case.
    Case c;
    c.classname = classname_of(host, fallback_group);
    c.name = "no checks";
    c.outcome = "skipped";
    c.message = "no checks ran";
    c.time_s = time_left.contains("") ? time_left.at("") : 0;
    suite.cases.push_back(std::move(c));
  }

  std::vector<std::pair<std::string, std::string>> properties;
  if (!report.verdict.summary.empty()) {
    properties.emplace_back("preflight.verdict", report.verdict.summary);
  }
  if (const auto baseline = suite_baseline(report)) {
    properties.emplace_back("preflight.baseline",
                            baseline->comparisons.empty()
                                ? "none: " + baseline->reason
                                : fmt::format("{} comparison(s)", baseline->comparisons.size()));
  }
  if (is_suite && report.details.contains("trend")) {
    properties.emplace_back("preflight.trend",
                            report.details.at("trend").value("summary", std::string()));
  }
  suite.properties.insert(suite.properties.begin(), properties.begin(), properties.end());
  return suite;
}

Suite comparison_suite(const Comparison& cmp, const std::string& tool) {
  Suite rows{fmt::format("{}.{}.{}", tool, cmp.kind, cmp.reference), {}, {}};
  for (const auto& row : cmp.rows) {
    Case c;
    c.classname = fmt::format("preflight.{}.{}", cmp.kind, segment(cmp.reference));
    c.name = fmt::format(
        "{}{} ({} B)",
        row.series.empty() ? (cmp.benchmark.empty() ? "" : cmp.benchmark + " ") : row.series + " ",
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
        rows.properties.emplace_back(fmt::format("preflight.status.{}.{}", c.classname, c.name),
                                     "warn");
        break;
      case RowVerdict::fail:
        if (row.within_budget) {
          // Absorbed by the baseline's budget: visible, not failing the pipeline.
          c.system_out = fmt::format("FAIL (within budget of {} sizes): {}\n{}",
                                     cmp.sizes_allowed_to_miss, row.reason, evidence);
        } else {
          c.set_outcome("failure", "fail", row.reason, evidence);
        }
        break;
      case RowVerdict::missing:
        c.set_outcome("failure", "missing", row.reason, evidence);
        break;
      case RowVerdict::inconclusive:
        c.outcome = "skipped";
        c.message = "inconclusive: " + row.reason;
        break;
    }
    rows.cases.push_back(std::move(c));
  }
  return rows;
}

// A `history trend --json` report's details.trend: one case per judged row, a regression failing
// by name.
Suite trend_suite(const nlohmann::json& trend, const std::string& tool) {
  Suite rows{tool + ".trend", {}, {}};
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
      c.set_outcome("failure", "regression", "regression: " + evidence,
                    trend.value("summary", std::string()));
    } else if (verdict == "insufficient") {
      c.outcome = "skipped";
      c.message = "not enough comparable runs: " + evidence;
    } else {
      c.system_out = verdict + ": " + evidence;
    }
    rows.cases.push_back(std::move(c));
  }
  return rows;
}

}  // namespace

std::string render_junit(const Report& report, const Comparison* comparison) {
  const std::string tool = report.tool.name.empty() ? "preflight" : report.tool.name;
  std::vector<Suite> suites;
  suites.push_back(checks_suite(report, tool));
  if (comparison != nullptr) {
    suites.push_back(comparison_suite(*comparison, tool));
  }
  if (report.details.is_object() && report.details.contains("trend") &&
      report.details.at("trend").contains("rows")) {
    suites.push_back(trend_suite(report.details.at("trend"), tool));
  }

  Counts counts;
  for (const auto& suite : suites) {
    for (const auto& c : suite.cases) {
      counts.add(c);
    }
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<testsuites name=\"preflight\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "time=\"{:.3f}\">\n",
      counts.tests, counts.failures, counts.errors, counts.time_s);
  const std::string timestamp = junit_timestamp(report.run.started_at);
  const std::string host = report.run.hosts.empty() ? "" : run_host(report.run);
  for (const auto& suite : suites) {
    out += render_suite(suite, timestamp, host);
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace preflight::reports
