#include "probes/gather_efa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <set>
#include <thread>
#include <tuple>

#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "preflight/build_config.hpp"
#include "probes/efa_driver.hpp"
#include "probes/fi_info_text.hpp"
#include "probes/pci.hpp"

#if PREFLIGHT_HAVE_IBVERBS
#include "common/ibverbs.hpp"
#endif
#if PREFLIGHT_HAVE_EFADV
#include <infiniband/efadv.h>
#endif

namespace preflight::probes {
namespace {

constexpr std::string_view kInfiniband = "/sys/class/infiniband";
// p5en: EFA devices may enumerate late after boot; re-read a few times before judging.
constexpr int kLateRetries = 4;
constexpr std::chrono::milliseconds kLateRetryDelay{500};

EfaPort read_port(const RootFs& fs, const std::string& device_dir, int number) {
  EfaPort port;
  port.number = number;
  const std::string dir = fmt::format("{}/ports/{}", device_dir, number);
  if (const auto state = fs.read_line(dir + "/state")) {
    port.state_text = *state;
    if (const auto value = parse_integer(*state, true)) {
      port.state = static_cast<int>(*value);
    }
  }
  if (const auto phys = fs.read_line(dir + "/phys_state")) {
    port.phys_state_text = *phys;
    if (const auto value = parse_integer(*phys, true)) {
      port.phys_state = static_cast<int>(*value);
    }
  }
  if (const auto rate = fs.read_line(dir + "/rate")) {
    port.rate_text = *rate;
    port.rate_gbps = parse_rate_gbps(*rate);
  }
  port.link_layer = fs.read_line(dir + "/link_layer").value_or("");
  port.counters = read_efa_counter_directory(fs, dir + "/hw_counters", &port.unreadable);
  return port;
}

void read_devices(const RootFs& fs, EfaFacts& facts) {
  facts.devices.clear();
  facts.other_rdma_devices.clear();
  for (const auto& name : fs.list(kInfiniband)) {
    const std::string device_dir = std::string(kInfiniband) + "/" + name;
    const auto vendor = fs.read_int(device_dir + "/device/vendor");
    const auto device_id = fs.read_int(device_dir + "/device/device");
    if (!vendor || !device_id || !is_efa_pci_device(*vendor, *device_id)) {
      facts.other_rdma_devices.push_back(name);  // e.g. the ibp* devices of p6-b200
      continue;
    }
    EfaDevice device;
    device.name = name;
    device.device_id = static_cast<std::uint32_t>(*device_id);
    if (const auto target = fs.read_link(device_dir + "/device")) {
      const auto path = pci_path_from_link(*target);
      if (!path.empty()) {
        device.pci_bus_id = path.back();
      }
    }
    if (device.pci_bus_id.empty()) {
      if (const auto uevent = fs.read(device_dir + "/device/uevent")) {
        device.pci_bus_id = uevent_value(*uevent, "PCI_SLOT_NAME").value_or("");
      }
    }
    if (const auto numa = fs.read_int(device_dir + "/device/numa_node"); numa && *numa >= 0) {
      device.numa_node = static_cast<int>(*numa);
    }
    for (const auto& port_name : fs.list(device_dir + "/ports")) {
      if (const auto number = parse_integer(port_name)) {
        device.ports.push_back(read_port(fs, device_dir, static_cast<int>(*number)));
      }
    }
    device.device_counters_present = fs.exists(device_dir + "/hw_counters");
    device.device_counters = read_efa_counter_directory(fs, device_dir + "/hw_counters", nullptr);
    const std::string setup = efa_setup_counter_directory(fs, name);
    if (!setup.empty()) {
      device.setup_counters_location = setup.substr(device_dir.size() + 1);
    }
    facts.devices.push_back(std::move(device));
  }
  // PCI order, as NCCL and the topology probe list them (names sort 101 before 85).
  std::sort(facts.devices.begin(), facts.devices.end(), [](const EfaDevice& a, const EfaDevice& b) {
    return std::tie(a.pci_bus_id, a.name) < std::tie(b.pci_bus_id, b.name);
  });
}

#if PREFLIGHT_HAVE_IBVERBS
void query_verbs(EfaFacts& facts) {
  const IbvDeviceList list;
  facts.verbs_queried = true;
  if (list.devices().empty()) {
    facts.verbs_reason = "ibv_get_device_list returned no device";
  }
  for (EfaDevice& device : facts.devices) {
    VerbsAttributes attributes;
    ibv_device* match = nullptr;
    for (ibv_device* candidate : list.devices()) {
      if (device.name == ibv_get_device_name(candidate)) {
        match = candidate;
      }
    }
    if (match == nullptr) {
      attributes.error = "not in ibv_get_device_list";
      device.verbs = attributes;
      continue;
    }
    const IbvContext context(ibv_open_device(match));
    if (!context) {
      attributes.error = "ibv_open_device failed: " + errno_message(errno);
      device.verbs = attributes;
      continue;
    }
    ibv_device_attr device_attr{};
    if (const int rc = ibv_query_device(context.get(), &device_attr); rc != 0) {
      attributes.error = "ibv_query_device failed: " + errno_message(rc);
      device.verbs = attributes;
      continue;
    }
    attributes.firmware = device_attr.fw_ver;
    attributes.vendor_part_id = device_attr.vendor_part_id;
    attributes.max_qp = device_attr.max_qp;
    attributes.max_mr_size = device_attr.max_mr_size;
    ibv_port_attr port_attr{};
    if (ibv_query_port(context.get(), 1, &port_attr) == 0) {
      attributes.port_state = port_attr.state;
      attributes.port_phys_state = port_attr.phys_state;
    }
#if PREFLIGHT_HAVE_EFADV
    efadv_device_attr efa_attr{};
    if (efadv_query_device(context.get(), &efa_attr, sizeof(efa_attr)) == 0) {
      attributes.rdma_read = (efa_attr.device_caps & EFADV_DEVICE_ATTR_CAPS_RDMA_READ) != 0;
      // EFADV_DEVICE_ATTR_CAPS_RDMA_WRITE (1 << 3) is named only by rdma-core >= 45.
      constexpr std::uint32_t kCapsRdmaWrite = 1U << 3U;
      attributes.rdma_write = (efa_attr.device_caps & kCapsRdmaWrite) != 0;
      attributes.max_rdma_size = efa_attr.max_rdma_size;
    }
#endif
    device.verbs = attributes;
  }
}
#endif

// The tree's recorded answers in place of ibverbs and libfabric (see efa_driver.hpp).
void read_recorded_answers(const RootFs& fs, EfaFacts& facts) {
  if (const auto verbs = read_recorded_verbs(fs)) {
    facts.verbs_queried = true;
    facts.verbs_reason =
        "recorded in " +
        std::string(fs.exists(kRecordedVerbsPath) ? kRecordedVerbsPath : kRecordedDevinfoPath);
    for (EfaDevice& device : facts.devices) {
      const auto found = verbs->find(device.name);
      VerbsAttributes attributes;
      if (found != verbs->end()) {
        attributes = found->second;
      } else {
        attributes.error = "not in ibv_get_device_list";
      }
      device.verbs = attributes;
    }
  }
  if (const auto text = fs.read(kRecordedFiInfoPath)) {
    const FiInfoText parsed = parse_fi_info_text(*text);
    facts.fabric_queried = true;
    facts.libfabric_source = "recorded in " + std::string(kRecordedFiInfoPath);
    facts.libfabric_version = parsed.libfabric_version;
    if (parsed.getinfo_error) {
      facts.fabric.result = *parsed.getinfo_error;
      facts.fabric.error = fmt::format("fi_getinfo: {}", *parsed.getinfo_error);
    }
    for (const FiInfoRecord& record : parsed.records) {
      FabricEntry entry;
      entry.provider = record.provider;
      entry.fabric = record.fabric;
      entry.domain = record.domain;
      entry.endpoint_type = record.type;
      facts.fabric.entries.push_back(std::move(entry));
    }
  }
}

}  // namespace

std::optional<double> parse_rate_gbps(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() || value < 0) {
    return std::nullopt;
  }
  return value;
}

