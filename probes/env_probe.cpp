#include "probes/env_probe.hpp"

#include <fmt/format.h>

#include "probes/judge_env.hpp"

namespace preflight::probes {

EnvRun run_env(const EnvOptions& options, bool query_libraries) {
  const RootFs fs(options.probe.root);
  EnvSource source;
  if (!options.env_file.empty()) {
    source = parse_env_file(options.env_file);
  } else {
    source.variables = options.probe.environment;
    source.origin = "process environment";
  }
  const PlatformContext context = resolve_platform(fs, instance_query(options.probe));
  EnvRun run;
  run.facts = gather_env(fs, std::move(source), options.probe.environment, query_libraries);
  run.report = start_probe_report(kEnvTool, options.probe, context);
  if (!options.env_file.empty()) {
    // The report describes the linted environment, not the probe's own.
    run.report.inventory.env = allowlisted(run.facts.environment.variables);
  }
  add_platform_check(run.report.checks, context);
  for (auto& check : judge_env(run.facts, context)) {
    run.report.checks.push_back(std::move(check));
  }
  auto& versions = run.report.inventory.versions;
  for (const char* key : {"efa_installer", "aws_ofi_nccl", "libfabric", "nccl", "kernel"}) {
    const ComponentFact* fact = run.facts.versions.component(key);
    if (fact != nullptr && fact->present) {
      versions[key] = fact->display;
    }
  }
  run.report.details["environment_origin"] = run.facts.environment.origin;
  run.report.details["interfaces"] = run.facts.interfaces;
  std::size_t relevant = 0;
  for (const auto& [name, value] : run.facts.environment.variables) {
    (void)value;
    relevant +=
        name.rfind("FI_", 0) == 0 || name.rfind("NCCL_", 0) == 0 || name.rfind("RDMAV_", 0) == 0;
  }
  run.text = fmt::format("# linting {} FI_/NCCL_/RDMAV_ variable{} of {}\n", relevant,
                         relevant == 1 ? "" : "s", run.facts.environment.origin);
  finish_report(run.report, options.probe.common.warn_as_fail, options.probe.common.deterministic);
  return run;
}

}  // namespace preflight::probes
