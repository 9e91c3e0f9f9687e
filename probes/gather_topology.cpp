#include "probes/gather_topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/raii.hpp"
#include "common/text.hpp"
#include "preflight/build_config.hpp"

#if PREFLIGHT_HAVE_HWLOC
#include <hwloc.h>
#endif

namespace preflight::probes {
namespace {

constexpr std::size_t kMaxXmlBytes = 64U << 20U;

void sort_devices(std::vector<TopoDevice>& devices) {
  std::sort(devices.begin(), devices.end(),
            [](const TopoDevice& a, const TopoDevice& b) { return a.pci_bus_id < b.pci_bus_id; });
}

void add_device(TopologyFacts& facts, TopoDevice device) {
  switch (device.kind) {
    case DeviceKind::gpu:
      facts.gpus.push_back(std::move(device));
      break;
    case DeviceKind::efa:
      facts.efa.push_back(std::move(device));
      break;
    case DeviceKind::nvswitch:
      facts.nvswitches.push_back(std::move(device));
      break;
    case DeviceKind::other_rdma:
      facts.other_rdma.push_back(std::move(device));
      break;
  }
}

void finish(TopologyFacts& facts) {
  sort_devices(facts.gpus);
  sort_devices(facts.efa);
  sort_devices(facts.nvswitches);
  sort_devices(facts.other_rdma);
  // Top-level bridges (children of a host bridge) above a GPU or an EFA device.
  std::set<std::string> switches;
  for (const auto* group : {&facts.gpus, &facts.efa}) {
    for (const auto& device : *group) {
      if (device.path.size() >= 2 && device.path[0].kind == HopKind::host_bridge) {
        switches.insert(device.path[1].id);
      }
    }
  }
  facts.pcie_switches = static_cast<int>(switches.size());
}

std::optional<DeviceKind> classify_pci(std::uint32_t vendor, std::uint32_t device,
                                       std::uint32_t class_code_16, bool has_rdma_osdev) {
  if (vendor == kNvidiaVendor && (class_code_16 >> 8U) == 0x03) {
    return DeviceKind::gpu;
  }
  if (vendor == kNvidiaVendor && class_code_16 == 0x0680) {
    return DeviceKind::nvswitch;
  }
  if (is_efa_pci_device(vendor, device)) {
    return DeviceKind::efa;
  }
  if (has_rdma_osdev) {
    return DeviceKind::other_rdma;
  }
  return std::nullopt;
}

#if PREFLIGHT_HAVE_HWLOC

void destroy_topology(hwloc_topology_t topology) {
  hwloc_topology_destroy(topology);
}
using Topology = UniqueHandle<hwloc_topology_t, destroy_topology, nullptr>;

std::string bus_id(const hwloc_obj_t object) {
  const auto& pci = object->attr->pcidev;
  return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", static_cast<unsigned>(pci.domain),
                     static_cast<unsigned>(pci.bus), static_cast<unsigned>(pci.dev),
                     static_cast<unsigned>(pci.func));
}

std::optional<int> numa_of(hwloc_topology_t topology, hwloc_obj_t object, int numa_nodes) {
  const hwloc_obj_t ancestor = hwloc_get_non_io_ancestor_obj(topology, object);
  if (ancestor != nullptr && ancestor->nodeset != nullptr &&
      hwloc_bitmap_weight(ancestor->nodeset) == 1) {
    return hwloc_bitmap_first(ancestor->nodeset);
  }
  if (numa_nodes == 1) {
    return 0;
  }
  return std::nullopt;  // attached above several NUMA nodes (e.g. to the Machine)
}

TopologyFacts read_loaded(hwloc_topology_t topology) {
  TopologyFacts facts;
  facts.available = true;
  facts.numa_nodes = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
  if (const char* product =
          hwloc_obj_get_info_by_name(hwloc_get_root_obj(topology), "DMIProductName")) {
    facts.product_name = product;
  }
  for (hwloc_obj_t pci = hwloc_get_next_pcidev(topology, nullptr); pci != nullptr;
       pci = hwloc_get_next_pcidev(topology, pci)) {
    const auto& attr = pci->attr->pcidev;
    std::string name;
    bool has_rdma = false;
    for (hwloc_obj_t child = pci->io_first_child; child != nullptr; child = child->next_sibling) {
      if (child->type != HWLOC_OBJ_OS_DEVICE || child->name == nullptr) {
        continue;
      }
      const bool rdma = child->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS;
      has_rdma = has_rdma || rdma;
      // Prefer the RDMA name for NICs and NVML's for GPUs, as nvidia-smi and NCCL name them.
      if (name.empty() || rdma || starts_with(child->name, "nvml")) {
        name = child->name;
      }
    }
    const auto kind = classify_pci(attr.vendor_id, attr.device_id, attr.class_id, has_rdma);
    if (!kind) {
      continue;
    }
    TopoDevice device;
    device.kind = *kind;
    device.pci_bus_id = bus_id(pci);
    device.name = name.empty() ? device.pci_bus_id : name;
    device.vendor = attr.vendor_id;
    device.device = attr.device_id;
    device.numa_node = numa_of(topology, pci, facts.numa_nodes);
    if (attr.linkspeed > 0) {
      device.link_gbytes_per_s = attr.linkspeed;
    }
    for (hwloc_obj_t parent = pci->parent; parent != nullptr && parent->type == HWLOC_OBJ_BRIDGE;
         parent = parent->parent) {
      const bool host = parent->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST;
      device.path.insert(device.path.begin(),
                         PathHop{fmt::format("gp{}", parent->gp_index),
                                 host ? HopKind::host_bridge : HopKind::bridge});
    }
    add_device(facts, std::move(device));
  }
  finish(facts);
  return facts;
}

Topology new_topology(std::string& error) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) {
    error = "hwloc_topology_init failed";
    return Topology();
  }
  Topology topology(raw);
  // PCI devices, bridges and OS devices are dropped unless asked for.
  hwloc_topology_set_io_types_filter(topology.get(), HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  return topology;
}

