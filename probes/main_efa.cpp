// preflight-efa: EFA device count, port state, capabilities, libfabric domains and hw_counters
// (snapshots and deltas against a baseline).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/atomic_file.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/status.hpp"
#include "probes/efa_probe.hpp"

int main(int argc, char** argv) {
  using namespace preflight;
  using namespace preflight::probes;
  return run_guarded(kEfaTool, [&] {
    CLI::App app(
        "Check EFA devices: count against the platform, port state and rate, RDMA read "
        "capability, libfabric efa domains, and hw_counters (deltas since a baseline snapshot).",
        std::string(kEfaTool));
    EfaOptions options;
    add_probe_options(app, options.probe,
                      "Read the devices, ports and hw_counters from this sysfs tree instead of "
                      "/. ibverbs and libfabric describe the live machine and are not consulted.");
    app.add_option("--baseline-counters", options.baseline_counters,
                   "Compare the hw_counters with this snapshot (written earlier by "
                   "--save-counters): report deltas and rises of the error counters")
        ->option_text("FILE");
    app.add_option("--save-counters", options.save_counters,
                   "Write a snapshot of every hw_counters file to FILE (JSON) for a later "
                   "--baseline-counters")
        ->option_text("FILE");
    app.footer(std::string("Absent counter files are reported absent, never as zero.\n") +
               exit_codes_help("no EFA device"));
    bind_environment(app);
    if (const auto stop = parse_command_line(app, argc, argv, &options.probe.common)) {
      return *stop;
    }
    if (!options.save_counters.empty()) {
      try {
        check_output_path(options.save_counters, "--save-counters");
      } catch (const UsageError& e) {
        std::cerr << kEfaTool << ": usage error: " << e.what() << "\n";
        return exit_code::usage;
      }
    }
    capture_process(options.probe, argc, argv, environ);
    const EfaRun run = run_efa(options);
    return emit_report(run.report, options.probe.common);
  });
}
