#include "common/timer.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/sysfs.hpp"
#include "common/text.hpp"

namespace preflight {

std::string utc_timestamp_now() {
  const auto now = std::chrono::system_clock::now();
  const auto milliseconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", utc, milliseconds);
}

std::string_view to_string(ClockSource source) {
  return source == ClockSource::tsc ? "tsc" : "monotonic";
}

namespace {

constexpr bool kHasTsc =
#if defined(__x86_64__) || defined(__i386__)
    true;
#else
    false;
#endif

// The flags of the first processor in /proc/cpuinfo (every CPU of a machine has the same TSC
// flags).
std::set<std::string, std::less<>> cpu_flags(const RootFs& root) {
  std::set<std::string, std::less<>> flags;
  const auto cpuinfo = root.read("/proc/cpuinfo");
  if (!cpuinfo) {
    return flags;
  }
  std::istringstream lines(*cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos || trim(std::string_view(line).substr(0, colon)) != "flags") {
      continue;
    }
    std::istringstream words(line.substr(colon + 1));
    std::string word;
    while (words >> word) {
      flags.insert(word);
    }
    break;
  }
  return flags;
}

// One (TSC, CLOCK_MONOTONIC) pair: the TSC read between two monotonic readings, the closest of a
// few tries, paired with their midpoint.
struct ClockPair {
  double tsc = 0;
  double monotonic_ns = 0;
};

ClockPair read_pair() {
  ClockPair best;
  double best_window_ns = std::numeric_limits<double>::infinity();
  constexpr int kTries = 7;
  for (int i = 0; i < kTries; ++i) {
    const auto before = MonotonicClock::now();
#if defined(__x86_64__) || defined(__i386__)
    const auto tsc = static_cast<double>(__builtin_ia32_rdtsc());
#else
    const double tsc = 0;
#endif
    const auto after = MonotonicClock::now();
    const double window_ns = std::chrono::duration<double, std::nano>(after - before).count();
    if (window_ns < best_window_ns) {
      best_window_ns = window_ns;
      best.tsc = tsc;
      best.monotonic_ns =
          std::chrono::duration<double, std::nano>(before.time_since_epoch()).count() +
          window_ns / 2;
    }
  }
  return best;
}

}  // namespace

ClockChoice choose_sample_clock(const RootFs& root, std::string_view requested) {
  if (requested == "monotonic") {
    return {ClockSource::monotonic, "PREFLIGHT_CLOCK=monotonic"};
  }
  if (!requested.empty() && requested != "auto" && requested != "tsc") {
    throw UsageError(fmt::format("PREFLIGHT_CLOCK={}: expected auto, tsc or monotonic", requested));
  }
  if (!kHasTsc) {
    return {ClockSource::monotonic, "this CPU architecture has no time-stamp counter"};
  }
  const auto flags = cpu_flags(root);
  std::vector<std::string> missing;
  for (const std::string_view flag : {"constant_tsc", "nonstop_tsc"}) {
    if (!flags.contains(flag)) {
      missing.emplace_back(flag);
    }
  }
  if (!missing.empty()) {
    return {ClockSource::monotonic,
            fmt::format("the TSC is not invariant (/proc/cpuinfo lacks {})", join(missing, ", "))};
  }
  const auto clocksource =
      root.read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  if (!clocksource || *clocksource != "tsc") {
    return {ClockSource::monotonic,
            fmt::format("the kernel's clocksource is {}, not tsc (the TSC was not found "
                        "synchronised and stable)",
                        clocksource ? *clocksource : std::string("unknown"))};
  }
  return {ClockSource::tsc,
          "invariant TSC (constant_tsc, nonstop_tsc) and the kernel's clocksource is tsc"};
}

SampleClock SampleClock::monotonic(std::string reason) {
  return {ClockSource::monotonic, 1e-9, std::move(reason)};
}

SampleClock SampleClock::tsc(std::string reason, double calibration_s) {
  if (!kHasTsc) {
    return monotonic("this CPU architecture has no time-stamp counter");
  }
  const ClockPair first = read_pair();
  const double end_ns = first.monotonic_ns + calibration_s * 1e9;
  ClockPair last = read_pair();
  while (last.monotonic_ns < end_ns) {
    last = read_pair();
  }
  const double ticks_per_s =
      (last.tsc - first.tsc) / ((last.monotonic_ns - first.monotonic_ns) * 1e-9);
  // A TSC runs at 0.1-10 GHz; anything else is a counter this code does not understand.
  if (!(ticks_per_s > 1e8 && ticks_per_s < 1e10)) {
    return monotonic(
        fmt::format("the TSC rate measured {:.4g} Hz, which is implausible", ticks_per_s));
  }
  return {ClockSource::tsc, 1.0 / ticks_per_s, std::move(reason)};
}

SampleClock SampleClock::make(const ClockChoice& choice) {
  return choice.source == ClockSource::tsc ? tsc(choice.reason) : monotonic(choice.reason);
}

nlohmann::json SampleClock::describe() const {
  nlohmann::json description = {{"source", to_string(source_)}, {"reason", reason_}};
  if (source_ == ClockSource::tsc) {
    description["ticks_per_s"] = 1.0 / seconds_per_tick_;
  }
  return description;
}

const SampleClock& process_sample_clock() {
  static const SampleClock clock = [] {
    const char* requested = std::getenv("PREFLIGHT_CLOCK");  // NOLINT(concurrency-mt-unsafe)
    return SampleClock::make(
        choose_sample_clock(RootFs("/"), requested != nullptr ? requested : "auto"));
  }();
  return clock;
}

}  // namespace preflight
