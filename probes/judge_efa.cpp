#include "probes/judge_efa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/findings.hpp"
#include "common/text.hpp"
#include "common/version.hpp"
#include "probes/efa_driver.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;
using reports::Check;

constexpr int kPortActive = 4;  // IB_PORT_ACTIVE
constexpr int kPhysLinkUp = 5;  // LinkUp
constexpr double kRateTolerance = 0.99;

void judge_count(std::vector<Check>& checks, const EfaFacts& facts, const Platform* platform) {
  const int count = static_cast<int>(facts.devices.size());
  json evidence{{"found", count}, {"retries", facts.count_retries}};
  if (!facts.other_rdma_devices.empty()) {
    evidence["other_rdma_devices"] = facts.other_rdma_devices;
  }
  if (platform == nullptr) {
    if (count == 0) {
      checks.push_back(skip_check(
          "EFA_ABSENT",
          finding_message("EFA_ABSENT") + " (no /sys/class/infiniband device with vendor 0x1d0f)",
          evidence));
    }
    return;
  }
  evidence["expected"] = platform->efa_count;
  if (count != platform->efa_count) {
    std::string message =
        finding_message("EFA_COUNT_MISMATCH", count, platform->instance_type, platform->efa_count);
    if (facts.count_retries > 0) {
      message += fmt::format(" (after {} re-reads for late enumeration)", facts.count_retries);
    }
    checks.push_back(fire_check("EFA_COUNT_MISMATCH", message, evidence));
  } else {
    checks.push_back(pass_check(
        "EFA_COUNT_MISMATCH",
        fmt::format("{} EFA devices, as {} has", count, platform->instance_type), evidence));
  }
}

void judge_ports(std::vector<Check>& checks, const EfaFacts& facts, const Platform* platform) {
  // The efa driver sets every port ACTIVE / LinkUp unconditionally (efa_query_port), so a port in
  // another state means the device is not the efa driver's idea of healthy at all, and ports that
  // are ACTIVE prove nothing: the signals that move are the error counters, the device attributes
  // and a loopback transfer through each device (preflight-p2p --loopback --all-devices).
  int active = 0;
  int unknown = 0;
  bool fired = false;
  for (const EfaDevice& device : facts.devices) {
    if (device.ports.empty()) {
      ++unknown;
      continue;
    }
    for (const EfaPort& port : device.ports) {
      if (!port.state || !port.phys_state) {
        ++unknown;
        continue;
      }
      if (*port.state != kPortActive || *port.phys_state != kPhysLinkUp) {
        fired = true;
        checks.push_back(fire_check("EFA_PORT_DOWN",
                                    finding_message("EFA_PORT_DOWN", device.name, port.number,
                                                    port.state_text, port.phys_state_text),
                                    {{"device", device.name},
                                     {"pci_bus_id", device.pci_bus_id},
                                     {"port", port.number},
                                     {"state", port.state_text},
                                     {"phys_state", port.phys_state_text}}));
      } else {
        ++active;
      }
    }
  }
  if (!fired) {
    checks.push_back(skip_check(
        "EFA_PORT_DOWN",
        fmt::format("{} port{} ACTIVE / LinkUp{}: not a health signal on EFA (the efa driver "
                    "reports ACTIVE / LinkUp whatever the link does); the error counters and a "
                    "loopback through each device (preflight-p2p --loopback --all-devices) are",
                    active, active == 1 ? "" : "s",
                    unknown > 0 ? fmt::format(", {} without state files", unknown) : std::string()),
        {{"active", active}, {"without_state", unknown}}));
  }

  const auto expected =
      platform != nullptr ? platform->efa_rate_per_device_gbps() : std::optional<double>{};
  if (!expected) {
    return;
  }
  const LinkRateReporting reporting =
      efa_link_rate_reporting(facts.efa_module_version, facts.kernel_release);
  const json driver{{"driver", reporting.driver},
                    {"efa_module", facts.efa_module_version},
                    {"kernel", facts.kernel_release},
                    {"rate_reported_truly", reporting.truthful}};
  if (!reporting.truthful) {
    checks.push_back(skip_check(
        "EFA_PORT_RATE_LOW",
        fmt::format("rates of {} device{} not judged: {} (efa 2.13.0 and Linux 6.13 report the "
                    "device's link speed)",
                    facts.devices.size(), facts.devices.size() == 1 ? "" : "s", reporting.why),
        driver));
    return;
  }
  int rated = 0;
  int slow = 0;
  for (const EfaDevice& device : facts.devices) {
    for (const EfaPort& port : device.ports) {
      if (!port.rate_gbps) {
        continue;
      }
      ++rated;
      if (*port.rate_gbps < *expected * kRateTolerance) {
        ++slow;
        json evidence = driver;
        evidence["device"] = device.name;
        evidence["rate"] = port.rate_text;
        checks.push_back(
            fire_check("EFA_PORT_RATE_LOW",
                       finding_message("EFA_PORT_RATE_LOW", device.name, port.number,
                                       *port.rate_gbps, platform->instance_type, *expected),
                       evidence));
      }
    }
  }
  if (rated > 0 && slow == 0) {
    checks.push_back(pass_check(
        "EFA_PORT_RATE_LOW",
        fmt::format("{} port{} at {:g} Gb/s ({} Gb/s aggregate expected; {} reports the link "
                    "speed)",
                    rated, rated == 1 ? "" : "s", *expected, *platform->efa_aggregate_gbps,
                    reporting.driver),
        driver));
  }
}

