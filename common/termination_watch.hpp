// SIGTERM as an event, and what can be learnt about a vanished peer on this host.
//
// Launchers end a job's surviving ranks with SIGTERM when one rank dies (Open MPI's mpirun,
// Slurm's srun, a cancelled job), then SIGKILL a moment later. A rank that dies by the default
// SIGTERM action leaves no word about why; with the signal turned into an event on a thread of
// its own, the rank can write its partial report naming the lost peer and exit 4 (error) first.
#pragma once

#include <functional>
#include <string>
#include <thread>

namespace preflight {

// Blocks SIGTERM in the calling thread. Call it in main before any thread starts (threads inherit
// the mask), so that only TerminationWatch ever takes the signal.
void block_termination_signal();
// Unblocks it again once the watch is gone: a SIGTERM that came meanwhile then acts as usual.
void unblock_termination_signal();

// Waits for SIGTERM on a thread of its own and calls `on_termination` there; the handler usually
// writes a partial report and ends the process with _exit. Needs block_termination_signal().
class TerminationWatch {
 public:
  explicit TerminationWatch(std::function<void()> on_termination);
  TerminationWatch(const TerminationWatch&) = delete;
  TerminationWatch& operator=(const TerminationWatch&) = delete;
  TerminationWatch(TerminationWatch&&) = delete;
  TerminationWatch& operator=(TerminationWatch&&) = delete;
  ~TerminationWatch() = default;  // the jthread asks the waiting loop to stop and joins it

 private:
  std::jthread thread_;
};

// The state of a process of this host, from /proc/PID/stat.
enum class ProcessState {
  running,  // running or sleeping (R, S, D, I)
  stopped,  // stopped by a signal or traced (T, t): SIGSTOP, a debugger
  exited,   // no such process, or a zombie waiting to be reaped (Z, X)
};
[[nodiscard]] ProcessState local_process_state(long pid);
[[nodiscard]] std::string to_string(ProcessState state);

}  // namespace preflight
