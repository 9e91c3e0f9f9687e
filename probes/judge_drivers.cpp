#include "probes/judge_drivers.hpp"

#include <fmt/format.h>

#include "common/findings.hpp"
#include "common/text.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;
using reports::Check;

// The GPUDirect RDMA dma-buf path needs kernel >= 5.12 and NVIDIA driver >= 515 (catalog
// remediation of GPUDIRECT_RDMA_UNAVAILABLE).
const Version kDmabufKernel{{5, 12}, "5.12"};
const Version kDmabufDriver{{515}, "515"};

std::string link_text(std::optional<double> speed_gts, std::optional<int> width) {
  std::string text = speed_gts
                         ? fmt::format("Gen{} ({:g} GT/s)", pcie_generation(*speed_gts), *speed_gts)
                         : std::string("unknown speed");
  return text + (width ? fmt::format(" x{}", *width) : std::string());
}

void judge_driver_presence(std::vector<Check>& checks, const DriverFacts& facts,
                           bool gpus_expected) {
  if (facts.nvidia_driver.present) {
    checks.push_back(
        pass_check("NVIDIA_DRIVER_VERSION",
                   finding_message("NVIDIA_DRIVER_VERSION", facts.nvidia_driver.display) + " (" +
                       facts.nvidia_driver.location + ")",
                   {{"source", facts.nvidia_driver.location}}));
  } else if (gpus_expected) {
    checks.push_back(
        fire_check("NVIDIA_DRIVER_MISSING",
                   finding_message("NVIDIA_DRIVER_MISSING", facts.nvidia_driver.reason)));
  } else {
    checks.push_back(skip_check("NVIDIA_DRIVER_VERSION",
                                facts.nvidia_driver.reason + "; no NVIDIA GPU expected here"));
  }
}

void judge_gpu_count(std::vector<Check>& checks, const DriverFacts& facts,
                     const Platform* platform) {
  std::optional<int> count;
  std::string source;
  if (facts.nvml.available) {
    count = static_cast<int>(facts.nvml.gpus.size());
    source = "NVML";
  } else if (facts.pci.available) {
    count = static_cast<int>(facts.pci_gpus().size());
    source = "PCI (vendor 0x10de, display class)";
  }
  if (!count) {
    checks.push_back(skip_check(
        "GPU_COUNT_MISMATCH", "GPU count unknown: " + facts.nvml.reason + "; " + facts.pci.reason));
    return;
  }
  const json evidence{{"count", *count}, {"source", source}};
  if (platform == nullptr) {
    checks.push_back(skip_check("GPU_COUNT_MISMATCH",
                                fmt::format("{} GPUs ({}); platform unknown", *count, source),
                                evidence));
  } else if (*count != platform->gpu_count) {
    checks.push_back(fire_check(
        "GPU_COUNT_MISMATCH",
        finding_message("GPU_COUNT_MISMATCH", *count, platform->instance_type, platform->gpu_count),
        evidence));
  } else {
    checks.push_back(pass_check(
        "GPU_COUNT_MISMATCH",
        fmt::format("{} GPUs ({}), as {} has", *count, source, platform->instance_type), evidence));
  }
}

// One check per id over all GPUs: fires once per failing GPU, passes once for all.
template <typename Predicate, typename Message>
void per_gpu(std::vector<Check>& checks, const DriverFacts& facts, std::string_view id,
             std::string_view what, Predicate fires, Message message) {
  if (!facts.nvml.available) {
    checks.push_back(skip_check(id, std::string(what) + " needs NVML: " + facts.nvml.reason));
    return;
  }
  if (facts.nvml.gpus.empty()) {
    checks.push_back(skip_check(id, std::string(what) + ": NVML lists no GPU"));
    return;
  }
  int answered = 0;
  int fired = 0;
  for (const NvmlGpu& gpu : facts.nvml.gpus) {
    const std::optional<bool> result = fires(gpu);
    if (!result) {
      continue;
    }
    ++answered;
    if (*result) {
      ++fired;
      checks.push_back(
          fire_check(id, message(gpu), {{"gpu", gpu.index}, {"pci_bus_id", gpu.pci_bus_id}}));
    }
  }
  if (answered == 0) {
    checks.push_back(skip_check(id, std::string(what) + ": not supported by these GPUs"));
  } else if (fired == 0) {
    checks.push_back(pass_check(
        id, fmt::format("{}: fine on {} GPU{}", what, answered, answered == 1 ? "" : "s")));
  }
}

std::string gpu_name(const NvmlGpu& gpu) {
  return fmt::format("{} ({})", gpu.index, gpu.pci_bus_id);
}

