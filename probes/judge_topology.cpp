#include "probes/judge_topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "common/findings.hpp"
#include "common/text.hpp"
#include "probes/judge_drivers.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;
using reports::Check;

// hwloc reports only the current link; a device is down-trained when it is this much slower
// than the fastest of its kind (same vendor:device) on the machine.
constexpr double kSiblingSpeedRatio = 0.99;

Distance numa_distance(const TopoDevice& a, const TopoDevice& b) {
  return a.numa_node == b.numa_node ? Distance::node : Distance::sys;
}

std::string device_label(const TopoDevice& device) {
  return device.name == device.pci_bus_id ? device.name
                                          : fmt::format("{} ({})", device.name, device.pci_bus_id);
}

std::string numa_text(const std::optional<int>& numa) {
  return numa ? std::to_string(*numa) : std::string("?");
}

void judge_counts(std::vector<Check>& checks, const TopologyFacts& facts,
                  const Platform* platform) {
  if (platform == nullptr) {
    return;  // PLATFORM_UNKNOWN says why
  }
  const int gpus = static_cast<int>(facts.gpus.size());
  const int efa = static_cast<int>(facts.efa.size());
  const json gpu_evidence{{"found", gpus}, {"expected", platform->gpu_count}};
  if (!facts.gpus_known) {
    checks.push_back(
        skip_check("GPU_COUNT_MISMATCH", "GPUs unknown: the input has no PCI inventory"));
  } else if (gpus != platform->gpu_count) {
    checks.push_back(fire_check(
        "GPU_COUNT_MISMATCH",
        finding_message("GPU_COUNT_MISMATCH", gpus, platform->instance_type, platform->gpu_count),
        gpu_evidence));
  } else {
    checks.push_back(pass_check("GPU_COUNT_MISMATCH",
                                fmt::format("{} GPUs, as {} has", gpus, platform->instance_type),
                                gpu_evidence));
  }
  const json efa_evidence{{"found", efa}, {"expected", platform->efa_count}};
  if (efa != platform->efa_count) {
    checks.push_back(fire_check(
        "EFA_COUNT_MISMATCH",
        finding_message("EFA_COUNT_MISMATCH", efa, platform->instance_type, platform->efa_count),
        efa_evidence));
  } else {
    checks.push_back(pass_check(
        "EFA_COUNT_MISMATCH",
        fmt::format("{} EFA devices, as {} has", efa, platform->instance_type), efa_evidence));
  }
}

void judge_placement(std::vector<Check>& checks, const TopologyFacts& facts,
                     const TopologyAnalysis& analysis, const Platform* platform) {
  if (facts.gpus.empty() || facts.efa.empty()) {
    const std::string reason =
        facts.gpus.empty() ? (facts.gpus_known ? "no GPU" : "GPUs unknown") : "no EFA device";
    if (platform != nullptr) {
      checks.push_back(skip_check("EFA_PER_GPU_MISMATCH", "GPU/EFA placement: " + reason));
    }
    checks.push_back(skip_check("GPU_NIC_CROSS_NUMA", "GPU/EFA NUMA placement: " + reason));
    return;
  }
  if (platform != nullptr) {
    int fired = 0;
    for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
      const int local = static_cast<int>(analysis.gpus[g].local.size());
      if (local != platform->efa_per_group) {
        ++fired;
        json names = json::array();
        for (const auto& link : analysis.gpus[g].local) {
          names.push_back(facts.efa[link.efa].name);
        }
        checks.push_back(
            fire_check("EFA_PER_GPU_MISMATCH",
                       finding_message("EFA_PER_GPU_MISMATCH", device_label(facts.gpus[g]), local,
                                       platform->instance_type, platform->efa_per_group),
                       {{"gpu", facts.gpus[g].pci_bus_id}, {"local_efa", names}}));
      }
    }
    if (fired == 0) {
      checks.push_back(pass_check(
          "EFA_PER_GPU_MISMATCH",
          fmt::format("every GPU has {} EFA device{} behind its own PCIe switch",
                      platform->efa_per_group, platform->efa_per_group == 1 ? "" : "s")));
    }
  }
  int cross = 0;
  int known = 0;
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    const TopoDevice& gpu = facts.gpus[g];
    for (const EfaLink& link : analysis.gpus[g].assigned) {
      const TopoDevice& efa = facts.efa[link.efa];
      if (!gpu.numa_node || !efa.numa_node) {
        continue;
      }
      ++known;
      if (*gpu.numa_node != *efa.numa_node) {
        ++cross;
        checks.push_back(
            fire_check("GPU_NIC_CROSS_NUMA",
                       finding_message("GPU_NIC_CROSS_NUMA", device_label(efa), *efa.numa_node,
                                       device_label(gpu), *gpu.numa_node),
                       {{"gpu", gpu.pci_bus_id},
                        {"efa", efa.pci_bus_id},
                        {"distance", to_string(link.distance)}}));
      }
    }
  }
  if (known == 0) {
    checks.push_back(skip_check("GPU_NIC_CROSS_NUMA", "NUMA nodes of the GPUs or EFA unknown"));
  } else if (cross == 0) {
    checks.push_back(pass_check("GPU_NIC_CROSS_NUMA",
                                fmt::format("every GPU's EFA devices are on its NUMA node ({} "
                                            "pairs)",
                                            known)));
  }
}

