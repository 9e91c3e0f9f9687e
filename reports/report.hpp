// preflight.report/1: the one envelope for probes, benchmarks and suites, as typed structs with
// to_json/from_json (nlohmann). The JSON Schema is reports/schema/report.schema.json; keys carry
// SI units (_s, _bytes, _Bps).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/findings.hpp"
#include "common/stats.hpp"
#include "common/status.hpp"

namespace preflight::reports {

inline constexpr std::string_view kReportSchema = "preflight.report/1";

struct ToolInfo {
  std::string name;
  std::string version;
  std::string git;
};

struct RunInfo {
  std::string id;
  std::string started_at;   // RFC 3339 UTC; empty with --deterministic
  std::string finished_at;  // empty while the run is in progress (partial report)
  std::vector<std::string> argv;
  int ranks = 1;
  std::vector<std::string> hosts;
  // Number of nodes (machines) the run spanned; 0 when unknown. Baselines and history match runs
  // on it, and `hosts` alone cannot say it (it may list rank 0's host only). Written only when > 0.
  int nodes = 0;
};

struct Inventory {
  std::string instance_type;
  nlohmann::json gpus = nlohmann::json::array();  // [{index, name, pci_bus_id, numa_node, ...}]
  nlohmann::json efa = nlohmann::json::array();   // [{name, pci_bus_id, numa_node, ...}]
  std::map<std::string, std::string> versions;
  std::map<std::string, std::string> env;  // allow-listed variables only
};

struct Check {
  std::string id;  // a findings-catalog id
  Status status = Status::pass;
  Severity severity = Severity::info;
  std::string message;
  std::string remediation;
  nlohmann::json evidence = nlohmann::json::object();
};

struct TimeStats {
  double median = 0;
  double mean = 0;
  double min = 0;
  double max = 0;
  double p90 = 0;
  double p99 = 0;
  std::optional<double> p999;
  double stdev = 0;
  double ci95_lo = 0;
  double ci95_hi = 0;
  std::size_t n = 0;
};
[[nodiscard]] TimeStats to_time_stats(const SampleSummary& summary);

struct ResultRow {
  std::string benchmark;  // all_reduce, all_gather, ..., latency, bw, bibw
  std::string backend;    // nccl, mpi, libfabric
  std::string transport;  // e.g. "efa", "tcp", "shm", "nvlink+efa", "vader"
  std::string dtype;
  std::string op;
  bool in_place = false;
  std::uint64_t size_bytes = 0;
  std::uint64_t count = 0;  // elements, as nccl-tests' count column
  int ranks = 1;
  TimeStats time_s;
  double algbw_Bps = 0;
  double busbw_Bps = 0;
  double busbw_factor = 0;
  std::int64_t wrong_elements = -1;  // -1: not checked
  int slowest_rank = -1;
  std::string slowest_host;
  std::size_t warmup_iterations = 0;
  std::string stop_reason;  // precision | time_budget | max_iterations | fixed
  std::optional<double> message_rate_per_s;
  std::map<std::string, std::string> labels;  // e.g. provider, domain, src, dst, placement
  std::optional<std::vector<double>> samples_s;
};

struct Verdict {
  Status status = Status::skip;
  int exit_code = 3;
  std::string summary;
};

struct Report {
  std::string schema = std::string(kReportSchema);
  ToolInfo tool;
  RunInfo run;
  Inventory inventory;
  std::vector<Check> checks;
  std::vector<ResultRow> results;
  std::map<std::string, std::map<std::string, std::int64_t>> hw_counters_delta;
  // Tool-specific structured sections (topology map, link matrix, suite steps, ...).
  nlohmann::json details = nlohmann::json::object();
  Verdict verdict;
};

void to_json(nlohmann::json& j, const Report& report);
void from_json(const nlohmann::json& j, Report& report);
void to_json(nlohmann::json& j, const Check& check);
void from_json(const nlohmann::json& j, Check& check);
void to_json(nlohmann::json& j, const ResultRow& row);
void from_json(const nlohmann::json& j, ResultRow& row);

// Checks are made one way, by what happened to them (docs/ARCHITECTURE.md, "Adding a finding").
// Severity and remediation always come from the catalog entry of `id`.
// - pass_check: the check ran and found nothing wrong.
// - fire_check: the finding fired. Its status is the catalog's (finding_status: fail for
//   isolate/reboot/reset, warn for monitor/info), never the caller's, so one finding never fails in
//   one tool and warns in another.
// - skip_check: the check could not run here; the message says why.
// - judged_check: a status the caller decided: error or timeout (the check could not complete),
//   the warn or fail of a gate with its own thresholds (baseline, history, the NCCL log's judge),
//   or a superseded suite step's warn.
[[nodiscard]] Check pass_check(std::string_view id, std::string message,
                               nlohmann::json evidence = nlohmann::json::object());
[[nodiscard]] Check fire_check(std::string_view id, std::string message,
                               nlohmann::json evidence = nlohmann::json::object());
[[nodiscard]] Check skip_check(std::string_view id, std::string reason,
                               nlohmann::json evidence = nlohmann::json::object());
[[nodiscard]] Check judged_check(std::string_view id, Status status, std::string message,
                                 nlohmann::json evidence = nlohmann::json::object());

// The verdict of `report` from its checks (common/status.hpp combine rule). The summary counts
// checks by status and names the failing ids.
[[nodiscard]] Verdict compute_verdict(const std::vector<Check>& checks, bool warn_as_fail);

// A new report for `tool_name` with tool{}, run{id, started_at, argv, hosts} filled in
// (deterministic: no timestamps, host names, versions or random id).
[[nodiscard]] Report start_report(std::string_view tool_name, int argc, const char* const* argv,
                                  bool deterministic);
// Sets finished_at and the verdict.
void finish_report(Report& report, bool warn_as_fail, bool deterministic);

// The allow-listed environment (FI_, NCCL_, OMPI_, CUDA_, PREFLIGHT_, RDMAV_, SLURM_JOB_ prefixes),
// minus anything that looks like a credential. `environment` is a null-terminated envp.
[[nodiscard]] std::map<std::string, std::string> allowlisted_environment(
    const char* const* environment);

}  // namespace preflight::reports
