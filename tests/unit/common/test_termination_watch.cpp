// TerminationWatch turns SIGTERM into a call on its own thread; local_process_state tells a
// stopped or exited rank from a running one (what the collectives name on a stall or lost peer).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/termination_watch.hpp"

namespace preflight {
namespace {

// Waits up to 5 s for `predicate`.
template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return predicate();
}

TEST(LocalProcessState, TellsRunningStoppedAndExited) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) {
      ::pause();
    }
  }
  EXPECT_TRUE(eventually([&] { return local_process_state(child) == ProcessState::running; }));
  ::kill(child, SIGSTOP);
  EXPECT_TRUE(eventually([&] { return local_process_state(child) == ProcessState::stopped; }));
  ::kill(child, SIGKILL);
  // Not yet reaped: a zombie counts as exited.
  EXPECT_TRUE(eventually([&] { return local_process_state(child) == ProcessState::exited; }));
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_EQ(local_process_state(child), ProcessState::exited);
  EXPECT_EQ(to_string(ProcessState::stopped), "stopped");
}

TEST(LocalProcessState, ThisProcessRuns) {
  EXPECT_EQ(local_process_state(::getpid()), ProcessState::running);
}

TEST(TerminationWatch, TakesSigtermOnItsThreadAndStopsOnDestruction) {
  // A child process, so that the blocked mask and the signal do not touch the test runner.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    block_termination_signal();
    std::atomic<bool> called{false};
    {
      const TerminationWatch watch([&called] { called = true; });
      ::kill(::getpid(), SIGTERM);
      for (int attempt = 0; attempt < 500 && !called; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }  // the destructor must return (the polling loop stops)
    ::_exit(called ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the handler was not called";
}

}  // namespace
}  // namespace preflight