// hwloc view: the current link bandwidth against the fastest sibling of the same kind.
std::vector<Check> judge_sibling_links(const std::vector<const TopoDevice*>& devices) {
  std::map<std::pair<std::uint32_t, std::uint32_t>, double> fastest;
  for (const TopoDevice* device : devices) {
    if (device->link_gbytes_per_s) {
      double& best = fastest[{device->vendor, device->device}];
      best = std::max(best, *device->link_gbytes_per_s);
    }
  }
  std::vector<Check> checks;
  int compared = 0;
  for (const TopoDevice* device : devices) {
    if (!device->link_gbytes_per_s) {
      continue;
    }
    ++compared;
    const double best = fastest[{device->vendor, device->device}];
    if (*device->link_gbytes_per_s < best * kSiblingSpeedRatio) {
      checks.push_back(fire_check(
          "PCIE_LINK_DOWNTRAINED",
          fmt::format("PCIe link of {} runs at {:.1f} GB/s where its peers of the same kind "
                      "({:04x}:{:04x}) run at {:.1f} GB/s (hwloc reports the current link only)",
                      device_label(*device), *device->link_gbytes_per_s, device->vendor,
                      device->device, best),
          {{"pci_bus_id", device->pci_bus_id},
           {"link_GBps", *device->link_gbytes_per_s},
           {"peer_link_GBps", best}}));
    }
  }
  if (compared > 0 && checks.empty()) {
    checks.push_back(
        pass_check("PCIE_LINK_DOWNTRAINED",
                   fmt::format("{} GPU/EFA/NVSwitch links as fast as their peers of the same kind",
                               compared)));
  }
  return checks;
}

void judge_links(std::vector<Check>& checks, const TopologyFacts& facts) {
  std::vector<const TopoDevice*> devices;
  for (const auto* group : {&facts.gpus, &facts.efa, &facts.nvswitches}) {
    for (const auto& device : *group) {
      devices.push_back(&device);
    }
  }
  // Sysfs inputs carry maximum link attributes: compare each link with its own maximum.
  std::vector<PciDevice> with_max;
  for (const TopoDevice* device : devices) {
    if (device->link.max_width || device->link.max_speed_gts) {
      PciDevice pci;
      pci.address = device->pci_bus_id;
      pci.vendor = device->vendor;
      pci.device = device->device;
      pci.class_code = device->kind == DeviceKind::gpu ? 0x030200U : 0x020000U;
      pci.link = device->link;
      with_max.push_back(pci);
    }
  }
  std::vector<Check> found;
  if (!with_max.empty()) {
    std::vector<const PciDevice*> pointers;
    for (const auto& pci : with_max) {
      pointers.push_back(&pci);
    }
    found = judge_pci_links(pointers, "GPU/EFA/NVSwitch");
  } else {
    found = judge_sibling_links(devices);
  }
  if (found.empty()) {
    checks.push_back(skip_check(
        "PCIE_LINK_DOWNTRAINED",
        devices.empty() ? "no GPU, EFA or NVSwitch" : "no link speed known for these devices"));
  }
  for (auto& check : found) {
    checks.push_back(std::move(check));
  }
}

}  // namespace