#endif  // PREFLIGHT_HAVE_HWLOC

}  // namespace

std::string downgrade_hwloc3_xml(std::string_view text) {
  static const std::regex kVersion3(R"(<topology\s+version="3\.[0-9]+")");
  std::string xml(text);
  std::smatch version;
  if (!std::regex_search(xml, version, kVersion3)) {
    return xml;
  }
  xml.replace(static_cast<std::size_t>(version.position(0)),
              static_cast<std::size_t>(version.length(0)), "<topology version=\"2.0\"");
  // hwloc 3.0: osdev_type is a mask (1 storage, 2 memory, 4 GPU, 8 coproc, 16 network,
  // 32 openfabrics, 64 DMA); hwloc 2.x: an enum (0 block, 1 GPU, 2 network, 3 openfabrics,
  // 4 DMA, 5 coproc). The most specific bit wins, as hwloc 3 itself prints it.
  static const std::regex kOsdevType(R"re(osdev_type="([0-9]+)")re");
  std::string out;
  auto begin = std::sregex_iterator(xml.begin(), xml.end(), kOsdevType);
  std::size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    const unsigned mask = static_cast<unsigned>(std::stoul((*it)[1].str()));
    int type = 0;
    if ((mask & 32U) != 0) {
      type = 3;
    } else if ((mask & 16U) != 0) {
      type = 2;
    } else if ((mask & 8U) != 0) {
      type = 5;
    } else if ((mask & 4U) != 0) {
      type = 1;
    } else if ((mask & 64U) != 0) {
      type = 4;
    }
    out.append(xml, last, static_cast<std::size_t>(it->position(0)) - last);
    out += fmt::format("osdev_type=\"{}\"", type);
    last = static_cast<std::size_t>(it->position(0) + it->length(0));
  }
  out.append(xml, last, std::string::npos);
  return out;
}

TopologyFacts gather_topology_live() {
#if PREFLIGHT_HAVE_HWLOC
  TopologyFacts facts;
  facts.source = "hwloc (live)";
  std::string error;
  Topology topology = new_topology(error);
  if (!topology) {
    facts.reason = error;
    return facts;
  }
  // GPUs are found by PCI class; hwloc's GPU backends would only add time, and NVML's (hwloc <=
  // 2.10) overwrites GPU link speeds with the Gen3 maximum.
  for (const char* component : {"nvml", "cuda", "opencl", "rsmi", "levelzero", "gl"}) {
    hwloc_topology_set_components(topology.get(), HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST,
                                  component);
  }
  if (hwloc_topology_load(topology.get()) != 0) {
    facts.reason = "hwloc_topology_load failed: " + errno_message(errno);
    return facts;
  }
  TopologyFacts loaded = read_loaded(topology.get());
  loaded.source = facts.source;
  return loaded;
#else
  TopologyFacts facts;
  facts.source = "hwloc (live)";
  facts.reason = "built without hwloc (turn on PREFLIGHT_WITH_HWLOC)";
  return facts;
#endif
}

