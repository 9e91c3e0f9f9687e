// Running other programs safely: posix_spawn with an argument vector, never through a shell,
// so no host name, path or option can be interpreted as shell syntax. Each
// child leads its own process group, so a timeout kills the whole tree it started (mpirun and its
// daemons, srun and its steps), not only the direct child.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/timer.hpp"

namespace preflight {

// Environment changes for a child: a value sets the variable, nullopt removes it. Everything else
// is inherited from this process.
using EnvironmentOverrides = std::map<std::string, std::optional<std::string>>;

struct ProcessOptions {
  // Where the child's stderr goes; empty: inherited from this process.
  std::filesystem::path stderr_path;
  // After SIGTERM to the group on a timeout, how long to wait before SIGKILL.
  double kill_grace_s = 2.0;
  // Kill whatever is left in the child's process group once the child itself has exited
  // (daemons or background helpers a step forgot), so nothing outlives its step.
  bool kill_group_on_exit = true;
  // When this process has SIGINT, SIGTERM or SIGHUP blocked and one becomes pending, stop the
  // child's group as on a timeout and report `interrupted`. The umbrella blocks those signals in
  // main so that being killed by a Slurm prolog timeout still takes the children down.
  bool stop_on_pending_signals = true;
};

struct ProcessResult {
  bool started = false;     // false: posix_spawn failed (start_error says why); exit_code 127
  std::string start_error;  // e.g. "preflight-p2p: No such file or directory"
  int exit_code = -1;       // the child's exit status; 128+signal when it was killed
  bool signaled = false;    // ended by a signal (ours on timeout, or another)
  int signal_number = 0;
  bool timed_out = false;    // the deadline passed and we killed the group
  bool interrupted = false;  // a pending SIGINT/SIGTERM/SIGHUP made us kill the group
  double duration_s = 0;
};

// A started child. Move-only; the destructor kills and reaps a child still running, so an
// exception never leaves an orphan behind.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  // Starts argv[0] (searched on PATH when it has no '/') with `argv`; stdin is /dev/null, stdout
  // goes to `stdout_path` (truncated; empty: inherited). Never throws for a program that cannot
  // be started: the result of wait() says so.
  static ChildProcess start(const std::vector<std::string>& argv,
                            const EnvironmentOverrides& env_overrides,
                            const std::filesystem::path& stdout_path,
                            const ProcessOptions& options = {});

  [[nodiscard]] pid_t pid() const { return pid_; }
  // True once the child has exited (and was reaped); never blocks.
  bool poll();
  // Waits until the child exits or `timeout_s` (<= 0: no limit) has passed since start; on a
  // timeout or a pending stop signal kills the process group (SIGTERM, grace, SIGKILL).
  ProcessResult wait(double timeout_s);
  // The same, calling `on_tick` about every `tick_interval_s` while the child runs (the
  // umbrella relays a step's progress and prints heartbeats from it).
  ProcessResult wait(double timeout_s, const std::function<void()>& on_tick,
                     double tick_interval_s);
  // Kills the group now (SIGTERM, grace, SIGKILL) and reaps the child.
  ProcessResult terminate();

 private:
  void reap(int status);
  void kill_group_and_reap();

  pid_t pid_ = -1;
  ProcessOptions options_;
  Stopwatch clock_;
  ProcessResult result_;
};

// Runs a program to completion or until `timeout_s` (<= 0: no limit), see ChildProcess::start.
[[nodiscard]] ProcessResult run_process(const std::vector<std::string>& argv,
                                        const EnvironmentOverrides& env_overrides, double timeout_s,
                                        const std::filesystem::path& stdout_path,
                                        const ProcessOptions& options = {});

// The exit code a shell would show for a result: the exit status, 128+signal when killed, 124
// for a timeout, 127 when the program could not be started.
[[nodiscard]] int shell_style_exit_code(const ProcessResult& result);

// Finds `program` on PATH (or checks it when it contains a '/'); empty when not executable.
[[nodiscard]] std::filesystem::path find_executable(const std::string& program);

}  // namespace preflight
