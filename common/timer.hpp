// Host time: the monotonic clock for deadlines and wall time, and the clock of timed regions
// (SampleClock), which reads the CPU's time-stamp counter where the kernel says it is invariant.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace preflight {

class RootFs;

using MonotonicClock = std::chrono::steady_clock;

[[nodiscard]] inline double seconds_between(MonotonicClock::time_point start,
                                            MonotonicClock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

class Stopwatch {
 public:
  Stopwatch() : start_(MonotonicClock::now()) {}
  void restart() { start_ = MonotonicClock::now(); }
  [[nodiscard]] double elapsed_s() const { return seconds_between(start_, MonotonicClock::now()); }

 private:
  MonotonicClock::time_point start_;
};

// Wall-clock time as RFC 3339 UTC with milliseconds, for reports ("2026-11-23T17:36:52.123Z").
[[nodiscard]] std::string utc_timestamp_now();

enum class ClockSource { monotonic, tsc };
[[nodiscard]] std::string_view to_string(ClockSource source);

// Which clock timed regions should use on the machine whose /proc and /sys `root` shows, and why.
// The TSC only where it is invariant (cpuinfo flags constant_tsc and nonstop_tsc: the same rate
// in every P- and C-state) and the kernel keeps it as its clocksource (it was found synchronised
// across CPUs and stable, so a rank that migrates reads the same counter); CLOCK_MONOTONIC
// otherwise, and on CPUs without a TSC. `requested` is "auto" (or empty), "tsc" or "monotonic"
// (PREFLIGHT_CLOCK): "tsc" where the checks fail still gets the monotonic clock, with the reason.
struct ClockChoice {
  ClockSource source = ClockSource::monotonic;
  std::string reason;
};
[[nodiscard]] ClockChoice choose_sample_clock(const RootFs& root, std::string_view requested);

// The clock of timed regions: now() is one instruction (rdtsc) with the TSC, and seconds()
// converts a difference of readings with a rate calibrated against CLOCK_MONOTONIC when the clock
// is made. Reading it costs less than CLOCK_MONOTONIC's vDSO call (3-8% of an 8-byte MPI time on
// this project's VMs). Its step is the CPU's: a fraction of a nanosecond on many, but on this
// project's AMD EPYC VMs consecutive readings differ by 26 ticks of 2.6 GHz, a 10 ns step like
// CLOCK_MONOTONIC's, which quantises a 230 ns median by 4.5%: means and batched means are
// reported next to medians.
class SampleClock {
 public:
  using Ticks = std::uint64_t;

  // CLOCK_MONOTONIC in nanoseconds.
  [[nodiscard]] static SampleClock monotonic(std::string reason);
  // The TSC, its rate measured against CLOCK_MONOTONIC over `calibration_s`; the monotonic clock
  // (with the reason) where there is no TSC or the rate it measures is implausible.
  [[nodiscard]] static SampleClock tsc(std::string reason, double calibration_s = 0.002);
  [[nodiscard]] static SampleClock make(const ClockChoice& choice);

  [[nodiscard]] Ticks now() const noexcept {
    // Compiler fences: nothing of the timed operation moves across the reading.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    const Ticks ticks = source_ == ClockSource::tsc ? read_tsc() : monotonic_ns();
    std::atomic_signal_fence(std::memory_order_seq_cst);
    return ticks;
  }
  [[nodiscard]] double seconds(Ticks start, Ticks end) const noexcept {
    return static_cast<double>(end - start) * seconds_per_tick_;
  }
  [[nodiscard]] double seconds_per_tick() const noexcept { return seconds_per_tick_; }
  [[nodiscard]] ClockSource source() const noexcept { return source_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  // For the report: {"source": "tsc", "ticks_per_s": ..., "reason": ...}.
  [[nodiscard]] nlohmann::json describe() const;

 private:
  SampleClock(ClockSource source, double seconds_per_tick, std::string reason)
      : source_(source), seconds_per_tick_(seconds_per_tick), reason_(std::move(reason)) {}

  static Ticks read_tsc() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
  }
  static Ticks monotonic_ns() noexcept {
    return static_cast<Ticks>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  MonotonicClock::now().time_since_epoch())
                                  .count());
  }

  ClockSource source_;
  double seconds_per_tick_;
  std::string reason_;
};

// The clock of this process's timed regions, chosen once from the live machine and
// PREFLIGHT_CLOCK and calibrated on first use (about 2 ms): call it before a timed loop starts.
// Immutable after that first call.
[[nodiscard]] const SampleClock& process_sample_clock();

}  // namespace preflight
