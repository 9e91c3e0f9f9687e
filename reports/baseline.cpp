#include "reports/baseline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <tuple>

#include "common/error.hpp"
#include "common/size_spec.hpp"
#include "common/stats.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "reports/json_reader.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {

using nlohmann::json;

std::string_view to_string(Direction direction) {
  return direction == Direction::higher ? "higher" : "lower";
}

bool is_known_metric(std::string_view metric) {
  return metric == kMetricBusBw || metric == kMetricAlgBw || metric == kMetricTime ||
         metric == kMetricMessageRate;
}

Direction natural_direction(std::string_view metric) {
  return metric == kMetricTime ? Direction::lower : Direction::higher;
}

std::string choose_metric(const ResultRow& row, std::string_view requested,
                          std::uint64_t latency_max_size_bytes) {
  if (requested != "auto") {
    return std::string(requested);
  }
  if (row.size_bytes <= latency_max_size_bytes) {
    return std::string(kMetricTime);
  }
  if (row.busbw_Bps > 0) {
    return std::string(kMetricBusBw);
  }
  if (row.algbw_Bps > 0) {
    return std::string(kMetricAlgBw);
  }
  if (row.message_rate_per_s) {
    return std::string(kMetricMessageRate);
  }
  return std::string(kMetricTime);
}

double Band::allowance(double expected) const {
  return std::max(relative * std::fabs(expected), absolute);
}

MetricRule Baseline::rule_for(const std::string& metric, const BaselineMetric& value) const {
  MetricRule rule;
  const auto found = metrics.find(metric);
  if (found != metrics.end()) {
    rule = found->second;
  } else {
    rule.direction = natural_direction(metric);
  }
  if (value.warn) {
    rule.warn = *value.warn;
  }
  if (value.fail) {
    rule.fail = *value.fail;
  }
  return rule;
}

namespace {

json band_json(const Band& band) {
  json j = json::object();
  j["relative"] = band.relative;
  if (band.absolute > 0) {
    j["absolute"] = band.absolute;
  }
  return j;
}

Band band_from_json(const json& j) {
  return {j.value("relative", 0.0), j.value("absolute", 0.0)};
}

}  // namespace

void to_json(json& j, const Baseline& baseline) {
  j = json::object();
  j["schema"] = baseline.schema;
  j["name"] = baseline.name;
  if (!baseline.description.empty()) {
    j["description"] = baseline.description;
  }
  j["source"] = baseline.source;
  if (!baseline.source_url.empty()) {
    j["source_url"] = baseline.source_url;
  }
  if (!baseline.created_at.empty()) {
    j["created_at"] = baseline.created_at;
  }
  if (!baseline.created_by.empty()) {
    j["created_by"] = baseline.created_by;
  }
  if (!baseline.notes.empty()) {
    j["notes"] = baseline.notes;
  }
  json match = json::object();
  const BaselineMatch& m = baseline.match;
  if (!m.instance_type.empty()) {
    match["instance_type"] = m.instance_type;
  }
  if (m.nodes > 0) {
    match["nodes"] = m.nodes;
  }
  if (m.ranks_per_node > 0) {
    match["ranks_per_node"] = m.ranks_per_node;
  }
  if (!m.backend.empty()) {
    match["backend"] = m.backend;
  }
  match["benchmark"] = m.benchmark;
  if (!m.dtype.empty()) {
    match["dtype"] = m.dtype;
  }
  if (m.op) {
    match["op"] = *m.op;
  }
  if (!m.placement.empty()) {
    match["placement"] = m.placement;
  }
  if (!m.labels.empty()) {
    match["labels"] = m.labels;
  }
  j["match"] = match;
  json metrics = json::object();
  for (const auto& [name, rule] : baseline.metrics) {
    metrics[name] = {{"direction", to_string(rule.direction)},
                     {"warn", band_json(rule.warn)},
                     {"fail", band_json(rule.fail)}};
  }
  j["metrics"] = metrics;
  j["budget"] = {{"sizes_allowed_to_miss", baseline.sizes_allowed_to_miss}};
  json rows = json::array();
  for (const auto& row : baseline.rows) {
    json row_metrics = json::object();
    for (const auto& [name, metric] : row.metrics) {
      json value{{"expected", metric.expected}};
      if (metric.warn) {
        value["warn"] = band_json(*metric.warn);
      }
      if (metric.fail) {
        value["fail"] = band_json(*metric.fail);
      }
      if (metric.observed_spread) {
        value["observed_spread"] = *metric.observed_spread;
      }
      if (metric.runs) {
        value["runs"] = *metric.runs;
      }
      row_metrics[name] = value;
    }
    json row_json{{"size_bytes", row.size_bytes}, {"metrics", row_metrics}};
    if (!row.note.empty()) {
      row_json["note"] = row.note;
    }
    rows.push_back(row_json);
  }
  j["rows"] = rows;
}

