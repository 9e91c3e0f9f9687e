// preflight-topology: GPUs, EFA devices, NVSwitches and NUMA nodes; the distance class of every
// GPU/EFA pair; the NIC each local rank should use; checked against the platform.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/status.hpp"
#include "probes/topology_probe.hpp"

int main(int argc, char** argv) {
  using namespace preflight;
  using namespace preflight::probes;
  return run_guarded(kTopologyTool, [&] {
    CLI::App app(
        "Map GPUs to EFA devices (PIX/PXB/PHB/NODE/SYS, as nvidia-smi topo -m), suggest the NIC of "
        "each local rank, and check counts, NUMA placement and PCIe links against the platform.",
        std::string(kTopologyTool));
    TopologyOptions options;
    add_probe_options(app, options.probe,
                      "Walk this sysfs tree (sys/bus/pci/devices/*, PCI paths from the entries' "
                      "link targets; sys/class/infiniband) instead of the live machine. Entries "
                      "that are plain directories have no PCI path: their distances come from "
                      "NUMA nodes only. Without sys/bus/pci/devices only EFA devices are known.");
    app.add_option("--hwloc-xml", options.hwloc_xml,
                   "Read the topology from an hwloc XML export (lstopo --of xml) instead of the "
                   "live machine; hwloc 3.0 files are converted")
        ->option_text("FILE");
    app.add_option("--format", options.format,
                   "text: one line per GPU with its NICs; matrix: the GPU x EFA distance matrix")
        ->check(CLI::IsMember({"text", "matrix"}));
    app.footer(exit_codes_help());
    bind_environment(app);
    if (const auto stop = parse_command_line(app, argc, argv, &options.probe.common)) {
      return *stop;
    }
    capture_process(options.probe, argc, argv, environ);
    const TopologyRun run = run_topology(options);
    return emit_report(run.report, options.probe.common, run.text);
  });
}
