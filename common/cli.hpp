// Command-line conventions shared by every preflight binary (CLI11):
//   --help, --version, --json PATH|-, --quiet, --deterministic, --warn-as-fail,
//   --progress auto|tty|plain|none (common/progress.hpp),
//   PREFLIGHT_<OPTION> environment fallbacks for every long option (the command line wins),
//   usage errors exit 2 naming the flag, and a guarded main mapping errors to exit codes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/progress.hpp"

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
  ProgressMode progress = ProgressMode::automatic;  // as asked; resolve_progress_mode() for use
};

// Adds the common options and the --version flag ("<tool> <version> (<git>)").
void add_common_options(CLI::App& app, CommonOptions& options);

// The version line every binary prints.
[[nodiscard]] std::string version_line(std::string_view tool);

// Gives every long option of `app` and its subcommands that has no environment name yet the name
// PREFLIGHT_<LONG_NAME> (dashes become underscores). Call after all options are added.
void bind_environment(CLI::App& app);

// Parses the command line (after bind_environment). Returns an exit code when the program should
// stop (0 after --help/--version, 2 after a usage error, printed), nullopt to go on. An unknown
// subcommand or option is named with the nearest valid one ("did you mean 'node'?"). Every
// numeric option without a validator of its own must be a finite number, not negative. Also
// checks that --json's directory exists and is writable, so a bad path fails before any
// measurement. Under a launcher only rank 0 prints.
[[nodiscard]] std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                                    const CommonOptions* common = nullptr);

// Prints "<tool>: usage error: <message>" on stderr, once per job: under a launcher (mpirun, srun)
// only rank 0 prints, the other ranks exit with the same code without a word.
void print_usage_error(std::string_view tool, std::string_view message);
// Whether this process prints usage errors and help: not launched, or rank 0 of the launch.
[[nodiscard]] bool prints_for_the_job();

// Whether `app`'s option `name` ("--json", "-q") takes a value (flags take none); false when
// `app` has no such option.
[[nodiscard]] bool option_takes_value(const CLI::App& app, std::string_view name);

// The candidate nearest to `word` by edit distance (transpositions count once), when it is near
// enough to be a typo of it (at most a third of its length, at least one edit allowed), or the
// one candidate `word` is a prefix of; empty otherwise.
[[nodiscard]] std::string nearest_candidate(std::string_view word,
                                            const std::vector<std::string>& candidates);

// Runs `body` and maps exceptions to the exit-code table with one message on stderr:
// UsageError 2, FeatureUnavailable 3, TimeoutError 124, preflight::Error / PeerLostError /
// anything else 4.
[[nodiscard]] int run_guarded(std::string_view tool, const std::function<int()>& body);

}  // namespace preflight
