#include "common/efa_sysfs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace preflight {
namespace {

constexpr std::string_view kInfiniband = "/sys/class/infiniband";

}  // namespace

bool is_efa_pci_device(std::int64_t vendor, std::int64_t device) {
  return vendor == kAmazonPciVendor && device >= 0xefa0 && device <= 0xefa3;
}

std::vector<std::string> efa_device_names(const RootFs& root) {
  std::vector<std::string> devices;
  for (const std::string& name : root.list(kInfiniband)) {
    const std::string base = std::string(kInfiniband) + "/" + name + "/device/";
    const auto vendor = root.read_int(base + "vendor");
    const auto device = root.read_int(base + "device");
    if (vendor && device && is_efa_pci_device(*vendor, *device)) {
      devices.push_back(name);
    }
  }
  return devices;  // RootFs::list is sorted
}

EfaCounterMap read_efa_counter_directory(const RootFs& root, const std::string& directory,
                                         std::vector<std::string>* unreadable) {
  EfaCounterMap counters;
  for (const std::string& name : root.list(directory)) {
    if (name == "lifespan") {
      continue;
    }
    if (const auto value = root.read_int(directory + "/" + name)) {
      counters[name] = *value;
    } else if (unreadable != nullptr) {
      unreadable->push_back(name);
    }
  }
  return counters;
}

EfaCounterSnapshot read_efa_port_counters(const RootFs& root) {
  EfaCounterSnapshot snapshot;
  for (const std::string& device : efa_device_names(root)) {
    snapshot[device] = read_efa_counter_directory(
        root, std::string(kInfiniband) + "/" + device + "/ports/1/hw_counters", nullptr);
  }
  return snapshot;
}

EfaCounterSnapshot efa_counter_deltas(const EfaCounterSnapshot& before,
                                      const EfaCounterSnapshot& after) {
  EfaCounterSnapshot deltas;
  for (const auto& [device, after_counters] : after) {
    const auto earlier = before.find(device);
    if (earlier == before.end()) {
      continue;
    }
    auto& device_deltas = deltas[device];
    for (const auto& [counter, value] : after_counters) {
      const auto old = earlier->second.find(counter);
      if (old != earlier->second.end()) {
        device_deltas[counter] = value - old->second;
      }
    }
  }
  return deltas;
}

const std::vector<std::string>& efa_port_counter_names() {
  // Traffic counters, then the health counters.
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all{"tx_bytes",
                                 "tx_pkts",
                                 "rx_bytes",
                                 "rx_pkts",
                                 "send_bytes",
                                 "send_wrs",
                                 "recv_bytes",
                                 "recv_wrs",
                                 "rdma_read_bytes",
                                 "rdma_read_wrs",
                                 "rdma_read_resp_bytes",
                                 "rdma_write_bytes",
                                 "rdma_write_wrs",
                                 "rdma_write_recv_bytes"};
    const auto& health = efa_health_counter_names();
    all.insert(all.end(), health.begin(), health.end());
    return all;
  }();
  return names;
}

const std::vector<std::string>& efa_device_counter_names() {
  static const std::vector<std::string> names{
      "submitted_cmds",  "completed_cmds",     "cmds_err",      "no_completion_cmds",
      "keep_alive_rcvd", "alloc_pd_err",       "create_qp_err", "create_cq_err",
      "reg_mr_err",      "alloc_ucontext_err", "create_ah_err", "mmap_err"};
  return names;
}

const std::vector<std::string>& efa_health_counter_names() {
  static const std::vector<std::string> names{"rx_drops",
                                              "rdma_read_wr_err",
                                              "rdma_write_wr_err",
                                              "retrans_bytes",
                                              "retrans_pkts",
                                              "retrans_timeout_events",
                                              "unresponsive_remote_events",
                                              "impaired_remote_conn_events"};
  return names;
}

const std::vector<std::string>& efa_setup_error_counter_names() {
  static const std::vector<std::string> names{
      "alloc_pd_err",  "alloc_ucontext_err", "create_ah_err", "create_cq_err",
      "create_qp_err", "reg_mr_err",         "mmap_err",      "cmds_err"};
  return names;
}

EfaCounterSnapshot rising_efa_health_counters(const EfaCounterSnapshot& deltas) {
  EfaCounterSnapshot rising;
  for (const auto& [device, counters] : deltas) {
    for (const std::string& name : efa_health_counter_names()) {
      const auto it = counters.find(name);
      if (it != counters.end() && it->second > 0) {
        rising[device][name] = it->second;
      }
    }
  }
  return rising;
}

std::string describe_counter_rises(const EfaCounterMap& rises) {
  std::string text;
  for (const auto& [name, increase] : rises) {
    text += fmt::format("{}{} +{}", text.empty() ? "" : ", ", name, increase);
  }
  return text;
}

}  // namespace preflight
