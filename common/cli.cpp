#include "common/cli.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <new>
#include <sstream>
#include <thread>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/status.hpp"
#include "common/text.hpp"
#include "preflight/build_config.hpp"

namespace preflight {
namespace {

// How long a rank that does not print waits before it exits with a usage error (see
// print_usage_error): long enough for rank 0 to write a line, short against a launcher's start.
constexpr std::chrono::milliseconds kSilentRankUsageExitDelay{2000};

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

// Edit distance with adjacent transpositions counted as one edit (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The apps a token of the command line may belong to: the app, then each parsed subcommand
// down the chain (the last is the innermost).
std::vector<const CLI::App*> parsed_chain(const CLI::App& app) {
  std::vector<const CLI::App*> chain{&app};
  for (bool descended = true; descended;) {
    descended = false;
    for (const CLI::App* sub : chain.back()->get_subcommands()) {
      chain.push_back(sub);
      descended = true;
      break;
    }
  }
  return chain;
}

std::vector<std::string> option_names(const std::vector<const CLI::App*>& chain) {
  std::vector<std::string> names;
  for (const CLI::App* app : chain) {
    for (const CLI::Option* option : app->get_options()) {
      for (const auto& name : option->get_lnames()) {
        names.push_back("--" + name);
      }
      for (const auto& name : option->get_snames()) {
        names.push_back("-" + name);
      }
    }
  }
  return names;
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    names.push_back(sub->get_name());
  }
  return names;
}

// CLI11's "The following arguments were not expected" and "A subcommand is required" say what is
// wrong but not what was meant: name the first unknown token and the nearest valid spelling.
std::string describe_parse_error(const CLI::App& app, const CLI::ParseError& error) {
  const std::vector<std::string> leftovers = app.remaining(true);
  const std::vector<const CLI::App*> chain = parsed_chain(app);
  for (const std::string& token : leftovers) {
    if (token.size() > 1 && token[0] == '-' && !(token[1] >= '0' && token[1] <= '9')) {
      const std::string name = token.substr(0, token.find('='));
      const std::string near = nearest_candidate(name, option_names(chain));
      return near.empty() ? fmt::format("unknown option '{}'", name)
                          : fmt::format("unknown option '{}' (did you mean '{}'?)", name, near);
    }
    const CLI::App& innermost = *chain.back();
    const std::vector<std::string> commands = subcommand_names(innermost);
    if (!commands.empty() && innermost.get_subcommands().empty()) {
      const std::string near = nearest_candidate(token, commands);
      return near.empty()
                 ? fmt::format("unknown subcommand '{}' (expected one of: {})", token,
                               join(commands, ", "))
                 : fmt::format("unknown subcommand '{}' (did you mean '{}'?)", token, near);
    }
    return fmt::format("unexpected argument '{}'", token);
  }
  const std::vector<std::string> commands = subcommand_names(*chain.back());
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && !commands.empty() &&
      chain.back()->get_subcommands().empty()) {
    return fmt::format("a subcommand is required: {}", join(commands, ", "));
  }
  return error.what();
}

// Every numeric option given (command line or environment) that has no validator of its own
// (a range, a set) must be a finite number and not negative: CLI11 alone takes `-n -1` and
// `--timeout nan`.
std::optional<std::string> numeric_problem(const CLI::App& app) {
  for (const CLI::App* scope : parsed_chain(app)) {
    for (const CLI::Option* option : scope->get_options()) {
      if (option->count() == 0 || option->get_items_expected_max() == 0) {
        continue;
      }
      const std::string type = option->get_type_name();
      if (type != "INT" && type != "UINT" && type != "FLOAT") {
        continue;  // text, or a numeric option with a validator (its type name has ":...")
      }
      for (const std::string& value : option->results()) {
        const double number = std::strtod(value.c_str(), nullptr);
        const std::string name = option->get_name(false, true);
        if (!std::isfinite(number)) {
          return fmt::format("{} {}: must be a finite number", name, value);
        }
        if (number < 0) {
          return fmt::format("{} {}: must not be negative", name, value);
        }
      }
    }
  }
  return std::nullopt;
}

