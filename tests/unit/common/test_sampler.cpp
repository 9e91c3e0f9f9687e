#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "common/error.hpp"
#include "common/sampler.hpp"
#include "common/stats.hpp"

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

// Where one add() per sample stops, and why.
struct Stop {
  std::size_t samples = 0;
  StopReason reason = StopReason::running;
  double measured_s = 0;
};

Stop stop_per_sample(const SamplingPolicy& policy, const std::vector<double>& stream) {
  AdaptiveSampler sampler(policy);
  for (const double sample : stream) {
    if (sampler.add(sample)) {
      break;
    }
  }
  return {sampler.samples().size(), sampler.stop_reason(), sampler.measured_time_s()};
}

// As the timing loops feed it: chunks of at most `chunk`, never past until_decision(); also
// counts the samples "run" past the stop (only a time-budget stop may leave any).
Stop stop_in_chunks(const SamplingPolicy& policy, const std::vector<double>& stream,
                    std::size_t chunk, std::size_t& run_past_stop) {
  AdaptiveSampler sampler(policy);
  std::size_t position = 0;
  run_past_stop = 0;
  while (!sampler.done() && position < stream.size()) {
    const std::size_t until = sampler.until_decision();
    EXPECT_GE(until, 1U);
    const std::size_t take = std::min({chunk, until, stream.size() - position});
    const std::size_t recorded =
        sampler.add(std::span<const double>(stream).subspan(position, take));
    run_past_stop += take - recorded;
    position += take;
  }
  EXPECT_EQ(sampler.until_decision(), 0U);
  return {sampler.samples().size(), sampler.stop_reason(), sampler.measured_time_s()};
}

TEST(Sampler, ChunkedFeedingTakesEveryDecisionAtTheSameSample) {
  std::mt19937 generator(2024);
  std::lognormal_distribution<double> spread(-13, 0.3);  // about 2 us, 30% spread
  std::vector<double> stream(300000);
  for (double& sample : stream) {
    sample = spread(generator);
  }
  std::vector<SamplingPolicy> policies(5);
  policies[0].fixed = true;  // -n 1000
  policies[0].min_iterations = 1000;
  policies[1].max_iterations = 777;  // the cap
  policies[1].target_precision = 1e-9;
  policies[2].target_precision = 0.01;  // precision, at a check point
  policies[3].target_precision = 1e-9;  // the time budget, mid-chunk
  policies[3].time_budget_s = 0.05;
  policies[4].min_iterations = 50;  // precision reached at the minimum
  policies[4].target_precision = 0.5;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    SCOPED_TRACE(i);
    const Stop expected = stop_per_sample(policies[i], stream);
    ASSERT_NE(expected.reason, StopReason::running);
    for (const std::size_t chunk : {1U, 7U, 64U, 100000U}) {
      std::size_t past = 0;
      const Stop chunked = stop_in_chunks(policies[i], stream, chunk, past);
      EXPECT_EQ(chunked.samples, expected.samples) << "chunk " << chunk;
      EXPECT_EQ(chunked.reason, expected.reason) << "chunk " << chunk;
      EXPECT_DOUBLE_EQ(chunked.measured_s, expected.measured_s);
      if (expected.reason != StopReason::time_budget) {
        EXPECT_EQ(past, 0U) << "chunk " << chunk << " ran past a decision it could know";
      } else {
        EXPECT_LT(past, chunk);
      }
    }
  }
}

TEST(Sampler, StorageIsPreallocatedAndGrowsPastIt) {
  SamplingPolicy policy;
  policy.fixed = true;
  policy.min_iterations = 3000;
  AdaptiveSampler sampler(policy);
  const double* storage = sampler.samples().data();
  for (int i = 0; i < 2999; ++i) {
    EXPECT_FALSE(sampler.add(1e-6));
  }
  EXPECT_TRUE(sampler.add(1e-6));
  EXPECT_EQ(sampler.samples().data(), storage);  // never moved: never reallocated
  // A cap above the preallocation still records every sample.
  policy.min_iterations = AdaptiveSampler::kPreallocatedSamples + 10;
  AdaptiveSampler big(policy);
  std::vector<double> ones(policy.min_iterations, 1e-9);
  EXPECT_EQ(big.add(std::span<const double>(ones)), ones.size());
  EXPECT_EQ(big.stop_reason(), StopReason::fixed);
  EXPECT_EQ(big.samples().size(), ones.size());
}

TEST(Sampler, PrecisionCheckFromSelectionsEqualsTheSummary) {
  std::mt19937 generator(5);
  std::exponential_distribution<double> skewed(1e6);
  std::vector<double> scratch;
  for (const std::size_t n : {1U, 2U, 5U, 6U, 7U, 10U, 11U, 64U, 999U, 1000U, 1001U, 4096U}) {
    std::vector<double> samples(n);
    for (double& sample : samples) {
      sample = 1e-6 + skewed(generator);
    }
    EXPECT_DOUBLE_EQ(relative_ci_half_width(samples, scratch),
                     relative_ci_half_width(summarize(samples)))
        << n << " samples";
  }
  // Ties and a zero median.
  const std::vector<double> ties{3, 3, 3, 1, 1, 5, 5, 5};
  EXPECT_DOUBLE_EQ(relative_ci_half_width(ties, scratch), relative_ci_half_width(summarize(ties)));
  const std::vector<double> zeros{0, 0, 0, 1};
  EXPECT_TRUE(std::isinf(relative_ci_half_width(zeros, scratch)));
}

TEST(Sampler, BatchedMeanTakesAsManyIterationsAsSamplesWithinAQuarterOfTheBudget) {
  SamplingPolicy policy;
  policy.time_budget_s = 2.0;
  EXPECT_EQ(batched_mean_iterations(policy, 5000, 250e-9), 5000U);  // 1.25 ms: all of them
  EXPECT_EQ(batched_mean_iterations(policy, 40, 0.05), 10U);        // 64 MiB: 0.5 s
  EXPECT_EQ(batched_mean_iterations(policy, 10, 3.0), 1U);          // one call past the budget
  EXPECT_EQ(batched_mean_iterations(policy, 0, 1e-6), 1U);
  policy.fixed = true;  // --iters N / -n N: exactly N, as a peer run with the same count
  EXPECT_EQ(batched_mean_iterations(policy, 20000, 1.0), 20000U);
}

}  // namespace
}  // namespace preflight
