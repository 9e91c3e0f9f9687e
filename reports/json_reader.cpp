#include "reports/json_reader.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>

#include "common/status.hpp"
#include "preflight/build_config.hpp"
#include "reports/report_io.hpp"

#if PREFLIGHT_HAVE_SIMDJSON
#include <simdjson.h>

#include "reports/json_reader_values.hpp"
#endif

namespace preflight::reports {

#if !PREFLIGHT_HAVE_SIMDJSON

bool fast_json_available() {
  return false;
}
std::optional<Report> fast_read_report(const PaddedText& /*text*/) {
  return std::nullopt;
}
std::optional<Baseline> fast_read_baseline(const PaddedText& /*text*/) {
  return std::nullopt;
}

#else

bool fast_json_available() {
  return true;
}

namespace {

using namespace fast_json;  // the value readers are this file's vocabulary

// ---- preflight.report/1 ------------------------------------------------------------------------

ToolInfo tool_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"name", "version", "git"}));
  ToolInfo tool;
  for_members(value, kKeys, bit_mask({0, 1, 2}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        tool.name = non_empty_string_of(member);
        break;
      case 1:
        tool.version = string_of(member);
        break;
      default:
        tool.git = string_of(member);
        break;
    }
  });
  return tool;
}

RunInfo run_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"id", "started_at", "finished_at", "argv", "ranks", "hosts", "nodes"}));
  RunInfo run;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        run.id = string_of(member);
        break;
      case 1:
        run.started_at = string_of(member);
        break;
      case 2:
        run.finished_at = string_of(member);
        break;
      case 3:
        run.argv = strings_of(member);
        break;
      case 4:
        run.ranks = static_cast<int>(integer_of(member, 0, kMaxInt));
        break;
      case 5:
        run.hosts = strings_of(member);
        break;
      default:
        run.nodes = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
    }
  });
  return run;
}

json objects_of(Element value) {
  json array = json::array();
  for (auto element : value.get_array()) {
    array.push_back(object_of(element, 3));  // root > inventory > array > element
  }
  return array;
}

Inventory inventory_of(Element value) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"instance_type", "gpus", "efa", "versions", "env"}));
  Inventory inventory;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        inventory.instance_type = string_of(member);
        break;
      case 1:
        inventory.gpus = objects_of(member);
        break;
      case 2:
        inventory.efa = objects_of(member);
        break;
      case 3:
        inventory.versions = string_map_of(member);
        break;
      default:
        inventory.env = string_map_of(member);
        break;
    }
  });
  return inventory;
}

// ^[A-Z][A-Z0-9_]*$, for ids no longer than the schema validator matches patterns against.
bool is_check_id(std::string_view id) {
  constexpr std::size_t kMaxPatternSubjectBytes = 4096;  // as json_schema.cpp
  return !id.empty() && id.size() <= kMaxPatternSubjectBytes && id.front() >= 'A' &&
         id.front() <= 'Z' && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
}

Status status_of(Element value) {
  const auto status = parse_status(text_of(value));
  if (!status) {
    unsure();
  }
  return *status;
}

Check check_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"id", "status", "severity", "message", "remediation", "evidence"}));
  Check check;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        check.id = string_of(member);
        if (!is_check_id(check.id)) {
          unsure();
        }
        break;
      case 1:
        check.status = status_of(member);
        break;
      case 2: {
        const auto severity = parse_severity(text_of(member));
        if (!severity) {
          unsure();
        }
        check.severity = *severity;
        break;
      }
      case 3:
        check.message = string_of(member);
        break;
      case 4:
        check.remediation = string_of(member);
        break;
      default:
        check.evidence = object_of(member, 3);  // root > checks > check > evidence
        break;
    }
  });
  return check;
}