// Device RDMA under the libfabric on this node: an application can ask for API 1.18 (and get
// device RDMA on p4d/p5) only when the library offers it.
void judge_device_rdma(std::vector<Check>& checks, const EfaFacts& facts) {
  const auto library = parse_version(facts.libfabric_version);
  if (!library) {
    checks.push_back(skip_check(
        "EFA_DEVICE_RDMA_OFF",
        "libfabric's version is unknown: " + (facts.fabric_queried
                                                  ? std::string("the fi_info output names none")
                                                  : facts.fabric_reason)));
    return;
  }
  const int major = library->parts.at(0);
  const int minor = library->parts.size() > 1 ? library->parts[1] : 0;
  std::map<std::uint32_t, std::vector<std::string>> off;  // device id -> devices
  std::string why;
  for (const EfaDevice& device : facts.devices) {
    std::optional<bool> can_read;
    if (device.verbs && device.verbs->error.empty()) {
      can_read = device.verbs->rdma_read;
    }
    const EfaDeviceRdmaDecision decision = efa_device_rdma_default(
        major, minor, device.device_id, can_read,
        facts.use_device_rdma_env ? std::optional<std::string_view>(*facts.use_device_rdma_env)
                                  : std::nullopt);
    if (!decision.enabled && (!can_read || *can_read)) {
      off[device.device_id].push_back(device.name);
      why = decision.why;
    }
  }
  const json evidence{
      {"libfabric", facts.libfabric_version},
      {"source", facts.libfabric_source},
      {"FI_EFA_USE_DEVICE_RDMA",
       facts.use_device_rdma_env ? json(*facts.use_device_rdma_env) : json(nullptr)}};
  for (const auto& [device_id, devices] : off) {
    json device_evidence = evidence;
    device_evidence["devices"] = devices;
    checks.push_back(fire_check(
        "EFA_DEVICE_RDMA_OFF",
        finding_message("EFA_DEVICE_RDMA_OFF",
                        fmt::format("{} device{}", devices.size(), devices.size() == 1 ? "" : "s"),
                        fmt::format("{}.{} (libfabric {}, the newest it offers)", major, minor,
                                    facts.libfabric_version),
                        fmt::format("0x{:04x}", device_id), why),
        device_evidence));
  }
  if (off.empty()) {
    checks.push_back(pass_check(
        "EFA_DEVICE_RDMA_OFF",
        fmt::format("libfabric {} offers API {}.{}{}: device RDMA is on for applications that ask "
                    "for API >= 1.18 (aws-ofi-nccl >= 1.7 and preflight-p2p do)",
                    facts.libfabric_version, major, minor,
                    major > 1 || minor >= 18 ? "" : " (these devices use it below 1.18 too)"),
        evidence));
  }
}

