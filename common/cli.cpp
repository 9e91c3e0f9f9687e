#include "common/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <new>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/status.hpp"
#include "common/text.hpp"
#include "preflight/build_config.hpp"

namespace preflight {
namespace {

void bind_environment_recursive(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    if (!option->get_envname().empty() || option->get_lnames().empty()) {
      continue;
    }
    const std::string& name = option->get_lnames().front();
    if (name == "help" || name == "version") {
      continue;
    }
    std::string env = "PREFLIGHT_" + to_upper(name);
    std::replace(env.begin(), env.end(), '-', '_');
    option->envname(env);
  }
  for (CLI::App* subcommand : app.get_subcommands({})) {
    bind_environment_recursive(*subcommand);
  }
}

}  // namespace

std::string version_line(std::string_view tool) {
  return fmt::format("{} {} ({})", tool, PREFLIGHT_VERSION_STRING, PREFLIGHT_GIT_SHA);
}

void add_common_options(CLI::App& app, CommonOptions& options) {
  app.set_version_flag("--version", version_line(app.get_name()));
  app.add_option("--json", options.json_path,
                 "Write the preflight.report/1 JSON report to PATH ('-' for stdout)")
      ->option_text("PATH|-")
      // /dev/stdout is stdout: spelled either way, the report is all that goes there.
      ->transform([](std::string path) { return writes_to_stdout(path) ? "-" : path; });
  app.add_flag("--quiet,-q", options.quiet, "Print nothing but errors (and JSON to stdout)");
  app.add_flag("--deterministic", options.deterministic,
               "Drop timestamps, host names and versions from the report (golden files)");
  app.add_flag("--warn-as-fail", options.warn_as_fail, "Exit 1 when any check warns");
}

void bind_environment(CLI::App& app) {
  bind_environment_recursive(app);
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const CommonOptions* common) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": usage error: " << e.what() << "\n"
              << "Run with --help for usage.\n";
    return exit_code::usage;
  }
  if (common != nullptr && !common->json_path.empty() && common->json_path != "-") {
    try {
      check_output_path(common->json_path, "--json");
    } catch (const UsageError& e) {
      std::cerr << app.get_name() << ": usage error: " << e.what() << "\n";
      return exit_code::usage;
    }
  }
  return std::nullopt;
}

int run_guarded(std::string_view tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << tool << ": usage error: " << e.what() << "\n";
    return exit_code::usage;
  } catch (const FeatureUnavailable& e) {
    std::cerr << tool << ": skip: " << e.what() << "\n";
    return exit_code::skip;
  } catch (const TimeoutError& e) {
    std::cerr << tool << ": timeout: " << e.what() << "\n";
    return exit_code::timeout;
  } catch (const std::bad_alloc&) {
    std::cerr << tool
              << ": error: out of memory (std::bad_alloc): the requested sizes or counts need "
                 "more memory than this process could get\n";
    return exit_code::error;
  } catch (const std::exception& e) {
    std::cerr << tool << ": error: " << e.what() << "\n";
    return exit_code::error;
  }
}

}  // namespace preflight
