#include "p2p/efa_counters.hpp"

#include <algorithm>

namespace preflight::p2p {
namespace {
constexpr std::int64_t kEfaVendorId = 0x1d0f;
}  // namespace

EfaCounters read_efa_counters(const RootFs& root) {
  EfaCounters counters;
  for (const std::string& device : root.list("/sys/class/infiniband")) {
    const std::string base = "/sys/class/infiniband/" + device;
    if (root.read_int(base + "/device/vendor") != kEfaVendorId) {
      continue;
    }
    auto& values = counters[device];
    const std::string directory = base + "/ports/1/hw_counters";
    for (const std::string& name : root.list(directory)) {
      if (const auto value = root.read_int(directory + "/" + name)) {
        values[name] = *value;
      }
    }
  }
  return counters;
}

EfaCounters counter_deltas(const EfaCounters& before, const EfaCounters& after) {
  EfaCounters deltas;
  for (const auto& [device, after_values] : after) {
    const auto device_before = before.find(device);
    if (device_before == before.end()) {
      continue;
    }
    auto& out = deltas[device];
    for (const auto& [name, value] : after_values) {
      const auto counter_before = device_before->second.find(name);
      if (counter_before != device_before->second.end()) {
        out[name] = value - counter_before->second;
      }
    }
  }
  return deltas;
}

const std::vector<std::string>& efa_error_counter_names() {
  static const std::vector<std::string> kNames = {"rx_drops",
                                                  "rdma_read_wr_err",
                                                  "rdma_write_wr_err",
                                                  "retrans_bytes",
                                                  "retrans_pkts",
                                                  "retrans_timeout_events",
                                                  "unresponsive_remote_events",
                                                  "impaired_remote_conn_events"};
  return kNames;
}

std::vector<RisingErrorCounters> rising_error_counters(const EfaCounters& deltas) {
  std::vector<RisingErrorCounters> rising;
  const auto& names = efa_error_counter_names();
  for (const auto& [device, values] : deltas) {
    RisingErrorCounters entry{device, {}};
    for (const auto& [name, delta] : values) {
      if (delta > 0 && std::find(names.begin(), names.end(), name) != names.end()) {
        entry.increases[name] = delta;
      }
    }
    if (!entry.increases.empty()) {
      rising.push_back(std::move(entry));
    }
  }
  return rising;
}

}  // namespace preflight::p2p
