#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/stats.hpp"

namespace preflight {
namespace {

TEST(Stats, OneSample) {
  const std::vector<double> samples{2.5};
  const auto s = summarize(samples);
  EXPECT_EQ(s.n, 1U);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.stdev, 0.0);
  EXPECT_DOUBLE_EQ(s.ci95_lo, 2.5);
  EXPECT_DOUBLE_EQ(s.ci95_hi, 2.5);
  EXPECT_DOUBLE_EQ(s.p99, 2.5);
}

TEST(Stats, TwoSamples) {
  const std::vector<double> samples{3.0, 1.0};
  const auto s = summarize(samples);
  EXPECT_DOUBLE_EQ(s.median, 2.0);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 3.0);
  EXPECT_NEAR(s.stdev, std::sqrt(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(s.ci95_lo, 1.0);
  EXPECT_DOUBLE_EQ(s.ci95_hi, 3.0);
  EXPECT_DOUBLE_EQ(s.ci_coverage, 0.5);
  EXPECT_DOUBLE_EQ(s.p50, 1.0);  // nearest rank: ceil(0.5 * 2) = 1st
}

TEST(Stats, NearestRankPercentiles) {
  std::vector<double> samples;
  for (int i = 1; i <= 100; ++i) {
    samples.push_back(i);
  }
  const auto s = summarize(samples);
  EXPECT_DOUBLE_EQ(s.p50, 50);
  EXPECT_DOUBLE_EQ(s.p90, 90);
  EXPECT_DOUBLE_EQ(s.p99, 99);
  EXPECT_DOUBLE_EQ(s.p999, 100);
  EXPECT_DOUBLE_EQ(s.median, 50.5);
  EXPECT_NEAR(s.cv, s.stdev / 50.5, 1e-12);
}

TEST(Stats, MedianConfidenceIntervalFromOrderStatistics) {
  // n = 100: the exact binomial 95% interval is [x(40), x(61)] (coverage 0.9648).
  std::vector<double> samples;
  for (int i = 1; i <= 100; ++i) {
    samples.push_back(i);
  }
  const auto s = summarize(samples);
  EXPECT_DOUBLE_EQ(s.ci95_lo, 40);
  EXPECT_DOUBLE_EQ(s.ci95_hi, 61);
  EXPECT_GE(s.ci_coverage, 0.95);
  EXPECT_LT(s.ci_coverage, 0.97);
}

TEST(Stats, SmallSampleIntervalIsTheRange) {
  const std::vector<double> samples{5, 1, 3, 2, 4};
  const auto s = summarize(samples);
  EXPECT_DOUBLE_EQ(s.ci95_lo, 1);
  EXPECT_DOUBLE_EQ(s.ci95_hi, 5);
  EXPECT_NEAR(s.ci_coverage, 1 - 2 * std::pow(0.5, 5), 1e-12);
}

TEST(Stats, SixSamplesReachNinetyFivePercent) {
  const std::vector<double> samples{6, 1, 3, 2, 4, 5};
  const auto s = summarize(samples);
  EXPECT_DOUBLE_EQ(s.ci95_lo, 1);
  EXPECT_DOUBLE_EQ(s.ci95_hi, 6);
  EXPECT_GE(s.ci_coverage, 0.95);
}

TEST(Stats, LargeSampleUsesNormalApproximation) {
  std::vector<double> samples;
  for (int i = 1; i <= 10000; ++i) {
    samples.push_back(i);
  }
  const auto s = summarize(samples);
  // 1.96 * sqrt(10000) / 2 = 98: ranks 4902 .. 5099
  EXPECT_NEAR(s.ci95_lo, 4902, 1);
  EXPECT_NEAR(s.ci95_hi, 5099, 1);
  EXPECT_LT(relative_ci_half_width(s), 0.02);
}

TEST(Stats, RejectsNanInfinityAndEmpty) {
  const std::vector<double> with_nan{1.0, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_THROW((void)summarize(with_nan), std::invalid_argument);
  const std::vector<double> with_inf{1.0, std::numeric_limits<double>::infinity()};
  EXPECT_THROW((void)summarize(with_inf), std::invalid_argument);
  EXPECT_THROW((void)summarize(std::vector<double>{}), std::invalid_argument);
}

TEST(Stats, MedianAbsoluteDeviation) {
  const std::vector<double> samples{1, 1, 2, 2, 4, 6, 9};
  EXPECT_DOUBLE_EQ(median(samples), 2);
  EXPECT_DOUBLE_EQ(median_absolute_deviation(samples), 1);
}

TEST(Stats, RelativeHalfWidth) {
  SampleSummary s;
  s.median = 10;
  s.ci95_lo = 9;
  s.ci95_hi = 11;
  EXPECT_DOUBLE_EQ(relative_ci_half_width(s), 0.1);
  s.median = 0;
  EXPECT_TRUE(std::isinf(relative_ci_half_width(s)));
}

}  // namespace
}  // namespace preflight
