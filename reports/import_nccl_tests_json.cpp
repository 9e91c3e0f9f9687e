// nccl-tests' JSON output (-J FILE; JSON_FILE_VERSION 1-3 of nccl-tests' src/util.cu writer) into
// the parsed form: the run, the config and its devices, the results with their per-iteration
// sections, and the summary.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/text.hpp"
#include "common/version.hpp"
#include "reports/import_nccl_tests_parsed.hpp"

namespace preflight::reports::nccl_tests_import {

using nlohmann::json;

namespace {

[[noreturn]] void json_error(std::string_view origin, const std::string& pointer,
                             std::string_view message) {
  throw UsageError(fmt::format("{}: {}: {}", origin, pointer.empty() ? "/" : pointer, message));
}

const json& member(const json& object, std::string_view key, const std::string& pointer,
                   std::string_view origin) {
  if (!object.is_object()) {
    json_error(origin, pointer, fmt::format("expected an object, found {}", object.type_name()));
  }
  const auto found = object.find(std::string(key));
  if (found == object.end()) {
    json_error(origin, pointer, fmt::format("missing required property \"{}\"", key));
  }
  return *found;
}

// The writer prints doubles with %lf, NaN as the string "nan", and booleans as strings.
std::optional<double> json_number(const json& value) {
  if (value.is_number()) {
    const double number = value.get<double>();
    return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
  }
  return std::nullopt;
}

double require_number(const json& object, std::string_view key, const std::string& pointer,
                      std::string_view origin) {
  const json& value = member(object, key, pointer, origin);
  const auto number = json_number(value);
  if (!number) {
    json_error(origin, pointer + "/" + std::string(key),
               fmt::format("expected a finite number, found {}", value.dump()));
  }
  return *number;
}

std::string require_string(const json& object, std::string_view key, const std::string& pointer,
                           std::string_view origin) {
  const json& value = member(object, key, pointer, origin);
  if (!value.is_string()) {
    json_error(origin, pointer + "/" + std::string(key),
               fmt::format("expected a string, found {}", value.type_name()));
  }
  return value.get<std::string>();
}

// "%lf" keeps six decimals: print the number back the way the writer did and reuse the exact
// decimal scaling of the text path.
std::string writer_spelling(double value) {
  return fmt::format("{:.6f}", value);
}

Placement json_placement(const json& body, const std::string& pointer, std::string_view origin,
                         std::deque<std::string>& storage) {
  Placement p;
  const bool cpu = body.is_object() && body.contains("cpu_time");
  const double time = require_number(body, cpu ? "cpu_time" : "time", pointer, origin);
  const double algbw = require_number(body, "alg_bw", pointer, origin);
  const double busbw = require_number(body, "bus_bw", pointer, origin);
  const json& wrong = member(body, "nwrong", pointer, origin);
  // string_views into `storage`, which the caller keeps alive (a deque never moves its strings).
  storage.push_back(writer_spelling(time));
  p.time = storage.back();
  storage.push_back(writer_spelling(algbw));
  p.algbw = storage.back();
  storage.push_back(writer_spelling(busbw));
  p.busbw = storage.back();
  if (wrong.is_null()) {
    storage.emplace_back("N/A");
  } else if (const auto number = json_number(wrong)) {
    storage.push_back(fmt::format("{:.0f}", *number));
  } else {
    json_error(origin, pointer + "/nwrong",
               fmt::format("expected a number or null, found {}", wrong.dump()));
  }
  p.wrong = storage.back();
  parse_figures(p);
  return p;
}

// args, env and the NCCL version: what the writer recorded of the run.
void read_json_run(const json& document, Parsed& parsed) {
  parsed.start_time = document.value("start_time", "");
  if (document.contains("args") && document.at("args").is_array()) {
    for (const auto& arg : document.at("args")) {
      if (arg.is_string()) {
        parsed.argv.push_back(arg.get<std::string>());
      }
    }
    if (!parsed.argv.empty()) {
      parsed.program = parsed.argv.front();
    }
  }
  if (document.contains("env") && document.at("env").is_array()) {
    std::vector<std::string> entries;
    for (const auto& entry : document.at("env")) {
      if (entry.is_string()) {
        entries.push_back(entry.get<std::string>());
      }
    }
    parsed.env = allowlisted_entries(entries);
  }
  if (document.contains("nccl_version") && document.at("nccl_version").is_number_integer()) {
    const int code = document.at("nccl_version").get<int>();
    if (code > 0) {
      parsed.nccl_version = version_from_nccl_code(code).numeric();
    }
  }
}

// /config/devices: the text output's `# Using devices` rows.
void read_json_devices(const json& devices, std::string_view origin, Parsed& parsed) {
  if (!devices.is_array()) {
    json_error(origin, "/config/devices", "expected an array");
  }
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const json& d = devices[i];
    if (!d.is_object()) {
      json_error(origin, fmt::format("/config/devices/{}", i), "expected an object");
    }
    Device device;
    device.rank = d.value("rank", -1);
    device.group = d.value("group", -1);
    device.pid = d.value("pid", -1LL);
    device.host = d.value("hostname", "");
    device.device = d.value("device", -1);
    device.bus = d.value("device_hex", "");
    device.name = d.value("device_info", "");
    parsed.devices.push_back(std::move(device));
  }
}

// /config: the text output's `# nThread` header, and the devices.
void read_json_config(const json& config, std::string_view origin, Parsed& parsed) {
  if (!config.is_object()) {
    json_error(origin, "/config", "expected an object");
  }
  Header& header = parsed.header;
  header.seen = true;
  header.nthread = config.value("nthreads", 0);
  header.ngpus = config.value("ngpus", 0);
  header.min_bytes = config.value("minimum_bytes", std::uint64_t{0});
  header.max_bytes = config.value("maximum_bytes", std::uint64_t{0});
  if (config.contains("step_factor")) {
    header.step = config.value("step_factor", std::uint64_t{0});
    header.step_is_factor = true;
  } else {
    header.step = config.value("step_bytes", std::uint64_t{0});
    header.step_is_factor = false;
  }
  header.warmup_iters = config.value("warmup_iters", -1);
  header.iters = config.value("iterations", -1);
  header.agg_iters = config.value("aggregated_iterations", -1);
  header.validation = config.value("validation", -1);
  header.graph = config.value("graph", -1);
  if (config.contains("devices")) {
    read_json_devices(config.at("devices"), origin, parsed);
  }
}

// <placement>_per_iter (-I, version >= 2): the iteration times in seconds; empty when absent.
std::vector<double> read_json_samples(const json& per_iter, const std::string& pointer,
                                      const std::string& iter_key, std::string_view origin) {
  std::vector<double> samples;
  if (per_iter.contains("times_us") && per_iter.at("times_us").is_array()) {
    for (std::size_t k = 0; k < per_iter.at("times_us").size(); ++k) {
      const auto value = json_number(per_iter.at("times_us")[k]);
      if (!value || *value < 0) {
        json_error(origin, fmt::format("{}/{}/times_us/{}", pointer, iter_key, k),
                   "expected a non-negative number");
      }
      samples.push_back(*value * 1e-6);
    }
  }
  return samples;
}

// /results/<index>: one table row, its per-iteration samples into `parsed`, keyed by the index
// the row will have there.
TableRow read_json_row(const json& r, std::size_t index, std::string_view origin, Parsed& parsed,
                       std::deque<std::string>& storage) {
  const std::string pointer = fmt::format("/results/{}", index);
  TableRow row;
  row.size = static_cast<std::uint64_t>(require_number(r, "size", pointer, origin));
  row.count = static_cast<std::uint64_t>(require_number(r, "count", pointer, origin));
  storage.push_back(require_string(r, "type", pointer, origin));
  row.type = storage.back();
  storage.push_back(require_string(r, "redop", pointer, origin));
  row.redop = storage.back();
  const json& root = member(r, "root", pointer, origin);
  if (root.is_string()) {
    const std::string text = root.get<std::string>();
    row.root = parse_i64(trim(text)).value_or(-1);
  } else if (root.is_number_integer()) {
    row.root = root.get<std::int64_t>();
  }
  row.line = index;
  for (const bool in_place : {false, true}) {
    const std::string key = in_place ? "in_place" : "out_of_place";
    if (!r.contains(key) || r.at(key).is_null()) {
      continue;
    }
    Placement p = json_placement(r.at(key), pointer + "/" + key, origin, storage);
    const std::string iter_key = key + "_per_iter";
    if (r.contains(iter_key) && r.at(iter_key).is_object()) {
      const json& per_iter = r.at(iter_key);
      std::vector<double> samples = read_json_samples(per_iter, pointer, iter_key, origin);
      if (!samples.empty()) {
        parsed.samples_s[{parsed.rows.size(), in_place}] = std::move(samples);
        parsed.skipped_iterations[{parsed.rows.size(), in_place}] =
            per_iter.value("skipped_iterations", 0);
      }
    }
    (in_place ? row.in_place : row.out_of_place) = p;
  }
  return row;
}

// What follows the results: out-of-bounds count, average bus bandwidth, `# error:` lines.
void read_json_summary(const json& document, Parsed& parsed) {
  if (document.contains("out_of_bounds") && document.at("out_of_bounds").is_object()) {
    const json& count = document.at("out_of_bounds").value("count", json());
    if (const auto number = json_number(count)) {
      parsed.out_of_bounds = static_cast<std::int64_t>(*number);
    }
  }
  // Version 1 spelled it "average_bus_bandwidith" / "bandwidith".
  for (const char* key : {"average_bus_bandwidth", "average_bus_bandwidith"}) {
    if (document.contains(key) && document.at(key).is_object()) {
      const json& avg = document.at(key);
      const json& value =
          avg.contains("bandwidth") ? avg.at("bandwidth") : avg.value("bandwidith", json());
      if (const auto number = json_number(value)) {
        parsed.avg_busbw_gbps = number;
      }
    }
  }
  if (document.contains("errors") && document.at("errors").is_array()) {
    for (const auto& error : document.at("errors")) {
      if (error.is_string() && !error.get<std::string>().empty()) {
        keep_evidence(parsed.errors, error.get<std::string>());
      }
    }
  }
}

}  // namespace

void parse_json(const json& document, std::string_view origin, Parsed& parsed,
                std::deque<std::string>& storage) {
  if (!document.is_object()) {
    json_error(origin, "",
               fmt::format("expected an nccl-tests JSON object, found {}", document.type_name()));
  }
  const json& version = member(document, "version", "", origin);
  if (!version.is_number_integer() || version.get<int>() < 1 || version.get<int>() > 3) {
    json_error(origin, "/version",
               fmt::format("unsupported nccl-tests JSON file version {} (1 to 3 are known)",
                           version.dump()));
  }
  parsed.format = fmt::format("json v{}", version.get<int>());
  read_json_run(document, parsed);
  if (document.contains("config")) {
    read_json_config(document.at("config"), origin, parsed);
  }
  const json& results = member(document, "results", "", origin);
  if (!results.is_array()) {
    json_error(origin, "/results", fmt::format("expected an array, found {}", results.type_name()));
  }
  parsed.layout.known = true;
  for (std::size_t i = 0; i < results.size(); ++i) {
    parsed.rows.push_back(read_json_row(results[i], i, origin, parsed, storage));
  }
  read_json_summary(document, parsed);
}

}  // namespace preflight::reports::nccl_tests_import