void judge_verbs(std::vector<Check>& checks, const EfaFacts& facts) {
  if (facts.devices.empty()) {
    return;
  }
  if (!facts.verbs_queried) {
    checks.push_back(skip_check("EFA_RDMA_READ_UNSUPPORTED",
                                "RDMA read capability needs efadv: " + facts.verbs_reason));
    return;
  }
  int read_capable = 0;
  int answered = 0;
  for (const EfaDevice& device : facts.devices) {
    if (!device.verbs) {
      continue;
    }
    if (!device.verbs->error.empty()) {
      checks.push_back(
          fire_check("EFA_DEVICE_UNREADABLE",
                     finding_message("EFA_DEVICE_UNREADABLE", device.name, device.verbs->error)));
      continue;
    }
    if (!device.verbs->rdma_read) {
      continue;
    }
    ++answered;
    if (*device.verbs->rdma_read) {
      ++read_capable;
    } else {
      checks.push_back(fire_check("EFA_RDMA_READ_UNSUPPORTED",
                                  finding_message("EFA_RDMA_READ_UNSUPPORTED", device.name),
                                  {{"device", device.name}}));
    }
  }
  if (answered == 0) {
    checks.push_back(skip_check("EFA_RDMA_READ_UNSUPPORTED",
                                "efadv_query_device answered for no device (built without "
                                "libefa, or the query failed)"));
  } else if (read_capable == answered) {
    checks.push_back(pass_check(
        "EFA_RDMA_READ_UNSUPPORTED",
        fmt::format("RDMA read supported on {} device{}", answered, answered == 1 ? "" : "s")));
  }
}

void judge_fabric(std::vector<Check>& checks, const EfaFacts& facts) {
  if (facts.devices.empty()) {
    return;
  }
  if (!facts.fabric_queried) {
    checks.push_back(skip_check("EFA_LIBFABRIC_DOMAIN_MISSING",
                                "libfabric efa domains not queried: " + facts.fabric_reason));
    return;
  }
  std::set<std::string> domains;
  std::set<std::string> fabrics;
  for (const FabricEntry& entry : facts.fabric.entries) {
    if (split(entry.provider, ';').front() != "efa" || entry.endpoint_type != "FI_EP_RDM") {
      continue;
    }
    domains.insert(efa_device_of_domain(entry.domain));  // "rdmap79s0-rdm" -> "rdmap79s0"
    fabrics.insert(entry.fabric);
  }
  std::vector<std::string> missing;
  for (const EfaDevice& device : facts.devices) {
    if (!domains.contains(device.name)) {
      missing.push_back(device.name);
    }
  }
  const json evidence{{"domains", domains},
                      {"fabrics", fabrics},
                      {"missing", missing},
                      {"fi_getinfo", facts.fabric.result},
                      {"libfabric", facts.libfabric_version}};
  if (!missing.empty()) {
    std::string message = finding_message("EFA_LIBFABRIC_DOMAIN_MISSING", domains.size(),
                                          facts.devices.size(), join(missing, ", "));
    if (facts.fabric.result != 0) {
      message += fmt::format(" (fi_getinfo: {})", facts.fabric.error);
    }
    checks.push_back(fire_check("EFA_LIBFABRIC_DOMAIN_MISSING", message, evidence));
  } else {
    checks.push_back(pass_check(
        "EFA_LIBFABRIC_DOMAIN_MISSING",
        fmt::format("libfabric {} efa provider: {} RDM domains, one per device (fabric {})",
                    facts.libfabric_version, domains.size(),
                    join(std::vector<std::string>(fabrics.begin(), fabrics.end()), ", ")),
        evidence));
  }
}