EfaFacts gather_efa(const RootFs& fs, const EfaGatherOptions& options) {
  EfaFacts facts;
  facts.source = "sysfs " + fs.root().string();
  facts.live = fs.is_live();
  read_devices(fs, facts);
  while (facts.live && options.retry_late && facts.count_retries < kLateRetries &&
         static_cast<int>(facts.devices.size()) < options.expected_count) {
    std::this_thread::sleep_for(kLateRetryDelay);
    ++facts.count_retries;
    read_devices(fs, facts);
  }
  facts.kernel_release = fs.read_line("/proc/sys/kernel/osrelease").value_or("");
  facts.efa_module_version = fs.read_line("/sys/module/efa/version").value_or("");
  if (!facts.live) {
    facts.verbs_reason =
        "ibverbs describes the live machine: not consulted under --root (the tree records no "
        "answers in " +
        std::string(kRecordedVerbsPath) + ")";
    facts.fabric_reason =
        "libfabric describes the live machine: not consulted under --root (the tree records no "
        "fi_info output in " +
        std::string(kRecordedFiInfoPath) + ")";
    if (!facts.devices.empty()) {
      read_recorded_answers(fs, facts);
    }
    return facts;
  }
  if (const char* value = std::getenv("FI_EFA_USE_DEVICE_RDMA")) {  // NOLINT(concurrency-mt-unsafe)
    facts.use_device_rdma_env = value;
  }
  if (!options.query_libraries) {
    facts.verbs_reason = facts.fabric_reason = "library queries disabled";
    return facts;
  }
  if (facts.devices.empty()) {
    facts.verbs_reason = facts.fabric_reason = "no EFA device in /sys/class/infiniband";
    return facts;
  }
#if PREFLIGHT_HAVE_IBVERBS
  query_verbs(facts);
#else
  facts.verbs_reason = "built without ibverbs (turn on PREFLIGHT_WITH_IBVERBS)";
#endif
  const FabricRuntime runtime = FabricRuntime::load();
  if (!runtime.loaded()) {
    facts.fabric_reason = runtime.unavailable_reason();
  } else {
    facts.fabric_queried = true;
    facts.fabric = runtime.list_efa_rdm();
    facts.libfabric_source = "libfabric " + runtime.path();
    if (const auto version = runtime.runtime_version()) {
      facts.libfabric_version = version->text;
    }
  }
  return facts;
}

}  // namespace preflight::probes
