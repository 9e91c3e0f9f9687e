#include "cli/launcher.hpp"

#include <fmt/format.h>
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): POSIX mkdtemp

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/error.hpp"
#include "common/spawn.hpp"
#include "common/text.hpp"

namespace preflight::cli {

std::string_view to_string(LauncherKind kind) {
  return kind == LauncherKind::srun ? "srun" : "mpirun";
}

std::optional<LauncherKind> parse_launcher(std::string_view text) {
  if (text == "mpirun") {
    return LauncherKind::mpirun;
  }
  if (text == "srun") {
    return LauncherKind::srun;
  }
  return std::nullopt;
}

LauncherEnvironment current_launcher_environment() {
  LauncherEnvironment environment;
  const char* job_id = std::getenv("SLURM_JOB_ID");  // NOLINT(concurrency-mt-unsafe)
  environment.in_slurm_allocation = job_id != nullptr && *job_id != '\0';
  environment.srun_available = !find_executable("srun").empty();
  environment.mpirun_available = !find_executable("mpirun").empty();
  return environment;
}

LauncherKind choose_launcher(std::optional<LauncherKind> requested,
                             const LauncherEnvironment& environment) {
  if (requested) {
    return *requested;
  }
  if (environment.in_slurm_allocation && environment.srun_available) {
    return LauncherKind::srun;
  }
  return LauncherKind::mpirun;
}

std::vector<std::string> launch_argv(LauncherKind kind, const LaunchSpec& spec,
                                     const std::vector<std::string>& command) {
  std::vector<std::string> argv;
  const auto has_extra = [&](std::string_view flag) {
    return std::find(spec.extra_args.begin(), spec.extra_args.end(), flag) != spec.extra_args.end();
  };
  if (kind == LauncherKind::mpirun) {
    argv.emplace_back("mpirun");
    if (spec.allow_run_as_root && !has_extra("--allow-run-as-root")) {
      argv.emplace_back("--allow-run-as-root");
    }
    if (spec.oversubscribe && !has_extra("--oversubscribe")) {
      argv.emplace_back("--oversubscribe");
    }
    if (!spec.hosts.empty()) {
      argv.emplace_back("--host");
      argv.push_back(join(spec.hosts, ","));
    }
    argv.emplace_back("-np");
    argv.push_back(std::to_string(spec.ranks));
    if (spec.one_rank_per_node) {
      argv.emplace_back("--map-by");
      argv.emplace_back("node");
    }
    for (const auto& name : spec.forward_env) {
      argv.emplace_back("-x");
      argv.push_back(name);
    }
    const bool keepalive_set =
        std::any_of(spec.extra_args.begin(), spec.extra_args.end(),
                    [](const std::string& arg) {
                      return arg.find("oob_tcp_keepalive") != std::string::npos;
                    }) ||
        std::getenv("OMPI_MCA_oob_tcp_keepalive_time") != nullptr;  // NOLINT(concurrency-mt-unsafe)
    if (!spec.hosts.empty() && !keepalive_set) {
      for (const auto& [name, value] : {std::pair{"oob_tcp_keepalive_time", kKeepaliveIdle_s},
                                        std::pair{"oob_tcp_keepalive_intvl", kKeepaliveInterval_s},
                                        std::pair{"oob_tcp_keepalive_probes", kKeepaliveProbes}}) {
        argv.emplace_back("--mca");
        argv.emplace_back(name);
        argv.push_back(std::to_string(value));
      }
    }
  } else {
    argv.emplace_back("srun");
    argv.push_back(fmt::format("--ntasks={}", spec.ranks));
    if (spec.one_rank_per_node) {
      argv.push_back(fmt::format(
          "--nodes={}", spec.hosts.empty() ? spec.ranks : static_cast<int>(spec.hosts.size())));
      argv.emplace_back("--ntasks-per-node=1");
    }
    if (!spec.hosts.empty()) {
      argv.push_back("--nodelist=" + join(spec.hosts, ","));
    }
    if (spec.oversubscribe) {
      argv.emplace_back("--overcommit");
    }
    if (!spec.srun_mpi.empty()) {
      argv.push_back("--mpi=" + spec.srun_mpi);
    }
    // A rank that dies takes the step down at once instead of leaving its peers blocked.
    argv.emplace_back("--kill-on-bad-exit=1");
  }
  argv.insert(argv.end(), spec.extra_args.begin(), spec.extra_args.end());
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

std::string choose_srun_mpi(const std::string& requested,
                            const std::optional<std::string>& mpi_default) {
  if (!requested.empty()) {
    return requested;
  }
  return mpi_default && *mpi_default == "none" ? std::string("pmix") : std::string();
}

std::optional<std::string> scontrol_config_value(std::string_view output, std::string_view key) {
  for (const auto line : split_lines(output)) {
    const auto equals = line.find('=');
    if (equals == std::string_view::npos || trim(line.substr(0, equals)) != key) {
      continue;
    }
    return std::string(trim(line.substr(equals + 1)));
  }
  return std::nullopt;
}

std::optional<std::string> slurm_mpi_default() {
  if (find_executable("scontrol").empty()) {
    return std::nullopt;
  }
  auto directory_template = std::to_array("/tmp/preflight-scontrol.XXXXXX");
  if (::mkdtemp(directory_template.data()) == nullptr) {
    return std::nullopt;
  }
  const std::filesystem::path directory(directory_template.data());
  const auto output = directory / "config";
  ProcessOptions quiet;
  quiet.stderr_path = "/dev/null";
  const ProcessResult result = run_process({"scontrol", "show", "config"}, {}, 15, output, quiet);
  std::string text;
  if (std::ifstream input(output); input) {
    text.assign(std::istreambuf_iterator<char>(input), {});
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  if (!result.started || result.timed_out || result.exit_code != 0) {
    return std::nullopt;
  }
  return scontrol_config_value(text, "MpiDefault");
}

bool is_valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.front() == '-') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':';
  });
}

std::vector<std::string> parse_host_list(std::string_view text) {
  std::vector<std::string> hosts;
  for (const auto field : split(text, ',')) {
    const auto host = trim(field);
    if (host.empty()) {
      continue;
    }
    if (!is_valid_host_name(host)) {
      throw UsageError(fmt::format("--hosts: '{}' is not a host name", host));
    }
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
      hosts.emplace_back(host);
    }
  }
  if (hosts.empty()) {
    throw UsageError("--hosts: no host names given");
  }
  return hosts;
}

std::vector<std::string> read_hostfile(const std::string& path) {
  std::ifstream input(path);
  if (!input) {
    throw UsageError(fmt::format("--hostfile: cannot read '{}'", path));
  }
  std::vector<std::string> hosts;
  std::string line;
  int line_number = 0;
  while (std::getline(input, line)) {
    ++line_number;
    const auto comment = line.find('#');
    const auto fields = split_whitespace(std::string_view(line).substr(0, comment));
    if (fields.empty()) {
      continue;
    }
    if (!is_valid_host_name(fields.front())) {
      throw UsageError(
          fmt::format("{}:{}: '{}' is not a host name", path, line_number, fields.front()));
    }
    if (std::find(hosts.begin(), hosts.end(), fields.front()) == hosts.end()) {
      hosts.emplace_back(fields.front());
    }
  }
  if (hosts.empty()) {
    throw UsageError(fmt::format("{}: no hosts in the hostfile", path));
  }
  return hosts;
}

}  // namespace preflight::cli
