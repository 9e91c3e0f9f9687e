#include "probes/pci.hpp"

#include <algorithm>
#include <charconv>

#include "common/text.hpp"

namespace preflight::probes {
namespace {

bool is_pci_function(std::string_view name) {
  // dddd:bb:dd.f
  return name.size() == 12 && name[4] == ':' && name[7] == ':' && name[10] == '.';
}

}  // namespace

bool PciDevice::is_nvidia_gpu() const {
  return vendor == kNvidiaVendor && (class_code >> 16U) == 0x03;
}
bool PciDevice::is_nvswitch() const {
  return vendor == kNvidiaVendor && (class_code >> 8U) == 0x0680;
}
bool PciDevice::is_efa() const {
  return is_efa_pci_device(vendor, device);
}
bool PciDevice::is_bridge() const {
  return (class_code >> 8U) == 0x0604;
}

std::optional<double> parse_link_speed_gts(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

int pcie_generation(double gts) {
  if (gts >= 60) {
    return 6;
  }
  if (gts >= 30) {
    return 5;
  }
  if (gts >= 15) {
    return 4;
  }
  if (gts >= 7.5) {
    return 3;
  }
  if (gts >= 4.5) {
    return 2;
  }
  return 1;
}

std::vector<std::string> pci_path_from_link(std::string_view target) {
  std::vector<std::string> path;
  bool after_devices = false;
  for (const auto part : split(target, '/')) {
    if (part == "devices") {
      after_devices = true;
      path.clear();
      continue;
    }
    if (!after_devices) {
      continue;
    }
    if (starts_with(part, "pci") && part.size() > 3) {
      path.emplace_back(part);
    } else if (is_pci_function(part)) {
      path.emplace_back(part);
    }
  }
  return path;
}

std::optional<std::string> uevent_value(std::string_view uevent, std::string_view key) {
  for (const auto line : split_lines(uevent)) {
    if (line.size() > key.size() && starts_with(line, key) && line[key.size()] == '=') {
      return std::string(trim(line.substr(key.size() + 1)));
    }
  }
  return std::nullopt;
}

PciDevice read_pci_device(const RootFs& fs, const std::string& directory, std::string address) {
  PciDevice device;
  device.address = std::move(address);
  device.vendor = static_cast<std::uint32_t>(fs.read_int(directory + "/vendor").value_or(0));
  device.device = static_cast<std::uint32_t>(fs.read_int(directory + "/device").value_or(0));
  device.class_code = static_cast<std::uint32_t>(fs.read_int(directory + "/class").value_or(0));
  if (const auto numa = fs.read_int(directory + "/numa_node"); numa && *numa >= 0) {
    device.numa_node = static_cast<int>(*numa);
  }
  if (const auto speed = fs.read_line(directory + "/current_link_speed")) {
    device.link.current_speed_gts = parse_link_speed_gts(*speed);
  }
  if (const auto speed = fs.read_line(directory + "/max_link_speed")) {
    device.link.max_speed_gts = parse_link_speed_gts(*speed);
  }
  // Width 0 means "link down or unknown" in sysfs; keep it, it is a finding when max is known.
  if (const auto width = fs.read_int(directory + "/current_link_width")) {
    device.link.current_width = static_cast<int>(*width);
  }
  if (const auto width = fs.read_int(directory + "/max_link_width"); width && *width > 0) {
    device.link.max_width = static_cast<int>(*width);
  }
  return device;
}

PciInventory read_pci_inventory(const RootFs& fs) {
  PciInventory inventory;
  constexpr std::string_view kDevices = "/sys/bus/pci/devices";
  if (!fs.exists(kDevices)) {
    inventory.reason = "no /sys/bus/pci/devices under " + fs.root().string();
    return inventory;
  }
  inventory.available = true;
  for (const auto& name : fs.list(kDevices)) {
    if (!is_pci_function(name)) {
      continue;
    }
    const std::string directory = std::string(kDevices) + "/" + name;
    PciDevice device = read_pci_device(fs, directory, name);
    if (const auto target = fs.read_link(directory)) {
      device.path = pci_path_from_link(*target);
      if (device.path.empty() || device.path.back() != name) {
        device.path.clear();  // not a PCI device path: treat as unknown
      }
    }
    inventory.devices.push_back(std::move(device));
  }
  return inventory;
}

}  // namespace preflight::probes
