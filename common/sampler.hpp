// Adaptive iteration control shared by every benchmark (collectives and point-to-point): keep
// sampling until the 95% CI of the median is within the target precision, or the per-size time
// budget is spent, within [min_iterations, max_iterations]. Warm-up iterations are counted by the
// caller and never fed here.
//
// Multi-rank use: feed the same samples on every rank (the per-iteration maximum over ranks) and
// every rank takes the same decision at the same iteration. For that reason the time budget is
// counted in measured sample time, not in each rank's own wall clock.
//
// Timing loops feed it off their hot path: they run until_decision() iterations (at most a chunk)
// into their own preallocated storage, then add() the chunk, which takes the decisions sample by
// sample exactly as one add() per iteration would. Sample storage is allocated and touched up
// front (up to kPreallocatedSamples), so no allocation or page fault lands between iterations.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "common/stats.hpp"

namespace preflight {

struct SamplingPolicy {
  std::size_t warmup_iterations = 5;
  std::size_t min_iterations = 10;
  std::size_t max_iterations = 100000;
  double target_precision = 0.01;  // relative half-width of the median's 95% CI
  double time_budget_s = 2.0;      // measured time per size
  bool fixed = false;              // exactly min_iterations, no adaptation (nccl-tests -n)
};

// Throws UsageError naming the flag when the policy is inconsistent (min > max, precision <= 0,
// budget <= 0, absurd iteration counts).
void validate_sampling_policy(const SamplingPolicy& policy);

enum class StopReason { running, precision, time_budget, max_iterations, fixed };
[[nodiscard]] std::string_view to_string(StopReason reason);

// The iterations of the batched mean that goes with a distribution of `samples` per-iteration
// samples: as many (fixed: the fixed count), but no more than about a quarter of the time budget
// at the median's pace; at least 1.
[[nodiscard]] std::size_t batched_mean_iterations(const SamplingPolicy& policy, std::size_t samples,
                                                  double median_s);

class AdaptiveSampler {
 public:
  // Samples stored without growing (8 MiB of doubles); beyond, the storage grows.
  static constexpr std::size_t kPreallocatedSamples = std::size_t{1} << 20U;

  explicit AdaptiveSampler(SamplingPolicy policy);

  // Records one sample (seconds) and returns true when sampling should stop.
  bool add(double sample_s);
  // Records samples in order until sampling should stop; returns how many were recorded (those
  // after the stop are not).
  std::size_t add(std::span<const double> samples_s);
  // Samples that can be added before the next decision other than the time budget (the fixed
  // count, the iteration cap, the minimum, the next precision check); at least 1, 0 once done. A
  // loop that runs min(chunk, until_decision()) iterations between add() calls never runs past
  // those stops.
  [[nodiscard]] std::size_t until_decision() const;
  [[nodiscard]] bool done() const { return reason_ != StopReason::running; }
  [[nodiscard]] StopReason stop_reason() const { return reason_; }
  [[nodiscard]] std::span<const double> samples() const { return {samples_.data(), count_}; }
  [[nodiscard]] double measured_time_s() const { return measured_time_s_; }
  // Summary of everything recorded so far (throws if nothing was recorded).
  [[nodiscard]] SampleSummary summary() const { return summarize(samples()); }

 private:
  bool record(double sample_s);

  SamplingPolicy policy_;
  std::vector<double> samples_;  // the first count_ are recorded
  std::size_t count_ = 0;
  std::vector<double> scratch_;  // for the precision check
  double measured_time_s_ = 0;
  std::size_t next_precision_check_ = 0;
  StopReason reason_ = StopReason::running;
};

}  // namespace preflight