TimeStats time_stats_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"median", "mean", "min", "max", "p90", "p99", "p999", "stdev", "ci95_median", "n"}));
  TimeStats t;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5, 7, 8, 9}),
              [&](unsigned key, Element member) {
                switch (key) {
                  case 0:
                    t.median = non_negative_number_of(member);
                    break;
                  case 1:
                    t.mean = non_negative_number_of(member);
                    break;
                  case 2:
                    t.min = non_negative_number_of(member);
                    break;
                  case 3:
                    t.max = non_negative_number_of(member);
                    break;
                  case 4:
                    t.p90 = non_negative_number_of(member);
                    break;
                  case 5:
                    t.p99 = non_negative_number_of(member);
                    break;
                  case 6:
                    t.p999 = non_negative_number_of(member);
                    break;
                  case 7:
                    t.stdev = non_negative_number_of(member);
                    break;
                  case 8: {
                    std::size_t items = 0;
                    for (auto element : member.get_array()) {
                      const double bound = number_of(element);
                      if (items == 0) {
                        t.ci95_lo = bound;
                      } else if (items == 1) {
                        t.ci95_hi = bound;
                      }
                      ++items;
                    }
                    if (items != 2) {
                      unsure();
                    }
                    break;
                  }
                  default:
                    t.n = static_cast<std::size_t>(integer_of(member, 0, kMax64));
                    break;
                }
              });
  return t;
}

ResultRow result_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"benchmark",
                                                               "backend",
                                                               "transport",
                                                               "dtype",
                                                               "op",
                                                               "in_place",
                                                               "size_bytes",
                                                               "count",
                                                               "ranks",
                                                               "time_s",
                                                               "algbw_Bps",
                                                               "busbw_Bps",
                                                               "busbw_factor",
                                                               "wrong_elements",
                                                               "slowest_rank",
                                                               "slowest_host",
                                                               "warmup_iterations",
                                                               "stop_reason",
                                                               "message_rate_per_s",
                                                               "labels",
                                                               "samples_s"}));
  ResultRow row;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}),
              [&](unsigned key, Element member) {
                switch (key) {
                  case 0:
                    row.benchmark = non_empty_string_of(member);
                    break;
                  case 1:
                    row.backend = string_of(member);
                    break;
                  case 2:
                    row.transport = string_of(member);
                    break;
                  case 3:
                    row.dtype = string_of(member);
                    break;
                  case 4:
                    row.op = string_of(member);
                    break;
                  case 5:
                    row.in_place = boolean_of(member);
                    break;
                  case 6:
                    row.size_bytes = static_cast<std::uint64_t>(integer_of(member, 0, kMax64));
                    break;
                  case 7:
                    row.count = static_cast<std::uint64_t>(integer_of(member, 0, kMax64));
                    break;
                  case 8:
                    row.ranks = static_cast<int>(integer_of(member, 0, kMaxInt));
                    break;
                  case 9:
                    row.time_s = time_stats_of(member);
                    break;
                  case 10:
                    row.algbw_Bps = non_negative_number_of(member);
                    break;
                  case 11:
                    row.busbw_Bps = non_negative_number_of(member);
                    break;
                  case 12:
                    row.busbw_factor = non_negative_number_of(member);
                    break;
                  case 13:
                    row.wrong_elements = integer_of(member, -1, kMax64);
                    break;
                  case 14:
                    row.slowest_rank = static_cast<int>(integer_of(member, -1, kMaxInt));
                    break;
                  case 15:
                    row.slowest_host = string_of(member);
                    break;
                  case 16:
                    row.warmup_iterations = static_cast<std::size_t>(integer_of(member, 0, kMax64));
                    break;
                  case 17:
                    row.stop_reason = string_of(member);
                    break;
                  case 18:
                    row.message_rate_per_s = non_negative_number_of(member);
                    break;
                  case 19:
                    row.labels = string_map_of(member);
                    break;
                  default: {
                    std::vector<double> samples;
                    for (auto element : member.get_array()) {
                      samples.push_back(number_of(element));
                    }
                    row.samples_s = std::move(samples);
                    break;
                  }
                }
              });
  return row;
}

std::map<std::string, std::map<std::string, std::int64_t> > counters_of(Element value) {
  std::map<std::string, std::map<std::string, std::int64_t> > counters;
  for (auto device : value.get_object()) {
    std::string name(device.key);
    std::map<std::string, std::int64_t> values;
    for (auto counter : device.value.get_object()) {
      std::string key(counter.key);
      values[std::move(key)] = integer_of(counter.value, -kMax64, kMax64);
    }
    counters[std::move(name)] = std::move(values);
  }
  return counters;
}

