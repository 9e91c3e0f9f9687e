#include <gtest/gtest.h>

#include <random>

#include "common/error.hpp"
#include "common/sampler.hpp"

namespace preflight {
namespace {

TEST(Sampler, StopsOnPrecisionForSteadySamples) {
  SamplingPolicy policy;
  policy.min_iterations = 10;
  policy.target_precision = 0.01;
  AdaptiveSampler sampler(policy);
  std::size_t n = 0;
  while (!sampler.add(1e-6)) {
    ++n;
  }
  EXPECT_EQ(sampler.stop_reason(), StopReason::precision);
  EXPECT_EQ(sampler.samples().size(), 10U);
}

TEST(Sampler, StopsOnTimeBudgetForNoisySamples) {
  SamplingPolicy policy;
  policy.min_iterations = 5;
  policy.target_precision = 1e-9;
  policy.time_budget_s = 0.5;
  AdaptiveSampler sampler(policy);
  std::mt19937 generator(42);
  std::uniform_real_distribution<double> noise(0.001, 0.01);
  while (!sampler.add(noise(generator))) {
  }
  EXPECT_EQ(sampler.stop_reason(), StopReason::time_budget);
  EXPECT_GE(sampler.measured_time_s(), 0.5);
  EXPECT_LT(sampler.measured_time_s(), 0.52);
}

TEST(Sampler, StopsAtMaxIterations) {
  SamplingPolicy policy;
  policy.min_iterations = 2;
  policy.max_iterations = 50;
  policy.target_precision = 1e-12;
  policy.time_budget_s = 1e9;
  AdaptiveSampler sampler(policy);
  std::mt19937 generator(1);
  std::uniform_real_distribution<double> noise(1.0, 2.0);
  while (!sampler.add(noise(generator))) {
  }
  EXPECT_EQ(sampler.stop_reason(), StopReason::max_iterations);
  EXPECT_EQ(sampler.samples().size(), 50U);
}

TEST(Sampler, FixedCount) {
  SamplingPolicy policy;
  policy.fixed = true;
  policy.min_iterations = 20;
  AdaptiveSampler sampler(policy);
  int added = 0;
  while (!sampler.add(1.0)) {
    ++added;
  }
  EXPECT_EQ(sampler.samples().size(), 20U);
  EXPECT_EQ(sampler.stop_reason(), StopReason::fixed);
}

TEST(Sampler, IdenticalSamplesGiveIdenticalDecisions) {
  // Two "ranks" fed the same max-over-ranks samples stop at the same iteration.
  SamplingPolicy policy;
  policy.time_budget_s = 0.05;
  AdaptiveSampler a(policy);
  AdaptiveSampler b(policy);
  std::mt19937 generator(7);
  std::lognormal_distribution<double> noise(-9, 0.5);
  bool stop_a = false;
  bool stop_b = false;
  while (!stop_a) {
    const double sample = noise(generator);
    stop_a = a.add(sample);
    stop_b = b.add(sample);
    ASSERT_EQ(stop_a, stop_b);
  }
  EXPECT_EQ(a.samples().size(), b.samples().size());
}

TEST(Sampler, PolicyValidationNamesTheFlag) {
  SamplingPolicy policy;
  policy.min_iterations = 10;
  policy.max_iterations = 5;
  try {
    validate_sampling_policy(policy);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--min-iters"), std::string::npos);
  }
  policy = SamplingPolicy{};
  policy.target_precision = 0;
  EXPECT_THROW(validate_sampling_policy(policy), UsageError);
  policy = SamplingPolicy{};
  policy.time_budget_s = -1;
  EXPECT_THROW(validate_sampling_policy(policy), UsageError);
  EXPECT_NO_THROW(validate_sampling_policy(SamplingPolicy{}));
}

}  // namespace
}  // namespace preflight
