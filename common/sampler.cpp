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

std::size_t batched_mean_iterations(const SamplingPolicy& policy, std::size_t samples,
                                    double median_s) {
  samples = std::max<std::size_t>(samples, 1);
  if (policy.fixed || !(median_s > 0)) {
    return samples;
  }
  const double affordable = std::floor(policy.time_budget_s / 4 / median_s);
  return affordable >= static_cast<double>(samples)
             ? samples
             : static_cast<std::size_t>(std::max(affordable, 1.0));
}

AdaptiveSampler::AdaptiveSampler(SamplingPolicy policy)
    : policy_(policy), next_precision_check_(policy.min_iterations) {
  const std::size_t expected = policy_.fixed ? policy_.min_iterations : policy_.max_iterations;
  // Sized (so written, so faulted in) now: no page fault between timed iterations later.
  samples_.resize(std::max<std::size_t>(1, std::min(expected, kPreallocatedSamples)));
  if (!policy_.fixed) {
    scratch_.reserve(samples_.size());
  }
}

std::size_t AdaptiveSampler::until_decision() const {
  if (done()) {
    return 0;
  }
  const std::size_t n = count_;
  std::size_t next = policy_.fixed ? policy_.min_iterations : policy_.max_iterations;
  if (!policy_.fixed) {
    next = std::min(next, std::max(policy_.min_iterations, next_precision_check_));
  }
  return next > n ? next - n : 1;
}

std::size_t AdaptiveSampler::add(std::span<const double> samples_s) {
  std::size_t recorded = 0;
  for (const double sample_s : samples_s) {
    if (done()) {
      break;
    }
    ++recorded;
    if (record(sample_s)) {
      break;
    }
  }
  return recorded;
}

bool AdaptiveSampler::add(double sample_s) {
  if (done()) {
    return true;
  }
  return record(sample_s);
}

bool AdaptiveSampler::record(double sample_s) {
  if (count_ == samples_.size()) {
    samples_.resize(samples_.size() * 2);  // past kPreallocatedSamples only
  }
  samples_[count_++] = sample_s;
  measured_time_s_ += sample_s;
  const std::size_t n = count_;
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
  // The CI is recomputed at geometrically spaced counts (every ~10%), with selections instead of
  // a sort: O(n) per check, O(n) overall.
  if (n >= next_precision_check_) {
    next_precision_check_ = n + std::max<std::size_t>(8, n / 10);
    if (relative_ci_half_width(samples(), scratch_) <= policy_.target_precision) {
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