void judge_gpu_state(std::vector<Check>& checks, const DriverFacts& facts,
                     const Platform* platform) {
  per_gpu(
      checks, facts, "GPU_PERSISTENCE_OFF", "persistence mode",
      [](const NvmlGpu& gpu) -> std::optional<bool> {
        return gpu.persistence_on ? std::optional<bool>(!*gpu.persistence_on) : std::nullopt;
      },
      [](const NvmlGpu& gpu) { return finding_message("GPU_PERSISTENCE_OFF", gpu_name(gpu)); });
  per_gpu(
      checks, facts, "GPU_ECC_DISABLED", "ECC mode",
      [](const NvmlGpu& gpu) -> std::optional<bool> {
        return gpu.ecc_enabled ? std::optional<bool>(!*gpu.ecc_enabled) : std::nullopt;
      },
      [](const NvmlGpu& gpu) { return finding_message("GPU_ECC_DISABLED", gpu_name(gpu)); });
  per_gpu(
      checks, facts, "GPU_ECC_UNCORRECTED", "uncorrected ECC errors",
      [](const NvmlGpu& gpu) -> std::optional<bool> {
        return gpu.ecc_uncorrected_volatile ? std::optional<bool>(*gpu.ecc_uncorrected_volatile > 0)
                                            : std::nullopt;
      },
      [](const NvmlGpu& gpu) {
        return finding_message("GPU_ECC_UNCORRECTED", gpu_name(gpu), *gpu.ecc_uncorrected_volatile);
      });
  per_gpu(
      checks, facts, "GPU_RETIRED_PAGES_PENDING", "page retirement",
      [](const NvmlGpu& gpu) { return gpu.retired_pages_pending; },
      [](const NvmlGpu& gpu) {
        return finding_message("GPU_RETIRED_PAGES_PENDING", gpu_name(gpu));
      });
  per_gpu(
      checks, facts, "GPU_ROW_REMAP_FAILURE", "row remapping",
      [](const NvmlGpu& gpu) -> std::optional<bool> {
        if (!gpu.row_remap_failure || !gpu.row_remap_pending) {
          return std::nullopt;
        }
        return *gpu.row_remap_failure || *gpu.row_remap_pending;
      },
      [](const NvmlGpu& gpu) {
        return finding_message("GPU_ROW_REMAP_FAILURE", gpu_name(gpu),
                               *gpu.row_remap_failure ? "failure" : "pending");
      });
  if (platform == nullptr) {
    checks.push_back(skip_check("NVLINK_DOWN", "NVLink count: platform unknown"));
  } else {
    const int expected = platform->nvlink_per_gpu;
    per_gpu(
        checks, facts, "NVLINK_DOWN", "NVLink",
        [expected](const NvmlGpu& gpu) -> std::optional<bool> {
          return gpu.nvlinks_up ? std::optional<bool>(*gpu.nvlinks_up < expected) : std::nullopt;
        },
        [expected](const NvmlGpu& gpu) {
          return finding_message("NVLINK_DOWN", gpu_name(gpu), *gpu.nvlinks_up, expected);
        });
  }
}

void judge_links(std::vector<Check>& checks, const DriverFacts& facts) {
  std::vector<const PciDevice*> devices;
  for (const auto& device : facts.pci.devices) {
    if (device.is_nvidia_gpu() || device.is_nvswitch() || device.is_efa()) {
      devices.push_back(&device);
    }
  }
  if (!devices.empty()) {
    for (auto& check : judge_pci_links(devices, "GPU, NVSwitch and EFA")) {
      checks.push_back(std::move(check));
    }
    return;
  }
  // No sysfs view (or no device there): NVML's GPU link state, width only (see judge_pci_links).
  if (!facts.nvml.available || facts.nvml.gpus.empty()) {
    checks.push_back(
        skip_check("PCIE_LINK_DOWNTRAINED",
                   "no GPU, NVSwitch or EFA PCI device with link attributes" +
                       (facts.pci.available ? std::string() : " (" + facts.pci.reason + ")")));
    return;
  }
  int fired = 0;
  for (const NvmlGpu& gpu : facts.nvml.gpus) {
    if (gpu.pcie_width_current && gpu.pcie_width_max &&
        *gpu.pcie_width_current < *gpu.pcie_width_max) {
      ++fired;
      checks.push_back(fire_check(
          "PCIE_LINK_DOWNTRAINED",
          finding_message("PCIE_LINK_DOWNTRAINED", gpu.pci_bus_id,
                          fmt::format("Gen{}", gpu.pcie_gen_current.value_or(0)),
                          *gpu.pcie_width_current,
                          fmt::format("Gen{}", gpu.pcie_gen_max.value_or(0)), *gpu.pcie_width_max),
          {{"source", "NVML"}}));
    }
  }
  if (fired == 0) {
    checks.push_back(pass_check("PCIE_LINK_DOWNTRAINED", "GPU PCIe links at full width (NVML)"));
  }
}