void from_json(const json& j, Baseline& baseline) {
  baseline.schema = j.at("schema").get<std::string>();
  baseline.name = j.at("name").get<std::string>();
  baseline.description = j.value("description", "");
  baseline.source = j.at("source").get<std::string>();
  baseline.source_url = j.value("source_url", "");
  baseline.created_at = j.value("created_at", "");
  baseline.created_by = j.value("created_by", "");
  baseline.notes = j.value("notes", std::vector<std::string>{});
  const json& match = j.at("match");
  BaselineMatch& m = baseline.match;
  m.instance_type = match.value("instance_type", "");
  m.nodes = match.value("nodes", 0);
  m.ranks_per_node = match.value("ranks_per_node", 0);
  m.backend = match.value("backend", "");
  m.benchmark = match.at("benchmark").get<std::string>();
  m.dtype = match.value("dtype", "");
  if (match.contains("op")) {
    m.op = match.at("op").get<std::string>();
  }
  m.placement = match.value("placement", "");
  m.labels = match.value("labels", std::map<std::string, std::string>{});
  baseline.metrics.clear();
  for (const auto& [name, rule_json] : j.at("metrics").items()) {
    MetricRule rule;
    rule.direction = rule_json.at("direction").get<std::string>() == "lower" ? Direction::lower
                                                                             : Direction::higher;
    rule.warn = band_from_json(rule_json.at("warn"));
    rule.fail = band_from_json(rule_json.at("fail"));
    baseline.metrics.emplace(name, rule);
  }
  baseline.sizes_allowed_to_miss = j.at("budget").at("sizes_allowed_to_miss").get<int>();
  baseline.rows.clear();
  for (const auto& row_json : j.at("rows")) {
    BaselineRow row;
    row.size_bytes = row_json.at("size_bytes").get<std::uint64_t>();
    row.note = row_json.value("note", "");
    for (const auto& [name, value_json] : row_json.at("metrics").items()) {
      BaselineMetric metric;
      metric.expected = value_json.at("expected").get<double>();
      if (value_json.contains("warn")) {
        metric.warn = band_from_json(value_json.at("warn"));
      }
      if (value_json.contains("fail")) {
        metric.fail = band_from_json(value_json.at("fail"));
      }
      if (value_json.contains("observed_spread")) {
        metric.observed_spread = value_json.at("observed_spread").get<double>();
      }
      if (value_json.contains("runs")) {
        metric.runs = value_json.at("runs").get<int>();
      }
      row.metrics.emplace(name, metric);
    }
    baseline.rows.push_back(std::move(row));
  }
}

const JsonSchema& baseline_schema() {
  // Parsed once; immutable afterwards.
  static const JsonSchema schema(json::parse(embedded_schema_text("baseline")));
  return schema;
}

std::vector<SchemaError> validate_baseline_document(const json& document, std::size_t max_errors) {
  if (document.is_object() && document.contains("schema") &&
      document.at("schema") != std::string(kBaselineSchema)) {
    return {{"/schema",
             fmt::format("is {}, expected \"{}\"", document.at("schema").dump(), kBaselineSchema)}};
  }
  auto errors = baseline_schema().validate(document, max_errors);
  if (!errors.empty()) {
    return errors;
  }
  // Rules a JSON Schema cannot express.
  const auto add = [&](std::string pointer, std::string message) {
    if (errors.size() < max_errors) {
      errors.push_back({std::move(pointer), std::move(message)});
    }
  };
  const auto check_bands = [&](const json& warn, const json& fail, const std::string& pointer) {
    const double warn_rel = warn.value("relative", 0.0);
    const double fail_rel = fail.value("relative", 0.0);
    const double warn_abs = warn.value("absolute", 0.0);
    const double fail_abs = fail.value("absolute", 0.0);
    if (fail_rel < warn_rel || fail_abs < warn_abs) {
      add(pointer + "/fail", "the fail band is narrower than the warn band");
    }
  };
  const json& metrics = document.at("metrics");
  for (const auto& [name, rule] : metrics.items()) {
    check_bands(rule.at("warn"), rule.at("fail"), "/metrics/" + name);
  }
  std::set<std::uint64_t> sizes;
  const json& rows = document.at("rows");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string pointer = fmt::format("/rows/{}", i);
    const auto size = rows[i].at("size_bytes").get<std::uint64_t>();
    if (!sizes.insert(size).second) {
      add(pointer + "/size_bytes", fmt::format("size {} appears more than once", size));
    }
    for (const auto& [name, value] : rows[i].at("metrics").items()) {
      const std::string metric_pointer = pointer + "/metrics/" + name;
      if (!metrics.contains(name)) {
        add(metric_pointer, fmt::format("no rule for metric \"{}\" in /metrics", name));
        continue;
      }
      const json& rule = metrics.at(name);
      const auto warn = value.find("warn");
      const auto fail = value.find("fail");
      check_bands(warn != value.end() ? *warn : rule.at("warn"),
                  fail != value.end() ? *fail : rule.at("fail"), metric_pointer);
    }
  }
  return errors;
}

