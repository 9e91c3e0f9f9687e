#include "common/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace preflight {
namespace {

std::vector<double> sorted_copy(std::span<const double> samples) {
  if (samples.empty()) {
    throw std::invalid_argument("statistics of an empty sample set");
  }
  std::vector<double> sorted(samples.begin(), samples.end());
  for (const double value : sorted) {
    if (!std::isfinite(value)) {
      throw std::invalid_argument("statistics: sample is NaN or infinite");
    }
  }
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

double median_of_sorted(const std::vector<double>& sorted) {
  const std::size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

// Order-statistic ranks (1-based) l < u with P(l <= rank of median < u) >= 95%, i.e. the smallest
// symmetric window such that Binomial(n, 1/2) puts at least 95% of its mass in [l, u - 1].
struct Ranks {
  std::size_t lower = 1;
  std::size_t upper = 1;
  double coverage = 0;
};

Ranks median_ci_ranks(std::size_t n) {
  if (n <= 1000) {
    // log-space binomial pmf with p = 1/2. log k! by summation, not std::lgamma: lgamma writes
    // the global signgam, a data race when ranks are threads of one process (ThreadSanitizer).
    std::vector<double> log_factorial(n + 1, 0.0);
    for (std::size_t k = 2; k <= n; ++k) {
      log_factorial[k] = log_factorial[k - 1] + std::log(static_cast<double>(k));
    }
    std::vector<double> pmf(n + 1);
    const double log_half_n = static_cast<double>(n) * std::log(0.5);
    for (std::size_t k = 0; k <= n; ++k) {
      pmf[k] = std::exp(log_factorial[n] - log_factorial[k] - log_factorial[n - k] + log_half_n);
    }
    // Coverage of [x_(l), x_(n+1-l)] is P(l <= B <= n - l).
    for (std::size_t l = n / 2; l >= 1; --l) {
      double coverage = 0;
      for (std::size_t k = l; k <= n - l; ++k) {
        coverage += pmf[k];
      }
      if (coverage >= 0.95) {
        return {l, n + 1 - l, coverage};
      }
    }
    return {1, n, 1.0 - 2.0 * std::pow(0.5, static_cast<double>(n))};
  }
  const double half_width = 1.959963984540054 * std::sqrt(static_cast<double>(n)) / 2.0;
  const auto lower = static_cast<std::size_t>(
      std::max(1.0, std::floor(static_cast<double>(n) / 2.0 - half_width)));
  return {lower, n + 1 - lower, 0.95};
}

}  // namespace

double percentile_nearest_rank(std::span<const double> sorted_samples, double p) {
  if (sorted_samples.empty()) {
    throw std::invalid_argument("percentile of an empty sample set");
  }
  const std::size_t n = sorted_samples.size();
  const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(n));
  const auto index = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return sorted_samples[std::min(index, n - 1)];
}

double median(std::span<const double> samples) {
  return median_of_sorted(sorted_copy(samples));
}

double median_absolute_deviation(std::span<const double> samples) {
  const auto sorted = sorted_copy(samples);
  const double center = median_of_sorted(sorted);
  std::vector<double> deviations;
  deviations.reserve(sorted.size());
  for (const double value : sorted) {
    deviations.push_back(std::abs(value - center));
  }
  std::sort(deviations.begin(), deviations.end());
  return median_of_sorted(deviations);
}

SampleSummary summarize(std::span<const double> samples) {
  const auto sorted = sorted_copy(samples);
  const std::size_t n = sorted.size();
  SampleSummary summary;
  summary.n = n;
  summary.min = sorted.front();
  summary.max = sorted.back();
  summary.median = median_of_sorted(sorted);
  summary.mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / static_cast<double>(n);
  summary.p50 = percentile_nearest_rank(sorted, 50);
  summary.p90 = percentile_nearest_rank(sorted, 90);
  summary.p99 = percentile_nearest_rank(sorted, 99);
  summary.p999 = percentile_nearest_rank(sorted, 99.9);
  if (n > 1) {
    double sum_squares = 0;
    for (const double value : sorted) {
      sum_squares += (value - summary.mean) * (value - summary.mean);
    }
    summary.stdev = std::sqrt(sum_squares / static_cast<double>(n - 1));
  }
  summary.cv = summary.mean != 0 ? summary.stdev / summary.mean : 0;
  if (n < 6) {
    summary.ci95_lo = summary.min;
    summary.ci95_hi = summary.max;
    summary.ci_coverage = n == 1 ? 0.0 : 1.0 - 2.0 * std::pow(0.5, static_cast<double>(n));
  } else {
    const Ranks ranks = median_ci_ranks(n);
    summary.ci95_lo = sorted[ranks.lower - 1];
    summary.ci95_hi = sorted[ranks.upper - 1];
    summary.ci_coverage = ranks.coverage;
  }
  return summary;
}

double relative_ci_half_width(std::span<const double> samples, std::vector<double>& scratch) {
  const std::size_t n = samples.size();
  if (n == 0) {
    throw std::invalid_argument("statistics of an empty sample set");
  }
  scratch.assign(samples.begin(), samples.end());
  // k-th smallest (0-based): each selection leaves everything below it on its left, so the next
  // (larger) rank searches only the right part.
  const auto select = [&scratch](std::size_t from, std::size_t k) {
    std::nth_element(scratch.begin() + static_cast<std::ptrdiff_t>(from),
                     scratch.begin() + static_cast<std::ptrdiff_t>(k), scratch.end());
    return scratch[k];
  };
  std::size_t lower = 0;
  std::size_t upper = n - 1;
  if (n >= 6) {
    const Ranks ranks = median_ci_ranks(n);
    lower = ranks.lower - 1;
    upper = ranks.upper - 1;
  }
  const double low = select(0, lower);
  double middle = select(lower, (n - 1) / 2);
  if (n % 2 == 0) {
    // The upper middle is the smallest value right of the lower one.
    middle = (middle + *std::min_element(scratch.begin() + static_cast<std::ptrdiff_t>(n / 2),
                                         scratch.end())) /
             2.0;
  }
  const double high = select((n - 1) / 2, upper);
  if (middle == 0) {
    return std::numeric_limits<double>::infinity();
  }
  return (high - low) / 2.0 / std::abs(middle);
}

double relative_ci_half_width(const SampleSummary& summary) {
  if (summary.median == 0) {
    return std::numeric_limits<double>::infinity();
  }
  return (summary.ci95_hi - summary.ci95_lo) / 2.0 / std::abs(summary.median);
}

}  // namespace preflight
