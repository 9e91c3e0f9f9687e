#include "collectives/efa_counters.hpp"

#include <array>
#include <string_view>

namespace preflight::collectives {
namespace {

constexpr std::string_view kInfiniband = "/sys/class/infiniband";
constexpr std::int64_t kEfaVendor = 0x1d0f;

constexpr std::array<std::string_view, 8> kHealthCounters{"rx_drops",
                                                          "rdma_read_wr_err",
                                                          "rdma_write_wr_err",
                                                          "retrans_bytes",
                                                          "retrans_pkts",
                                                          "retrans_timeout_events",
                                                          "unresponsive_remote_events",
                                                          "impaired_remote_conn_events"};

}  // namespace

std::vector<std::string> efa_devices(const RootFs& root) {
  std::vector<std::string> devices;
  for (const std::string& device : root.list(kInfiniband)) {
    const auto vendor = root.read_int(std::string(kInfiniband) + "/" + device + "/device/vendor");
    if (vendor && *vendor == kEfaVendor) {
      devices.push_back(device);
    }
  }
  return devices;
}

CounterSnapshot read_efa_counters(const RootFs& root) {
  CounterSnapshot snapshot;
  for (const std::string& device : efa_devices(root)) {
    const std::string directory = std::string(kInfiniband) + "/" + device + "/ports/1/hw_counters";
    auto& counters = snapshot[device];
    for (const std::string& counter : root.list(directory)) {
      if (const auto value = root.read_int(directory + "/" + counter)) {
        counters[counter] = *value;
      }
    }
  }
  return snapshot;
}

CounterSnapshot counter_deltas(const CounterSnapshot& before, const CounterSnapshot& after) {
  CounterSnapshot deltas;
  for (const auto& [device, after_counters] : after) {
    const auto earlier = before.find(device);
    if (earlier == before.end()) {
      continue;
    }
    for (const auto& [counter, value] : after_counters) {
      const auto old = earlier->second.find(counter);
      if (old != earlier->second.end()) {
        deltas[device][counter] = value - old->second;
      }
    }
  }
  return deltas;
}

RisingCounters rising_health_counters(const CounterSnapshot& deltas) {
  RisingCounters rising;
  for (const auto& [device, counters] : deltas) {
    for (const std::string_view name : kHealthCounters) {
      const auto it = counters.find(std::string(name));
      if (it != counters.end() && it->second > 0) {
        rising[device].emplace_back(it->first, it->second);
      }
    }
  }
  return rising;
}

}  // namespace preflight::collectives
