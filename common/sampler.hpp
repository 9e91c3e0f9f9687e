// Adaptive iteration control shared by every benchmark (collectives and point-to-point): keep
// sampling until the 95% CI of the median is within the target precision, or the per-size time
// budget is spent, within [min_iterations, max_iterations]. Warm-up iterations are counted by the
// caller and never fed here.
//
// Multi-rank use: feed the same samples on every rank (the per-iteration maximum over ranks) and
// every rank takes the same decision at the same iteration. For that reason the time budget is
// counted in measured sample time, not in each rank's own wall clock.
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

class AdaptiveSampler {
 public:
  explicit AdaptiveSampler(SamplingPolicy policy);

  // Records one sample (seconds) and returns true when sampling should stop.
  bool add(double sample_s);
  [[nodiscard]] bool done() const { return reason_ != StopReason::running; }
  [[nodiscard]] StopReason stop_reason() const { return reason_; }
  [[nodiscard]] std::span<const double> samples() const { return samples_; }
  [[nodiscard]] double measured_time_s() const { return measured_time_s_; }
  // Summary of everything recorded so far (throws if nothing was recorded).
  [[nodiscard]] SampleSummary summary() const { return summarize(samples_); }

 private:
  SamplingPolicy policy_;
  std::vector<double> samples_;
  double measured_time_s_ = 0;
  std::size_t next_precision_check_ = 0;
  StopReason reason_ = StopReason::running;
};

}  // namespace preflight
