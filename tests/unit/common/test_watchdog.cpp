#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/watchdog.hpp"

namespace preflight {
namespace {

using namespace std::chrono_literals;

TEST(Watchdog, FiresOnceWithThePhase) {
  std::atomic<int> fired{0};
  std::string seen_phase;
  std::mutex mutex;
  Watchdog watchdog([&](const std::string& phase, double deadline_s) {
    const std::lock_guard lock(mutex);
    seen_phase = phase;
    EXPECT_DOUBLE_EQ(deadline_s, 0.05);
    ++fired;
  });
  watchdog.arm("size 1048576", 0.05);
  std::this_thread::sleep_for(300ms);  // the "main thread" is stuck
  EXPECT_EQ(fired.load(), 1);
  EXPECT_TRUE(watchdog.fired());
  const std::lock_guard lock(mutex);
  EXPECT_EQ(seen_phase, "size 1048576");
}

TEST(Watchdog, ReArmingAndDisarmingPreventExpiry) {
  std::atomic<int> fired{0};
  Watchdog watchdog([&](const std::string&, double) { ++fired; });
  for (int i = 0; i < 5; ++i) {
    watchdog.arm("size " + std::to_string(i), 0.2);
    std::this_thread::sleep_for(20ms);
  }
  watchdog.disarm();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fired.load(), 0);
  EXPECT_FALSE(watchdog.fired());
}

TEST(Watchdog, DestructorReturnsPromptlyWhileArmed) {
  const auto start = std::chrono::steady_clock::now();
  {
    Watchdog watchdog([](const std::string&, double) {});
    watchdog.arm("init", 3600);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace preflight
