#include "common/efa_sysfs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>

#include "common/findings.hpp"
#include "common/text.hpp"

namespace preflight {
namespace {

constexpr std::string_view kInfiniband = "/sys/class/infiniband";

// The efa driver's PCI table (efa_pci_tbl: EFA0..EFA4 VF) with what the catalog knows of each.
constexpr std::array kEfaDeviceIds{
    EfaDeviceId{0xefa0, true, "p4d, p4de"},
    EfaDeviceId{0xefa1, true, "p5, p5e"},
    EfaDeviceId{0xefa2, false, "p5en"},
    EfaDeviceId{0xefa3, false, "newer EFA devices"},
    EfaDeviceId{0xefa4, false, "newer EFA devices"},
};
constexpr std::int64_t kEfaFamilyMask = 0xfff0;
constexpr std::int64_t kEfaFamily = 0xefa0;

}  // namespace

std::span<const EfaDeviceId> efa_device_ids() {
  return kEfaDeviceIds;
}

std::optional<EfaDeviceId> find_efa_device_id(std::int64_t device) {
  for (const EfaDeviceId& entry : kEfaDeviceIds) {
    if (entry.id == device) {
      return entry;
    }
  }
  return std::nullopt;
}

EfaDeviceRdmaDecision efa_device_rdma_default(int api_major, int api_minor, std::int64_t device_id,
                                              std::optional<bool> rdma_read_capable,
                                              std::optional<std::string_view> environment_value) {
  const bool api_1_18 = api_major > 1 || (api_major == 1 && api_minor >= 18);
  const auto known = find_efa_device_id(device_id);
  EfaDeviceRdmaDecision decision;
  if (environment_value) {
    const std::string value = to_lower(trim(*environment_value));
    const bool on = value == "1" || value == "true" || value == "yes" || value == "on";
    decision.enabled = on && rdma_read_capable.value_or(true);
    decision.why = fmt::format("FI_EFA_USE_DEVICE_RDMA={} set", *environment_value);
    return decision;
  }
  if (rdma_read_capable && !*rdma_read_capable) {
    decision.why = "the device has no RDMA read";
    return decision;
  }
  if (api_1_18) {
    decision.enabled = true;
    decision.why =
        fmt::format("API {}.{} >= 1.18: on wherever the device can read", api_major, api_minor);
  } else if (known && known->device_rdma_off_below_api_1_18) {
    decision.why = fmt::format(
        "API {}.{} < 1.18: off by default on 0x{:04x} ({}); FI_EFA_USE_DEVICE_RDMA=1 turns it on",
        api_major, api_minor, device_id, known->seen_on);
  } else {
    decision.enabled = true;
    decision.why =
        fmt::format("API {}.{} < 1.18: on by default on 0x{:04x}", api_major, api_minor, device_id);
  }
  return decision;
}

std::string efa_device_of_domain(std::string_view domain) {
  for (const std::string_view suffix : {"-rdm", "-dgrm"}) {
    if (domain.size() > suffix.size() && domain.ends_with(suffix)) {
      return std::string(domain.substr(0, domain.size() - suffix.size()));
    }
  }
  return std::string(domain);
}

bool is_efa_pci_device(std::int64_t vendor, std::int64_t device) {
  return vendor == kAmazonPciVendor && (device & kEfaFamilyMask) == kEfaFamily;
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
    if (const auto value = root.read_int(fmt::format("{}/{}", directory, name))) {
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
  // docs/platform-rules.md's list, and no_completion_cmds: admin commands the device never
  // completed.
  static const std::vector<std::string> names{
      "alloc_pd_err", "alloc_ucontext_err", "create_ah_err", "create_cq_err",     "create_qp_err",
      "reg_mr_err",   "mmap_err",           "cmds_err",      "no_completion_cmds"};
  return names;
}

std::string efa_setup_counter_directory(const RootFs& root, const std::string& device) {
  const std::string base = std::string(kInfiniband) + "/" + device;
  for (const std::string& directory : {base + "/hw_counters", base + "/ports/1/hw_counters"}) {
    if (!root.exists(directory)) {
      continue;
    }
    // Port 1's directory holds them only before the split; after it, only the device's does.
    for (const std::string& name : efa_setup_error_counter_names()) {
      if (root.exists(fmt::format("{}/{}", directory, name))) {
        return directory;
      }
    }
  }
  return {};
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

namespace {

std::int64_t counter_or_zero(const EfaCounterMap& counters, const std::string& name) {
  const auto it = counters.find(name);
  return it != counters.end() && it->second > 0 ? it->second : 0;
}

std::optional<std::int64_t> counter(const EfaCounterMap& counters, const std::string& name) {
  const auto it = counters.find(name);
  return it != counters.end() ? std::optional(it->second) : std::nullopt;
}

// "+1843 (0.02% of 9200000 received packets)", or "+1843" when the traffic is unknown.
std::string with_share(std::int64_t rise, std::optional<std::int64_t> traffic,
                       std::string_view what) {
  if (!traffic || *traffic <= 0) {
    return fmt::format("+{}", rise);
  }
  return fmt::format("+{} ({:.2f}% of {} {} packets)", rise,
                     100.0 * static_cast<double>(rise) / static_cast<double>(*traffic), *traffic,
                     what);
}

}  // namespace

std::string EfaCounterFinding::message() const {
  return finding_message_for(id, device, detail);
}

std::vector<EfaCounterFinding> efa_counter_findings(const EfaCounterSnapshot& deltas,
                                                    std::optional<double> interval_s,
                                                    const EfaCounterPolicy& policy) {
  std::vector<EfaCounterFinding> findings;
  const double minutes = interval_s && *interval_s > 0 ? *interval_s / 60 : 0;
  const auto event_threshold =
      static_cast<std::int64_t>(std::max(1.0, std::ceil(policy.events_per_minute * minutes)));
  for (const auto& [device, counters] : deltas) {
    // Failed RDMA work requests: the device failed an operation, whatever the traffic.
    EfaCounterFinding failed{"EFA_RDMA_WR_ERRORS", device, {}, {}};
    for (const char* name : {"rdma_read_wr_err", "rdma_write_wr_err"}) {
      if (const std::int64_t rise = counter_or_zero(counters, name); rise > 0) {
        failed.rises[name] = rise;
      }
    }
    if (!failed.rises.empty()) {
      failed.detail = describe_counter_rises(failed.rises);
      findings.push_back(std::move(failed));
    }

    // Path trouble: events above the rate, drops above their share of the packets received.
    EfaCounterFinding path{"EFA_ERROR_COUNTERS_RISING", device, {}, {}};
    std::vector<std::string> parts;
    const std::int64_t drops = counter_or_zero(counters, "rx_drops");
    const auto received = counter(counters, "rx_pkts");
    const bool drops_matter =
        drops >= policy.drop_floor_packets &&
        (!received || *received <= 0 ||
         static_cast<double>(drops) >= policy.drop_fraction * static_cast<double>(*received));
    if (drops_matter) {
      path.rises["rx_drops"] = drops;
      parts.push_back("rx_drops " + with_share(drops, received, "received"));
    }
    for (const char* name :
         {"retrans_timeout_events", "unresponsive_remote_events", "impaired_remote_conn_events"}) {
      if (const std::int64_t rise = counter_or_zero(counters, name); rise >= event_threshold) {
        path.rises[name] = rise;
        parts.push_back(fmt::format("{} +{}", name, rise));
      }
    }
    if (!parts.empty()) {
      for (const std::string& part : parts) {
        path.detail += (path.detail.empty() ? "" : ", ") + part;
      }
      if (minutes > 0) {
        path.detail += fmt::format(" in {:.0f} s", *interval_s);
      }
      findings.push_back(std::move(path));
    }

    // SRD retransmits under congestion by design: only a large share of the packets sent is one.
    const std::int64_t retransmitted = counter_or_zero(counters, "retrans_pkts");
    const auto sent = counter(counters, "tx_pkts");
    if (retransmitted >= policy.retransmit_floor_packets &&
        (!sent || *sent <= 0 ||
         static_cast<double>(retransmitted) >=
             policy.retransmit_fraction * static_cast<double>(*sent))) {
      EfaCounterFinding retransmits{"EFA_RETRANSMITS_HIGH", device, {}, {}};
      retransmits.rises["retrans_pkts"] = retransmitted;
      if (const std::int64_t bytes = counter_or_zero(counters, "retrans_bytes"); bytes > 0) {
        retransmits.rises["retrans_bytes"] = bytes;
      }
      retransmits.detail = "retrans_pkts " + with_share(retransmitted, sent, "sent");
      findings.push_back(std::move(retransmits));
    }
  }
  return findings;
}

std::string describe_counter_rises(const EfaCounterMap& rises) {
  std::string text;
  for (const auto& [name, increase] : rises) {
    text += fmt::format("{}{} +{}", text.empty() ? "" : ", ", name, increase);
  }
  return text;
}

}  // namespace preflight
