// EFA hardware counters around a run (/sys/class/infiniband/<dev>/ports/1/hw_counters). Counters
// are cumulative since boot or driver reset: only deltas mean anything. A counter absent from
// either snapshot is absent from the delta (absent is not zero).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/sysfs.hpp"

namespace preflight::p2p {

// device -> counter -> value
using EfaCounters = std::map<std::string, std::map<std::string, std::int64_t>>;

// Every EFA device (PCI vendor 0x1d0f) under `root`; empty when there is none.
[[nodiscard]] EfaCounters read_efa_counters(const RootFs& root);

[[nodiscard]] EfaCounters counter_deltas(const EfaCounters& before, const EfaCounters& after);

// The health counters whose rise during traffic is a finding (shared/reference/platforms.md).
[[nodiscard]] const std::vector<std::string>& efa_error_counter_names();

struct RisingErrorCounters {
  std::string device;
  std::map<std::string, std::int64_t> increases;  // counter -> increase (> 0)
};
[[nodiscard]] std::vector<RisingErrorCounters> rising_error_counters(const EfaCounters& deltas);

}  // namespace preflight::p2p
