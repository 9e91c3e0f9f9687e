// Command-line conventions shared by every preflight binary (CLI11):
//   --help, --version, --json PATH|-, --quiet, --deterministic, --warn-as-fail,
//   PREFLIGHT_<OPTION> environment fallbacks for every long option (the command line wins),
//   usage errors exit 2 naming the flag, and a guarded main mapping errors to exit codes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

// CLI11's App, declared only: its header costs seconds of compile time per file that includes it,
// so only the files that build command lines include <CLI/CLI.hpp>.
namespace CLI {
class App;
}  // namespace CLI

namespace preflight {

struct CommonOptions {
  std::string json_path;  // empty: no JSON; "-": stdout
  bool quiet = false;
  bool deterministic = false;
  bool warn_as_fail = false;
};

// Adds the common options and the --version flag ("<tool> <version> (<git>)").
void add_common_options(CLI::App& app, CommonOptions& options);

// The version line every binary prints.
[[nodiscard]] std::string version_line(std::string_view tool);

// Gives every long option of `app` and its subcommands that has no environment name yet the name
// PREFLIGHT_<LONG_NAME> (dashes become underscores). Call after all options are added.
void bind_environment(CLI::App& app);

// Parses the command line (after bind_environment). Returns an exit code when the program should
// stop (0 after --help/--version, 2 after a usage error, printed), nullopt to go on. Also checks
// that --json's directory exists and is writable, so a bad path fails before any measurement.
[[nodiscard]] std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                                    const CommonOptions* common = nullptr);

// Runs `body` and maps exceptions to the exit-code table with one message on stderr:
// UsageError 2, FeatureUnavailable 3, TimeoutError 124, preflight::Error / PeerLostError /
// anything else 4.
[[nodiscard]] int run_guarded(std::string_view tool, const std::function<int()>& body);

}  // namespace preflight
