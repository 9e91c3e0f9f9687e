#include "probes/efa_counters.hpp"

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
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

CounterSnapshot read_counter_snapshot(const std::filesystem::path& path, std::string* taken_at) {
  const json document = reports::read_json_file(path);
  const std::string origin = path.string();
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
    if (now.count(device) == 0) {
      result.devices_gone.push_back(device);
    }
  }
  return result;
}

}  // namespace preflight::probes
