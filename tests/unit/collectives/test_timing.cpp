// The per-iteration timing loop with a scripted backend and a scripted "other rank": the sample is
// the per-iteration maximum over ranks, the sampler is fed off the hot path without changing a
// decision, and the batched mean is one batch averaged over ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "collectives/timing.hpp"
#include "common/bootstrap.hpp"

namespace preflight::collectives {
namespace {

// Every timed call "takes" the next scripted time; nothing is communicated.
class ScriptedBackend final : public CollectiveBackend {
 public:
  explicit ScriptedBackend(std::vector<double> times_s) : times_s_(std::move(times_s)) {}
  [[nodiscard]] std::string name() const override { return "scripted"; }
  [[nodiscard]] std::string transport() const override { return "none"; }
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  [[nodiscard]] nlohmann::json describe() const override { return nlohmann::json::object(); }
  [[nodiscard]] std::optional<std::string> unsupported(
      const CollectiveCall& /*call*/) const override {
    return std::nullopt;
  }
  void prepare(const CollectiveCall& /*call*/) override {}
  void write_input(std::span<const std::byte> /*input*/) override {}
  void write_output(std::span<const std::byte> /*output*/) override {}
  void read_output(std::span<std::byte> /*output*/) override {}
  void run() override { ++untimed_calls; }
  IterationTime run_timed() override {
    const double time_s = times_s_[timed_calls % times_s_.size()];
    ++timed_calls;
    return {time_s, 2 * time_s};
  }
  BatchTime run_batch(std::size_t iterations) override {
    batch_calls += iterations;
    return {1e-6 * static_cast<double>(iterations), 2e-6 * static_cast<double>(iterations)};
  }
  void abort() noexcept override {}

  std::size_t timed_calls = 0;
  std::size_t untimed_calls = 0;
  std::size_t batch_calls = 0;

 private:
  std::vector<double> times_s_;
};

// The other rank is slower on every third call.
struct ScriptedMax {
  std::size_t calls = 0;
  std::size_t with_wall_clock = 0;
  void operator()(std::span<double> values) {
    const double other_s = calls % 3 == 0 ? 5e-6 : 1e-7;
    values[0] = std::max(values[0], other_s);
    ++calls;
    if (values.size() == 2) {
      ++with_wall_clock;
    }
  }
};

TEST(Timing, PerIterationSamplesAreTheMaximumOverRanksAndOwnTimesStayPerRank) {
  ScriptedBackend backend({1e-6, 2e-6});
  ScriptedMax max;
  SamplingPolicy policy;
  policy.fixed = true;
  policy.min_iterations = 1000;
  const TimedSamples timed =
      time_iterations(backend, policy, [&max](std::span<double> values) { max(values); });
  EXPECT_EQ(backend.timed_calls, 1000U);  // exactly -n: no call past the fixed count
  ASSERT_EQ(timed.samples_s.size(), 1000U);
  ASSERT_EQ(timed.own_s.size(), 1000U);
  ASSERT_EQ(timed.host_s.size(), 1000U);
  for (std::size_t i = 0; i < 1000; ++i) {
    const double own_s = i % 2 == 0 ? 1e-6 : 2e-6;
    EXPECT_EQ(timed.own_s[i], own_s);
    EXPECT_EQ(timed.host_s[i], 2 * own_s);
    EXPECT_EQ(timed.samples_s[i], std::max(own_s, i % 3 == 0 ? 5e-6 : 1e-7)) << i;
  }
  EXPECT_EQ(timed.stop_reason, "fixed");
  // One reduction per call; the wall clock rides along once per chunk.
  EXPECT_EQ(max.calls, 1000U);
  EXPECT_EQ(max.with_wall_clock, (1000 + kSampleChunk - 1) / kSampleChunk);
}

TEST(Timing, NoCallPastAPrecisionStopAndOnlyTheSamplerSamplesAfterABudgetStop) {
  // Steady samples: a zero-width interval meets any precision at the first check, the minimum.
  ScriptedBackend backend({1e-3});
  SamplingPolicy policy;
  policy.min_iterations = 10;
  policy.target_precision = 1e-12;
  policy.time_budget_s = 0.1005;
  const TimedSamples timed = time_iterations(backend, policy, [](std::span<double> /*values*/) {});
  EXPECT_EQ(timed.stop_reason, "precision");
  EXPECT_EQ(timed.samples_s.size(), 10U);
  EXPECT_EQ(backend.timed_calls, 10U);

  // Noisy samples never meet 1e-12: the budget stops them, possibly inside a chunk, and the
  // calls run past that sample are not samples (nor own or host times).
  ScriptedBackend noisy({1e-3, 2e-3, 1.5e-3, 3e-3, 1.2e-3});
  const TimedSamples budget = time_iterations(noisy, policy, [](std::span<double> /*values*/) {});
  EXPECT_EQ(budget.stop_reason, "time_budget");
  EXPECT_EQ(budget.own_s.size(), budget.samples_s.size());
  EXPECT_EQ(budget.host_s.size(), budget.samples_s.size());
  EXPECT_GE(noisy.timed_calls, budget.samples_s.size());
  EXPECT_LT(noisy.timed_calls, budget.samples_s.size() + kSampleChunk);
}

TEST(Timing, BatchedMeanIsOneBatchAveragedOverRanks) {
  auto bootstraps = make_thread_group_bootstraps(1);
  ScriptedBackend backend({1e-6});
  const BatchedMean mean = time_batched_mean(backend, *bootstraps[0], 300);
  EXPECT_EQ(mean.iterations, 300U);
  EXPECT_EQ(backend.batch_calls, 300U);
  EXPECT_DOUBLE_EQ(mean.mean_s, 1e-6);
  EXPECT_DOUBLE_EQ(mean.host_mean_s, 2e-6);
  EXPECT_EQ(time_batched_mean(backend, *bootstraps[0], 0).iterations, 1U);
}

}  // namespace
}  // namespace preflight::collectives
