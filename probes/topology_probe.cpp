#include "probes/topology_probe.hpp"

#include "common/error.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;

json inventory_devices(const std::vector<TopoDevice>& devices) {
  json out = json::array();
  for (std::size_t i = 0; i < devices.size(); ++i) {
    json entry{{"index", i}, {"name", devices[i].name}, {"pci_bus_id", devices[i].pci_bus_id}};
    entry["numa_node"] = devices[i].numa_node ? json(*devices[i].numa_node) : json(nullptr);
    out.push_back(entry);
  }
  return out;
}

}  // namespace

TopologyRun run_topology(const TopologyOptions& options) {
  const RootFs fs(options.probe.root);
  TopologyRun run;
  InstanceTypeQuery query = instance_query(options.probe);
  if (!options.hwloc_xml.empty()) {
    if (!fs.is_live()) {
      throw UsageError("--hwloc-xml and --root are two different inputs: give one");
    }
    run.facts = gather_topology_xml_file(options.hwloc_xml);
    // The file describes another machine: its own record names the type, never this machine.
    query.input_hint = run.facts.product_name;
    query.consult_machine = false;
  } else if (!fs.is_live()) {
    run.facts = gather_topology_sysfs(fs);
  } else {
    run.facts = gather_topology_live();
  }
  const PlatformContext context = resolve_platform(fs, query);
  run.analysis = analyse_topology(run.facts, context.platform);
  run.report = start_probe_report(kTopologyTool, options.probe, context);
  add_platform_check(run.report.checks, context);
  for (auto& check : judge_topology(run.facts, run.analysis, context.platform)) {
    run.report.checks.push_back(std::move(check));
  }
  run.report.inventory.gpus = inventory_devices(run.facts.gpus);
  run.report.inventory.efa = inventory_devices(run.facts.efa);
  run.report.details["topology"] = topology_details(run.facts, run.analysis);
  run.report.details["platform_source"] = context.source;
  if (run.facts.available) {
    run.text = options.format == "matrix" ? render_topology_matrix(run.facts, run.analysis)
                                          : render_topology_summary(run.facts, run.analysis);
  }
  finish_report(run.report, options.probe.common.warn_as_fail, options.probe.common.deterministic);
  return run;
}

}  // namespace preflight::probes
