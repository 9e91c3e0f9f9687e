// preflight.baseline/1: what a comparable run is expected to measure, per message size and metric,
// with a direction (which way is better), warn and fail bands, and a budget of sizes allowed to
// miss. The JSON Schema is reports/schema/baseline.schema.json. Baselines are data: they select
// rows and hold numbers, nothing in them is ever evaluated as code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reports/json_schema.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

inline constexpr std::string_view kBaselineSchema = "preflight.baseline/1";

enum class Direction { higher, lower };  // which way is better
[[nodiscard]] std::string_view to_string(Direction direction);

// The metrics a baseline can hold, read from a result row. time_s is the median time.
inline constexpr std::string_view kMetricBusBw = "busbw_Bps";
inline constexpr std::string_view kMetricAlgBw = "algbw_Bps";
inline constexpr std::string_view kMetricTime = "time_s";
inline constexpr std::string_view kMetricMessageRate = "message_rate_per_s";
[[nodiscard]] bool is_known_metric(std::string_view metric);
[[nodiscard]] Direction natural_direction(std::string_view metric);
// The metric a row is judged by when `requested` is "auto": the time up to
// latency_max_size_bytes (a small message is about latency), above it bus bandwidth, else
// algorithm bandwidth, else the message rate, else the time. Any other `requested` is returned
// as it is. Baselines and diffs choose the same way.
[[nodiscard]] std::string choose_metric(const ResultRow& row, std::string_view requested,
                                        std::uint64_t latency_max_size_bytes);

// Allowed deviation towards worse: max(relative * |expected|, absolute).
struct Band {
  double relative = 0;
  double absolute = 0;  // in the metric's unit
  [[nodiscard]] double allowance(double expected) const;
};

struct MetricRule {
  Direction direction = Direction::higher;
  Band warn;
  Band fail;
};

struct BaselineMetric {
  double expected = 0;
  std::optional<Band> warn;  // overrides the rule's band for this row
  std::optional<Band> fail;
  std::optional<double> observed_spread;  // relative, from `baseline create`
  std::optional<int> runs;
};

struct BaselineRow {
  std::uint64_t size_bytes = 0;
  std::map<std::string, BaselineMetric> metrics;
  std::string note;
};

// What a run must be for the baseline to apply; unset fields match anything.
struct BaselineMatch {
  std::string instance_type;
  int nodes = 0;
  int ranks_per_node = 0;
  std::string backend;
  std::string benchmark;
  std::string dtype;
  std::optional<std::string> op;  // "" is a real value (collectives without a reduction)
  std::string placement;          // out_of_place | in_place | "" (any)
  std::map<std::string, std::string> labels;
};

struct Baseline {
  std::string schema = std::string(kBaselineSchema);
  std::string name;
  std::string description;
  std::string source;
  std::string source_url;
  std::string created_at;
  std::string created_by;
  std::vector<std::string> notes;
  BaselineMatch match;
  std::map<std::string, MetricRule> metrics;
  int sizes_allowed_to_miss = 0;
  std::vector<BaselineRow> rows;

  // The rule of `metric` with the row's overrides applied.
  [[nodiscard]] MetricRule rule_for(const std::string& metric, const BaselineMetric& value) const;
};

void to_json(nlohmann::json& j, const Baseline& baseline);
void from_json(const nlohmann::json& j, Baseline& baseline);

[[nodiscard]] const JsonSchema& baseline_schema();

// Checks a parsed document against the schema and the rules a schema cannot say (unique sizes,
// a fail band at least as wide as the warn band, every row metric has a rule). Each error names
// the JSON pointer. Empty when the baseline is valid.
[[nodiscard]] std::vector<SchemaError> validate_baseline_document(const nlohmann::json& document,
                                                                  std::size_t max_errors = 50);

// Reads and validates a baseline file; throws UsageError naming the file and the JSON pointers.
[[nodiscard]] Baseline read_baseline(const std::filesystem::path& path);
[[nodiscard]] std::string dump_baseline(const Baseline& baseline);

// What a report says about the run's size and platform; 0 / "" where it does not say.
struct RunShape {
  std::string instance_type;
  int nodes = 0;
  int ranks = 0;
  int ranks_per_node = 0;
};
// nodes: run.nodes, else the distinct hosts when run.hosts lists more than one (a single entry
// may be rank 0's host only); ranks: the result rows' ranks, else run.ranks.
[[nodiscard]] RunShape run_shape(const Report& report);

// Whether a row label names what was measured (provider, src, dst, memory, window, split, ...)
// rather than carrying a measured or per-sample value (timestamps, counters such as
// verified_messages, figures with a unit suffix such as requested_bytes or host_time_median_s).
// Series in diffs, history, plots and Prometheus group rows on identity labels only; a value
// label would make every run, or every size, a series of its own.
[[nodiscard]] bool is_identity_label(std::string_view name);

// The op of a row with "" and "none" (nccl-tests' spelling for collectives without a reduction)
// as one value.
[[nodiscard]] std::string_view normalized_op(std::string_view op);

// "out_of_place" / "in_place": the placement of a result row.
[[nodiscard]] std::string_view placement_of(const ResultRow& row);
// The metric's value in a row, and the 95% CI of that value derived from the CI of the median
// time (bandwidths scale as 1/time). nullopt when the row did not measure it.
struct MetricValue {
  double value = 0;
  double ci_lo = 0;
  double ci_hi = 0;
};
[[nodiscard]] std::optional<MetricValue> metric_value(const ResultRow& row,
                                                      std::string_view metric);

// Options of `preflight-report baseline create`.
struct BaselineCreateOptions {
  std::string name;
  std::string source;  // default: the report files and their run ids
  double warn_relative = 0.10;
  std::optional<double> fail_relative;  // default: 2 x warn
  int sizes_allowed_to_miss = 0;
  std::string benchmark;  // choose when the reports hold several
  std::string placement = "out_of_place";
  std::string metric = "auto";  // auto: time_s up to latency_max_size, busbw (else algbw) above
  std::uint64_t latency_max_size_bytes = 65536;
  double latency_floor_s = 0;  // absolute warn allowance of times (fail: twice)
  bool deterministic = false;
};

// A baseline from one or more reports of comparable runs: per size, the median across runs;
// bands widened by the observed spread (half the range across runs, relative). Throws
// UsageError when the reports are not comparable, naming what differs.
[[nodiscard]] Baseline create_baseline(const std::vector<Report>& reports,
                                       const std::vector<std::string>& origins,
                                       const BaselineCreateOptions& options);

}  // namespace preflight::reports
