// How a plan starts a multi-rank step: Open MPI's mpirun or Slurm's srun, detected from the
// environment unless --launcher says. Only argument vectors are built here (never a shell line),
// so host names and paths reach the launcher verbatim.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace preflight::cli {

enum class LauncherKind { mpirun, srun };

[[nodiscard]] std::string_view to_string(LauncherKind kind);
[[nodiscard]] std::optional<LauncherKind> parse_launcher(std::string_view text);

// Facts the detection looks at, gathered by the caller (tests pass their own).
struct LauncherEnvironment {
  bool in_slurm_allocation = false;  // SLURM_JOB_ID set
  bool srun_available = false;
  bool mpirun_available = false;
};
[[nodiscard]] LauncherEnvironment current_launcher_environment();

// srun inside a Slurm allocation when srun exists, else mpirun; `requested` overrides.
[[nodiscard]] LauncherKind choose_launcher(std::optional<LauncherKind> requested,
                                           const LauncherEnvironment& environment);

struct LaunchSpec {
  int ranks = 1;
  bool one_rank_per_node = false;
  std::vector<std::string> hosts;  // empty: the launcher's default (local host or allocation)
  bool oversubscribe = false;      // more ranks than cores on one host (host collectives here)
  bool allow_run_as_root = false;  // mpirun refuses root without it; set only when euid is 0
  // Variables the ranks must see (mpirun -x NAME); srun exports the whole environment.
  std::vector<std::string> forward_env;
  // Verbatim launcher flags (e.g. the virtual cluster's --mca settings).
  std::vector<std::string> extra_args;
};

// The full argument vector: launcher, its flags, then `command`.
[[nodiscard]] std::vector<std::string> launch_argv(LauncherKind kind, const LaunchSpec& spec,
                                                   const std::vector<std::string>& command);

// Host names from an Open MPI hostfile ("host slots=N", comments, blank lines) in file order,
// duplicates dropped. Throws UsageError naming the file and line for an unreadable file or a bad
// host name.
[[nodiscard]] std::vector<std::string> read_hostfile(const std::string& path);
// A comma-separated host list; throws UsageError for a bad name.
[[nodiscard]] std::vector<std::string> parse_host_list(std::string_view text);
// Host names are letters, digits, '.', '-', '_' (and ':' for IPv6 literals); anything else is a
// usage error, so nothing shell-like ever reaches a launcher (which may pass it on to ssh).
[[nodiscard]] bool is_valid_host_name(std::string_view host);

}  // namespace preflight::cli
