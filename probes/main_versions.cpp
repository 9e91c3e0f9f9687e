// preflight-versions: the user-space stack (EFA installer, libfabric and its providers,
// rdma-core, NCCL, aws-ofi-nccl, MPI, CUDA, hwloc, OS and kernel) against minimum versions and
// known-bad combinations.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/status.hpp"
#include "probes/versions_probe.hpp"

int main(int argc, char** argv) {
  using namespace preflight;
  using namespace preflight::probes;
  return run_guarded(kVersionsTool, [&] {
    CLI::App app(
        "Report the user-space stack's versions and check them against minimum versions and "
        "known-bad combinations.",
        std::string(kVersionsTool));
    ProbeOptions options;
    add_probe_options(app, options,
                      "Read the file-based rows (EFA installer, aws-ofi-nccl plugin, efa module, "
                      "rdma-core, OS, kernel) from this root instead of /. The API-based rows "
                      "(libfabric, NCCL, CUDA runtime and driver, MPI, hwloc) still come from the "
                      "libraries this machine loads.");
    app.footer(
        std::string("Libraries are loaded at run time (NCCL, CUDA runtime and driver, MPI, "
                    "libfabric): a row "
                    "whose library is absent is reported 'skip' with the places searched.\n") +
        exit_codes_help());
    bind_environment(app);
    if (const auto stop = parse_command_line(app, argc, argv, &options.common)) {
      return *stop;
    }
    capture_process(options, argc, argv, environ);
    const VersionsRun run = run_versions(options);
    return emit_report(run.report, options.common);
  });
}
