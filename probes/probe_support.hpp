// What every probe shares: the common probe options (--root, --instance-type, --no-imds), the
// mapping from catalog severities to check statuses, check builders, and the output step of a
// thin main (text to stdout, JSON report, exit code of the verdict).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/cli.hpp"
#include "common/status.hpp"
#include "probes/instance_type.hpp"
#include "reports/report.hpp"

// CLI11's App, declared only: its header costs seconds of compile time per file that includes it,
// so only the files that build command lines include <CLI/CLI.hpp>.
namespace CLI {
class App;
}  // namespace CLI

namespace preflight::probes {

struct ProbeOptions {
  CommonOptions common;
  std::string root = "/";
  std::string instance_type;
  bool no_imds = false;
  std::vector<std::string> argv;                   // for the report's run.argv
  std::map<std::string, std::string> environment;  // the process environment (all of it)
};

// Adds --root, --instance-type and --no-imds (and the common options).
void add_probe_options(CLI::App& app, ProbeOptions& options, std::string_view root_help);

// Captures argv and the process environment into `options` (call from main).
void capture_process(ProbeOptions& options, int argc, char** argv, char** environment);

[[nodiscard]] InstanceTypeQuery instance_query(const ProbeOptions& options);

// The probes make their checks with the reports' builders, like every other tool.
using reports::fire_check;
using reports::pass_check;
using reports::skip_check;

// PLATFORM_UNKNOWN as a skip check when the platform is unknown, else nothing.
void add_platform_check(std::vector<reports::Check>& checks, const PlatformContext& context);

// A new report for a probe, with argv, instance type and the allow-listed environment.
[[nodiscard]] reports::Report start_probe_report(std::string_view tool, const ProbeOptions& options,
                                                 const PlatformContext& context);

// The ids of the checks that fired (warn, fail, error, timeout), sorted: what the fixture tests
// compare with the expected findings.
[[nodiscard]] std::vector<std::string> fired_ids(const std::vector<reports::Check>& checks);

// Output step of every probe main: text (unless --quiet or JSON to stdout), the JSON report,
// then the verdict's exit code.
[[nodiscard]] int emit_report(const reports::Report& report, const CommonOptions& common,
                              const std::string& text_before_checks = {});

// reports::allowlisted_environment for variables held in a map.
[[nodiscard]] std::map<std::string, std::string> allowlisted(
    const std::map<std::string, std::string>& variables);

// The environment of the process as a map (envp is null-terminated).
[[nodiscard]] std::map<std::string, std::string> environment_map(char** environment);

}  // namespace preflight::probes
