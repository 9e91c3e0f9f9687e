#include "collectives/timing.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "common/timer.hpp"

namespace preflight::collectives {

std::size_t batch_length(const CollectiveOptions& options) {
  if (options.sampling.fixed) {
    return options.batch_iterations;
  }
  return std::max<std::size_t>(1,
                               std::min(options.batch_iterations, options.sampling.max_iterations));
}

SamplingPolicy batch_sampling_policy(const SamplingPolicy& policy, std::size_t batch) {
  constexpr std::size_t kMinBatches = 5;  // the median's confidence interval needs a few
  SamplingPolicy batches = policy;
  if (policy.fixed) {
    batches.min_iterations = batches.max_iterations = 1;
    return batches;
  }
  batches.max_iterations = std::max<std::size_t>(1, policy.max_iterations / batch);
  batches.min_iterations = std::min(
      batches.max_iterations, std::max(kMinBatches, (policy.min_iterations + batch - 1) / batch));
  batches.time_budget_s = policy.time_budget_s / static_cast<double>(batch);
  return batches;
}

// The slowest rank's own figures stay in own_s (its median names it).
TimedSamples time_batches(CollectiveBackend& backend, Bootstrap& world,
                          const CollectiveOptions& options, ProgressChannel* progress) {
  const std::size_t batch = batch_length(options);
  AdaptiveSampler sampler(batch_sampling_policy(options.sampling, batch));
  const double wall_limit_s = 3 * options.sampling.time_budget_s + 1;
  const Stopwatch loop_clock;
  TimedSamples timed;
  bool wall_stop = false;
  bool done = false;
  while (!done) {
    world.barrier();
    const BatchTime time = backend.run_batch(batch);
    const std::array<double, 3> mine{time.device_s / static_cast<double>(batch),
                                     time.host_s / static_cast<double>(batch),
                                     loop_clock.elapsed_s()};
    // Outside the timed region: every rank gets every rank's figures, so all take the same
    // sample and stop at the same batch.
    const auto all = world.allgather_value(mine);
    double sum_s = 0;
    double slowest_wall_s = 0;
    for (const auto& rank : all) {
      sum_s += rank[0];
      slowest_wall_s = std::max(slowest_wall_s, rank[2]);
    }
    timed.own_s.push_back(mine[0]);
    timed.host_s.push_back(mine[1]);
    if (progress != nullptr) {
      progress->set_iteration(static_cast<std::int64_t>(timed.own_s.size() * batch));
    }
    done = sampler.add(sum_s / static_cast<double>(all.size()));
    if (!done && !options.sampling.fixed && slowest_wall_s > wall_limit_s) {
      done = wall_stop = true;
    }
  }
  timed.samples_s.assign(sampler.samples().begin(), sampler.samples().end());
  timed.stop_reason = wall_stop ? "wall_time" : std::string(to_string(sampler.stop_reason()));
  return timed;
}

TimedSamples time_iterations(CollectiveBackend& backend, const SamplingPolicy& policy,
                             const MaxOverRanks& max_over_ranks, ProgressChannel* progress) {
  AdaptiveSampler sampler(policy);
  const double wall_limit_s = 3 * policy.time_budget_s + 1;
  TimedSamples timed;
  // Sized, so written and faulted in, before the first call; grown (between chunks) only past
  // the sampler's preallocation.
  const std::size_t expected =
      std::min(policy.fixed ? policy.min_iterations : policy.max_iterations,
               AdaptiveSampler::kPreallocatedSamples);
  timed.own_s.resize(std::max<std::size_t>(expected, kSampleChunk));
  timed.host_s.resize(timed.own_s.size());
  std::array<double, kSampleChunk> chunk_maxima{};
  const Stopwatch loop_clock;
  std::size_t taken = 0;  // iterations run (a time-budget stop may leave some past the samples)
  bool wall_stop = false;
  while (!sampler.done() && !wall_stop) {
    const std::size_t chunk = std::min(kSampleChunk, sampler.until_decision());
    if (taken + chunk > timed.own_s.size()) {
      timed.own_s.resize(2 * timed.own_s.size());
      timed.host_s.resize(timed.own_s.size());
    }
    double slowest_wall_s = 0;
    for (std::size_t i = 0; i < chunk; ++i) {
      const IterationTime time = backend.run_timed();
      // Outside the timed region: the iteration's time is the slowest rank's. The last iteration
      // of a chunk carries the slowest rank's elapsed wall time along, so that tiny messages
      // (whose wall time is mostly this reduction) stop on a wall-clock cap too, on every rank
      // at the same iteration.
      const bool last = i + 1 == chunk;
      std::array<double, 2> shared{time.sample_s, last ? loop_clock.elapsed_s() : 0.0};
      max_over_ranks(std::span<double>(shared.data(), last ? 2 : 1));
      chunk_maxima[i] = shared[0];
      timed.own_s[taken + i] = time.sample_s;
      timed.host_s[taken + i] = time.host_s;
      if (last) {
        slowest_wall_s = shared[1];
      }
    }
    taken += chunk;
    if (progress != nullptr) {
      progress->set_iteration(static_cast<std::int64_t>(taken));
    }
    (void)sampler.add(std::span<const double>(chunk_maxima.data(), chunk));
    if (!sampler.done() && !policy.fixed && sampler.samples().size() >= policy.min_iterations &&
        slowest_wall_s > wall_limit_s) {
      wall_stop = true;
    }
  }
  const std::size_t samples = sampler.samples().size();
  timed.own_s.resize(samples);
  timed.host_s.resize(samples);
  timed.samples_s.assign(sampler.samples().begin(), sampler.samples().end());
  timed.stop_reason = wall_stop ? "wall_time" : std::string(to_string(sampler.stop_reason()));
  return timed;
}

BatchedMean time_batched_mean(CollectiveBackend& backend, Bootstrap& world,
                              std::size_t iterations) {
  iterations = std::max<std::size_t>(iterations, 1);
  world.barrier();
  const BatchTime time = backend.run_batch(iterations);
  const auto count = static_cast<double>(iterations);
  const std::array<double, 2> mine{time.device_s / count, time.host_s / count};
  const auto all = world.allgather_value(mine);
  BatchedMean mean;
  mean.iterations = iterations;
  for (const auto& rank : all) {
    mean.mean_s += rank[0] / static_cast<double>(all.size());
    mean.host_mean_s += rank[1] / static_cast<double>(all.size());
  }
  return mean;
}

}  // namespace preflight::collectives
