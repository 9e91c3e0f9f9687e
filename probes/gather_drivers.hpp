// Gather for preflight-drivers: kernel drivers and the GPU state they expose. Under --root every
// fact comes from the root's files (NVML and the CUDA driver API describe the live machine, so
// they are not consulted); live, NVML and libcuda are loaded at run time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/sysfs.hpp"
#include "probes/gather_versions.hpp"
#include "probes/nvml.hpp"
#include "probes/pci.hpp"

namespace preflight::probes {

struct MemlockLimit {
  bool known = false;
  bool unlimited = false;
  std::uint64_t bytes = 0;
  std::string source;  // "getrlimit" or the limits file
  std::string reason;  // why unknown
};

struct FabricManagerState {
  bool running = false;
  std::string evidence;  // the process or unit that showed it
};

struct DriverFacts {
  bool live = true;
  ComponentFact nvidia_driver;  // version and where it came from
  NvmlSnapshot nvml;            // available == false under --root or without a driver
  PciInventory pci;
  ComponentFact cuda_driver;  // cuDriverGetVersion (live only)
  ComponentFact efa_kmod;
  ComponentFact nvidia_peermem;
  ComponentFact gdrdrv;
  ComponentFact kernel;
  FabricManagerState fabric_manager;
  MemlockLimit memlock;
  int efa_device_count = 0;

  [[nodiscard]] std::vector<const PciDevice*> pci_gpus() const;
  [[nodiscard]] std::vector<const PciDevice*> pci_nvswitches() const;
};

[[nodiscard]] DriverFacts gather_drivers(const RootFs& fs);

// "Max locked memory  8388608  8388608  bytes" (a /proc/<pid>/limits file): the soft limit.
[[nodiscard]] MemlockLimit parse_memlock_limits(std::string_view limits_text, std::string source);
// The live process's RLIMIT_MEMLOCK (getrlimit).
[[nodiscard]] MemlockLimit gather_drivers_memlock_live();
// Kernel module facts from /sys/module/<name> (present without a version file is still loaded).
[[nodiscard]] ComponentFact kernel_module(const RootFs& fs, const std::string& name);
// Looks for a running nv-fabricmanager (process name, or systemd's invocation record).
[[nodiscard]] FabricManagerState find_fabric_manager(const RootFs& fs);

}  // namespace preflight::probes