Verdict verdict_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"status", "exit_code", "summary"}));
  Verdict verdict;
  for_members(value, kKeys, bit_mask({0, 1, 2}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        verdict.status = status_of(member);
        break;
      case 1: {
        const auto code = integer_of(member, 0, 124);
        if (code > 4 && code != 124) {
          unsure();
        }
        verdict.exit_code = static_cast<int>(code);
        break;
      }
      default:
        verdict.summary = string_of(member);
        break;
    }
  });
  return verdict;
}

Report report_of(Element document) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"schema", "tool", "run", "inventory", "checks", "results",
                                       "hw_counters_delta", "details", "verdict"}));
  Report report;
  for_members(document, kKeys, bit_mask({0, 1, 2, 3, 4, 5, 8}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        if (text_of(member) != kReportSchema) {
          unsure();
        }
        break;
      case 1:
        report.tool = tool_of(member);
        break;
      case 2:
        report.run = run_of(member);
        break;
      case 3:
        report.inventory = inventory_of(member);
        break;
      case 4:
        for (auto element : member.get_array()) {
          report.checks.push_back(check_of(element));
        }
        break;
      case 5: {
        const simdjson::dom::array rows = member.get_array();
        report.results.reserve(rows.size());
        for (auto element : rows) {
          report.results.push_back(result_of(element));
        }
        break;
      }
      case 6:
        report.hw_counters_delta = counters_of(member);
        break;
      case 7:
        report.details = object_of(member, 1);
        break;
      default:
        report.verdict = verdict_of(member);
        break;
    }
  });
  return report;
}

// ---- preflight.baseline/1 ----------------------------------------------------------------------

constexpr auto kMetricNames =
    std::to_array<std::string_view>({"busbw_Bps", "algbw_Bps", "time_s", "message_rate_per_s"});

std::string metric_name_of(std::string_view key) {
  if (std::find(kMetricNames.begin(), kMetricNames.end(), key) == kMetricNames.end()) {
    unsure();
  }
  return std::string(key);
}

Band band_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"relative", "absolute"}));
  Band band;
  for_members(value, kKeys, 0, [&](unsigned key, Element member) {
    const double number = non_negative_number_of(member);
    if (key == 0) {
      if (number > 10) {
        unsure();
      }
      band.relative = number;
    } else {
      band.absolute = number;
    }
  });
  return band;
}

MetricRule rule_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"direction", "warn", "fail"}));
  MetricRule rule;
  for_members(value, kKeys, bit_mask({0, 1, 2}), [&](unsigned key, Element member) {
    if (key == 0) {
      const std::string_view direction = text_of(member);
      if (direction != "higher" && direction != "lower") {
        unsure();
      }
      rule.direction = direction == "lower" ? Direction::lower : Direction::higher;
    } else if (key == 1) {
      rule.warn = band_of(member);
    } else {
      rule.fail = band_of(member);
    }
  });
  return rule;
}

BaselineMetric baseline_metric_of(Element value) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"expected", "warn", "fail", "observed_spread", "runs"}));
  BaselineMetric metric;
  for_members(value, kKeys, bit_mask({0}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        metric.expected = non_negative_number_of(member);
        break;
      case 1:
        metric.warn = band_of(member);
        break;
      case 2:
        metric.fail = band_of(member);
        break;
      case 3:
        metric.observed_spread = non_negative_number_of(member);
        break;
      default:
        metric.runs = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
    }
  });
  return metric;
}

BaselineRow baseline_row_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"size_bytes", "metrics", "note"}));
  BaselineRow row;
  for_members(value, kKeys, bit_mask({0, 1}), [&](unsigned key, Element member) {
    if (key == 0) {
      row.size_bytes = static_cast<std::uint64_t>(integer_of(member, 0, kMax64));
    } else if (key == 1) {
      for (auto metric : member.get_object()) {
        std::string name = metric_name_of(metric.key);
        if (!row.metrics.emplace(std::move(name), baseline_metric_of(metric.value)).second) {
          unsure();
        }
      }
      if (row.metrics.empty()) {
        unsure();
      }
    } else {
      row.note = string_of(member);
    }
  });
  return row;
}

