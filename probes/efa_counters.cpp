#include "probes/efa_counters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/sysfs.hpp"
#include "common/text.hpp"
#include "reports/report_io.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;

std::string port_key(int port, const std::string& counter) {
  return port == 1 ? counter : fmt::format("port{}/{}", port, counter);
}

}  // namespace

CounterSnapshot snapshot_counters(const EfaFacts& facts) {
  CounterSnapshot snapshot;
  for (const EfaDevice& device : facts.devices) {
    CounterMap& counters = snapshot[device.name];
    for (const EfaPort& port : device.ports) {
      for (const auto& [name, value] : port.counters) {
        counters[port_key(port.number, name)] = value;
      }
    }
    for (const auto& [name, value] : device.device_counters) {
      // Device and port counter names are disjoint in the efa driver; keep the port's if not.
      counters.emplace(name, value);
    }
  }
  return snapshot;
}

json snapshot_to_json(const CounterSnapshot& snapshot, std::string_view taken_at,
                      std::string_view root) {
  return {{"schema", kCounterSnapshotSchema},
          {"taken_at", taken_at},
          {"root", root},
          {"devices", snapshot}};
}

void write_counter_snapshot(const std::filesystem::path& path, const CounterSnapshot& snapshot,
                            std::string_view taken_at, std::string_view root) {
  write_file_atomic(path, snapshot_to_json(snapshot, taken_at, root).dump(2) + "\n", 0644);
}

namespace {

// "123", "1.047241117296e+12" -> an integer counter value; nullopt for anything else.
std::optional<std::int64_t> counter_value(std::string_view text) {
  text = trim(text);
  if (const auto integer = parse_integer(text)) {
    return integer;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !(value >= 0) || value > 9.2e18) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(std::llround(value));
}

// "/sys/class/infiniband/rdmap0s31/ports/1/hw_counters/rx_drops" -> {device, key}.
std::optional<std::pair<std::string, std::string>> counter_path(std::string_view path) {
  const std::vector<std::string_view> parts = split(trim(path), '/');
  const auto at = std::find(parts.begin(), parts.end(), "infiniband");
  if (at == parts.end() || parts.end() - at < 4 || parts.end()[-2] != "hw_counters") {
    return std::nullopt;
  }
  const std::string device(at[1]);
  const std::string name(parts.back());
  if (at[2] == "ports" && parts.end() - at == 6) {
    return std::pair{device, port_key(static_cast<int>(parse_integer(at[3]).value_or(1)), name)};
  }
  return std::pair{device, name};
}

// node_amazonefa_rx_drops{device="rdmap16s27",port="1"} 0
void parse_prometheus_line(std::string_view line, CounterSnapshot& snapshot) {
  constexpr std::string_view kPrefix = "node_amazonefa_";
  const auto brace = line.find('{');
  const auto close = line.find('}');
  if (line.substr(0, kPrefix.size()) != kPrefix || brace == std::string_view::npos ||
      close == std::string_view::npos || close < brace) {
    return;
  }
  const std::string name(line.substr(kPrefix.size(), brace - kPrefix.size()));
  std::string device;
  int port = 0;
  for (const std::string_view label : split(line.substr(brace + 1, close - brace - 1), ',')) {
    const auto equals = label.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    std::string_view value = trim(label.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (trim(label.substr(0, equals)) == "device") {
      device = std::string(value);
    } else if (trim(label.substr(0, equals)) == "port") {
      port = static_cast<int>(parse_integer(value).value_or(0));
    }
  }
  const auto value = counter_value(line.substr(close + 1));
  if (device.empty() || !value || name == "info" || name == "lifespan") {
    return;
  }
  snapshot[device][port > 0 ? port_key(port, name) : name] = *value;
}

}  // namespace

CounterSnapshot parse_counter_dump(std::string_view text) {
  CounterSnapshot snapshot;
  std::optional<std::pair<std::string, std::string>> pending;  // `more`: path seen, value next
  std::string link_device;                                     // rdma statistic: current link
  int link_port = 1;
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    const std::string_view content = trim(line);
    if (content.empty() || content.find_first_not_of(':') == std::string_view::npos) {
      continue;  // more's "::::::::::::::" banners
    }
    if (content.front() == '/') {
      pending = counter_path(content);
      continue;
    }
    if (content.substr(0, 15) == "node_amazonefa_") {
      parse_prometheus_line(content, snapshot);
      continue;
    }
    std::vector<std::string_view> tokens = split_whitespace(content);
    if (tokens.size() >= 2 && tokens[0] == "link") {
      // "link rdmap0s31/1" and, without -p, "link rdmap0s31/1 tx_bytes 0 tx_pkts 0 ...".
      const auto slash = tokens[1].find('/');
      link_device = std::string(tokens[1].substr(0, slash));
      link_port = slash == std::string_view::npos
                      ? 1
                      : static_cast<int>(parse_integer(tokens[1].substr(slash + 1)).value_or(1));
      tokens.erase(tokens.begin(), tokens.begin() + 2);
    }
    if (pending && tokens.size() == 1) {
      if (const auto value = counter_value(tokens[0]);
          value && !pending->second.ends_with("lifespan")) {
        snapshot[pending->first][pending->second] = *value;
      }
      pending.reset();
      continue;
    }
    if (link_device.empty()) {
      continue;  // a prompt or a banner before the first link
    }
    for (std::size_t i = 0; i + 1 < tokens.size(); i += 2) {
      const auto value = counter_value(tokens[i + 1]);
      if (value && tokens[i] != "lifespan") {
        snapshot[link_device][port_key(link_port, std::string(tokens[i]))] = *value;
      }
    }
  }
  return snapshot;
}

