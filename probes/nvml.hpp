// NVML loaded at run time (libnvidia-ml.so.1 ships with the driver, not the toolkit): the probe
// runs on machines without a driver and reports `skip`. Only the calls preflight-drivers needs,
// declared here with NVML's stable C ABI (the header is not installed without the driver).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "probes/library_search.hpp"

namespace preflight::probes {

struct NvmlGpu {
  unsigned index = 0;
  std::string name;
  std::string pci_bus_id;  // "00000000:53:00.0" as NVML writes it, normalised to "0000:53:00.0"
  std::optional<bool> persistence_on;
  std::optional<bool> ecc_enabled;
  std::optional<unsigned long long> ecc_uncorrected_volatile;
  std::optional<bool> retired_pages_pending;  // pre-Ampere
  std::optional<bool> row_remap_pending;      // Ampere and later
  std::optional<bool> row_remap_failure;
  std::optional<unsigned> pcie_gen_current;
  std::optional<unsigned> pcie_gen_max;
  std::optional<unsigned> pcie_width_current;
  std::optional<unsigned> pcie_width_max;
  std::optional<int> nvlinks_up;
  std::optional<int> nvlinks_present;  // links NVML answered for (active or not)
};

struct NvmlSnapshot {
  bool available = false;
  std::string reason;  // why not
  std::string library_path;
  std::string driver_version;
  std::optional<int> cuda_driver_version;  // nvmlSystemGetCudaDriverVersion_v2: 12040
  std::vector<NvmlGpu> gpus;
};

// Loads NVML, initialises it, reads every GPU, shuts it down. Never throws.
[[nodiscard]] NvmlSnapshot read_nvml();

// "00000000:53:00.0" -> "0000:53:00.0" (sysfs form).
[[nodiscard]] std::string normalise_bus_id(std::string_view nvml_bus_id);

}  // namespace preflight::probes
