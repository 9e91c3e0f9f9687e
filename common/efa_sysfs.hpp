// EFA devices and their hardware counters as sysfs shows them (/sys/class/infiniband/<dev>),
// shared by the EFA probe, the collectives and p2p, and the umbrella's hardware detection, so
// that all of them agree on what an EFA device is and which counter rises are findings.
//
// Counters are cumulative since boot or driver reset: only deltas around a test mean anything.
// A counter absent from either snapshot (older kernels lack some) is absent from the delta,
// never zero.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/sysfs.hpp"

namespace preflight {

inline constexpr std::uint32_t kAmazonPciVendor = 0x1d0f;

// One EFA PCI device id as the Linux efa driver's PCI table and libfabric's efa provider know it.
struct EfaDeviceId {
  std::uint32_t id;
  // libfabric's efa provider keeps device RDMA off by default for an application that asks for
  // API < 1.18 on these (efa_rdm_get_use_device_rdma: vendor part 0xefa0 and 0xefa1).
  bool device_rdma_off_below_api_1_18;
  std::string_view seen_on;  // instance families, for messages
};

// The table: 0xefa0 .. 0xefa4.
[[nodiscard]] std::span<const EfaDeviceId> efa_device_ids();
// The table's entry for `device`; nullopt for an id not in it.
[[nodiscard]] std::optional<EfaDeviceId> find_efa_device_id(std::int64_t device);

// Whether libfabric's efa provider uses device RDMA (read, and write where the device has it) for
// an application that asked for API `api_major.api_minor`, as efa_rdm_get_use_device_rdma decides
// it: API >= 1.18 -> whenever the device can read; below, off on 0xefa0/0xefa1 (p4d, p5) and on
// for later devices. FI_EFA_USE_DEVICE_RDMA (`environment_value`, when set) overrides the default.
struct EfaDeviceRdmaDecision {
  bool enabled = false;
  std::string why;
};
[[nodiscard]] EfaDeviceRdmaDecision efa_device_rdma_default(
    int api_major, int api_minor, std::int64_t device_id, std::optional<bool> rdma_read_capable,
    std::optional<std::string_view> environment_value = std::nullopt);

// The EFA device of a libfabric efa domain: "rdmap79s0-rdm" -> "rdmap79s0", "efa_0-dgrm" ->
// "efa_0"; other names are returned as they are.
[[nodiscard]] std::string efa_device_of_domain(std::string_view domain);

// An EFA function: Amazon's vendor id and a device id of the EFA family 0xefa0-0xefaf (the table's
// ids and the generations after them, so a new device is counted before the table learns it).
// Amazon's vendor id alone is not enough: other Amazon functions (ENA, NVMe) share it.
[[nodiscard]] bool is_efa_pci_device(std::int64_t vendor, std::int64_t device);

// The EFA devices under `root`'s /sys/class/infiniband, sorted by name; RDMA devices of other
// vendors (the ibp* ConnectX devices of p6-b200) are not EFA.
[[nodiscard]] std::vector<std::string> efa_device_names(const RootFs& root);

using EfaCounterMap = std::map<std::string, std::int64_t>;        // counter -> value
using EfaCounterSnapshot = std::map<std::string, EfaCounterMap>;  // device -> counters

// Every counter file of one hw_counters directory; `lifespan` (the driver's refresh interval,
// not a counter) is left out, as are files that are not a number (named in *unreadable).
[[nodiscard]] EfaCounterMap read_efa_counter_directory(const RootFs& root,
                                                       const std::string& directory,
                                                       std::vector<std::string>* unreadable);

// Port 1's hw_counters of every EFA device (the port that carries the traffic).
[[nodiscard]] EfaCounterSnapshot read_efa_port_counters(const RootFs& root);

// after - before, for the devices and counters present in both.
[[nodiscard]] EfaCounterSnapshot efa_counter_deltas(const EfaCounterSnapshot& before,
                                                    const EfaCounterSnapshot& after);

// Counter names from docs/platform-rules.md and the efa driver (EFA_DEFINE_PORT_STATS,
// _DEVICE_STATS).
[[nodiscard]] const std::vector<std::string>& efa_port_counter_names();
[[nodiscard]] const std::vector<std::string>& efa_device_counter_names();
// Health counters (docs/platform-rules.md): a rise during a test is a finding
// (EFA_ERROR_COUNTERS_RISING).
[[nodiscard]] const std::vector<std::string>& efa_health_counter_names();
// Setup error counters (device level since the kernel split device and port statistics, port 1's
// hw_counters before): non-zero is EFA_SETUP_ERRORS.
[[nodiscard]] const std::vector<std::string>& efa_setup_error_counter_names();

// Where a device's setup error counters live: <dev>/hw_counters, or, on kernels before the
// device/port split (efa module < 1.14, Linux < 5.14), ports/1/hw_counters. Empty when neither
// directory exists.
[[nodiscard]] std::string efa_setup_counter_directory(const RootFs& root,
                                                      const std::string& device);

// The health counters that rose, per device (devices with none are left out). Raw: a rise is not
// yet a finding (efa_counter_findings decides).
[[nodiscard]] EfaCounterSnapshot rising_efa_health_counters(const EfaCounterSnapshot& deltas);

// What a rise of the health counters around a test means, per device. The counters count every
// process on the device (other jobs' traffic too), and SRD retransmits by design when the network
// is congested, so a rise is judged against the traffic and the time it came with:
//   EFA_RDMA_WR_ERRORS (isolate)   rdma_read_wr_err / rdma_write_wr_err rose: work requests
//                                  failed on the device;
//   EFA_ERROR_COUNTERS_RISING      retrans_timeout_events, unresponsive_remote_events,
//     (monitor)                    impaired_remote_conn_events at or above the event rate, or
//                                  rx_drops at or above the drop fraction of received packets;
//   EFA_RETRANSMITS_HIGH (monitor) retrans_pkts at or above the retransmit fraction of the
//                                  packets sent.
// Below the thresholds nothing fires (the deltas stay in the report).
struct EfaCounterPolicy {
  double retransmit_fraction = 0.01;  // of tx_pkts (absolute floor: retransmit_floor_packets)
  std::int64_t retransmit_floor_packets = 1000;
  double drop_fraction = 0.001;  // of rx_pkts (absolute floor: drop_floor_packets)
  std::int64_t drop_floor_packets = 100;
  double events_per_minute = 1;  // path events; at least one event over any interval
};

struct EfaCounterFinding {
  std::string id;
  std::string device;
  EfaCounterMap rises;                        // the counters behind the finding
  std::string detail;                         // "rx_drops +1843 (1.84% of 100000 received packets)"
  [[nodiscard]] std::string message() const;  // the catalog's message for id, device, detail
};

// `interval_s`: the time the deltas span (nullopt: unknown, every path event counts).
[[nodiscard]] std::vector<EfaCounterFinding> efa_counter_findings(
    const EfaCounterSnapshot& deltas, std::optional<double> interval_s,
    const EfaCounterPolicy& policy = {});
// "rx_drops +1843, retrans_timeout_events +17": the rises of one device, for a finding message.
[[nodiscard]] std::string describe_counter_rises(const EfaCounterMap& rises);

}  // namespace preflight