TopologyFacts gather_topology_xml_text(std::string_view text, std::string_view origin) {
#if PREFLIGHT_HAVE_HWLOC
  // Tolerate leading comment lines ("# source: ..." in collected samples).
  while (!text.empty() && text.front() == '#') {
    const auto newline = text.find('\n');
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  const std::string xml = downgrade_hwloc3_xml(text);
  const bool converted = xml.size() != text.size() || xml != text;
  std::string error;
  Topology topology = new_topology(error);
  if (!topology) {
    throw Error("hwloc", "hwloc_topology_init", std::string(origin), error, -1);
  }
  if (hwloc_topology_set_xmlbuffer(topology.get(), xml.c_str(), static_cast<int>(xml.size() + 1)) !=
          0 ||
      hwloc_topology_load(topology.get()) != 0) {
    throw UsageError(fmt::format("{}: not an hwloc XML topology hwloc can load ({})", origin,
                                 errno_message(errno)));
  }
  TopologyFacts facts = read_loaded(topology.get());
  facts.source = fmt::format("hwloc XML {}", origin);
  if (converted) {
    facts.notes.emplace_back("hwloc 3.0 XML converted to the 2.x form for this hwloc");
  }
  return facts;
#else
  (void)text;
  throw FeatureUnavailable(fmt::format("hwloc XML input ({})", origin), "PREFLIGHT_WITH_HWLOC");
#endif
}

TopologyFacts gather_topology_xml_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError(fmt::format("--hwloc-xml {}: no such file", path.string()));
  }
  if (std::filesystem::file_size(path, ec) > kMaxXmlBytes) {
    throw UsageError(
        fmt::format("--hwloc-xml {}: larger than {} bytes", path.string(), kMaxXmlBytes));
  }
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream text;
  text << stream.rdbuf();
  if (!stream) {
    throw UsageError(fmt::format("--hwloc-xml {}: cannot read", path.string()));
  }
  return gather_topology_xml_text(text.str(), path.string());
}

TopologyFacts gather_topology_sysfs(const RootFs& fs) {
  TopologyFacts facts;
  facts.source = "sysfs " + fs.root().string();
  facts.available = true;
  // RDMA device names by PCI address: /sys/class/infiniband/<name>/device (link or, in fixture
  // trees, a directory whose uevent names the slot).
  std::map<std::string, std::string> rdma_names;
  std::vector<TopoDevice> rdma_only;
  for (const auto& name : fs.list("/sys/class/infiniband")) {
    const std::string device_dir = "/sys/class/infiniband/" + name + "/device";
    std::string address;
    if (const auto target = fs.read_link(device_dir)) {
      const auto path = pci_path_from_link(*target);
      if (!path.empty()) {
        address = path.back();
      }
    }
    if (address.empty()) {
      if (const auto uevent = fs.read(device_dir + "/uevent")) {
        address = uevent_value(*uevent, "PCI_SLOT_NAME").value_or("");
      }
    }
    if (address.empty()) {
      continue;
    }
    rdma_names[address] = name;
    const PciDevice pci = read_pci_device(fs, device_dir, address);
    TopoDevice device;
    device.kind = pci.is_efa() ? DeviceKind::efa : DeviceKind::other_rdma;
    device.name = name;
    device.pci_bus_id = address;
    device.vendor = pci.vendor;
    device.device = pci.device;
    device.numa_node = pci.numa_node;
    device.link = pci.link;
    rdma_only.push_back(std::move(device));
  }
  const PciInventory inventory = read_pci_inventory(fs);
  std::set<int> numa_nodes;
  if (!inventory.available) {
    facts.gpus_known = false;
    facts.notes.push_back(inventory.reason +
                          ": GPUs unknown, EFA devices from "
                          "/sys/class/infiniband without PCI paths");
    for (auto& device : rdma_only) {
      if (device.numa_node) {
        numa_nodes.insert(*device.numa_node);
      }
      add_device(facts, std::move(device));
    }
  } else {
    bool any_without_path = false;
    for (const PciDevice& pci : inventory.devices) {
      const auto name_it = rdma_names.find(pci.address);
      const auto kind =
          classify_pci(pci.vendor, pci.device, pci.class_code >> 8U, name_it != rdma_names.end());
      if (pci.numa_node) {
        numa_nodes.insert(*pci.numa_node);
      }
      if (!kind) {
        continue;
      }
      TopoDevice device;
      device.kind = *kind;
      device.pci_bus_id = pci.address;
      device.name = name_it != rdma_names.end() ? name_it->second : pci.address;
      device.vendor = pci.vendor;
      device.device = pci.device;
      device.numa_node = pci.numa_node;
      device.link = pci.link;
      // pci.path: "pci0000:00", bridge functions..., the device itself.
      for (std::size_t i = 0; i + 1 < pci.path.size(); ++i) {
        device.path.push_back(
            PathHop{pci.path[i], i == 0 ? HopKind::host_bridge : HopKind::bridge});
      }
      any_without_path = any_without_path || pci.path.empty();
      add_device(facts, std::move(device));
    }
    if (any_without_path) {
      facts.notes.emplace_back(
          "some /sys/bus/pci/devices entries are not links: their distances use NUMA nodes only");
    }
  }
  facts.numa_nodes = static_cast<int>(numa_nodes.size());
  finish(facts);
  return facts;
}

}  // namespace preflight::probes
