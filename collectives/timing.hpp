// The timing loops of the collectives runner, one per --timing mode, and the batched mean that
// per-iteration rows carry next to their distribution.
//
// per-iteration: each iteration times one call on every rank (two readings of the sample clock
//   around it, nothing else inside), then, outside the timed region, takes the maximum over the
//   ranks: that maximum is the sample, identical on every rank. The bookkeeping stays off the path
//   between calls: samples go into storage allocated and touched up front, and the sampler sees
//   them a chunk at a time (at most kSampleChunk, never past one of its decision points), so every
//   rank still stops at the same iteration. The wall-clock cap rides along the last maximum of a
//   chunk.
// batch: nccl-tests' method: barrier, `batch` calls back to back timed as one, divided by the
//   count; the sample is the mean over the ranks.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "collectives/backend.hpp"
#include "collectives/options.hpp"
#include "common/bootstrap.hpp"
#include "common/progress_channel.hpp"
#include "common/sampler.hpp"

namespace preflight::collectives {

// Element-wise maximum over the ranks, in place; every rank gets the same values.
using MaxOverRanks = std::function<void(std::span<double>)>;

// Iterations between two feeds of the sampler (and wall-clock checks) in per-iteration timing.
inline constexpr std::size_t kSampleChunk = 64;

// What the timing loop of one size and placement produced.
struct TimedSamples {
  std::vector<double> samples_s;  // what the sampler was fed: identical on every rank
  std::vector<double> own_s;      // this rank's own time per call, per sample
  std::vector<double> host_s;     // this rank's host-clock time per call, per sample
  std::string stop_reason;
};

// The calls per timed batch: --batch-iters (or -n), never more than --max-iters allows.
[[nodiscard]] std::size_t batch_length(const CollectiveOptions& options);
// The sampling policy in batches: the sampler sees one sample per batch (the mean time per call),
// so its counts become batch counts and its time budget, which adds up sample values, a budget
// of per-call time. -n N (fixed) is exactly one batch of N calls.
[[nodiscard]] SamplingPolicy batch_sampling_policy(const SamplingPolicy& policy, std::size_t batch);

// `progress` (optional) hears the iteration count after every batch or chunk, outside the timed
// region, so that a hang names the iteration it stopped at.
[[nodiscard]] TimedSamples time_batches(CollectiveBackend& backend, Bootstrap& world,
                                        const CollectiveOptions& options,
                                        ProgressChannel* progress = nullptr);
[[nodiscard]] TimedSamples time_iterations(CollectiveBackend& backend, const SamplingPolicy& policy,
                                           const MaxOverRanks& max_over_ranks,
                                           ProgressChannel* progress = nullptr);

// One batch of calls launched back to back after a barrier, timed as a whole (the mean nccl-tests
// and the OSU benchmarks print), averaged over the ranks as they average it.
struct BatchedMean {
  std::size_t iterations = 0;
  double mean_s = 0;       // per call, mean over ranks
  double host_mean_s = 0;  // the same on the host clock
};
[[nodiscard]] BatchedMean time_batched_mean(CollectiveBackend& backend, Bootstrap& world,
                                            std::size_t iterations);

}  // namespace preflight::collectives
