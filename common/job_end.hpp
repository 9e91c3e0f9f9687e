// Ending the whole job after a timeout or a lost peer, so the launcher exits too ("never hang"
// holds for the job, not only for the ranks).
//
// Two threads may want to end a rank at about the same time: the watchdog (a phase ran past its
// deadline: exit 124) and the termination watch (the launcher sent SIGTERM because a rank died:
// exit 4). JobEnding lets the first one write its report; the second waits for that report and
// leaves with the first one's code, so a report being written is never cut off.
//
// end_job: how a rank ends a job that timed out or lost a peer, once the report is written. One
// rank ends it, the one that writes the report: a launcher tears the whole job down as soon as any
// rank aborts or exits non-zero (Open MPI's mpirun kills the other ranks at once), so a rank that
// left first could cut the writer off in the middle of its report.
//   The writer: when a host stopped answering, the launcher must notice that itself first (Open
//   MPI's mpirun, once a rank exits, sends the dead host's daemon a kill it can never deliver and
//   waits for it): it waits up to `linger_s` for the launcher's SIGTERM (its keepalive finding the
//   host gone). Then `abort_job` (MPI_Abort: the launcher ends every rank, a stopped one
//   included; srun through PMIx).
//   Every other rank waits for the writer's abort to end it (at most `writer_wait_s`), and ends the
//   job itself (`abort_job`) only when the writer is gone (its progress channel says so) or the
//   wait is over.
//   Without `abort_job` (no launcher: a TCP pair, one process) a rank _Exits at once.
#pragma once

#include <atomic>
#include <functional>

#include "common/progress_channel.hpp"

namespace preflight {

class JobEnding {
 public:
  // True for the first caller, which then writes its report and calls report_written().
  [[nodiscard]] bool begin(int code);
  void report_written();
  // For a later caller: waits (at most `wait_s`) for the first caller's report, then _Exit with
  // the first caller's code.
  [[noreturn]] void leave_after_first(double wait_s = 10) const;
  [[nodiscard]] bool started() const { return started_.load(); }

 private:
  std::atomic<bool> started_{false};
  std::atomic<bool> written_{false};
  std::atomic<int> code_{0};
};

struct JobEndTimes {
  // How long the writer waits for the launcher to notice an unreachable host before aborting.
  double linger_s = 20;
  // How long another rank waits for the writer to end the job: past the writer's settling (a few
  // seconds), its report and its linger.
  double writer_wait_s = 35;
};

// `channel` may be null (no progress channel: the writer does not linger, the others wait the
// whole `writer_wait_s`).
[[noreturn]] void end_job(int code, const ProgressChannel* channel, bool writes_report,
                          const std::function<void(int)>& abort_job, JobEndTimes times = {});

}  // namespace preflight