BaselineMatch match_of(Element value) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"instance_type", "nodes", "ranks_per_node", "backend",
                                       "benchmark", "dtype", "op", "placement", "labels"}));
  BaselineMatch match;
  for_members(value, kKeys, bit_mask({4}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        match.instance_type = non_empty_string_of(member);
        break;
      case 1:
        match.nodes = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
      case 2:
        match.ranks_per_node = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
      case 3:
        match.backend = non_empty_string_of(member);
        break;
      case 4:
        match.benchmark = non_empty_string_of(member);
        break;
      case 5:
        match.dtype = non_empty_string_of(member);
        break;
      case 6:
        match.op = string_of(member);
        break;
      case 7:
        match.placement = string_of(member);
        if (match.placement != "out_of_place" && match.placement != "in_place") {
          unsure();
        }
        break;
      default:
        match.labels = string_map_of(member);
        break;
    }
  });
  return match;
}

// The rules validate_baseline_document adds to the schema, on the typed struct.
void check_baseline_rules(const Baseline& baseline) {
  const auto bands_ordered = [](const Band& warn, const Band& fail) {
    return fail.relative >= warn.relative && fail.absolute >= warn.absolute;
  };
  for (const auto& [name, rule] : baseline.metrics) {
    if (!bands_ordered(rule.warn, rule.fail)) {
      unsure();
    }
  }
  std::set<std::uint64_t> sizes;
  for (const auto& row : baseline.rows) {
    if (!sizes.insert(row.size_bytes).second) {
      unsure();
    }
    for (const auto& [name, metric] : row.metrics) {
      const auto rule = baseline.metrics.find(name);
      if (rule == baseline.metrics.end() ||
          !bands_ordered(metric.warn.value_or(rule->second.warn),
                         metric.fail.value_or(rule->second.fail))) {
        unsure();
      }
    }
  }
}

Baseline baseline_of(Element document) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"schema", "name", "description", "source", "source_url", "created_at", "created_by", "notes",
       "match", "metrics", "budget", "rows"}));
  Baseline baseline;
  for_members(
      document, kKeys, bit_mask({0, 1, 3, 8, 9, 10, 11}), [&](unsigned key, Element member) {
        switch (key) {
          case 0:
            if (text_of(member) != kBaselineSchema) {
              unsure();
            }
            break;
          case 1:
            baseline.name = non_empty_string_of(member);
            break;
          case 2:
            baseline.description = string_of(member);
            break;
          case 3:
            baseline.source = non_empty_string_of(member);
            break;
          case 4:
            baseline.source_url = string_of(member);
            break;
          case 5:
            baseline.created_at = string_of(member);
            break;
          case 6:
            baseline.created_by = string_of(member);
            break;
          case 7:
            baseline.notes = strings_of(member);
            break;
          case 8:
            baseline.match = match_of(member);
            break;
          case 9:
            for (auto metric : member.get_object()) {
              std::string name = metric_name_of(metric.key);
              if (!baseline.metrics.emplace(std::move(name), rule_of(metric.value)).second) {
                unsure();
              }
            }
            if (baseline.metrics.empty()) {
              unsure();
            }
            break;
          case 10: {
            Seen budget;
            for (auto entry : member.get_object()) {
              budget.mark(
                  key_index(entry.key, std::to_array<std::string_view>({"sizes_allowed_to_miss"})));
              baseline.sizes_allowed_to_miss =
                  static_cast<int>(integer_of(entry.value, 0, kMaxInt));
            }
            budget.require(bit_mask({0}));
            break;
          }
          default: {
            const simdjson::dom::array rows = member.get_array();
            baseline.rows.reserve(rows.size());
            for (auto element : rows) {
              baseline.rows.push_back(baseline_row_of(element));
            }
            if (baseline.rows.empty()) {
              unsure();
            }
            break;
          }
        }
      });
  check_baseline_rules(baseline);
  return baseline;
}

template <typename Result, typename Read>
std::optional<Result> read_with(const PaddedText& text, Read read) {
  try {
    // The DOM API picks the fastest kernel of this CPU at run time (On-Demand is bound to the
    // compile-time target, the portable fallback kernel in a distribution build).
    simdjson::dom::parser parser;
    const Element document = parser.parse(text.view().data(), text.view().size(), false);
    return read(document);
  } catch (const simdjson::simdjson_error&) {
    return std::nullopt;
  } catch (const Unsure&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<Report> fast_read_report(const PaddedText& text) {
  return read_with<Report>(text, [](Element document) { return report_of(document); });
}

std::optional<Baseline> fast_read_baseline(const PaddedText& text) {
  return read_with<Baseline>(text, [](Element document) { return baseline_of(document); });
}

#endif

}  // namespace preflight::reports
