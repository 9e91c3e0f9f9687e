#include "probes/nvml.hpp"

#include <fmt/format.h>

#include <array>

#include "common/text.hpp"

namespace preflight::probes {
namespace {

// NVML's ABI: handles are opaque pointers, enums are ints, 0 is NVML_SUCCESS.
struct NvmlDeviceOpaque;
using NvmlDevice = NvmlDeviceOpaque*;
constexpr int kNvmlSuccess = 0;
constexpr int kNvmlFeatureEnabled = 1;
constexpr int kNvmlMemoryErrorUncorrected = 1;
constexpr int kNvmlVolatileEcc = 0;
constexpr unsigned kNvmlNvlinkMaxLinks = 18;  // NVML_NVLINK_MAX_LINKS (NVLink 4 and 5)

// nvmlPciInfo_t (v3 layout, unchanged since NVML 11).
struct NvmlPciInfo {
  std::array<char, 16> bus_id_legacy;
  unsigned domain;
  unsigned bus;
  unsigned device;
  unsigned pci_device_id;
  unsigned pci_subsystem_id;
  std::array<char, 32> bus_id;
};

struct NvmlApi {
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  const char* (*error_string)(int) = nullptr;
  int (*driver_version)(char*, unsigned) = nullptr;
  int (*cuda_driver_version)(int*) = nullptr;
  int (*device_count)(unsigned*) = nullptr;
  int (*handle_by_index)(unsigned, NvmlDevice*) = nullptr;
  int (*name)(NvmlDevice, char*, unsigned) = nullptr;
  int (*pci_info)(NvmlDevice, NvmlPciInfo*) = nullptr;
  int (*persistence)(NvmlDevice, int*) = nullptr;
  int (*ecc_mode)(NvmlDevice, int*, int*) = nullptr;
  int (*total_ecc_errors)(NvmlDevice, int, int, unsigned long long*) = nullptr;
  int (*retired_pending)(NvmlDevice, int*) = nullptr;
  int (*remapped_rows)(NvmlDevice, unsigned*, unsigned*, unsigned*, unsigned*) = nullptr;
  int (*gen_current)(NvmlDevice, unsigned*) = nullptr;
  int (*gen_max)(NvmlDevice, unsigned*) = nullptr;
  int (*width_current)(NvmlDevice, unsigned*) = nullptr;
  int (*width_max)(NvmlDevice, unsigned*) = nullptr;
  int (*nvlink_state)(NvmlDevice, unsigned, int*) = nullptr;
};

template <typename Function>
void bind(const DynamicLibrary& library, Function*& slot, const char* name) {
  slot = library.symbol<Function>(name);
}

template <typename Value, typename Call>
std::optional<Value> query(Call call) {
  Value value{};
  if (call(&value) == kNvmlSuccess) {
    return value;
  }
  return std::nullopt;
}

NvmlGpu read_gpu(const NvmlApi& api, unsigned index, NvmlDevice device) {
  NvmlGpu gpu;
  gpu.index = index;
  std::array<char, 96> name{};
  if (api.name != nullptr && api.name(device, name.data(), name.size()) == kNvmlSuccess) {
    gpu.name = name.data();
  }
  NvmlPciInfo pci{};
  if (api.pci_info != nullptr && api.pci_info(device, &pci) == kNvmlSuccess) {
    gpu.pci_bus_id = normalise_bus_id(pci.bus_id.data());
  }
  if (api.persistence != nullptr) {
    if (const auto mode = query<int>([&](int* v) { return api.persistence(device, v); })) {
      gpu.persistence_on = *mode == kNvmlFeatureEnabled;
    }
  }
  if (api.ecc_mode != nullptr) {
    int current = 0;
    int pending = 0;
    if (api.ecc_mode(device, &current, &pending) == kNvmlSuccess) {
      gpu.ecc_enabled = current == kNvmlFeatureEnabled;
    }
  }
  if (api.total_ecc_errors != nullptr) {
    gpu.ecc_uncorrected_volatile = query<unsigned long long>([&](unsigned long long* v) {
      return api.total_ecc_errors(device, kNvmlMemoryErrorUncorrected, kNvmlVolatileEcc, v);
    });
  }
  if (api.retired_pending != nullptr) {
    if (const auto pending = query<int>([&](int* v) { return api.retired_pending(device, v); })) {
      gpu.retired_pages_pending = *pending != 0;
    }
  }
  if (api.remapped_rows != nullptr) {
    unsigned corrected = 0;
    unsigned uncorrected = 0;
    unsigned pending = 0;
    unsigned failure = 0;
    if (api.remapped_rows(device, &corrected, &uncorrected, &pending, &failure) == kNvmlSuccess) {
      gpu.row_remap_pending = pending != 0;
      gpu.row_remap_failure = failure != 0;
    }
  }
  const auto unsigned_query = [&](auto* function) -> std::optional<unsigned> {
    if (function == nullptr) {
      return std::nullopt;
    }
    return query<unsigned>([&](unsigned* v) { return function(device, v); });
  };
  gpu.pcie_gen_current = unsigned_query(api.gen_current);
  gpu.pcie_gen_max = unsigned_query(api.gen_max);
  gpu.pcie_width_current = unsigned_query(api.width_current);
  gpu.pcie_width_max = unsigned_query(api.width_max);
  if (api.nvlink_state != nullptr) {
    int up = 0;
    int present = 0;
    for (unsigned link = 0; link < kNvmlNvlinkMaxLinks; ++link) {
      int active = 0;
      if (api.nvlink_state(device, link, &active) == kNvmlSuccess) {
        ++present;
        up += active == kNvmlFeatureEnabled ? 1 : 0;
      }
    }
    gpu.nvlinks_present = present;
    gpu.nvlinks_up = up;
  }
  return gpu;
}

}  // namespace

std::string normalise_bus_id(std::string_view nvml_bus_id) {
  // NVML pads the domain to 8 hex digits; sysfs uses 4.
  std::string id = to_lower(trim(nvml_bus_id));
  const auto colon = id.find(':');
  if (colon != std::string::npos && colon > 4) {
    id = id.substr(colon - 4);
  }
  return id;
}

NvmlSnapshot read_nvml() {
  NvmlSnapshot snapshot;
  OpenedLibrary opened = open_first_library({"libnvidia-ml.so.1"}, RTLD_NOW | RTLD_LOCAL);
  if (!opened.library.loaded()) {
    snapshot.reason = "libnvidia-ml.so.1 not loadable: " + opened.attempts.front();
    return snapshot;
  }
  snapshot.library_path = opened.path;
  const DynamicLibrary& library = opened.library;
  NvmlApi api;
  bind(library, api.init, "nvmlInit_v2");
  bind(library, api.shutdown, "nvmlShutdown");
  bind(library, api.error_string, "nvmlErrorString");
  bind(library, api.driver_version, "nvmlSystemGetDriverVersion");
  bind(library, api.cuda_driver_version, "nvmlSystemGetCudaDriverVersion_v2");
  bind(library, api.device_count, "nvmlDeviceGetCount_v2");
  bind(library, api.handle_by_index, "nvmlDeviceGetHandleByIndex_v2");
  bind(library, api.name, "nvmlDeviceGetName");
  bind(library, api.pci_info, "nvmlDeviceGetPciInfo_v3");
  bind(library, api.persistence, "nvmlDeviceGetPersistenceMode");
  bind(library, api.ecc_mode, "nvmlDeviceGetEccMode");
  bind(library, api.total_ecc_errors, "nvmlDeviceGetTotalEccErrors");
  bind(library, api.retired_pending, "nvmlDeviceGetRetiredPagesPendingStatus");
  bind(library, api.remapped_rows, "nvmlDeviceGetRemappedRows");
  bind(library, api.gen_current, "nvmlDeviceGetCurrPcieLinkGeneration");
  bind(library, api.gen_max, "nvmlDeviceGetMaxPcieLinkGeneration");
  bind(library, api.width_current, "nvmlDeviceGetCurrPcieLinkWidth");
  bind(library, api.width_max, "nvmlDeviceGetMaxPcieLinkWidth");
  bind(library, api.nvlink_state, "nvmlDeviceGetNvLinkState");
  if (api.init == nullptr || api.shutdown == nullptr || api.device_count == nullptr ||
      api.handle_by_index == nullptr) {
    snapshot.reason = opened.path + " lacks nvmlInit_v2/nvmlDeviceGetCount_v2";
    return snapshot;
  }
  const int init_result = api.init();
  if (init_result != kNvmlSuccess) {
    snapshot.reason = fmt::format(
        "nvmlInit_v2 failed: {} ({})",
        api.error_string != nullptr ? api.error_string(init_result) : "error", init_result);
    return snapshot;
  }
  snapshot.available = true;
  std::array<char, 96> version{};
  if (api.driver_version != nullptr &&
      api.driver_version(version.data(), version.size()) == kNvmlSuccess) {
    snapshot.driver_version = version.data();
  }
  if (api.cuda_driver_version != nullptr) {
    snapshot.cuda_driver_version = query<int>(api.cuda_driver_version);
  }
  unsigned count = 0;
  if (api.device_count(&count) == kNvmlSuccess) {
    for (unsigned index = 0; index < count; ++index) {
      NvmlDevice device = nullptr;
      if (api.handle_by_index(index, &device) == kNvmlSuccess) {
        snapshot.gpus.push_back(read_gpu(api, index, device));
      }
    }
  }
  api.shutdown();
  return snapshot;
}

}  // namespace preflight::probes