// Help and version text goes to this stream on ranks other than 0.
class DiscardStream : public std::ostream {
 public:
  DiscardStream() : std::ostream(nullptr) {}
};

}  // namespace

bool prints_for_the_job() {
  return current_process_identity().rank <= 0;
}

void print_usage_error(std::string_view tool, std::string_view message) {
  if (prints_for_the_job()) {
    std::cerr << tool << ": usage error: " << message << "\n";
    return;
  }
  // Every rank parses the same command line, so each finds the same error, and only rank 0
  // prints it. A launcher ends the whole job when the first rank exits non-zero; without this
  // pause a quicker rank 1 could have rank 0 killed before its message reaches the terminal, and
  // the job would end with exit 2 and no word why.
  std::this_thread::sleep_for(kSilentRankUsageExitDelay);
}

bool option_takes_value(const CLI::App& app, std::string_view name) {
  const CLI::Option* option = app.get_option_no_throw(std::string(name));
  return option != nullptr && option->get_items_expected_max() > 0;
}

std::string nearest_candidate(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 0;
  std::vector<std::string> extended;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (best.empty() || distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
    if (word.size() >= 2 && candidate.starts_with(word) && candidate != word) {
      extended.push_back(candidate);
    }
  }
  const std::size_t allowed = std::max<std::size_t>(1, word.size() / 3);
  if (!best.empty() && best_distance > 0 && best_distance <= allowed) {
    return best;
  }
  std::sort(extended.begin(), extended.end());
  extended.erase(std::unique(extended.begin(), extended.end()), extended.end());
  return extended.size() == 1 ? extended.front() : std::string();
}

std::string version_line(std::string_view tool) {
  return fmt::format("{} {} ({})", tool, PREFLIGHT_VERSION_STRING, PREFLIGHT_GIT_SHA);
}

void add_common_options(CLI::App& app, CommonOptions& options) {
  app.set_version_flag("--version", version_line(app.get_name()));
  app.add_option("--json", options.json_path,
                 "Write the preflight.report/1 JSON report to PATH ('-' for stdout)")
      ->option_text("PATH|-")
      // /dev/stdout is stdout: spelled either way, the report is all that goes there.
      ->transform([](const std::string& path) { return writes_to_stdout(path) ? "-" : path; });
  app.add_flag("--quiet,-q", options.quiet, "Print nothing but errors (and JSON to stdout)");
  app.add_flag("--deterministic", options.deterministic,
               "Drop timestamps, host names and versions from the report (golden files)");
  app.add_flag("--warn-as-fail", options.warn_as_fail, "Exit 1 when any check warns");
  app.add_option_function<std::string>(
         "--progress",
         [&options](const std::string& name) {
           options.progress = parse_progress_mode(name).value_or(ProgressMode::automatic);
         },
         "Progress on stderr: auto (tty on a terminal, else plain; none with --quiet), tty (one "
         "line updated in place), plain (whole lines for logs: one per finished size or step, a "
         "heartbeat every 10 s), none")
      ->option_text("auto|tty|plain|none")
      ->check(CLI::IsMember({"auto", "tty", "plain", "none"}));
}

void bind_environment(CLI::App& app) {
  bind_environment_recursive(app);
}

std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                      const CommonOptions* common) {
  DiscardStream discard;
  std::ostream& out = prints_for_the_job() ? std::cout : discard;
  std::ostream& err = prints_for_the_job() ? std::cerr : discard;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    print_usage_error(app.get_name(), describe_parse_error(app, e));
    if (prints_for_the_job()) {
      std::cerr << "Run with --help for usage.\n";
    }
    return exit_code::usage;
  }
  if (const auto problem = numeric_problem(app)) {
    print_usage_error(app.get_name(), *problem);
    return exit_code::usage;
  }
  if (common != nullptr && !common->json_path.empty() && common->json_path != "-") {
    try {
      check_output_path(common->json_path, "--json");
    } catch (const UsageError& e) {
      print_usage_error(app.get_name(), e.what());
      return exit_code::usage;
    }
  }
  return std::nullopt;
}

int run_guarded(std::string_view tool, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    print_usage_error(tool, e.what());
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