void judge_counters(std::vector<Check>& checks, const EfaFacts& facts,
                    const std::optional<EfaBaseline>& baseline) {
  if (facts.devices.empty()) {
    return;
  }
  // Setup errors: absolute values without a baseline, rises with one.
  int setup_devices = 0;
  int setup_fired = 0;
  for (const EfaDevice& device : facts.devices) {
    if (device.setup_counters_location.empty()) {
      continue;
    }
    // Before the kernel split device and port statistics they are among port 1's counters.
    const CounterMap* current = &device.device_counters;
    if (device.setup_counters_location != "hw_counters") {
      const auto port = std::find_if(device.ports.begin(), device.ports.end(),
                                     [](const EfaPort& p) { return p.number == 1; });
      if (port == device.ports.end()) {
        continue;
      }
      current = &port->counters;
    }
    ++setup_devices;
    std::vector<std::string> errors;
    for (const auto& name : efa_setup_error_counter_names()) {
      std::optional<std::int64_t> value;
      if (baseline) {
        const auto device_deltas = baseline->deltas.deltas.find(device.name);
        if (device_deltas != baseline->deltas.deltas.end()) {
          const auto it = device_deltas->second.find(name);
          if (it != device_deltas->second.end()) {
            value = it->second;
          }
        }
      } else if (const auto it = current->find(name); it != current->end()) {
        value = it->second;
      }
      if (value && *value > 0) {
        errors.push_back(fmt::format("{} {}{}", name, baseline ? "+" : "", *value));
      }
    }
    if (!errors.empty()) {
      ++setup_fired;
      checks.push_back(fire_check(
          "EFA_SETUP_ERRORS", finding_message("EFA_SETUP_ERRORS", device.name, join(errors, ", ")),
          {{"device", device.name},
           {"since_baseline", baseline.has_value()},
           {"location", device.setup_counters_location}}));
    }
  }
  if (setup_devices == 0) {
    checks.push_back(skip_check(
        "EFA_SETUP_ERRORS",
        "no setup error counters (neither <dev>/hw_counters nor ports/1/hw_counters lists them)"));
  } else if (setup_fired == 0) {
    checks.push_back(pass_check(
        "EFA_SETUP_ERRORS",
        fmt::format("setup error counters {} on {} device{}", baseline ? "unchanged" : "zero",
                    setup_devices, setup_devices == 1 ? "" : "s")));
  }

  if (!baseline) {
    checks.push_back(skip_check(
        "EFA_ERROR_COUNTERS_RISING",
        "no --baseline-counters: error counters are cumulative, only a rise since a snapshot "
        "(--save-counters) says something"));
    return;
  }
  int compared = static_cast<int>(baseline->deltas.deltas.size());
  const auto findings = efa_counter_findings(baseline->deltas.deltas, baseline->interval_s);
  for (const EfaCounterFinding& finding : findings) {
    checks.push_back(fire_check(
        finding.id, finding.message(),
        {{"device", finding.device},
         {"deltas", finding.rises},
         {"baseline", baseline->path},
         {"interval_s", baseline->interval_s ? json(*baseline->interval_s) : json(nullptr)}}));
  }
  const int rising_devices = static_cast<int>(findings.size());
  if (rising_devices == 0) {
    json evidence{{"baseline", baseline->path}, {"taken_at", baseline->taken_at}};
    if (!baseline->deltas.reset.empty()) {
      evidence["reset"] = baseline->deltas.reset;
    }
    if (!baseline->deltas.devices_gone.empty()) {
      evidence["devices_gone"] = baseline->deltas.devices_gone;
    }
    if (compared == 0) {
      checks.push_back(skip_check("EFA_ERROR_COUNTERS_RISING",
                                  "no device in both the baseline and now", evidence));
    } else {
      checks.push_back(pass_check(
          "EFA_ERROR_COUNTERS_RISING",
          fmt::format("no error counter rose above its threshold on {} device{} since {}", compared,
                      compared == 1 ? "" : "s", baseline->path),
          evidence));
    }
  }
}

}  // namespace

std::vector<Check> judge_efa(const EfaFacts& facts, const Platform* platform,
                             const std::optional<EfaBaseline>& baseline) {
  std::vector<Check> checks;
  judge_count(checks, facts, platform);
  if (facts.devices.empty()) {
    return checks;
  }
  judge_ports(checks, facts, platform);
  judge_verbs(checks, facts);
  judge_device_rdma(checks, facts);
  judge_fabric(checks, facts);
  judge_counters(checks, facts, baseline);
  return checks;
}

