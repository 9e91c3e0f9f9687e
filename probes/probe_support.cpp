#include "probes/probe_support.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>

#include "common/findings.hpp"
#include "reports/render_text.hpp"
#include "reports/report_io.hpp"

namespace preflight::probes {

void add_probe_options(CLI::App& app, ProbeOptions& options, std::string_view root_help) {
  add_common_options(app, options.common);
  app.add_option("--root", options.root, std::string(root_help))
      ->option_text("DIR")
      ->check(CLI::ExistingDirectory);
  app.add_option("--instance-type", options.instance_type,
                 "Judge against this platform (e.g. p5.48xlarge) instead of detecting it from "
                 "DMI or IMDSv2")
      ->option_text("TYPE");
  app.add_flag("--no-imds", options.no_imds,
               "Never ask the instance metadata service (169.254.169.254) for the instance type");
}

std::map<std::string, std::string> environment_map(char** environment) {
  std::map<std::string, std::string> values;
  for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry) {  // NOLINT
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals != std::string_view::npos && equals > 0) {
      values.emplace(text.substr(0, equals), text.substr(equals + 1));
    }
  }
  return values;
}

void capture_process(ProbeOptions& options, int argc, char** argv, char** environment) {
  options.argv.assign(argv,
                      argv + argc);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
  options.environment = environment_map(environment);
}

InstanceTypeQuery instance_query(const ProbeOptions& options) {
  InstanceTypeQuery query;
  query.flag_value = options.instance_type;
  query.allow_imds = !options.no_imds;
  return query;
}

void add_platform_check(std::vector<reports::Check>& checks, const PlatformContext& context) {
  if (!context.known()) {
    checks.push_back(
        skip_check("PLATFORM_UNKNOWN", context.unknown_reason + ": platform checks skipped",
                   {{"instance_type", context.instance_type}, {"source", context.source}}));
  }
}

reports::Report start_probe_report(std::string_view tool, const ProbeOptions& options,
                                   const PlatformContext& context) {
  std::vector<const char*> argv;
  argv.reserve(options.argv.size());
  for (const auto& arg : options.argv) {
    argv.push_back(arg.c_str());
  }
  reports::Report report = reports::start_report(tool, static_cast<int>(argv.size()), argv.data(),
                                                 options.common.deterministic);
  report.inventory.instance_type = context.instance_type;
  report.inventory.env = allowlisted(options.environment);
  return report;
}

std::map<std::string, std::string> allowlisted(
    const std::map<std::string, std::string>& variables) {
  std::vector<std::string> entries;
  entries.reserve(variables.size());
  for (const auto& [name, value] : variables) {
    entries.push_back(name + "=" + value);
  }
  std::vector<const char*> envp;
  envp.reserve(entries.size() + 1);
  for (const auto& entry : entries) {
    envp.push_back(entry.c_str());
  }
  envp.push_back(nullptr);
  return reports::allowlisted_environment(envp.data());
}

std::vector<std::string> fired_ids(const std::vector<reports::Check>& checks) {
  std::vector<std::string> ids;
  for (const auto& check : checks) {
    if (check.status == Status::warn || check.status == Status::fail ||
        check.status == Status::error || check.status == Status::timeout) {
      ids.push_back(check.id);
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

int emit_report(const reports::Report& report, const CommonOptions& common,
                const std::string& text_before_checks) {
  if (!common.quiet && common.json_path != "-") {
    std::cout << text_before_checks << reports::render_checks_text(report) << std::flush;
  }
  reports::write_report(report, common.json_path);
  return report.verdict.exit_code;
}

}  // namespace preflight::probes
