#include "common/sampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"

namespace preflight {

namespace {
// Beyond this a run would take hours even at 1 us per iteration; it is a typo, not a plan.
constexpr std::size_t kMaxIterationsLimit = 100'000'000;
}  // namespace

void validate_sampling_policy(const SamplingPolicy& policy) {
  if (policy.min_iterations < 1) {
    throw UsageError("--min-iters: must be at least 1");
  }
  if (policy.max_iterations > kMaxIterationsLimit ||
      policy.warmup_iterations > kMaxIterationsLimit) {
    throw UsageError(fmt::format("--max-iters/--warmup-iters: at most {}", kMaxIterationsLimit));
  }
  if (policy.min_iterations > policy.max_iterations) {
    throw UsageError(fmt::format("--min-iters {} is above --max-iters {}", policy.min_iterations,
                                 policy.max_iterations));
  }
  if (!(policy.target_precision > 0) || !std::isfinite(policy.target_precision)) {
    throw UsageError("--target-precision: must be a positive fraction, e.g. 0.01");
  }
  if (!(policy.time_budget_s > 0) || !std::isfinite(policy.time_budget_s)) {
    throw UsageError("--time-per-size: must be a positive number of seconds");
  }
}

std::string_view to_string(StopReason reason) {
  switch (reason) {
    case StopReason::running:
      return "running";
    case StopReason::precision:
      return "precision";
    case StopReason::time_budget:
      return "time_budget";
    case StopReason::max_iterations:
      return "max_iterations";
    case StopReason::fixed:
      return "fixed";
  }
  return "running";
}

AdaptiveSampler::AdaptiveSampler(SamplingPolicy policy)
    : policy_(policy), next_precision_check_(policy.min_iterations) {
  samples_.reserve(std::min<std::size_t>(policy_.max_iterations, 4096));
}

bool AdaptiveSampler::add(double sample_s) {
  if (done()) {
    return true;
  }
  samples_.push_back(sample_s);
  measured_time_s_ += sample_s;
  const std::size_t n = samples_.size();
  if (policy_.fixed) {
    if (n >= policy_.min_iterations) {
      reason_ = StopReason::fixed;
    }
    return done();
  }
  if (n >= policy_.max_iterations) {
    reason_ = StopReason::max_iterations;
    return true;
  }
  if (n < policy_.min_iterations) {
    return false;
  }
  // The CI is recomputed at geometrically spaced counts (every ~10%), keeping the cost of the
  // decisions O(n log n) overall instead of O(n^2 log n).
  if (n >= next_precision_check_) {
    next_precision_check_ = n + std::max<std::size_t>(8, n / 10);
    if (relative_ci_half_width(summarize(samples_)) <= policy_.target_precision) {
      reason_ = StopReason::precision;
      return true;
    }
  }
  if (measured_time_s_ >= policy_.time_budget_s) {
    reason_ = StopReason::time_budget;
    return true;
  }
  return false;
}

}  // namespace preflight
