// preflight-env: lints FI_*, NCCL_* and RDMAV_* settings against the versions found, plus
// memlock and huge pages.
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "common/cli.hpp"
#include "common/status.hpp"
#include "probes/env_probe.hpp"

int main(int argc, char** argv) {
  using namespace preflight;
  using namespace preflight::probes;
  return run_guarded(kEnvTool, [&] {
    CLI::App app(
        "Lint the FI_*, NCCL_* and RDMAV_* environment against the EFA/NCCL rules and the "
        "versions installed; check memlock and huge pages.",
        std::string(kEnvTool));
    EnvOptions options;
    add_probe_options(app, options.probe,
                      "Read versions, interfaces (sys/class/net), memlock (proc/self/limits) and "
                      "huge pages (proc/meminfo) from this root instead of /.");
    app.add_option("--env-file", options.env_file,
                   "Lint the KEY=VALUE lines of FILE (a job's environment: 'export' prefixes, "
                   "quotes and # comments allowed) instead of this process's environment")
        ->option_text("FILE");
    app.footer(exit_codes_help());
    bind_environment(app);
    if (const auto stop = parse_command_line(app, argc, argv, &options.probe.common)) {
      return *stop;
    }
    capture_process(options.probe, argc, argv, environ);
    const EnvRun run = run_env(options);
    return emit_report(run.report, options.probe.common, run.text);
  });
}
