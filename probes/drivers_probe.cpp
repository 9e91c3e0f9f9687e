#include "probes/drivers_probe.hpp"

#include "probes/judge_drivers.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;

json gpu_inventory(const DriverFacts& facts) {
  json gpus = json::array();
  if (facts.nvml.available) {
    for (const NvmlGpu& gpu : facts.nvml.gpus) {
      json entry{{"index", gpu.index}, {"name", gpu.name}, {"pci_bus_id", gpu.pci_bus_id}};
      if (gpu.persistence_on) {
        entry["persistence"] = *gpu.persistence_on;
      }
      if (gpu.ecc_enabled) {
        entry["ecc"] = *gpu.ecc_enabled;
      }
      if (gpu.nvlinks_up) {
        entry["nvlinks_up"] = *gpu.nvlinks_up;
      }
      if (gpu.pcie_gen_current && gpu.pcie_width_current) {
        entry["pcie_current"] = "Gen" + std::to_string(*gpu.pcie_gen_current) + " x" +
                                std::to_string(*gpu.pcie_width_current);
      }
      gpus.push_back(entry);
    }
    return gpus;
  }
  int index = 0;
  for (const PciDevice* device : facts.pci_gpus()) {
    json entry{{"index", index++},
               {"pci_bus_id", device->address},
               {"pci_id", fmt::format("{:04x}:{:04x}", device->vendor, device->device)}};
    if (device->numa_node) {
      entry["numa_node"] = *device->numa_node;
    }
    gpus.push_back(entry);
  }
  return gpus;
}

}  // namespace

DriversRun run_drivers(const ProbeOptions& options) {
  const RootFs fs(options.root);
  const PlatformContext context = resolve_platform(fs, instance_query(options));
  DriversRun run;
  run.facts = gather_drivers(fs);
  run.report = start_probe_report(kDriversTool, options, context);
  add_platform_check(run.report.checks, context);
  for (auto& check : judge_drivers(run.facts, context.platform)) {
    run.report.checks.push_back(std::move(check));
  }
  run.report.inventory.gpus = gpu_inventory(run.facts);
  auto& versions = run.report.inventory.versions;
  const auto put = [&](const char* key, const ComponentFact& fact) {
    if (fact.present) {
      versions[key] = fact.display;
    }
  };
  put("nvidia_driver", run.facts.nvidia_driver);
  put("cuda_driver", run.facts.cuda_driver);
  put("efa_kmod", run.facts.efa_kmod);
  put("nvidia_peermem", run.facts.nvidia_peermem);
  put("gdrdrv", run.facts.gdrdrv);
  put("kernel", run.facts.kernel);
  run.report.details["root"] = options.root;
  run.report.details["platform_source"] = context.source;
  run.report.details["nvswitches"] = run.facts.pci_nvswitches().size();
  finish_report(run.report, options.common.warn_as_fail, options.common.deterministic);
  return run;
}

}  // namespace preflight::probes