std::string_view to_string(Distance distance) {
  switch (distance) {
    case Distance::pix:
      return "PIX";
    case Distance::pxb:
      return "PXB";
    case Distance::phb:
      return "PHB";
    case Distance::node:
      return "NODE";
    case Distance::sys:
      return "SYS";
  }
  return "SYS";
}

bool is_local(Distance distance) {
  return distance == Distance::pix || distance == Distance::pxb;
}

Distance classify_distance(const TopoDevice& a, const TopoDevice& b) {
  if (a.path.empty() || b.path.empty()) {
    return numa_distance(a, b);
  }
  std::size_t common = 0;
  while (common < a.path.size() && common < b.path.size() &&
         a.path[common].id == b.path[common].id) {
    ++common;
  }
  if (common == 0) {
    return numa_distance(a, b);
  }
  if (a.path[common - 1].kind == HopKind::host_bridge) {
    return Distance::phb;
  }
  // Below the shared bridge: one downstream port per side is still the same switch.
  const std::size_t below_a = a.path.size() - common;
  const std::size_t below_b = b.path.size() - common;
  return below_a <= 1 && below_b <= 1 ? Distance::pix : Distance::pxb;
}

TopologyAnalysis analyse_topology(const TopologyFacts& facts, const Platform* platform) {
  TopologyAnalysis analysis;
  const int gpus = static_cast<int>(facts.gpus.size());
  const int efa = static_cast<int>(facts.efa.size());
  if (platform != nullptr) {
    analysis.efa_needed_per_gpu = platform->efa_per_group;
    analysis.gpus_per_efa = platform->gpus_per_group;
  } else if (gpus > 0 && efa > 0) {
    analysis.efa_needed_per_gpu = std::max(1, efa / gpus);
    analysis.gpus_per_efa = std::max(1, gpus / efa);
  }
  analysis.matrix.assign(facts.gpus.size(), std::vector<Distance>(facts.efa.size()));
  analysis.gpus.resize(facts.gpus.size());
  std::vector<int> capacity(facts.efa.size(), analysis.gpus_per_efa);
  // Closest first, then PCI order: a deterministic choice among equals.
  std::vector<std::vector<EfaLink>> ranked(facts.gpus.size());
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    for (std::size_t e = 0; e < facts.efa.size(); ++e) {
      const Distance distance = classify_distance(facts.gpus[g], facts.efa[e]);
      analysis.matrix[g][e] = distance;
      ranked[g].push_back({e, distance});
    }
    std::stable_sort(ranked[g].begin(), ranked[g].end(),
                     [](const EfaLink& x, const EfaLink& y) { return x.distance < y.distance; });
    for (const EfaLink& link : ranked[g]) {
      if (is_local(link.distance)) {
        analysis.gpus[g].local.push_back(link);
      }
      if (link.distance == ranked[g].front().distance) {
        analysis.gpus[g].nearest.push_back(link);
      }
    }
  }
  const auto take = [&](std::size_t g, bool local_only) {
    auto& assigned = analysis.gpus[g].assigned;
    for (const EfaLink& link : ranked[g]) {
      if (static_cast<int>(assigned.size()) >= analysis.efa_needed_per_gpu) {
        return;
      }
      if ((local_only && !is_local(link.distance)) || capacity[link.efa] == 0 ||
          std::any_of(assigned.begin(), assigned.end(),
                      [&](const EfaLink& taken) { return taken.efa == link.efa; })) {
        continue;
      }
      --capacity[link.efa];
      assigned.push_back(link);
    }
  };
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    take(g, true);
  }
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    take(g, false);
  }
  return analysis;
}

