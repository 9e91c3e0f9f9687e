#include "probes/judge_efa.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/findings.hpp"
#include "common/text.hpp"
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
    checks.push_back(finding_check("EFA_COUNT_MISMATCH", message, evidence));
  } else {
    checks.push_back(pass_check(
        "EFA_COUNT_MISMATCH",
        fmt::format("{} EFA devices, as {} has", count, platform->instance_type), evidence));
  }
}

void judge_ports(std::vector<Check>& checks, const EfaFacts& facts, const Platform* platform) {
  int healthy = 0;
  int unknown = 0;
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
        checks.push_back(finding_check("EFA_PORT_DOWN",
                                       finding_message("EFA_PORT_DOWN", device.name, port.number,
                                                       port.state_text, port.phys_state_text),
                                       {{"device", device.name},
                                        {"pci_bus_id", device.pci_bus_id},
                                        {"port", port.number},
                                        {"state", port.state_text},
                                        {"phys_state", port.phys_state_text}}));
      } else {
        ++healthy;
      }
    }
  }
  const bool fired = std::any_of(checks.begin(), checks.end(),
                                 [](const Check& c) { return c.id == "EFA_PORT_DOWN"; });
  if (!fired && healthy > 0) {
    checks.push_back(
        pass_check("EFA_PORT_DOWN",
                   fmt::format("{} port{} ACTIVE / LinkUp{}", healthy, healthy == 1 ? "" : "s",
                               unknown > 0 ? fmt::format(" ({} without state files)", unknown)
                                           : std::string())));
  } else if (!fired && unknown > 0) {
    checks.push_back(skip_check("EFA_PORT_DOWN", "no port state files"));
  }

  const auto expected =
      platform != nullptr ? platform->efa_rate_per_device_gbps() : std::optional<double>{};
  if (!expected) {
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
        checks.push_back(
            finding_check("EFA_PORT_RATE_LOW",
                          finding_message("EFA_PORT_RATE_LOW", device.name, port.number,
                                          *port.rate_gbps, platform->instance_type, *expected),
                          {{"device", device.name}, {"rate", port.rate_text}}));
      }
    }
  }
  if (rated > 0 && slow == 0) {
    checks.push_back(
        pass_check("EFA_PORT_RATE_LOW",
                   fmt::format("{} port{} at {:g} Gb/s ({} Gb/s aggregate expected)", rated,
                               rated == 1 ? "" : "s", *expected, *platform->efa_aggregate_gbps)));
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
      checks.push_back(finding_check(
          "EFA_DEVICE_UNREADABLE",
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
      checks.push_back(finding_check("EFA_RDMA_READ_UNSUPPORTED",
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
    std::string domain = entry.domain;
    if (const auto dash = domain.rfind('-'); dash != std::string::npos) {
      domain.resize(dash);  // "rdmap79s0-rdm" -> "rdmap79s0"
    }
    domains.insert(domain);
    fabrics.insert(entry.fabric);
  }
  std::vector<std::string> missing;
  for (const EfaDevice& device : facts.devices) {
    if (domains.count(device.name) == 0) {
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
    checks.push_back(finding_check("EFA_LIBFABRIC_DOMAIN_MISSING", message, evidence));
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
    if (!device.device_counters_present) {
      continue;
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
      } else if (const auto it = device.device_counters.find(name);
                 it != device.device_counters.end()) {
        value = it->second;
      }
      if (value && *value > 0) {
        errors.push_back(fmt::format("{} {}{}", name, baseline ? "+" : "", *value));
      }
    }
    if (!errors.empty()) {
      ++setup_fired;
      checks.push_back(finding_check(
          "EFA_SETUP_ERRORS", finding_message("EFA_SETUP_ERRORS", device.name, join(errors, ", ")),
          {{"device", device.name}, {"since_baseline", baseline.has_value()}}));
    }
  }
  if (setup_devices == 0) {
    checks.push_back(skip_check("EFA_SETUP_ERRORS", "no device-level hw_counters directory"));
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
  int rising_devices = 0;
  int compared = 0;
  for (const auto& [device, deltas] : baseline->deltas.deltas) {
    ++compared;
    std::vector<std::string> rises;
    json rose = json::object();
    for (const auto& name : efa_health_counter_names()) {
      const auto it = deltas.find(name);
      if (it != deltas.end() && it->second > 0) {
        rises.push_back(fmt::format("{} +{}", name, it->second));
        rose[name] = it->second;
      }
    }
    if (!rises.empty()) {
      ++rising_devices;
      checks.push_back(
          finding_check("EFA_ERROR_COUNTERS_RISING",
                        finding_message("EFA_ERROR_COUNTERS_RISING", device, join(rises, ", ")),
                        {{"device", device}, {"deltas", rose}, {"baseline", baseline->path}}));
    }
  }
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
      checks.push_back(pass_check("EFA_ERROR_COUNTERS_RISING",
                                  fmt::format("no error counter rose on {} device{} since {}",
                                              compared, compared == 1 ? "" : "s", baseline->path),
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
        if (port.counters.count(name) == 0) {
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
      if (device.device_counters.count(name) == 0) {
        absent_device.push_back(name);
      }
    }
    json entry{{"name", device.name},
               {"pci_bus_id", device.pci_bus_id},
               {"device_id", fmt::format("0x{:04x}", device.device_id)},
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
  return {{"source", facts.source},
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
