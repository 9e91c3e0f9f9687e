// TEST-ONLY fault hooks, compiled into every build so that the shipped binaries can be proven to
// report corruption and hangs; never set these variables in production. The report records any
// active hook (details.fault_injection) and stderr warns about it.
//
//   PREFLIGHT_FAULT_FLIP_RANK=r   rank r (world rank) flips the lowest bit of the first element of
//                                 its result after every checked iteration, before the check
//   PREFLIGHT_FAULT_FLIP_SIZE=B   ... only at requested size B (default: every size)
//   PREFLIGHT_FAULT_HANG_RANK=r   rank r sleeps forever at the start of one size
//   PREFLIGHT_FAULT_HANG_SIZE=B   ... that size (default: the second size of the sweep)
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>

namespace preflight::collectives {

struct FaultInjection {
  std::optional<int> flip_rank;
  std::optional<std::uint64_t> flip_size_bytes;
  std::optional<int> hang_rank;
  std::optional<std::uint64_t> hang_size_bytes;

  [[nodiscard]] bool active() const { return flip_rank.has_value() || hang_rank.has_value(); }
  [[nodiscard]] nlohmann::json to_json() const;
};

// Reads the PREFLIGHT_FAULT_* variables; a malformed value is a UsageError naming it.
[[nodiscard]] FaultInjection fault_injection_from_environment();

}  // namespace preflight::collectives