std::vector<Check> judge_topology(const TopologyFacts& facts, const TopologyAnalysis& analysis,
                                  const Platform* platform) {
  std::vector<Check> checks;
  if (!facts.available) {
    checks.push_back(
        skip_check("TOPOLOGY_UNAVAILABLE", finding_message("TOPOLOGY_UNAVAILABLE", facts.reason)));
    return checks;
  }
  judge_counts(checks, facts, platform);
  judge_placement(checks, facts, analysis, platform);
  judge_links(checks, facts);
  return checks;
}

std::vector<RailSlot> rail_order(const TopologyFacts& facts, const TopologyAnalysis& analysis) {
  std::vector<RailSlot> slots;
  std::vector<std::optional<std::size_t>> slot_of(facts.efa.size());
  for (std::size_t g = 0; g < analysis.gpus.size(); ++g) {
    const GpuPlacement& placement = analysis.gpus[g];
    for (const EfaLink& link :
         placement.assigned.empty() ? placement.nearest : placement.assigned) {
      if (!slot_of[link.efa]) {
        slot_of[link.efa] = slots.size();
        slots.push_back({link.efa, {}});
      }
      slots[*slot_of[link.efa]].gpus.push_back(static_cast<int>(g));
    }
  }
  for (std::size_t e = 0; e < facts.efa.size(); ++e) {  // facts.efa is in PCI order
    if (!slot_of[e]) {
      slots.push_back({e, {}});
    }
  }
  return slots;
}

json topology_details(const TopologyFacts& facts, const TopologyAnalysis& analysis) {
  const auto links_json = [&](const std::vector<EfaLink>& links) {
    json out = json::array();
    for (const EfaLink& link : links) {
      out.push_back({{"name", facts.efa[link.efa].name},
                     {"pci_bus_id", facts.efa[link.efa].pci_bus_id},
                     {"class", to_string(link.distance)}});
    }
    return out;
  };
  const auto device_json = [](const TopoDevice& device, std::size_t index) {
    json entry{{"index", index},
               {"name", device.name},
               {"pci_bus_id", device.pci_bus_id},
               {"pci_id", fmt::format("{:04x}:{:04x}", device.vendor, device.device)}};
    entry["numa_node"] = device.numa_node ? json(*device.numa_node) : json(nullptr);
    if (device.link_gbytes_per_s) {
      entry["link_GBps"] = *device.link_gbytes_per_s;
    }
    return entry;
  };
  json gpus = json::array();
  json suggested = json::array();
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    json entry = device_json(facts.gpus[g], g);
    entry["local_efa"] = links_json(analysis.gpus[g].local);
    entry["nearest_efa"] = links_json(analysis.gpus[g].nearest);
    entry["assigned_efa"] = links_json(analysis.gpus[g].assigned);
    gpus.push_back(entry);
    // Local rank g drives GPU g (PCI order, as CUDA_DEVICE_ORDER=PCI_BUS_ID and NVML number
    // them); its NICs are the assigned ones, else the nearest.
    const auto& chosen =
        analysis.gpus[g].assigned.empty() ? analysis.gpus[g].nearest : analysis.gpus[g].assigned;
    json nics = json::array();
    for (const EfaLink& link : chosen) {
      nics.push_back(facts.efa[link.efa].name);
    }
    suggested.push_back({{"local_rank", g},
                         {"gpu", facts.gpus[g].name},
                         {"pci_bus_id", facts.gpus[g].pci_bus_id},
                         {"efa", nics}});
  }
  json efa = json::array();
  for (std::size_t e = 0; e < facts.efa.size(); ++e) {
    efa.push_back(device_json(facts.efa[e], e));
  }
  json nvswitches = json::array();
  for (std::size_t s = 0; s < facts.nvswitches.size(); ++s) {
    nvswitches.push_back(device_json(facts.nvswitches[s], s));
  }
  json other = json::array();
  for (std::size_t r = 0; r < facts.other_rdma.size(); ++r) {
    other.push_back(device_json(facts.other_rdma[r], r));
  }
  json matrix_rows = json::array();
  for (const auto& row : analysis.matrix) {
    json classes = json::array();
    for (const Distance distance : row) {
      classes.push_back(to_string(distance));
    }
    matrix_rows.push_back(classes);
  }
  json gpu_names = json::array();
  for (const auto& gpu : facts.gpus) {
    gpu_names.push_back(gpu.name);
  }
  json efa_names = json::array();
  for (const auto& device : facts.efa) {
    efa_names.push_back(device.name);
  }
  // The order preflight-p2p --rails numbers this node's devices in.
  json rails = json::array();
  for (const RailSlot& slot : rail_order(facts, analysis)) {
    rails.push_back(
        {{"rail", rails.size()}, {"efa", facts.efa[slot.efa].name}, {"gpus", slot.gpus}});
  }
  return {{"source", facts.source},
          {"numa_nodes", facts.numa_nodes},
          {"pcie_switches", facts.pcie_switches},
          {"gpus", gpus},
          {"efa", efa},
          {"nvswitches", nvswitches},
          {"other_rdma", other},
          {"efa_needed_per_gpu", analysis.efa_needed_per_gpu},
          {"gpus_per_efa", analysis.gpus_per_efa},
          {"matrix", {{"gpus", gpu_names}, {"efa", efa_names}, {"classes", matrix_rows}}},
          {"suggested_nic_per_local_rank", suggested},
          {"rails", rails},
          {"notes", facts.notes}};
}

