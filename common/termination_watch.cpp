#include "common/termination_watch.hpp"

#include <pthread.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigprocmask, sigset_t

#include <ctime>
#include <fstream>
#include <string>

namespace preflight {
namespace {

sigset_t termination_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void block_termination_signal() {
  const sigset_t set = termination_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void unblock_termination_signal() {
  const sigset_t set = termination_set();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

TerminationWatch::TerminationWatch(std::function<void()> on_termination)
    : thread_([handler = std::move(on_termination)](const std::stop_token& stop) {
        const sigset_t set = termination_set();
        // Polled so that the destructor's stop request ends the loop within 100 ms.
        const timespec poll_interval{0, 100'000'000};
        while (!stop.stop_requested()) {
          if (sigtimedwait(&set, nullptr, &poll_interval) == SIGTERM) {
            handler();
          }
        }
      }) {}

ProcessState local_process_state(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) {
    return ProcessState::exited;
  }
  // "PID (COMMAND) STATE ...": the command may hold spaces and parentheses, so the state is
  // the first field after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) {
    return ProcessState::running;
  }
  switch (line[close + 2]) {
    case 'Z':
    case 'X':
    case 'x':
      return ProcessState::exited;
    case 'T':
    case 't':
      return ProcessState::stopped;
    default:
      return ProcessState::running;
  }
}

std::string to_string(ProcessState state) {
  switch (state) {
    case ProcessState::running:
      return "running";
    case ProcessState::stopped:
      return "stopped";
    case ProcessState::exited:
      return "exited";
  }
  return "unknown";
}

}  // namespace preflight
