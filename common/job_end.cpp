#include "common/job_end.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/timer.hpp"

namespace preflight {

bool JobEnding::begin(int code) {
  bool expected = false;
  if (!started_.compare_exchange_strong(expected, true)) {
    return false;
  }
  code_.store(code);
  return true;
}

void JobEnding::report_written() {
  written_.store(true);
}

void JobEnding::leave_after_first(double wait_s) const {
  const Stopwatch clock;
  while (!written_.load() && clock.elapsed_s() < wait_s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code_.load());
}

void end_job(int code, const ProgressChannel* channel, bool writes_report,
             const std::function<void(int)>& abort_job, JobEndTimes times) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (!abort_job) {
    std::_Exit(code);
  }
  const Stopwatch clock;
  if (writes_report) {
    if (channel != nullptr && channel->some_rank_unreachable()) {
      // The launcher's SIGTERM, when it comes, is taken by the termination watch, which leaves
      // with this code (JobEnding).
      while (clock.elapsed_s() < times.linger_s) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  } else {
    // The writer's abort ends this rank (the launcher's SIGTERM is taken by the termination
    // watch, which leaves with this code).
    while (clock.elapsed_s() < times.writer_wait_s &&
           (channel == nullptr || !channel->rank0_gone())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  abort_job(code);
  std::_Exit(code);
}

}  // namespace preflight
