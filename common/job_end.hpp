// Ending the whole job after a timeout or a lost peer, so the launcher exits too ("never hang"
// holds for the job, not only for the ranks).
//
// Two threads may want to end a rank at about the same time: the watchdog (a phase ran past its
// deadline: exit 124) and the termination watch (the launcher sent SIGTERM because a rank died:
// exit 4). JobEnding lets the first one write its report; the second waits for that report and
// leaves with the first one's code, so a report being written is never cut off.
//
// end_job: after the report is written. When a host stopped answering, the launcher must notice
// that itself first (Open MPI's mpirun, once a rank exits, sends the dead host's daemon a kill it
// can never deliver and waits for it): the rank waits up to `linger_s` for the launcher's SIGTERM
// (its keepalive finding the host gone). Then `abort_job` (MPI_Abort: the launcher ends every
// rank, a stopped one included; srun through PMIx), or _Exit when there is none.
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

// Seconds a rank waits for the launcher to notice an unreachable host before aborting the job.
inline constexpr double kLauncherNoticeLinger_s = 20;

[[noreturn]] void end_job(int code, const ProgressChannel* channel,
                          const std::function<void(int)>& abort_job,
                          double linger_s = kLauncherNoticeLinger_s);

}  // namespace preflight
