// Monotonic time for host-side measurement and deadlines.
#pragma once

#include <chrono>
#include <string>

namespace preflight {

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

}  // namespace preflight