void judge_modules(std::vector<Check>& checks, const DriverFacts& facts, bool efa_expected,
                   bool gpus_expected) {
  if (facts.efa_kmod.present) {
    checks.push_back(pass_check("EFA_KMOD_MISSING",
                                "efa kernel module " + facts.efa_kmod.display + " loaded",
                                {{"source", facts.efa_kmod.location}}));
  } else if (efa_expected) {
    checks.push_back(fire_check("EFA_KMOD_MISSING", finding_message("EFA_KMOD_MISSING"),
                                {{"reason", facts.efa_kmod.reason}}));
  } else {
    checks.push_back(
        skip_check("EFA_KMOD_MISSING", facts.efa_kmod.reason + "; no EFA device expected here"));
  }

  // GPUDirect RDMA needs a GPU driver and EFA together.
  if (!facts.nvidia_driver.present || !efa_expected) {
    checks.push_back(skip_check("GPUDIRECT_RDMA_UNAVAILABLE",
                                "GPUDirect RDMA needs both an NVIDIA driver and EFA devices"));
  } else if (facts.nvidia_peermem.present) {
    checks.push_back(pass_check("GPUDIRECT_RDMA_UNAVAILABLE",
                                "nvidia_peermem " + facts.nvidia_peermem.display + " loaded"));
  } else if (facts.kernel.version && facts.nvidia_driver.version &&
             *facts.kernel.version >= kDmabufKernel &&
             *facts.nvidia_driver.version >= kDmabufDriver) {
    checks.push_back(pass_check("GPUDIRECT_RDMA_UNAVAILABLE",
                                fmt::format("dma-buf path: kernel {} >= 5.12, NVIDIA driver {} >= "
                                            "515 (nvidia_peermem not loaded)",
                                            facts.kernel.display, facts.nvidia_driver.display)));
  } else {
    checks.push_back(fire_check(
        "GPUDIRECT_RDMA_UNAVAILABLE",
        finding_message("GPUDIRECT_RDMA_UNAVAILABLE",
                        fmt::format("nvidia_peermem not loaded, kernel {}, driver {}",
                                    facts.kernel.present ? facts.kernel.display : "unknown",
                                    facts.nvidia_driver.display))));
  }

  if (!facts.nvidia_driver.present && !gpus_expected) {
    checks.push_back(skip_check("GDRDRV_MISSING", "no NVIDIA driver: gdrdrv not applicable"));
  } else if (facts.gdrdrv.present) {
    checks.push_back(pass_check("GDRDRV_MISSING", "gdrdrv " + facts.gdrdrv.display + " loaded"));
  } else {
    checks.push_back(fire_check("GDRDRV_MISSING", finding_message("GDRDRV_MISSING"),
                                {{"reason", facts.gdrdrv.reason}}));
  }
}

void judge_fabric_manager(std::vector<Check>& checks, const DriverFacts& facts) {
  if (!facts.pci.available) {
    checks.push_back(
        skip_check("FABRIC_MANAGER_DOWN", "NVSwitch presence unknown: " + facts.pci.reason));
    return;
  }
  const auto switches = facts.pci_nvswitches();
  if (switches.empty()) {
    checks.push_back(skip_check("FABRIC_MANAGER_DOWN", "no NVSwitch on PCI (class 0x0680)"));
    return;
  }
  const json evidence{{"nvswitches", switches.size()}, {"evidence", facts.fabric_manager.evidence}};
  if (facts.fabric_manager.running) {
    checks.push_back(pass_check("FABRIC_MANAGER_DOWN",
                                fmt::format("{} NVSwitches, fabric manager running ({})",
                                            switches.size(), facts.fabric_manager.evidence),
                                evidence));
  } else {
    checks.push_back(fire_check(
        "FABRIC_MANAGER_DOWN",
        finding_message("FABRIC_MANAGER_DOWN", switches.size(), facts.fabric_manager.evidence),
        evidence));
  }
}

}  // namespace

std::string format_bytes(std::uint64_t bytes) {
  constexpr std::array<const char*, 5> kUnits{"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:g} {}", value, kUnits[unit]);
}

