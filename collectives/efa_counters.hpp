// EFA hardware counters around a run (/sys/class/infiniband/<dev>/ports/1/hw_counters/): the
// counters are cumulative since boot or driver reset, so only deltas mean anything. A counter
// absent from either snapshot (older kernels lack some) is absent from the delta, never zero.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/sysfs.hpp"

namespace preflight::collectives {

// device -> counter -> value
using CounterSnapshot = std::map<std::string, std::map<std::string, std::int64_t>>;

// The EFA devices (PCI vendor 0x1d0f) under `root`'s /sys/class/infiniband, sorted.
[[nodiscard]] std::vector<std::string> efa_devices(const RootFs& root);

// Port-1 hw_counters of every EFA device; unreadable counters are left out.
[[nodiscard]] CounterSnapshot read_efa_counters(const RootFs& root);

// after - before, for the counters present in both.
[[nodiscard]] CounterSnapshot counter_deltas(const CounterSnapshot& before,
                                             const CounterSnapshot& after);

// Health counters (platforms.md: rx_drops, rdma_*_wr_err, retrans_*, unresponsive_remote_events,
// impaired_remote_conn_events) that rose, per device.
using RisingCounters = std::map<std::string, std::vector<std::pair<std::string, std::int64_t>>>;
[[nodiscard]] RisingCounters rising_health_counters(const CounterSnapshot& deltas);

}  // namespace preflight::collectives
