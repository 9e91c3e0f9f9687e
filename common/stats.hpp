// Statistics of timing samples. Percentiles are nearest-rank (the value of an actual sample, as
// latency tools report them); the 95% confidence interval of the median comes from order
// statistics (distribution-free, exact binomial for n <= 1000, normal approximation above).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace preflight {

struct SampleSummary {
  std::size_t n = 0;
  double median = 0;
  double mean = 0;
  double min = 0;
  double max = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double p999 = 0;
  double stdev = 0;  // sample standard deviation (n - 1); 0 for n = 1
  double cv = 0;     // stdev / mean; 0 when the mean is 0
  // 95% CI of the median. For n < 6 no pair of order statistics reaches 95% coverage: the
  // interval is then [min, max] (its true coverage, 1 - 2^(1-n), is lower, and is reported).
  double ci95_lo = 0;
  double ci95_hi = 0;
  double ci_coverage = 0;
};

// Throws std::invalid_argument on an empty span or a NaN/infinite sample.
[[nodiscard]] SampleSummary summarize(std::span<const double> samples);

[[nodiscard]] double median(std::span<const double> samples);
// Nearest-rank percentile, p in [0, 100]: the smallest sample with at least p% at or below it.
[[nodiscard]] double percentile_nearest_rank(std::span<const double> sorted_samples, double p);
// Median absolute deviation (unscaled).
[[nodiscard]] double median_absolute_deviation(std::span<const double> samples);

// Half-width of the median's CI relative to the median: the adaptive runners stop when this is
// within the target precision. Infinite when the median is 0.
[[nodiscard]] double relative_ci_half_width(const SampleSummary& summary);
// The same figure straight from the samples, as summarize() would compute it, but with three
// selections (O(n)) in `scratch` instead of a sorted copy: the adaptive sampler's precision check,
// which runs between timed iterations. Samples must be finite (the sampler's are).
[[nodiscard]] double relative_ci_half_width(std::span<const double> samples,
                                            std::vector<double>& scratch);

}  // namespace preflight