std::string render_topology_summary(const TopologyFacts& facts, const TopologyAnalysis& analysis) {
  std::string out =
      fmt::format("# topology from {}: {} GPU, {} EFA, {} NVSwitch, {} NUMA node{}\n", facts.source,
                  facts.gpus.size(), facts.efa.size(), facts.nvswitches.size(), facts.numa_nodes,
                  facts.numa_nodes == 1 ? "" : "s");
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    std::vector<std::string> nics;
    const auto& chosen =
        analysis.gpus[g].assigned.empty() ? analysis.gpus[g].nearest : analysis.gpus[g].assigned;
    for (const EfaLink& link : chosen) {
      nics.push_back(fmt::format("{} {}", facts.efa[link.efa].name, to_string(link.distance)));
    }
    out += fmt::format("GPU{:<3} {:<8} {}  NUMA {}  -> {}\n", g, facts.gpus[g].name,
                       facts.gpus[g].pci_bus_id, numa_text(facts.gpus[g].numa_node),
                       nics.empty() ? std::string("no EFA") : join(nics, ", "));
  }
  for (const auto& note : facts.notes) {
    out += "# note: " + note + "\n";
  }
  return out;
}

std::string render_topology_matrix(const TopologyFacts& facts, const TopologyAnalysis& analysis) {
  std::string out = fmt::format("{:<8}", "");
  for (std::size_t e = 0; e < facts.efa.size(); ++e) {
    out += fmt::format("{:<7}", fmt::format("NIC{}", e));
  }
  out += "NUMA Affinity\n";
  for (std::size_t g = 0; g < facts.gpus.size(); ++g) {
    out += fmt::format("{:<8}", fmt::format("GPU{}", g));
    for (std::size_t e = 0; e < facts.efa.size(); ++e) {
      out += fmt::format("{:<7}", to_string(analysis.matrix[g][e]));
    }
    out += numa_text(facts.gpus[g].numa_node) + "\n";
  }
  out +=
      "\nLegend:\n"
      "  PIX  = through at most a single PCIe switch\n"
      "  PXB  = through multiple PCIe bridges (without a PCIe host bridge)\n"
      "  PHB  = through a PCIe host bridge\n"
      "  NODE = between PCIe host bridges within a NUMA node\n"
      "  SYS  = across NUMA nodes (the inter-socket link)\n";
  if (!facts.efa.empty()) {
    out += "\nNIC Legend:\n";
    for (std::size_t e = 0; e < facts.efa.size(); ++e) {
      out += fmt::format("  NIC{}: {} ({}, NUMA {})\n", e, facts.efa[e].name,
                         facts.efa[e].pci_bus_id, numa_text(facts.efa[e].numa_node));
    }
  }
  out += "\n";
  return out;
}

}  // namespace preflight::probes
