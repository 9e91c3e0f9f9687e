#include "reports/report.hpp"

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <random>

#include "common/error.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "preflight/build_config.hpp"

namespace preflight::reports {

using nlohmann::json;

TimeStats to_time_stats(const SampleSummary& summary) {
  TimeStats stats;
  stats.median = summary.median;
  stats.mean = summary.mean;
  stats.min = summary.min;
  stats.max = summary.max;
  stats.p90 = summary.p90;
  stats.p99 = summary.p99;
  stats.p999 = summary.p999;
  stats.stdev = summary.stdev;
  stats.ci95_lo = summary.ci95_lo;
  stats.ci95_hi = summary.ci95_hi;
  stats.n = summary.n;
  return stats;
}

void to_json(json& j, const Check& check) {
  j = json{{"id", check.id},
           {"status", to_string(check.status)},
           {"severity", to_string(check.severity)},
           {"message", check.message},
           {"remediation", check.remediation},
           {"evidence", check.evidence}};
}

void from_json(const json& j, Check& check) {
  check.id = j.at("id").get<std::string>();
  const auto status = parse_status(j.at("status").get<std::string>());
  if (!status) {
    throw UsageError("check " + check.id + ": unknown status " + j.at("status").dump());
  }
  check.status = *status;
  const auto severity = parse_severity(j.at("severity").get<std::string>());
  if (!severity) {
    throw UsageError("check " + check.id + ": unknown severity " + j.at("severity").dump());
  }
  check.severity = *severity;
  check.message = j.value("message", "");
  check.remediation = j.value("remediation", "");
  check.evidence = j.value("evidence", json::object());
}

namespace {

json time_stats_json(const TimeStats& t) {
  json j{{"median", t.median},
         {"mean", t.mean},
         {"min", t.min},
         {"max", t.max},
         {"p90", t.p90},
         {"p99", t.p99},
         {"stdev", t.stdev},
         {"ci95_median", {t.ci95_lo, t.ci95_hi}},
         {"n", t.n}};
  if (t.p999) {
    j["p999"] = *t.p999;
  }
  return j;
}

TimeStats time_stats_from_json(const json& j) {
  TimeStats t;
  t.median = j.at("median").get<double>();
  t.mean = j.at("mean").get<double>();
  t.min = j.at("min").get<double>();
  t.max = j.at("max").get<double>();
  t.p90 = j.at("p90").get<double>();
  t.p99 = j.at("p99").get<double>();
  if (j.contains("p999")) {
    t.p999 = j.at("p999").get<double>();
  }
  t.stdev = j.at("stdev").get<double>();
  const auto& ci = j.at("ci95_median");
  t.ci95_lo = ci.at(0).get<double>();
  t.ci95_hi = ci.at(1).get<double>();
  t.n = j.at("n").get<std::size_t>();
  return t;
}

}  // namespace

void to_json(json& j, const ResultRow& row) {
  j = json{{"benchmark", row.benchmark},
           {"backend", row.backend},
           {"transport", row.transport},
           {"dtype", row.dtype},
           {"op", row.op},
           {"in_place", row.in_place},
           {"size_bytes", row.size_bytes},
           {"count", row.count},
           {"ranks", row.ranks},
           {"time_s", time_stats_json(row.time_s)},
           {"algbw_Bps", row.algbw_Bps},
           {"busbw_Bps", row.busbw_Bps},
           {"busbw_factor", row.busbw_factor},
           {"wrong_elements", row.wrong_elements},
           {"slowest_rank", row.slowest_rank},
           {"slowest_host", row.slowest_host},
           {"warmup_iterations", row.warmup_iterations},
           {"stop_reason", row.stop_reason},
           {"labels", row.labels}};
  if (row.message_rate_per_s) {
    j["message_rate_per_s"] = *row.message_rate_per_s;
  }
  if (row.samples_s) {
    j["samples_s"] = *row.samples_s;
  }
}

void from_json(const json& j, ResultRow& row) {
  row.benchmark = j.at("benchmark").get<std::string>();
  row.backend = j.value("backend", "");
  row.transport = j.value("transport", "");
  row.dtype = j.value("dtype", "");
  row.op = j.value("op", "");
  row.in_place = j.value("in_place", false);
  row.size_bytes = j.at("size_bytes").get<std::uint64_t>();
  row.count = j.value("count", std::uint64_t{0});
  row.ranks = j.value("ranks", 1);
  row.time_s = time_stats_from_json(j.at("time_s"));
  row.algbw_Bps = j.value("algbw_Bps", 0.0);
  row.busbw_Bps = j.value("busbw_Bps", 0.0);
  row.busbw_factor = j.value("busbw_factor", 0.0);
  row.wrong_elements = j.value("wrong_elements", std::int64_t{-1});
  row.slowest_rank = j.value("slowest_rank", -1);
  row.slowest_host = j.value("slowest_host", "");
  row.warmup_iterations = j.value("warmup_iterations", std::size_t{0});
  row.stop_reason = j.value("stop_reason", "");
  row.labels = j.value("labels", std::map<std::string, std::string>{});
  if (j.contains("message_rate_per_s")) {
    row.message_rate_per_s = j.at("message_rate_per_s").get<double>();
  }
  if (j.contains("samples_s")) {
    row.samples_s = j.at("samples_s").get<std::vector<double>>();
  }
}

void to_json(json& j, const Report& report) {
  j = json{
      {"schema", report.schema},
      {"tool",
       {{"name", report.tool.name}, {"version", report.tool.version}, {"git", report.tool.git}}},
      {"run",
       {{"id", report.run.id},
        {"started_at", report.run.started_at},
        {"finished_at", report.run.finished_at},
        {"argv", report.run.argv},
        {"ranks", report.run.ranks},
        {"hosts", report.run.hosts}}},
      {"inventory",
       {{"instance_type", report.inventory.instance_type},
        {"gpus", report.inventory.gpus},
        {"efa", report.inventory.efa},
        {"versions", report.inventory.versions},
        {"env", report.inventory.env}}},
      {"checks", report.checks},
      {"results", report.results},
      {"hw_counters_delta", report.hw_counters_delta},
      {"details", report.details},
      {"verdict",
       {{"status", to_string(report.verdict.status)},
        {"exit_code", report.verdict.exit_code},
        {"summary", report.verdict.summary}}},
  };
  if (report.run.nodes > 0) {
    j["run"]["nodes"] = report.run.nodes;
  }
}

void from_json(const json& j, Report& report) {
  report.schema = j.at("schema").get<std::string>();
  if (report.schema != kReportSchema) {
    throw UsageError(
        fmt::format("unsupported schema '{}' (expected {})", report.schema, kReportSchema));
  }
  const auto& tool = j.at("tool");
  report.tool = {tool.at("name").get<std::string>(), tool.value("version", ""),
                 tool.value("git", "")};
  const auto& run = j.at("run");
  report.run.id = run.value("id", "");
  report.run.started_at = run.value("started_at", "");
  report.run.finished_at = run.value("finished_at", "");
  report.run.argv = run.value("argv", std::vector<std::string>{});
  report.run.ranks = run.value("ranks", 1);
  report.run.hosts = run.value("hosts", std::vector<std::string>{});
  report.run.nodes = run.value("nodes", 0);
  const auto& inventory = j.at("inventory");
  report.inventory.instance_type = inventory.value("instance_type", "");
  report.inventory.gpus = inventory.value("gpus", json::array());
  report.inventory.efa = inventory.value("efa", json::array());
  report.inventory.versions = inventory.value("versions", std::map<std::string, std::string>{});
  report.inventory.env = inventory.value("env", std::map<std::string, std::string>{});
  report.checks = j.at("checks").get<std::vector<Check>>();
  report.results = j.at("results").get<std::vector<ResultRow>>();
  report.hw_counters_delta =
      j.value("hw_counters_delta", std::map<std::string, std::map<std::string, std::int64_t>>{});
  report.details = j.value("details", json::object());
  const auto& verdict = j.at("verdict");
  const auto status = parse_status(verdict.at("status").get<std::string>());
  if (!status) {
    throw UsageError("verdict: unknown status " + verdict.at("status").dump());
  }
  report.verdict = {*status, verdict.at("exit_code").get<int>(), verdict.value("summary", "")};
}

Check judged_check(std::string_view id, Status status, std::string message, json evidence) {
  const FindingDefinition& definition = finding(id);
  Check check;
  check.id = std::string(id);
  check.status = status;
  check.severity = definition.severity;
  check.message = std::move(message);
  // A passing or skipped check needs no remediation text; keep reports short.
  if (status == Status::fail || status == Status::warn || status == Status::error ||
      status == Status::timeout) {
    check.remediation = std::string(definition.remediation);
  }
  check.evidence = std::move(evidence);
  return check;
}

Check pass_check(std::string_view id, std::string message, json evidence) {
  return judged_check(id, Status::pass, std::move(message), std::move(evidence));
}

Check fire_check(std::string_view id, std::string message, json evidence) {
  return judged_check(id, finding_status(id), std::move(message), std::move(evidence));
}

Check skip_check(std::string_view id, std::string reason, json evidence) {
  return judged_check(id, Status::skip, std::move(reason), std::move(evidence));
}

Verdict compute_verdict(const std::vector<Check>& checks, bool warn_as_fail) {
  std::vector<Status> statuses;
  statuses.reserve(checks.size());
  std::map<Status, int> counts;
  std::vector<std::string> failing;
  for (const auto& check : checks) {
    statuses.push_back(check.status);
    ++counts[check.status];
    if (check.status == Status::fail || check.status == Status::error ||
        check.status == Status::timeout || (warn_as_fail && check.status == Status::warn)) {
      failing.push_back(check.id);
    }
  }
  Verdict verdict;
  verdict.status = combine_statuses(statuses);
  if (warn_as_fail && verdict.status == Status::warn) {
    verdict.status = Status::fail;
  }
  verdict.exit_code = exit_code_for(verdict.status, warn_as_fail);
  std::vector<std::string> parts;
  for (const Status status :
       {Status::pass, Status::warn, Status::fail, Status::skip, Status::error, Status::timeout}) {
    if (counts[status] > 0) {
      parts.push_back(fmt::format("{} {}", counts[status], to_string(status)));
    }
  }
  verdict.summary = fmt::format("{}: {}", to_string(verdict.status),
                                parts.empty() ? std::string("no checks") : join(parts, ", "));
  if (!failing.empty()) {
    verdict.summary += " (" + join(failing, ", ") + ")";
  }
  return verdict;
}

namespace {

// --deterministic: the same run gives the same bytes wherever the binary lives and wherever its
// outputs go, so argv keeps the binary's name only and the output paths as "PATH".
std::string deterministic_argument(std::string_view argument, std::string_view previous,
                                   bool first) {
  static constexpr std::array<std::string_view, 7> kOutputOptions{
      "--json", "--html", "--junit", "--output", "-o", "--textfile-dir", "--save-counters"};
  if (first) {
    return std::filesystem::path(argument).filename().string();
  }
  for (const auto option : kOutputOptions) {
    if (previous == option && argument != "-") {
      return "PATH";
    }
    if (argument.size() > option.size() + 1 && argument.substr(0, option.size()) == option &&
        argument[option.size()] == '=' && argument.substr(option.size() + 1) != "-") {
      return std::string(option) + "=PATH";
    }
  }
  return std::string(argument);
}

}  // namespace

Report start_report(std::string_view tool_name, int argc, const char* const* argv,
                    bool deterministic) {
  Report report;
  report.tool.name = std::string(tool_name);
  report.tool.version = deterministic ? "" : PREFLIGHT_VERSION_STRING;
  report.tool.git = deterministic ? "" : PREFLIGHT_GIT_SHA;
  for (int i = 0; i < argc; ++i) {
    const std::string_view argument =
        argv[i];  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    report.run.argv.emplace_back(
        deterministic
            ? deterministic_argument(argument, i > 0 ? argv[i - 1] : "", i == 0)  // NOLINT
            : std::string(argument));
  }
  if (!deterministic) {
    std::random_device device;
    report.run.id = fmt::format("{:08x}{:08x}", device(), device());
    report.run.started_at = utc_timestamp_now();
    report.run.hosts = {host_name()};
  }
  return report;
}

void finish_report(Report& report, bool warn_as_fail, bool deterministic) {
  if (!deterministic) {
    report.run.finished_at = utc_timestamp_now();
  }
  report.verdict = compute_verdict(report.checks, warn_as_fail);
}

std::map<std::string, std::string> allowlisted_environment(const char* const* environment) {
  static constexpr std::array kPrefixes{"FI_",        "NCCL_",  "OMPI_",     "CUDA_",
                                        "PREFLIGHT_", "RDMAV_", "SLURM_JOB_"};
  // Even an allow-listed prefix may carry a credential (PREFLIGHT_API_TOKEN, ...).
  static constexpr std::array kSecretMarkers{"TOKEN",      "SECRET", "PASSWORD", "PASSWD",
                                             "CREDENTIAL", "KEY",    "AUTH"};
  std::map<std::string, std::string> selected;
  for (const char* const* entry = environment; entry != nullptr && *entry != nullptr;
       ++entry) {  // NOLINT
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    const std::string_view name = text.substr(0, equals);
    const bool allowed = std::any_of(kPrefixes.begin(), kPrefixes.end(),
                                     [&](const char* prefix) { return starts_with(name, prefix); });
    const std::string upper = to_upper(name);
    const bool secret =
        std::any_of(kSecretMarkers.begin(), kSecretMarkers.end(),
                    [&](const char* m) { return upper.find(m) != std::string::npos; });
    if (allowed && !secret) {
      selected.emplace(name, text.substr(equals + 1));
    }
  }
  return selected;
}

}  // namespace preflight::reports
