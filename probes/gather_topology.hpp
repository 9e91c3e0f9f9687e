// Gather for preflight-topology: GPUs, EFA devices, NVSwitches and the PCI paths above them, from
// one of three inputs:
//   * the live machine through hwloc (I/O objects kept with HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
//   * an hwloc XML file (--hwloc-xml; hwloc 2.x files load as they are, 3.0 files are converted
//     to the 2.x form first, since hwloc 2 refuses them);
//   * a sysfs tree under --root: /sys/bus/pci/devices/* with the PCI path taken from each entry's
//     link target. A tree whose entries are plain directories (no links) gives devices without a
//     path: their distance is judged from NUMA nodes only (NODE or SYS). Without
//     /sys/bus/pci/devices at all, only the EFA devices under /sys/class/infiniband are known.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/sysfs.hpp"
#include "probes/pci.hpp"

namespace preflight::probes {

enum class HopKind { host_bridge, bridge };

struct PathHop {
  std::string id;  // unique within one topology
  HopKind kind = HopKind::bridge;
};

enum class DeviceKind { gpu, efa, nvswitch, other_rdma };

struct TopoDevice {
  DeviceKind kind = DeviceKind::gpu;
  std::string name;        // OS device name (nvml0, rdmap16s27) or the PCI address
  std::string pci_bus_id;  // "0000:10:1c.0"
  std::uint32_t vendor = 0;
  std::uint32_t device = 0;
  std::optional<int> numa_node;
  // Bridges from the host bridge down to the device's parent; empty when unknown.
  std::vector<PathHop> path;
  std::optional<double> link_gbytes_per_s;  // hwloc: current link bandwidth (GB/s)
  PciLink link;                             // sysfs: current and maximum link attributes
};

struct TopologyFacts {
  std::string source;  // "hwloc (live)", "hwloc XML <file>", "sysfs <root>"
  bool available = false;
  std::string reason;      // why not available
  bool gpus_known = true;  // false when the input cannot show GPUs (no PCI inventory)
  std::optional<std::string> product_name;  // DMIProductName recorded in an hwloc XML
  std::vector<TopoDevice> gpus;             // sorted by PCI address (NVML's order)
  std::vector<TopoDevice> efa;              // sorted by PCI address
  std::vector<TopoDevice> nvswitches;
  std::vector<TopoDevice> other_rdma;  // RDMA devices that are not EFA (mlx5, ibp*)
  int numa_nodes = 0;
  int pcie_switches = 0;  // top-level PCI-PCI bridges with a GPU or EFA below them
  std::vector<std::string> notes;
};

// Live machine through hwloc (TOPOLOGY unavailable, not thrown, when hwloc fails).
[[nodiscard]] TopologyFacts gather_topology_live();
// An hwloc XML file; throws UsageError naming the file when it cannot be read or loaded.
[[nodiscard]] TopologyFacts gather_topology_xml_file(const std::filesystem::path& path);
// hwloc XML text; `origin` names it in errors. Leading '#' comment lines are skipped.
[[nodiscard]] TopologyFacts gather_topology_xml_text(std::string_view text,
                                                     std::string_view origin);
// A sysfs tree under `fs`.
[[nodiscard]] TopologyFacts gather_topology_sysfs(const RootFs& fs);

// hwloc 3.0 XML (osdev_type a bit mask) rewritten to the 2.x form (osdev_type an enum); other
// text is returned unchanged.
[[nodiscard]] std::string downgrade_hwloc3_xml(std::string_view text);

}  // namespace preflight::probes