CounterSnapshot read_counter_snapshot(const std::filesystem::path& path, std::string* taken_at) {
  const std::string origin = path.string();
  json document;
  try {
    document = reports::read_json_file(path);
  } catch (const UsageError&) {
    // Not JSON: a capture of the counters in one of the text formats, or an error as it was.
    std::ifstream stream(path);
    std::ostringstream text;
    text << stream.rdbuf();
    CounterSnapshot dump = parse_counter_dump(text.str());
    if (dump.empty()) {
      throw;
    }
    if (taken_at != nullptr) {
      taken_at->clear();
    }
    return dump;
  }
  if (!document.is_object() || document.value("schema", "") != kCounterSnapshotSchema) {
    throw UsageError(fmt::format("{}: /schema is not \"{}\" (write one with --save-counters)",
                                 origin, kCounterSnapshotSchema));
  }
  if (!document.contains("devices") || !document.at("devices").is_object()) {
    throw UsageError(fmt::format("{}: /devices must be an object", origin));
  }
  CounterSnapshot snapshot;
  for (const auto& [device, counters] : document.at("devices").items()) {
    if (!counters.is_object()) {
      throw UsageError(fmt::format("{}: /devices/{} must be an object", origin, device));
    }
    for (const auto& [name, value] : counters.items()) {
      if (!value.is_number_integer()) {
        throw UsageError(
            fmt::format("{}: /devices/{}/{} must be an integer", origin, device, name));
      }
      snapshot[device][name] = value.get<std::int64_t>();
    }
  }
  if (taken_at != nullptr) {
    *taken_at = document.value("taken_at", "");
  }
  return snapshot;
}

CounterDeltas counter_deltas(const CounterSnapshot& before, const CounterSnapshot& now) {
  CounterDeltas result;
  for (const auto& [device, counters] : now) {
    const auto old = before.find(device);
    if (old == before.end()) {
      result.devices_new.push_back(device);
      continue;
    }
    CounterMap& deltas = result.deltas[device];
    for (const auto& [name, value] : counters) {
      const auto previous = old->second.find(name);
      if (previous == old->second.end()) {
        continue;  // absent before: no delta, and not zero either
      }
      if (value < previous->second) {
        result.reset[device].push_back(name);  // driver reset or reboot in between
        continue;
      }
      deltas[name] = value - previous->second;
    }
  }
  for (const auto& [device, counters] : before) {
    (void)counters;
    if (!now.contains(device)) {
      result.devices_gone.push_back(device);
    }
  }
  return result;
}

}  // namespace preflight::probes