Check judge_memlock(const MemlockLimit& memlock, bool efa_expected) {
  if (!memlock.known) {
    return skip_check("MEMLOCK_LIMITED", "memlock limit unknown: " + memlock.reason);
  }
  const json evidence{
      {"source", memlock.source}, {"unlimited", memlock.unlimited}, {"bytes", memlock.bytes}};
  if (memlock.unlimited || memlock.bytes >= kMemlockMinimumBytes) {
    return pass_check(
        "MEMLOCK_LIMITED",
        fmt::format("memlock limit is {} ({})",
                    memlock.unlimited ? "unlimited" : format_bytes(memlock.bytes), memlock.source),
        evidence);
  }
  // Without EFA nothing pins large buffers: worth a look, not a reason to drain the node. That is
  // a finding of its own rather than MEMLOCK_LIMITED downgraded, so an id keeps one severity.
  const std::string limit = format_bytes(memlock.bytes);
  if (efa_expected) {
    return fire_check("MEMLOCK_LIMITED", finding_message("MEMLOCK_LIMITED", limit), evidence);
  }
  return fire_check("MEMLOCK_LIMITED_NO_EFA", finding_message("MEMLOCK_LIMITED_NO_EFA", limit),
                    evidence);
}

std::vector<Check> judge_pci_links(const std::vector<const PciDevice*>& devices,
                                   std::string_view what) {
  std::vector<Check> checks;
  int compared = 0;
  int idle_speed = 0;
  for (const PciDevice* device : devices) {
    const PciLink& link = device->link;
    const bool width_known = link.current_width && link.max_width;
    const bool speed_known = link.current_speed_gts && link.max_speed_gts;
    if (!width_known && !speed_known) {
      continue;
    }
    ++compared;
    const bool narrow = width_known && *link.current_width < *link.max_width;
    const bool slow = speed_known && *link.current_speed_gts + 1e-9 < *link.max_speed_gts;
    if (slow && !narrow && device->is_nvidia_gpu()) {
      ++idle_speed;  // an idle GPU lowers its link speed; not down-training
      continue;
    }
    if (narrow || slow) {
      checks.push_back(
          fire_check("PCIE_LINK_DOWNTRAINED",
                     fmt::format("PCIe link of {} runs at {}, capable of {}", device->address,
                                 link_text(link.current_speed_gts, link.current_width),
                                 link_text(link.max_speed_gts, link.max_width)),
                     {{"pci_bus_id", device->address},
                      {"current_link_speed_gts", link.current_speed_gts.value_or(0)},
                      {"max_link_speed_gts", link.max_speed_gts.value_or(0)},
                      {"current_link_width", link.current_width.value_or(0)},
                      {"max_link_width", link.max_width.value_or(0)}}));
    }
  }
  if (compared == 0) {
    checks.push_back(skip_check("PCIE_LINK_DOWNTRAINED",
                                fmt::format("no {} device reports both current and maximum link "
                                            "attributes",
                                            what)));
  } else if (checks.empty()) {
    checks.push_back(pass_check(
        "PCIE_LINK_DOWNTRAINED",
        fmt::format("{} {} link{} at full width and speed{}", compared, what,
                    compared == 1 ? "" : "s",
                    idle_speed > 0 ? fmt::format(" ({} idle GPU{} at a lower speed, full width)",
                                                 idle_speed, idle_speed == 1 ? "" : "s")
                                   : std::string())));
  }
  return checks;
}

std::vector<Check> judge_drivers(const DriverFacts& facts, const Platform* platform) {
  std::vector<Check> checks;
  const bool gpus_expected = (platform != nullptr && platform->gpu_count > 0) ||
                             !facts.pci_gpus().empty() ||
                             (facts.nvml.available && !facts.nvml.gpus.empty());
  const bool efa_expected =
      facts.efa_device_count > 0 || (platform != nullptr && platform->efa_count > 0);
  judge_driver_presence(checks, facts, gpus_expected);
  if (facts.nvidia_driver.present || gpus_expected) {
    judge_gpu_count(checks, facts, platform);
    judge_gpu_state(checks, facts, platform);
  } else {
    checks.push_back(skip_check("GPU_COUNT_MISMATCH", "no NVIDIA driver and no NVIDIA GPU"));
  }
  judge_links(checks, facts);
  if (facts.cuda_driver.present) {
    checks.push_back(pass_check("CUDA_DRIVER_VERSION",
                                finding_message("CUDA_DRIVER_VERSION", facts.cuda_driver.display) +
                                    " (" + facts.cuda_driver.location + ")"));
  } else if (facts.nvml.cuda_driver_version) {
    checks.push_back(
        pass_check("CUDA_DRIVER_VERSION",
                   finding_message("CUDA_DRIVER_VERSION",
                                   version_from_cuda_code(*facts.nvml.cuda_driver_version).text) +
                       " (NVML)"));
  } else {
    checks.push_back(skip_check("CUDA_DRIVER_VERSION", facts.cuda_driver.reason));
  }
  judge_modules(checks, facts, efa_expected, gpus_expected);
  judge_fabric_manager(checks, facts);
  checks.push_back(judge_memlock(facts.memlock, efa_expected));
  return checks;
}

}  // namespace preflight::probes
