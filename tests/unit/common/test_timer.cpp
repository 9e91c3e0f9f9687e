// The sample clock: which clock a machine gets (fixture /proc and /sys trees), and that the TSC,
// where this machine has one, measures what CLOCK_MONOTONIC measures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/error.hpp"
#include "common/sysfs.hpp"
#include "common/timer.hpp"

namespace preflight {
namespace {

class ClockChoiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("preflight-clock-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& relative, const std::string& content) {
    std::filesystem::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << content;
  }
  // Two processors, as /proc/cpuinfo lists them; `flags` on both.
  void cpuinfo(const std::string& flags) {
    std::string text;
    for (int cpu = 0; cpu < 2; ++cpu) {
      text += "processor\t: " + std::to_string(cpu) +
              "\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nflags\t\t: " + flags +
              "\nbugs\t\t: sysret_ss_attrs\n\n";
    }
    write("proc/cpuinfo", text);
  }
  void clocksource(const std::string& name) {
    write("sys/devices/system/clocksource/clocksource0/current_clocksource", name + "\n");
  }
  [[nodiscard]] ClockChoice choose(std::string_view requested = "auto") const {
    return choose_sample_clock(RootFs(root_), requested);
  }
  std::filesystem::path root_;
};

constexpr std::string_view kInvariantFlags =
    "fpu vme de pse tsc msr pae constant_tsc rep_good nopl nonstop_tsc cpuid tsc_known_freq";

TEST_F(ClockChoiceTest, InvariantTscKeptByTheKernelIsChosen) {
  cpuinfo(std::string(kInvariantFlags));
  clocksource("tsc");
  const ClockChoice choice = choose();
#if defined(__x86_64__) || defined(__i386__)
  EXPECT_EQ(choice.source, ClockSource::tsc);
  EXPECT_NE(choice.reason.find("invariant TSC"), std::string::npos) << choice.reason;
#else
  EXPECT_EQ(choice.source, ClockSource::monotonic);
#endif
  EXPECT_EQ(choose("tsc").source, choice.source);
}

TEST_F(ClockChoiceTest, EveryFailedCheckFallsBackToMonotonicWithItsReason) {
#if !defined(__x86_64__) && !defined(__i386__)
  GTEST_SKIP() << "no TSC on this architecture";
#endif
  // A TSC that stops in deep C-states.
  cpuinfo("fpu tsc constant_tsc cpuid");
  clocksource("tsc");
  ClockChoice choice = choose();
  EXPECT_EQ(choice.source, ClockSource::monotonic);
  EXPECT_NE(choice.reason.find("nonstop_tsc"), std::string::npos) << choice.reason;
  EXPECT_EQ(choice.reason.find("constant_tsc"), std::string::npos) << choice.reason;
  // Both missing: both named. Asking for the TSC does not override the checks.
  cpuinfo("fpu tsc cpuid");
  choice = choose("tsc");
  EXPECT_EQ(choice.source, ClockSource::monotonic);
  EXPECT_NE(choice.reason.find("constant_tsc, nonstop_tsc"), std::string::npos) << choice.reason;
  // Invariant, but the kernel moved off it (found unsynchronised across CPUs, or a VM's choice).
  cpuinfo(std::string(kInvariantFlags));
  clocksource("kvm-clock");
  choice = choose();
  EXPECT_EQ(choice.source, ClockSource::monotonic);
  EXPECT_NE(choice.reason.find("kvm-clock"), std::string::npos) << choice.reason;
  // Nothing readable at all.
  std::filesystem::remove_all(root_);
  choice = choose();
  EXPECT_EQ(choice.source, ClockSource::monotonic);
}

TEST_F(ClockChoiceTest, RequestIsHonouredOrRefused) {
  cpuinfo(std::string(kInvariantFlags));
  clocksource("tsc");
  const ClockChoice choice = choose("monotonic");
  EXPECT_EQ(choice.source, ClockSource::monotonic);
  EXPECT_EQ(choice.reason, "PREFLIGHT_CLOCK=monotonic");
  EXPECT_EQ(choose("").source, choose("auto").source);
  try {
    (void)choose("rdtsc");
    ADD_FAILURE() << "an unknown PREFLIGHT_CLOCK was accepted";
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("PREFLIGHT_CLOCK=rdtsc"), std::string::npos);
  }
}

// Both clocks time one sleep; the TSC's rate was calibrated over 2 ms only, so this also bounds
// the calibration's error (the sleeps are read by both clocks around the same interval).
TEST(SampleClock, TscAgreesWithTheMonotonicClock) {
  const SampleClock tsc = SampleClock::tsc("test");
  if (tsc.source() != ClockSource::tsc) {
    GTEST_SKIP() << "no usable TSC here: " << tsc.reason();
  }
  EXPECT_GT(1.0 / tsc.seconds_per_tick(), 1e8);
  const SampleClock monotonic = SampleClock::monotonic("test");
  const auto tsc_start = tsc.now();
  const auto monotonic_start = monotonic.now();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  const auto monotonic_end = monotonic.now();
  const auto tsc_end = tsc.now();
  const double by_tsc_s = tsc.seconds(tsc_start, tsc_end);
  const double by_monotonic_s = monotonic.seconds(monotonic_start, monotonic_end);
  EXPECT_GE(by_monotonic_s, 0.030);
  EXPECT_NEAR(by_tsc_s / by_monotonic_s, 1.0, 0.01);
  const nlohmann::json description = tsc.describe();
  EXPECT_EQ(description["source"], "tsc");
  EXPECT_GT(description["ticks_per_s"].get<double>(), 1e8);
}

TEST(SampleClock, MonotonicReadsNanoseconds) {
  const SampleClock clock = SampleClock::monotonic("because");
  const auto start = clock.now();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GE(clock.seconds(start, clock.now()), 0.005);
  EXPECT_EQ(clock.describe()["source"], "monotonic");
  EXPECT_EQ(clock.describe()["reason"], "because");
  EXPECT_FALSE(clock.describe().contains("ticks_per_s"));
}

TEST(SampleClock, ProcessClockIsChosenOnce) {
  const SampleClock& first = process_sample_clock();
  EXPECT_EQ(&first, &process_sample_clock());
  const auto start = first.now();
  EXPECT_GE(first.now(), start);
}

}  // namespace
}  // namespace preflight
