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
#include <string>
#include <vector>

#include "common/sysfs.hpp"

namespace preflight {

inline constexpr std::uint32_t kAmazonPciVendor = 0x1d0f;

// EFA PCI device ids (platforms.md): 0xefa0 .. 0xefa3. Amazon's vendor id alone is not enough:
// other Amazon functions (ENA, NVMe) share it.
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

// Counter names from platforms.md and the efa driver (EFA_DEFINE_PORT_STATS, _DEVICE_STATS).
[[nodiscard]] const std::vector<std::string>& efa_port_counter_names();
[[nodiscard]] const std::vector<std::string>& efa_device_counter_names();
// Health counters (platforms.md): a rise during a test is a finding (EFA_ERROR_COUNTERS_RISING).
[[nodiscard]] const std::vector<std::string>& efa_health_counter_names();
// Setup error counters (device level): non-zero is EFA_SETUP_ERRORS.
[[nodiscard]] const std::vector<std::string>& efa_setup_error_counter_names();

// The health counters that rose, per device (devices with none are left out).
[[nodiscard]] EfaCounterSnapshot rising_efa_health_counters(const EfaCounterSnapshot& deltas);
// "rx_drops +1843, retrans_timeout_events +17": the rises of one device, for a finding message.
[[nodiscard]] std::string describe_counter_rises(const EfaCounterMap& rises);

}  // namespace preflight
