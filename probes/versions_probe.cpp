#include "probes/versions_probe.hpp"

#include "probes/judge_versions.hpp"

namespace preflight::probes {

VersionsRun run_versions(const ProbeOptions& options, bool query_libraries) {
  const RootFs fs(options.root);
  const PlatformContext context = resolve_platform(fs, instance_query(options));
  VersionGatherOptions gather_options;
  gather_options.query_libraries = query_libraries;
  gather_options.environment = options.environment;
  VersionsRun run;
  run.facts = gather_versions(fs, gather_options);
  run.report = start_probe_report(kVersionsTool, options, context);
  run.report.checks = judge_versions(run.facts, context.platform);
  if (!context.known() && !context.instance_type.empty()) {
    // Versions are judged with the default minimums; say which platform was not found.
    add_platform_check(run.report.checks, context);
  }
  run.report.inventory.versions = versions_inventory(run.facts);
  run.report.details["root"] = options.root;
  run.report.details["platform_source"] = context.source;
  finish_report(run.report, options.common.warn_as_fail, options.common.deterministic);
  return run;
}

}  // namespace preflight::probes
