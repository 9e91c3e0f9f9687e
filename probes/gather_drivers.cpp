#include "probes/gather_drivers.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <cctype>

#include "common/text.hpp"
#include "common/version.hpp"

namespace preflight::probes {
namespace {

ComponentFact present_fact(std::string display, std::string location) {
  ComponentFact fact;
  fact.present = true;
  fact.version = parse_version(display);
  fact.display = std::move(display);
  fact.location = std::move(location);
  return fact;
}

ComponentFact absent_fact(std::string reason) {
  ComponentFact fact;
  fact.reason = std::move(reason);
  return fact;
}

}  // namespace

MemlockLimit gather_drivers_memlock_live() {
  MemlockLimit limit;
  limit.source = "getrlimit(RLIMIT_MEMLOCK)";
  rlimit value{};
  if (::getrlimit(RLIMIT_MEMLOCK, &value) != 0) {
    limit.reason = "getrlimit(RLIMIT_MEMLOCK) failed";
    return limit;
  }
  limit.known = true;
  limit.unlimited = value.rlim_cur == RLIM_INFINITY;
  limit.bytes = limit.unlimited ? 0 : static_cast<std::uint64_t>(value.rlim_cur);
  return limit;
}

namespace {

ComponentFact cuda_driver_api() {
  OpenedLibrary opened = open_first_library({"libcuda.so.1"});
  if (!opened.library.loaded()) {
    return absent_fact("libcuda.so.1 not loadable (no NVIDIA driver): " + opened.attempts.front());
  }
  auto* get_version = opened.library.symbol<int(int*)>("cuDriverGetVersion");
  int code = 0;
  const int result = get_version == nullptr ? -1 : get_version(&code);
  if (result != 0) {
    return absent_fact(fmt::format("{}: cuDriverGetVersion returned {}", opened.path, result));
  }
  const Version version = version_from_cuda_code(code);
  ComponentFact fact = present_fact(version.text, opened.path);
  fact.version = version;
  return fact;
}

}  // namespace

std::vector<const PciDevice*> DriverFacts::pci_gpus() const {
  std::vector<const PciDevice*> gpus;
  for (const auto& device : pci.devices) {
    if (device.is_nvidia_gpu()) {
      gpus.push_back(&device);
    }
  }
  return gpus;
}

std::vector<const PciDevice*> DriverFacts::pci_nvswitches() const {
  std::vector<const PciDevice*> switches;
  for (const auto& device : pci.devices) {
    if (device.is_nvswitch()) {
      switches.push_back(&device);
    }
  }
  return switches;
}

MemlockLimit parse_memlock_limits(std::string_view limits_text, std::string source) {
  MemlockLimit limit;
  limit.source = std::move(source);
  for (const auto line : split_lines(limits_text)) {
    if (!starts_with(line, "Max locked memory")) {
      continue;
    }
    const auto fields = split_whitespace(line.substr(std::string_view("Max locked memory").size()));
    if (fields.empty()) {
      break;
    }
    if (fields[0] == "unlimited") {
      limit.known = true;
      limit.unlimited = true;
      return limit;
    }
    if (const auto bytes = parse_integer(fields[0]); bytes && *bytes >= 0) {
      limit.known = true;
      limit.bytes = static_cast<std::uint64_t>(*bytes);
      return limit;
    }
    break;
  }
  limit.reason = "no parsable 'Max locked memory' line in " + limit.source;
  return limit;
}

ComponentFact kernel_module(const RootFs& fs, const std::string& name) {
  const std::string directory = "/sys/module/" + name;
  if (const auto version = fs.read_line(directory + "/version")) {
    return present_fact(*version, directory + "/version");
  }
  if (fs.exists(directory)) {
    ComponentFact fact = present_fact("loaded", directory);
    return fact;
  }
  return absent_fact(fmt::format("{} not loaded ({} absent)", name, directory));
}

FabricManagerState find_fabric_manager(const RootFs& fs) {
  FabricManagerState state;
  // The kernel truncates a process name to 15 characters: "nv-fabricmanage".
  for (const auto& entry : fs.list("/proc")) {
    if (entry.empty() || std::isdigit(static_cast<unsigned char>(entry[0])) == 0) {
      continue;
    }
    const auto comm = fs.read_line("/proc/" + entry + "/comm");
    if (comm && starts_with(*comm, "nv-fabricmanag")) {
      state.running = true;
      state.evidence = fmt::format("process {} ({})", entry, *comm);
      return state;
    }
  }
  // systemd keeps an invocation record for every started unit.
  for (const char* unit : {"/run/systemd/units/invocation:nvidia-fabricmanager.service",
                           "/run/nvidia-fabricmanager/nv-fabricmanager.pid",
                           "/var/run/nvidia-fabricmanager/nv-fabricmanager.pid"}) {
    if (fs.exists(unit)) {
      state.running = true;
      state.evidence = unit;
      return state;
    }
  }
  state.evidence = "no nv-fabricmanager process and no nvidia-fabricmanager unit record";
  return state;
}

DriverFacts gather_drivers(const RootFs& fs) {
  DriverFacts facts;
  facts.live = fs.is_live();
  facts.pci = read_pci_inventory(fs);
  facts.efa_device_count = count_efa_devices(fs);
  if (facts.live) {
    facts.nvml = read_nvml();
    facts.cuda_driver = cuda_driver_api();
  } else {
    facts.nvml.reason = "NVML describes the live machine: not consulted under --root";
    facts.cuda_driver = absent_fact(
        "the CUDA driver API describes the live machine: not "
        "consulted under --root");
  }
  // The driver version: NVML when it answered, else the module's files.
  if (facts.nvml.available && !facts.nvml.driver_version.empty()) {
    facts.nvidia_driver =
        present_fact(facts.nvml.driver_version, "NVML " + facts.nvml.library_path);
  } else if (const auto version = fs.read_line("/sys/module/nvidia/version")) {
    facts.nvidia_driver = present_fact(*version, "/sys/module/nvidia/version");
  } else if (const auto proc = fs.read("/proc/driver/nvidia/version")) {
    const auto parsed = parse_nvidia_proc_version(*proc);
    facts.nvidia_driver = parsed ? present_fact(*parsed, "/proc/driver/nvidia/version")
                                 : absent_fact("/proc/driver/nvidia/version names no version");
  } else {
    facts.nvidia_driver = absent_fact("no NVIDIA kernel driver (" +
                                      (facts.live ? facts.nvml.reason + "; " : std::string()) +
                                      "/sys/module/nvidia and /proc/driver/nvidia/version absent)");
  }
  facts.efa_kmod = kernel_module(fs, "efa");
  facts.nvidia_peermem = kernel_module(fs, "nvidia_peermem");
  facts.gdrdrv = kernel_module(fs, "gdrdrv");
  if (const auto kernel = fs.read_line("/proc/sys/kernel/osrelease")) {
    facts.kernel = present_fact(*kernel, "/proc/sys/kernel/osrelease");
  } else {
    facts.kernel = absent_fact("/proc/sys/kernel/osrelease absent");
  }
  facts.fabric_manager = find_fabric_manager(fs);
  if (facts.live) {
    facts.memlock = gather_drivers_memlock_live();
  } else if (const auto limits = fs.read("/proc/self/limits")) {
    facts.memlock = parse_memlock_limits(*limits, "/proc/self/limits");
  } else {
    facts.memlock.reason = "no /proc/self/limits under " + fs.root().string();
  }
  return facts;
}

}  // namespace preflight::probes