Baseline read_baseline(const std::filesystem::path& path) {
  const std::string origin = path == "-" ? "stdin" : path.string();
  const PaddedText text = read_padded_file(path);
  // Valid files the streaming reader is sure of go straight into the struct; the rest (every
  // invalid file included) the slow way, whose messages name the JSON pointer.
  if (auto baseline = fast_read_baseline(text)) {
    return std::move(*baseline);
  }
  const json document = parse_json_text(text.view(), origin);
  return convert_valid_document<Baseline>(document, validate_baseline_document(document, 5), origin,
                                          kBaselineSchema, "baseline");
}

std::string dump_baseline(const Baseline& baseline) {
  return json(baseline).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

RunShape run_shape(const Report& report) {
  RunShape shape;
  shape.instance_type = report.inventory.instance_type;
  if (report.run.nodes > 0) {
    shape.nodes = report.run.nodes;
  } else if (report.run.hosts.size() > 1) {
    shape.nodes = static_cast<int>(
        std::set<std::string>(report.run.hosts.begin(), report.run.hosts.end()).size());
  }
  for (const auto& row : report.results) {
    shape.ranks = std::max(shape.ranks, row.ranks);
  }
  if (shape.ranks == 0) {
    shape.ranks = report.run.ranks;
  }
  if (shape.nodes > 0 && shape.ranks > 0 && shape.ranks % shape.nodes == 0) {
    shape.ranks_per_node = shape.ranks / shape.nodes;
  }
  return shape;
}

bool is_identity_label(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kValues{
      "timestamp",        "max_error",  "size_errors", "verified_messages",
      "timed_iterations", "size_check", "placement",   "requested_bytes"};
  static constexpr std::array<std::string_view, 13> kValueSuffixes{
      "_s",   "_us",   "_ms",     "_ns",    "_bytes",      "_Bps",     "_gbps",
      "_pct", "_rank", "_errors", "_count", "_iterations", "_messages"};
  if (std::find(kValues.begin(), kValues.end(), name) != kValues.end()) {
    return false;  // placement duplicates in_place, which the key already has
  }
  return std::none_of(kValueSuffixes.begin(), kValueSuffixes.end(), [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  });
}

std::string_view normalized_op(std::string_view op) {
  return op.empty() ? "none" : op;
}

std::string_view placement_of(const ResultRow& row) {
  return row.in_place ? "in_place" : "out_of_place";
}

std::optional<MetricValue> metric_value(const ResultRow& row, std::string_view metric) {
  const TimeStats& t = row.time_s;
  // Bandwidths and rates scale as 1/time: the CI of the median time maps onto them inverted.
  const auto inverse_ci = [&](double value) {
    MetricValue v{value, value, value};
    if (t.median > 0 && t.ci95_lo > 0 && t.ci95_hi >= t.ci95_lo) {
      v.ci_lo = value * t.median / t.ci95_hi;
      v.ci_hi = value * t.median / t.ci95_lo;
    }
    return v;
  };
  if (metric == kMetricTime) {
    if (!(t.median > 0)) {
      return std::nullopt;
    }
    MetricValue v{t.median, t.median, t.median};
    if (t.ci95_lo > 0 && t.ci95_hi >= t.ci95_lo) {
      v.ci_lo = std::min(t.ci95_lo, t.median);
      v.ci_hi = std::max(t.ci95_hi, t.median);
    }
    return v;
  }
  if (metric == kMetricBusBw || metric == kMetricAlgBw) {
    const double value = metric == kMetricBusBw ? row.busbw_Bps : row.algbw_Bps;
    if (!(t.median > 0) && !(value > 0)) {
      return std::nullopt;
    }
    return inverse_ci(value);
  }
  if (metric == kMetricMessageRate) {
    if (!row.message_rate_per_s) {
      return std::nullopt;
    }
    return inverse_ci(*row.message_rate_per_s);
  }
  return std::nullopt;
}

namespace {

struct SeriesKey {
  std::string benchmark;
  std::string backend;
  std::string dtype;
  std::string op;
  auto operator<=>(const SeriesKey&) const = default;
};

std::string describe(const SeriesKey& key) {
  return fmt::format("benchmark={} backend={} dtype={} op={}", key.benchmark,
                     key.backend.empty() ? "-" : key.backend, key.dtype.empty() ? "-" : key.dtype,
                     key.op.empty() ? "-" : key.op);
}

// The name a report is known by in messages: its file, or its place among the reports.
std::string origin_of(const std::vector<std::string>& origins, std::size_t i) {
  return i < origins.size() ? origins[i] : fmt::format("report {}", i + 1);
}

// The runs must be comparable: where two reports both state a fact, it must agree. Returns what
// they state together.
RunShape common_run_shape(const std::vector<Report>& reports,
                          const std::vector<std::string>& origins) {
  RunShape shape = run_shape(reports.front());
  for (std::size_t i = 1; i < reports.size(); ++i) {
    const RunShape other = run_shape(reports[i]);
    std::vector<std::string> differences;
    if (!shape.instance_type.empty() && !other.instance_type.empty() &&
        shape.instance_type != other.instance_type) {
      differences.push_back(
          fmt::format("instance type {} vs {}", shape.instance_type, other.instance_type));
    }
    if (shape.nodes > 0 && other.nodes > 0 && shape.nodes != other.nodes) {
      differences.push_back(fmt::format("{} vs {} nodes", shape.nodes, other.nodes));
    }
    if (shape.ranks > 0 && other.ranks > 0 && shape.ranks != other.ranks) {
      differences.push_back(fmt::format("{} vs {} ranks", shape.ranks, other.ranks));
    }
    if (!differences.empty()) {
      throw UsageError(fmt::format("baseline create: {} and {} are not comparable runs: {}",
                                   origin_of(origins, 0), origin_of(origins, i),
                                   join(differences, "; ")));
    }
    if (shape.instance_type.empty()) {
      shape.instance_type = other.instance_type;
    }
    if (shape.nodes == 0) {
      shape.nodes = other.nodes;
    }
    if (shape.ranks_per_node == 0) {
      shape.ranks_per_node = other.ranks_per_node;
    }
  }
  return shape;
}

SeriesKey series_key_of(const ResultRow& row) {
  return {row.benchmark, row.backend, row.dtype, std::string(normalized_op(row.op))};
}

// Which series: one (benchmark, backend, dtype, op) among the selected placement.
SeriesKey the_one_series(const std::vector<Report>& reports, const BaselineCreateOptions& options) {
  std::set<SeriesKey> series;
  for (const auto& report : reports) {
    for (const auto& row : report.results) {
      if (placement_of(row) != options.placement) {
        continue;
      }
      if (!options.benchmark.empty() && row.benchmark != options.benchmark) {
        continue;
      }
      series.insert(series_key_of(row));
    }
  }
  if (series.empty()) {
    throw UsageError(fmt::format(
        "baseline create: no {} result rows{} in the reports", options.placement,
        options.benchmark.empty() ? std::string() : " of benchmark " + options.benchmark));
  }
  if (series.size() > 1) {
    std::vector<std::string> names;
    for (const auto& key : series) {
      names.push_back(describe(key));
    }
    throw UsageError(fmt::format(
        "baseline create: the reports hold {} kinds of results; a baseline covers one: {} "
        "(choose with --benchmark)",
        series.size(), join(names, "; ")));
  }
  return *series.begin();
}

using ValuesBySize = std::map<std::uint64_t, std::map<std::string, std::vector<double>>>;

// Per size and metric: one value per run (the median of that run's duplicates).
ValuesBySize values_per_run(const std::vector<Report>& reports, const SeriesKey& key,
                            const BaselineCreateOptions& options) {
  ValuesBySize values;
  for (const auto& report : reports) {
    ValuesBySize run_values;
    for (const auto& row : report.results) {
      if (placement_of(row) != options.placement || series_key_of(row) != key) {
        continue;
      }
      const std::string metric = choose_metric(row, options.metric, options.latency_max_size_bytes);
      const auto value = metric_value(row, metric);
      if (value) {
        run_values[row.size_bytes][metric].push_back(value->value);
      }
    }
    for (auto& [size, metrics] : run_values) {
      for (auto& [metric, samples] : metrics) {
        values[size][metric].push_back(median(samples));
      }
    }
  }
  return values;
}

// The rows (each size's median over the runs, bands widened by the runs' spread) and the rule of
// each metric used.
void add_rows_and_rules(Baseline& baseline, const ValuesBySize& values,
                        const BaselineCreateOptions& options, double fail_relative) {
  std::set<std::string> used_metrics;
  for (const auto& [size, metrics] : values) {
    BaselineRow row;
    row.size_bytes = size;
    for (const auto& [metric, samples] : metrics) {
      const double expected = median(samples);
      const auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
      const double spread = expected > 0 ? (*hi - *lo) / 2 / expected : 0;
      BaselineMetric value;
      value.expected = expected;
      value.runs = static_cast<int>(samples.size());
      if (spread > 0) {
        value.observed_spread = spread;
        const double floor_s = metric == kMetricTime ? options.latency_floor_s : 0;
        value.warn = Band{options.warn_relative + spread, floor_s};
        value.fail = Band{fail_relative + spread, 2 * floor_s};
      }
      row.metrics.emplace(metric, value);
      used_metrics.insert(metric);
    }
    if (!row.metrics.empty()) {
      baseline.rows.push_back(std::move(row));
    }
  }
  if (baseline.rows.empty()) {
    throw UsageError("baseline create: the selected rows measured nothing (all times are 0)");
  }
  for (const auto& metric : used_metrics) {
    MetricRule rule;
    rule.direction = natural_direction(metric);
    const double floor_s = metric == kMetricTime ? options.latency_floor_s : 0;
    rule.warn = {options.warn_relative, floor_s};
    rule.fail = {fail_relative, 2 * floor_s};
    baseline.metrics.emplace(metric, rule);
  }
}

}  // namespace

Baseline create_baseline(const std::vector<Report>& reports,
                         const std::vector<std::string>& origins,
                         const BaselineCreateOptions& options) {
  if (reports.empty()) {
    throw UsageError("baseline create: --from needs at least one report");
  }
  if (options.metric != "auto" && !is_known_metric(options.metric)) {
    throw UsageError(
        fmt::format("--metric: unknown metric '{}' (busbw_Bps, algbw_Bps, time_s, "
                    "message_rate_per_s or auto)",
                    options.metric));
  }
  if (options.placement != "out_of_place" && options.placement != "in_place") {
    throw UsageError(
        fmt::format("--placement: '{}' is neither out_of_place nor in_place", options.placement));
  }
  const RunShape shape = common_run_shape(reports, origins);
  const SeriesKey key = the_one_series(reports, options);
  const ValuesBySize values = values_per_run(reports, key, options);

  Baseline baseline;
  const double fail_relative = options.fail_relative.value_or(2 * options.warn_relative);
  if (fail_relative < options.warn_relative) {
    throw UsageError(fmt::format("--fail-band {} is narrower than --band {}", fail_relative,
                                 options.warn_relative));
  }
  baseline.match.instance_type = shape.instance_type;
  baseline.match.nodes = shape.nodes;
  baseline.match.ranks_per_node = shape.ranks_per_node;
  baseline.match.backend = key.backend;
  baseline.match.benchmark = key.benchmark;
  baseline.match.dtype = key.dtype;
  baseline.match.op = key.op;
  baseline.match.placement = options.placement;
  baseline.sizes_allowed_to_miss = options.sizes_allowed_to_miss;
  baseline.created_by = "preflight-report baseline create";
  if (!options.deterministic) {
    baseline.created_at = utc_timestamp_now();
  }
  baseline.name =
      !options.name.empty()
          ? options.name
          : fmt::format("{}-{}-{}{}", shape.instance_type.empty() ? "any" : shape.instance_type,
                        shape.nodes > 0 ? fmt::format("{}node", shape.nodes) : "nodes",
                        key.benchmark, key.backend.empty() ? "" : "-" + key.backend);
  if (!options.source.empty()) {
    baseline.source = options.source;
  } else {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < reports.size(); ++i) {
      parts.push_back(reports[i].run.id.empty()
                          ? origin_of(origins, i)
                          : fmt::format("{} (run {})", origin_of(origins, i), reports[i].run.id));
    }
    baseline.source = "median of " + join(parts, ", ");
  }
  baseline.notes.push_back(fmt::format(
      "created from {} run(s); bands: warn {:.3g}%, fail {:.3g}%, each widened by the spread "
      "observed across the runs (half the range, relative)",
      reports.size(), options.warn_relative * 100, fail_relative * 100));

  add_rows_and_rules(baseline, values, options, fail_relative);
  baseline.description = fmt::format(
      "{} {} {} {}{} from {} run(s)", key.benchmark, key.dtype, key.op, options.placement,
      shape.instance_type.empty() ? "" : " on " + shape.instance_type, reports.size());
  return baseline;
}

}  // namespace preflight::reports
