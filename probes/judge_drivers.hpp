// Judge for preflight-drivers: driver facts x platform -> checks (catalog ids). Pure.
#pragma once

#include <vector>

#include "domain/platform.hpp"
#include "probes/gather_drivers.hpp"
#include "reports/report.hpp"

namespace preflight::probes {

// Memlock needed by EFA and GPUDirect RDMA registrations (docs/platform-rules.md).
inline constexpr std::uint64_t kMemlockMinimumBytes = 16ULL << 30U;

[[nodiscard]] std::vector<reports::Check> judge_drivers(const DriverFacts& facts,
                                                        const Platform* platform);

// Shared with preflight-env: MEMLOCK_LIMITED, failing when EFA is present or expected.
[[nodiscard]] reports::Check judge_memlock(const MemlockLimit& memlock, bool efa_expected);

// PCIE_LINK_DOWNTRAINED for PCI devices with current and maximum link attributes. GPUs lower
// their link *speed* when idle (power management), so for them only a narrower width counts.
[[nodiscard]] std::vector<reports::Check> judge_pci_links(
    const std::vector<const PciDevice*>& devices, std::string_view what);

// "8 GiB", "16 GiB", "64 KiB".
[[nodiscard]] std::string format_bytes(std::uint64_t bytes);

}  // namespace preflight::probes