json efa_details(const EfaFacts& facts) {
  json devices = json::array();
  for (const EfaDevice& device : facts.devices) {
    json ports = json::array();
    for (const EfaPort& port : device.ports) {
      std::vector<std::string> absent;
      for (const auto& name : efa_port_counter_names()) {
        if (!port.counters.contains(name)) {
          absent.push_back(name);
        }
      }
      json entry{{"port", port.number},
                 {"state", port.state_text},
                 {"phys_state", port.phys_state_text},
                 {"rate", port.rate_text},
                 {"link_layer", port.link_layer},
                 {"hw_counters", port.counters},
                 {"absent_counters", absent}};
      entry["rate_gbps"] = port.rate_gbps ? json(*port.rate_gbps) : json(nullptr);
      if (!port.unreadable.empty()) {
        entry["unreadable_counters"] = port.unreadable;
      }
      ports.push_back(entry);
    }
    std::vector<std::string> absent_device;
    for (const auto& name : efa_device_counter_names()) {
      if (!device.device_counters.contains(name)) {
        absent_device.push_back(name);
      }
    }
    json entry{{"name", device.name},
               {"pci_bus_id", device.pci_bus_id},
               {"device_id", fmt::format("0x{:04x}", device.device_id)},
               {"device_id_in_table", find_efa_device_id(device.device_id).has_value()},
               {"setup_counters", device.setup_counters_location},
               {"ports", ports},
               {"device_hw_counters", device.device_counters},
               {"absent_device_counters", absent_device}};
    entry["numa_node"] = device.numa_node ? json(*device.numa_node) : json(nullptr);
    if (device.verbs) {
      json verbs{{"firmware", device.verbs->firmware},
                 {"vendor_part_id", device.verbs->vendor_part_id},
                 {"max_qp", device.verbs->max_qp},
                 {"max_mr_size", device.verbs->max_mr_size},
                 {"port_state", device.verbs->port_state},
                 {"port_phys_state", device.verbs->port_phys_state},
                 {"max_rdma_size", device.verbs->max_rdma_size},
                 {"error", device.verbs->error}};
      if (device.verbs->rdma_read) {
        verbs["rdma_read"] = *device.verbs->rdma_read;
      }
      if (device.verbs->rdma_write) {
        verbs["rdma_write"] = *device.verbs->rdma_write;
      }
      entry["verbs"] = verbs;
    }
    devices.push_back(entry);
  }
  const LinkRateReporting reporting =
      efa_link_rate_reporting(facts.efa_module_version, facts.kernel_release);
  return {{"source", facts.source},
          {"driver",
           {{"kernel", facts.kernel_release},
            {"efa_module", facts.efa_module_version},
            {"rate_reported_truly", reporting.truthful},
            {"rate_reporting",
             reporting.truthful ? reporting.driver + " reports the link speed" : reporting.why}}},
          {"libfabric_version", facts.libfabric_version},
          {"libfabric_source", facts.libfabric_source},
          {"devices", devices},
          {"other_rdma_devices", facts.other_rdma_devices},
          {"count_retries", facts.count_retries},
          {"verbs", facts.verbs_queried ? std::string("queried") : facts.verbs_reason},
          {"libfabric", facts.fabric_queried ? std::string("queried") : facts.fabric_reason}};
}

json efa_inventory(const EfaFacts& facts) {
  json efa = json::array();
  for (const EfaDevice& device : facts.devices) {
    json entry{{"name", device.name},
               {"pci_bus_id", device.pci_bus_id},
               {"device_id", fmt::format("0x{:04x}", device.device_id)}};
    entry["numa_node"] = device.numa_node ? json(*device.numa_node) : json(nullptr);
    if (!device.ports.empty()) {
      entry["port_state"] = device.ports.front().state_text;
      entry["rate"] = device.ports.front().rate_text;
    }
    efa.push_back(entry);
  }
  return efa;
}

}  // namespace preflight::probes
