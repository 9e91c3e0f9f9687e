#include "probes/efa_driver.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/text.hpp"
#include "common/version.hpp"

namespace preflight::probes {
namespace {

// The out-of-tree module and the kernel that first report the device's link speed.
const Version kTruthfulModule{{2, 13, 0}, "2.13.0"};
const Version kTruthfulKernel{{6, 13}, "6.13"};

// "PORT_ACTIVE (4)" -> 4; 0 without a number.
int number_in_parentheses(std::string_view text) {
  const auto open = text.find('(');
  return open == std::string_view::npos
             ? 0
             : static_cast<int>(parse_integer(text.substr(open + 1), true).value_or(0));
}

}  // namespace

LinkRateReporting efa_link_rate_reporting(std::string_view efa_module_version,
                                          std::string_view kernel_release) {
  // The out-of-tree module's version decides where it is loaded; else the kernel's in-tree driver.
  const auto judged = [](std::string driver, const Version& found, const Version& truthful) {
    LinkRateReporting reporting{found >= truthful, std::move(driver), {}};
    if (!reporting.truthful) {
      reporting.why = fmt::format(
          "{} (< {}) reports a fixed 100 Gb/s (4X EDR) on every device, whatever its link",
          reporting.driver, truthful.text);
    }
    return reporting;
  };
  if (const auto module = parse_version(efa_module_version)) {
    return judged(fmt::format("efa module {}", efa_module_version), *module, kTruthfulModule);
  }
  if (const auto kernel = parse_version(kernel_release)) {
    return judged(fmt::format("the in-tree efa driver of Linux {}", kernel_release), *kernel,
                  kTruthfulKernel);
  }
  LinkRateReporting reporting;
  reporting.driver = "an efa driver of unknown version";
  reporting.why =
      "neither /sys/module/efa/version nor the kernel release is readable: drivers before efa "
      "2.13.0 / Linux 6.13 report a fixed 100 Gb/s";
  return reporting;
}

std::map<std::string, VerbsAttributes> parse_ibv_devinfo(std::string_view text) {
  std::map<std::string, VerbsAttributes> devices;
  VerbsAttributes* current = nullptr;
  int port = 0;
  for (const std::string_view line : split_lines(text)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (key == "hca_id") {
      current = &devices[std::string(value)];
      port = 0;
    } else if (current == nullptr) {
      continue;
    } else if (key == "fw_ver") {
      current->firmware = std::string(value);
    } else if (key == "vendor_part_id") {
      current->vendor_part_id = static_cast<std::uint32_t>(parse_integer(value).value_or(0));
    } else if (key == "port") {
      port = static_cast<int>(parse_integer(value).value_or(0));
    } else if (key == "state" && port == 1) {  // "PORT_ACTIVE (4)"
      current->port_state = number_in_parentheses(value);
    } else if (key == "phys_state" && port == 1) {  // "LINK_UP (5)" with -v
      current->port_phys_state = number_in_parentheses(value);
    } else if (key == "max_qp") {
      current->max_qp = static_cast<int>(parse_integer(value).value_or(0));
    }
  }
  return devices;
}

std::optional<std::map<std::string, VerbsAttributes>> read_recorded_verbs(const RootFs& fs) {
  const auto text = fs.read(kRecordedVerbsPath);
  if (!text) {
    if (const auto devinfo = fs.read(kRecordedDevinfoPath)) {
      return parse_ibv_devinfo(*devinfo);
    }
    return std::nullopt;
  }
  const std::string origin = fs.resolve(kRecordedVerbsPath).string();
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError(fmt::format("{}: not JSON: {}", origin, e.what()));
  }
  if (!document.is_object() || document.value("schema", "") != "preflight.efa-verbs/1" ||
      !document.contains("devices") || !document.at("devices").is_object()) {
    throw UsageError(fmt::format(
        "{}: expected {{\"schema\": \"preflight.efa-verbs/1\", \"devices\": {{...}}}}", origin));
  }
  std::map<std::string, VerbsAttributes> devices;
  for (const auto& [name, entry] : document.at("devices").items()) {
    try {
      VerbsAttributes attributes;
      attributes.vendor_part_id = entry.at("vendor_part_id").get<std::uint32_t>();
      attributes.firmware = entry.value("fw_ver", "");
      attributes.max_qp = entry.value("max_qp", 0);
      attributes.max_mr_size = entry.value("max_mr_size", std::uint64_t{0});
      attributes.port_state = entry.value("port_state", 0);
      attributes.port_phys_state = entry.value("port_phys_state", 0);
      attributes.max_rdma_size = entry.value("max_rdma_size", std::uint32_t{0});
      if (entry.contains("device_caps")) {
        const auto& caps = entry.at("device_caps");
        if (caps.contains("rdma_read")) {
          attributes.rdma_read = caps.at("rdma_read").get<bool>();
        }
        if (caps.contains("rdma_write")) {
          attributes.rdma_write = caps.at("rdma_write").get<bool>();
        }
      }
      attributes.error = entry.value("error", "");
      devices[name] = attributes;
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(fmt::format("{}: /devices/{}: {}", origin, name, e.what()));
    }
  }
  return devices;
}

}  // namespace preflight::probes
