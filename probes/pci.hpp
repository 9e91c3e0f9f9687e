// PCI devices from sysfs under a root: /sys/bus/pci/devices/<address>/{vendor,device,class,
// numa_node,current_link_speed,max_link_speed,current_link_width,max_link_width} and the PCI
// path from the entry's link target (../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0).
//
// Fixture trees may hold plain directories instead of links: such a device has no known path
// (empty `path`), and distances to it fall back to its NUMA node.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/efa_sysfs.hpp"
#include "common/sysfs.hpp"

namespace preflight::probes {

inline constexpr std::uint32_t kNvidiaVendor = 0x10de;

struct PciLink {
  std::optional<double> current_speed_gts;
  std::optional<double> max_speed_gts;
  std::optional<int> current_width;
  std::optional<int> max_width;
};

struct PciDevice {
  std::string address;  // "0000:53:00.0"
  std::uint32_t vendor = 0;
  std::uint32_t device = 0;
  std::uint32_t class_code = 0;  // 24 bits: class, subclass, prog-if (0x030200 = 3D controller)
  std::optional<int> numa_node;  // nullopt: unknown (-1 or absent)
  PciLink link;
  // From the host bridge down: "pci0000:00", "0000:00:01.0", ..., the device's own address.
  std::vector<std::string> path;

  [[nodiscard]] bool is_nvidia_gpu() const;  // vendor 0x10de, display class 0x03
  [[nodiscard]] bool is_nvswitch() const;    // vendor 0x10de, class 0x0680
  [[nodiscard]] bool is_efa() const;         // vendor 0x1d0f, device 0xefa0..0xefa3
  [[nodiscard]] bool is_bridge() const;      // class 0x0604
};

struct PciInventory {
  bool available = false;          // /sys/bus/pci/devices exists under the root
  std::string reason;              // why not
  std::vector<PciDevice> devices;  // sorted by address
};

[[nodiscard]] PciInventory read_pci_inventory(const RootFs& fs);
// One device's attributes from `directory` (e.g. "/sys/class/infiniband/x/device").
[[nodiscard]] PciDevice read_pci_device(const RootFs& fs, const std::string& directory,
                                        std::string address);

// "16.0 GT/s PCIe" -> 16.0, "2.5 GT/s" -> 2.5; nullopt for "Unknown" and the like.
[[nodiscard]] std::optional<double> parse_link_speed_gts(std::string_view text);
// PCIe generation of a per-lane rate: 2.5 -> 1, 5 -> 2, 8 -> 3, 16 -> 4, 32 -> 5, 64 -> 6.
[[nodiscard]] int pcie_generation(double gts);
// The PCI path from a sysfs link target: every component after "devices/" that names a PCI
// host bridge ("pci0000:00") or function ("0000:00:01.0").
[[nodiscard]] std::vector<std::string> pci_path_from_link(std::string_view target);
// "PCI_SLOT_NAME=0000:55:00.0" from a uevent file.
[[nodiscard]] std::optional<std::string> uevent_value(std::string_view uevent,
                                                      std::string_view key);

}  // namespace preflight::probes
