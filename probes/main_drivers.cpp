// preflight-drivers: NVIDIA and EFA kernel drivers, GPU state (persistence, ECC, retired pages,
// row remapping, PCIe links, NVLink), GPUDirect RDMA path, gdrdrv, fabric manager, memlock.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/status.hpp"
#include "probes/drivers_probe.hpp"

int main(int argc, char** argv) {
  using namespace preflight;
  using namespace preflight::probes;
  return run_guarded(kDriversTool, [&] {
    CLI::App app("Check the NVIDIA and EFA kernel drivers and the GPU state they report.",
                 std::string(kDriversTool));
    ProbeOptions options;
    add_probe_options(app, options,
                      "Read every fact from this root (a fixture tree) instead of /: driver and "
                      "module versions from sys/module and proc/driver/nvidia/version, PCI links "
                      "from sys/bus/pci/devices, memlock from proc/self/limits. NVML and the CUDA "
                      "driver API describe the live machine and are not consulted.");
    app.footer(std::string("NVML (libnvidia-ml.so.1) and libcuda.so.1 are loaded at run time; "
                           "without them the GPU "
                           "rows are 'skip' with the reason.\n") +
               exit_codes_help());
    bind_environment(app);
    if (const auto stop = parse_command_line(app, argc, argv, &options.common)) {
      return *stop;
    }
    capture_process(options, argc, argv, environ);
    const DriversRun run = run_drivers(options);
    return emit_report(run.report, options.common);
  });
}
