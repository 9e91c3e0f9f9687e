// The peer of preflight-allreduce --backend mpi: the smallest honest MPI_Allreduce timing loop.
// Each iteration times one MPI_Allreduce (float, sum, out of place) with two readings of the
// harness's sample clock (common/timer.hpp: the TSC where invariant, else CLOCK_MONOTONIC), then
// (outside the timed region) takes the maximum over ranks; rank 0 prints the median of those
// maxima (and their mean), then the batched mean of as many calls timed as one. Same method as
// the harness, none of its machinery, so the difference is the harness's overhead.
//
//   mpirun -np 2 collectives_peer_allreduce BYTES ITERATIONS WARMUP
//
// Variants, to find what differs from the harness (bench/results/collectives.md): PEER_FILL=
// ones (default), zeros, or pattern (small rank- and index-dependent integers, like the
// harness's check data); PEER_EXTRA_MIB=N allocates and touches N MiB before the buffers (the
// harness holds two staging copies of the input and output).
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/timer.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s BYTES ITERATIONS WARMUP\n", argv[0]);
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  const long bytes = std::atol(argv[1]);
  const int iterations = std::atoi(argv[2]);
  const int warmup = std::atoi(argv[3]);
  const auto count = static_cast<int>(bytes / static_cast<long>(sizeof(float)));
  int rank = 0;
  int ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  MPI_Comm time_comm = MPI_COMM_NULL;  // the max-reduce on its own communicator, as the harness
  MPI_Comm_dup(MPI_COMM_WORLD, &time_comm);

  // Page-aligned buffers, touched before timing, as the harness's: buffer placement is then no
  // difference between the two programs.
  const char* extra_mib_text = std::getenv("PEER_EXTRA_MIB");  // NOLINT(concurrency-mt-unsafe)
  const std::vector<char> extra(
      static_cast<std::size_t>(extra_mib_text != nullptr ? std::atol(extra_mib_text) : 0) << 20U,
      1);
  const char* fill_text = std::getenv("PEER_FILL");  // NOLINT(concurrency-mt-unsafe)
  const std::string fill = fill_text != nullptr ? fill_text : "ones";
  const std::size_t buffer_bytes =
      (static_cast<std::size_t>(count) * sizeof(float) / 4096 + 1) * 4096;
  auto* send = static_cast<float*>(std::aligned_alloc(4096, buffer_bytes));
  auto* recv = static_cast<float*>(std::aligned_alloc(4096, buffer_bytes));
  for (std::size_t i = 0; i < buffer_bytes / sizeof(float); ++i) {
    send[i] = fill == "zeros" ? 0.0F
              : fill == "pattern"
                  ? static_cast<float>(
                        static_cast<int>((i * 7 + static_cast<std::size_t>(rank) * 3) % 17) - 8)
                  : 1.0F;
  }
  std::fill(recv, recv + buffer_bytes / sizeof(float), 0.0F);
  for (int i = 0; i < warmup; ++i) {
    MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  const preflight::SampleClock& clock = preflight::process_sample_clock();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations; ++i) {
    const auto start = clock.now();
    MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const double elapsed_s = clock.seconds(start, clock.now());
    double slowest_s = 0;
    MPI_Allreduce(&elapsed_s, &slowest_s, 1, MPI_DOUBLE, MPI_MAX, time_comm);
    samples.push_back(slowest_s);
  }
  // The batched mean (nccl-tests' and OSU's figure; preflight's batch_mean_time_s): as many calls
  // as samples back to back after a barrier, per call, averaged over the ranks. Unlike a median of
  // single calls it is not quantised by the clock's step (10 ns on this project's VMs).
  MPI_Barrier(MPI_COMM_WORLD);
  const auto batch_start = clock.now();
  for (int i = 0; i < iterations; ++i) {
    MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
  const double batch_s = clock.seconds(batch_start, clock.now()) / iterations;
  double batch_sum_s = 0;
  MPI_Allreduce(&batch_s, &batch_sum_s, 1, MPI_DOUBLE, MPI_SUM, time_comm);
  if (rank == 0) {
    double sum_s = 0;
    for (const double sample : samples) {
      sum_s += sample;
    }
    std::sort(samples.begin(), samples.end());
    const double median_s = samples[samples.size() / 2];
    const double algbw = static_cast<double>(count) * sizeof(float) / median_s;
    const double busbw = algbw * 2.0 * (ranks - 1) / ranks;
    std::printf(
        "median_s=%.9g mean_s=%.9g batch_mean_s=%.9g busbw_Bps=%.6g iterations=%d ranks=%d "
        "bytes=%ld fill=%s extra=%zu\n",
        median_s, sum_s / static_cast<double>(samples.size()), batch_sum_s / ranks, busbw,
        iterations, ranks, bytes, fill.c_str(), extra.size());
  }
  std::free(send);  // NOLINT(cppcoreguidelines-no-malloc)
  std::free(recv);  // NOLINT(cppcoreguidelines-no-malloc)
  MPI_Comm_free(&time_comm);
  MPI_Finalize();
  return 0;
}
