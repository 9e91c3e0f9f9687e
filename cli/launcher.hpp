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
  // srun: the process-management interface to give the ranks (--mpi=VALUE); empty: srun's own
  // default (slurm.conf MpiDefault).
  std::string srun_mpi;
};

// mpirun across hosts: Open MPI notices a host that stopped answering only through TCP keepalive
// on its daemon connections, 300 + 9 x 20 s after they fell silent by default, and until then
// waits for it even after every other rank ended. These settings make it notice within about
// 11 s, so a job that lost a host ends (the launch also carries them unless the launcher
// arguments or OMPI_MCA_oob_tcp_keepalive_time already set them).
inline constexpr int kKeepaliveIdle_s = 5;
inline constexpr int kKeepaliveInterval_s = 2;
inline constexpr int kKeepaliveProbes = 3;

// The full argument vector: launcher, its flags, then `command`. mpirun with hosts also gets the
// keepalive settings above.
[[nodiscard]] std::vector<std::string> launch_argv(LauncherKind kind, const LaunchSpec& spec,
                                                   const std::vector<std::string>& command);

// The `--mpi=` value srun should get: the one asked for, else "pmix" when the site's MpiDefault is
// "none" (srun would give MPI nothing to form a world with), else "" (the site's default).
[[nodiscard]] std::string choose_srun_mpi(const std::string& requested,
                                          const std::optional<std::string>& mpi_default);
// MpiDefault from `scontrol show config` (spawned, no shell); nullopt when scontrol cannot say.
[[nodiscard]] std::optional<std::string> slurm_mpi_default();
// The value of `key` in `scontrol show config` output ("MpiDefault              = none").
[[nodiscard]] std::optional<std::string> scontrol_config_value(std::string_view output,
                                                               std::string_view key);

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
