// What preflight's timing loops cost at the floor (issue: small messages, 8 B - 4 KiB): in ONE
// process per rank and one machine state, preflight's own loops run interleaved with the same
// loops stripped of their bookkeeping, and with the bare loops plus one piece of bookkeeping at a
// time, so each piece's cost shows on its own.
//
//   mpirun --allow-run-as-root -np 2 --bind-to core bench_harness_overhead
//       [--suites allreduce,mpi,shm,tcp] [--sizes 8,64,1024,4096] [--iters 20000]
//       [--tcp-iters 4000] [--warmup 1000] [--reps 9] [--min-near 0] [--max-reps 40]
//
// Suites (both ranks pinned to vCPU 0 and 1 by mpirun --bind-to core):
//   allreduce  MPI_Allreduce (float, sum, out of place) through preflight's MpiBackend, per
//              iteration timed and reduced to the maximum over ranks (--timing per-iteration);
//   mpi        ping-pong over preflight's MPI transport (preflight-p2p --transport mpi);
//   shm, tcp   ping-pong over preflight's libfabric transport (FI_EP_RDM, tagged; tcp on lo),
//              the bare loop on an endpoint of its own, as fi_pingpong runs it (fi_tinject below
//              the inject size, one receive posted ahead, one CQ per direction).
// Variants (every one on the same sizes, warm-up and iteration count):
//   bare            two readings of the sample clock (p2p: one per iteration, consecutive stamps)
//                   around the raw call, a store into preallocated memory (allreduce: and the
//                   1-double MPI_MAX reduction, outside the timed region), nothing else;
//   bare_steady     bare on std::chrono::steady_clock instead of the sample clock;
//   bare_world      (allreduce) bare on MPI_COMM_WORLD instead of a split communicator;
//   +dispatch       (allreduce) bare through MpiBackend::run_timed and the runner's
//                   std::function maximum;
//   +run_dispatch   (allreduce) +dispatch with the clock read around the virtual
//                   MpiBackend::run() instead (the result checked inside the timed region): how
//                   the backend was timed before run_timed bound the call's arguments;
//   +sampler        (allreduce) bare + AdaptiveSampler::add after every call;
//   +vectors        (allreduce) bare + two growing std::vectors (own and host times) per call;
//   +wallcheck      (allreduce) bare + a wall-clock read riding a 2-double reduction every 64th
//                   call;
//   legacy          (allreduce) the loop before this change: all the pieces above, steady clock;
//   +getcount       (mpi) bare + MPI_Get_count on each receive's status (into the whole buffer),
//                   on the round trip;
//   +txpoll         (shm, tcp) bare + a read of the transmit CQ after each inject (what
//                   fabtests' ft_post_inject does and fi_pingpong does not);
//   channel         (p2p) bare through preflight's channel (PairChannel::ping/pong);
//   preflight       preflight's own loop: collectives::time_iterations (fixed count) /
//                   p2p::run_initiator + run_responder (fixed count);
//   preflight_adaptive  the same with the adaptive sampler deciding (precision never met, so it
//                   runs to the cap with its checks and, for p2p, its growing batches);
//   bare_batch      the batched mean: the raw calls back to back between two clock readings
//                   (allreduce: after a barrier, mean over ranks);
//   preflight_batch preflight's batched mean, taken right after its preflight run.
// Every repetition measures the cache-line one-way time between the two ranks' cores (shared
// memory, 50 000 round trips) before and after its variants, which run in an order rotated by
// one per repetition. Rank 0 prints one JSON line per (suite, size, repetition) with the probe
// figures and every variant's median and mean per call (p2p: one-way time, half a round trip);
// bench/overhead/run_overhead.py turns them into the tables of bench/RESULTS.md.
#include <mpi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "collectives/mpi_backend.hpp"
#include "collectives/timing.hpp"
#include "common/error.hpp"
#include "common/mpi.hpp"
#include "common/sampler.hpp"
#include "common/stats.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "p2p/mpi_transport.hpp"
#include "p2p/pair_test.hpp"

#if defined(PREFLIGHT_BENCH_WITH_LIBFABRIC)
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "common/fabric.hpp"
#include "p2p/fabric_transport.hpp"
#include "raw_fabric_endpoint.hpp"
#endif

namespace {

using preflight::SampleClock;
using preflight::SamplingPolicy;
using Json = nlohmann::json;

struct Settings {
  std::vector<std::string> suites{"allreduce", "mpi", "shm", "tcp"};
  std::vector<std::size_t> sizes{8, 64, 1024, 4096};
  std::size_t iterations = 20000;
  std::size_t tcp_iterations = 4000;
  std::size_t warmup = 1000;
  int reps = 9;
  int min_near = 0;  // > 0: repeat until this many near repetitions (or max_reps)
  int max_reps = 40;
  double near_ns = 100;  // cache line one-way below this, before and after: near
};

// One variant's figures on rank 0: per call (p2p: one way).
struct Figures {
  double median_s = 0;
  double mean_s = 0;
  std::optional<double> batch_mean_s;  // preflight's batched mean, when the variant has one
};

Figures figures_of(std::vector<double> samples_s, double scale = 1.0) {
  for (double& sample : samples_s) {
    sample *= scale;
  }
  Figures figures;
  figures.median_s = preflight::median(samples_s);
  figures.mean_s = std::accumulate(samples_s.begin(), samples_s.end(), 0.0) /
                   static_cast<double>(samples_s.size());
  return figures;
}

Figures batch_figures(double mean_s) {
  return {mean_s, mean_s, std::nullopt};
}

SamplingPolicy fixed_policy(std::size_t iterations, std::size_t warmup) {
  SamplingPolicy policy;
  policy.fixed = true;
  policy.min_iterations = policy.max_iterations = iterations;
  policy.warmup_iterations = warmup;
  return policy;
}

// The adaptive sampler with a precision it never meets and a budget it never spends: it runs to
// the cap, taking its decisions (and, for p2p, its growing batches) on the way.
SamplingPolicy adaptive_policy(std::size_t iterations, std::size_t warmup) {
  SamplingPolicy policy;
  policy.min_iterations = 10;
  policy.max_iterations = iterations;
  policy.target_precision = 1e-12;
  policy.time_budget_s = 1e9;
  policy.warmup_iterations = warmup;
  return policy;
}

double steady_seconds(std::chrono::steady_clock::time_point start,
                      std::chrono::steady_clock::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

// ---------------------------------------------------------------------------------------------
// The machine's state: a cache line bounced between the two ranks' cores through shared memory.

class CacheLineProbe {
 public:
  CacheLineProbe() {
    preflight::check_mpi(
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node_),
        "MPI_Comm_split_type", "probe");
    MPI_Comm_rank(node_, &rank_);
    void* base = nullptr;
    preflight::check_mpi(
        MPI_Win_allocate_shared(rank_ == 0 ? 256 : 0, 1, MPI_INFO_NULL, node_, &base, &window_),
        "MPI_Win_allocate_shared", "probe");
    MPI_Aint bytes = 0;
    int unit = 0;
    preflight::check_mpi(MPI_Win_shared_query(window_, 0, &bytes, &unit, &base),
                         "MPI_Win_shared_query", "probe");
    // The line at a 64-byte boundary inside the 256 bytes.
    const auto address = reinterpret_cast<std::uintptr_t>(base);  // NOLINT
    line_ = reinterpret_cast<int*>((address + 63) / 64 * 64);     // NOLINT
    if (rank_ == 0) {
      *line_ = 0;
    }
    MPI_Barrier(node_);
  }
  CacheLineProbe(const CacheLineProbe&) = delete;
  CacheLineProbe& operator=(const CacheLineProbe&) = delete;
  CacheLineProbe(CacheLineProbe&&) = delete;
  CacheLineProbe& operator=(CacheLineProbe&&) = delete;
  ~CacheLineProbe() {
    MPI_Win_free(&window_);
    MPI_Comm_free(&node_);
  }

  // One-way time in ns, the same on both ranks.
  double one_way_ns(int round_trips = 50000) {
    std::atomic_ref<int> turn(*line_);
    MPI_Barrier(node_);
    double result_ns = 0;
    if (rank_ == 0) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < round_trips; ++i) {
        turn.store(1, std::memory_order_release);
        while (turn.load(std::memory_order_acquire) != 0) {
        }
      }
      result_ns = steady_seconds(start, std::chrono::steady_clock::now()) / round_trips / 2 * 1e9;
    } else {
      for (int i = 0; i < round_trips; ++i) {
        while (turn.load(std::memory_order_acquire) != 1) {
        }
        turn.store(0, std::memory_order_release);
      }
    }
    MPI_Bcast(&result_ns, 1, MPI_DOUBLE, 0, node_);
    return result_ns;
  }

 private:
  MPI_Comm node_ = MPI_COMM_NULL;
  MPI_Win window_ = MPI_WIN_NULL;
  int rank_ = 0;
  int* line_ = nullptr;
};

// A variant runs on both ranks (each in its role) and returns rank 0's figures.
using Variant = std::function<Figures(std::size_t bytes)>;
using VariantList = std::vector<std::pair<std::string, Variant>>;

// ---------------------------------------------------------------------------------------------
// allreduce

class AllreduceSuite {
 public:
  AllreduceSuite(const Settings& settings, preflight::Bootstrap& world)
      : settings_(settings),
        world_(world),
        backend_(MPI_COMM_WORLD, 0, rank()),
        reducer_(MPI_COMM_WORLD),
        max_over_ranks_([this](std::span<double> values) { reducer_(values); }) {
    MPI_Comm split = MPI_COMM_NULL;
    preflight::check_mpi(MPI_Comm_split(MPI_COMM_WORLD, 0, rank(), &split), "MPI_Comm_split", "");
    split_ = preflight::MpiCommunicator(split);
    MPI_Comm dup = MPI_COMM_NULL;
    preflight::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &dup), "MPI_Comm_dup", "");
    max_comm_ = preflight::MpiCommunicator(dup);
  }

  VariantList variants() {
    return {
        {"bare", [this](std::size_t b) { return bare(b, split_.get(), false); }},
        {"bare_steady", [this](std::size_t b) { return bare(b, split_.get(), true); }},
        {"bare_world", [this](std::size_t b) { return bare(b, MPI_COMM_WORLD, false); }},
        {"+dispatch", [this](std::size_t b) { return with_dispatch(b, false); }},
        {"+run_dispatch", [this](std::size_t b) { return with_dispatch(b, true); }},
        {"+sampler", [this](std::size_t b) { return with_pieces(b, true, false, false); }},
        {"+vectors", [this](std::size_t b) { return with_pieces(b, false, true, false); }},
        {"+wallcheck", [this](std::size_t b) { return with_pieces(b, false, false, true); }},
        {"legacy", [this](std::size_t b) { return legacy(b); }},
        {"preflight", [this](std::size_t b) { return preflight_loop(b, false); }},
        {"preflight_adaptive", [this](std::size_t b) { return preflight_loop(b, true); }},
        {"bare_batch", [this](std::size_t b) { return bare_batch(b); }},
    };
  }

 private:
  [[nodiscard]] static int rank() {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
  }
  [[nodiscard]] static int float_count(std::size_t bytes) {
    return static_cast<int>(bytes / sizeof(float));
  }

  void prepare(std::size_t bytes) {
    preflight::collectives::CollectiveCall call;
    call.kind = preflight::CollectiveKind::all_reduce;
    call.dtype = preflight::DataType::float32;
    call.op = preflight::ReduceOp::sum;
    call.layout = preflight::collective_layout(call.kind, bytes, sizeof(float), world_.size());
    backend_.prepare(call);
    std::vector<std::byte> input(call.layout.send_count * sizeof(float));
    for (std::size_t i = 0; i < input.size() / sizeof(float); ++i) {
      const float value = 1.0F;
      std::memcpy(input.data() + i * sizeof(float), &value, sizeof(float));
    }
    backend_.write_input(input);
    if (send_.size() < bytes / sizeof(float) + 1) {
      send_.assign(bytes / sizeof(float) + 1024, 1.0F);
      recv_.assign(send_.size(), 0.0F);
    }
  }

  void warm(std::size_t bytes, MPI_Comm comm) {
    for (std::size_t i = 0; i < settings_.warmup; ++i) {
      MPI_Allreduce(send_.data(), recv_.data(), float_count(bytes), MPI_FLOAT, MPI_SUM, comm);
    }
  }

  Figures bare(std::size_t bytes, MPI_Comm comm, bool steady) {
    prepare(bytes);
    warm(bytes, comm);
    const SampleClock& clock = preflight::process_sample_clock();
    std::vector<double> samples(settings_.iterations);
    for (double& sample : samples) {
      double own_s = 0;
      if (steady) {
        const auto start = std::chrono::steady_clock::now();
        MPI_Allreduce(send_.data(), recv_.data(), float_count(bytes), MPI_FLOAT, MPI_SUM, comm);
        own_s = steady_seconds(start, std::chrono::steady_clock::now());
      } else {
        const auto start = clock.now();
        MPI_Allreduce(send_.data(), recv_.data(), float_count(bytes), MPI_FLOAT, MPI_SUM, comm);
        own_s = clock.seconds(start, clock.now());
      }
      MPI_Allreduce(MPI_IN_PLACE, &own_s, 1, MPI_DOUBLE, MPI_MAX, max_comm_.get());
      sample = own_s;
    }
    return figures_of(std::move(samples));
  }

  // through_run: the clock read around the virtual run() (its result checked inside the timed
  // region), as HostMemoryBackend::run_timed times MpiBackend before it bound its arguments.
  Figures with_dispatch(std::size_t bytes, bool through_run) {
    prepare(bytes);
    for (std::size_t i = 0; i < settings_.warmup; ++i) {
      backend_.run();
    }
    const SampleClock& clock = preflight::process_sample_clock();
    preflight::collectives::CollectiveBackend& backend = backend_;
    std::vector<double> samples(settings_.iterations);
    for (double& sample : samples) {
      double own_s = 0;
      if (through_run) {
        const auto start = clock.now();
        backend.run();
        own_s = clock.seconds(start, clock.now());
      } else {
        own_s = backend.run_timed().sample_s;
      }
      std::array<double, 1> shared{own_s};
      max_over_ranks_(shared);
      sample = shared[0];
    }
    return figures_of(std::move(samples));
  }

  // bare + the chosen pieces of the old per-iteration loop.
  Figures with_pieces(std::size_t bytes, bool sampler_per_call, bool growing_vectors,
                      bool wall_check) {
    prepare(bytes);
    warm(bytes, split_.get());
    const SampleClock& clock = preflight::process_sample_clock();
    std::vector<double> samples(settings_.iterations);
    preflight::AdaptiveSampler sampler(fixed_policy(settings_.iterations, 0));
    std::vector<double> own;
    std::vector<double> host;
    const preflight::Stopwatch loop_clock;
    for (std::size_t iteration = 1; iteration <= samples.size(); ++iteration) {
      const auto start = clock.now();
      MPI_Allreduce(send_.data(), recv_.data(), float_count(bytes), MPI_FLOAT, MPI_SUM,
                    split_.get());
      const double own_s = clock.seconds(start, clock.now());
      const bool check = wall_check && iteration % 64 == 0;
      std::array<double, 2> shared{own_s, check ? loop_clock.elapsed_s() : 0.0};
      MPI_Allreduce(MPI_IN_PLACE, shared.data(), check ? 2 : 1, MPI_DOUBLE, MPI_MAX,
                    max_comm_.get());
      samples[iteration - 1] = shared[0];
      if (growing_vectors) {
        own.push_back(own_s);
        host.push_back(own_s);
      }
      if (sampler_per_call) {
        (void)sampler.add(shared[0]);
      }
    }
    return figures_of(std::move(samples));
  }

  // The per-iteration loop as it was before this change (steady clock, a sampler add and two
  // growing vectors per call, the wall check every 64th), through the backend.
  Figures legacy(std::size_t bytes) {
    prepare(bytes);
    for (std::size_t i = 0; i < settings_.warmup; ++i) {
      backend_.run();
    }
    preflight::AdaptiveSampler sampler(fixed_policy(settings_.iterations, 0));
    std::vector<double> own;
    std::vector<double> host;
    const preflight::Stopwatch loop_clock;
    bool done = false;
    for (std::size_t iteration = 1; !done; ++iteration) {
      const auto start = std::chrono::steady_clock::now();
      backend_.run();
      const double elapsed_s = steady_seconds(start, std::chrono::steady_clock::now());
      const bool wall_check = iteration % 64 == 0;
      std::array<double, 2> shared{elapsed_s, wall_check ? loop_clock.elapsed_s() : 0.0};
      max_over_ranks_(std::span<double>(shared.data(), wall_check ? 2 : 1));
      own.push_back(elapsed_s);
      host.push_back(elapsed_s);
      done = sampler.add(shared[0]);
    }
    return figures_of(std::vector<double>(sampler.samples().begin(), sampler.samples().end()));
  }

  Figures preflight_loop(std::size_t bytes, bool adaptive) {
    prepare(bytes);
    for (std::size_t i = 0; i < settings_.warmup; ++i) {
      backend_.run();
    }
    const SamplingPolicy policy =
        adaptive ? adaptive_policy(settings_.iterations, 0) : fixed_policy(settings_.iterations, 0);
    const auto timed = preflight::collectives::time_iterations(backend_, policy, max_over_ranks_);
    Figures figures = figures_of(timed.samples_s);
    if (!adaptive) {
      figures.batch_mean_s =
          preflight::collectives::time_batched_mean(
              backend_, world_,
              preflight::batched_mean_iterations(policy, timed.samples_s.size(), figures.median_s))
              .mean_s;
    }
    return figures;
  }

  Figures bare_batch(std::size_t bytes) {
    prepare(bytes);
    warm(bytes, split_.get());
    const SampleClock& clock = preflight::process_sample_clock();
    MPI_Barrier(split_.get());
    const auto start = clock.now();
    for (std::size_t i = 0; i < settings_.iterations; ++i) {
      MPI_Allreduce(send_.data(), recv_.data(), float_count(bytes), MPI_FLOAT, MPI_SUM,
                    split_.get());
    }
    double mean_s = clock.seconds(start, clock.now()) / static_cast<double>(settings_.iterations);
    MPI_Allreduce(MPI_IN_PLACE, &mean_s, 1, MPI_DOUBLE, MPI_SUM, max_comm_.get());
    return batch_figures(mean_s / world_.size());
  }

  const Settings& settings_;
  preflight::Bootstrap& world_;
  preflight::collectives::MpiBackend backend_;
  preflight::collectives::MpiMaxReducer reducer_;
  preflight::collectives::MaxOverRanks max_over_ranks_;
  preflight::MpiCommunicator split_;
  preflight::MpiCommunicator max_comm_;
  std::vector<float> send_;
  std::vector<float> recv_;
};

// ---------------------------------------------------------------------------------------------
// Point to point: what every transport shares (preflight's loop, its channel, the batch).

class PairSuite {
 public:
  PairSuite(const Settings& settings, std::size_t iterations, int rank)
      : settings_(settings), iterations_(iterations), rank_(rank) {}
  PairSuite(const PairSuite&) = delete;
  PairSuite& operator=(const PairSuite&) = delete;
  PairSuite(PairSuite&&) = delete;
  PairSuite& operator=(PairSuite&&) = delete;
  virtual ~PairSuite() = default;

  VariantList variants() {
    VariantList list{
        {"bare", [this](std::size_t b) { return bare(b, false); }},
        {"bare_steady", [this](std::size_t b) { return bare(b, true); }},
        {"channel", [this](std::size_t b) { return over_channel(b); }},
        {"preflight", [this](std::size_t b) { return preflight_loop(b, false); }},
        {"preflight_adaptive", [this](std::size_t b) { return preflight_loop(b, true); }},
        {"bare_batch", [this](std::size_t b) { return bare_batch(b); }},
    };
    for (auto& extra : extra_variants()) {
      list.push_back(std::move(extra));
    }
    return list;
  }

 protected:
  // The raw round trip of the bare loop: the initiator's ping, the responder's pong.
  virtual void raw_ping(std::size_t bytes) = 0;
  virtual void raw_pong(std::size_t bytes) = 0;
  virtual preflight::p2p::PairChannel& channel() = 0;
  virtual VariantList extra_variants() { return {}; }
  [[nodiscard]] bool initiator() const { return rank_ == 0; }
  [[nodiscard]] std::size_t iterations() const { return iterations_; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  // Consecutive stamps, one per round trip, the way preflight's p2p loop takes them;
  // `round_trip` runs one iteration of the side this rank plays.
  template <typename RoundTrip>
  Figures stamped(const RoundTrip& round_trip, bool steady) {
    for (std::size_t i = 0; i < settings_.warmup; ++i) {
      round_trip();
    }
    MPI_Barrier(MPI_COMM_WORLD);
    std::vector<double> samples(iterations_);
    if (steady) {
      std::vector<std::chrono::steady_clock::time_point> stamps(iterations_ + 1);
      stamps[0] = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < iterations_; ++i) {
        round_trip();
        stamps[i + 1] = std::chrono::steady_clock::now();
      }
      for (std::size_t i = 0; i < iterations_; ++i) {
        samples[i] = steady_seconds(stamps[i], stamps[i + 1]);
      }
    } else {
      const SampleClock& clock = preflight::process_sample_clock();
      std::vector<SampleClock::Ticks> stamps(iterations_ + 1);
      stamps[0] = clock.now();
      for (std::size_t i = 0; i < iterations_; ++i) {
        round_trip();
        stamps[i + 1] = clock.now();
      }
      for (std::size_t i = 0; i < iterations_; ++i) {
        samples[i] = clock.seconds(stamps[i], stamps[i + 1]);
      }
    }
    return figures_of(std::move(samples), 0.5);
  }

 private:
  Figures bare(std::size_t bytes, bool steady) {
    if (initiator()) {
      return stamped([&] { raw_ping(bytes); }, steady);
    }
    return stamped([&] { raw_pong(bytes); }, steady);
  }

  Figures over_channel(std::size_t bytes) {
    auto& c = channel();
    if (initiator()) {
      return stamped([&] { c.ping(bytes); }, false);
    }
    return stamped([&] { c.pong(bytes); }, false);
  }

  Figures preflight_loop(std::size_t bytes, bool adaptive) {
    preflight::p2p::PairTestSpec spec;
    spec.test = preflight::p2p::TestKind::latency;
    spec.bytes = bytes;
    spec.check_iterations = 1;
    spec.sampling = adaptive ? adaptive_policy(iterations_, settings_.warmup)
                             : fixed_policy(iterations_, settings_.warmup);
    MPI_Barrier(MPI_COMM_WORLD);
    if (!initiator()) {
      preflight::p2p::run_responder(channel(), spec);
      return {};
    }
    const auto outcome = preflight::p2p::run_initiator(channel(), spec);
    if (outcome.wrong_bytes != 0 || outcome.size_errors != 0) {
      throw std::runtime_error("preflight's loop saw wrong bytes or sizes");
    }
    Figures figures = figures_of(outcome.samples_s, 0.5);
    if (!adaptive) {
      figures.batch_mean_s = outcome.batch_mean_s / 2;
    }
    return figures;
  }

  Figures bare_batch(std::size_t bytes) {
    for (std::size_t i = 0; i < settings_.warmup; ++i) {
      initiator() ? raw_ping(bytes) : raw_pong(bytes);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    const SampleClock& clock = preflight::process_sample_clock();
    const auto start = clock.now();
    for (std::size_t i = 0; i < iterations_; ++i) {
      initiator() ? raw_ping(bytes) : raw_pong(bytes);
    }
    return batch_figures(clock.seconds(start, clock.now()) / static_cast<double>(iterations_) / 2);
  }

  const Settings& settings_;
  std::size_t iterations_;
  int rank_;
};

class MpiPairSuite final : public PairSuite {
 public:
  MpiPairSuite(const Settings& settings, int rank, std::size_t max_bytes)
      : PairSuite(settings, settings.iterations, rank),
        transport_(max_bytes, 64),
        channel_(transport_.open_channel(1 - rank, "peer")),
        send_(max_bytes, 'x'),
        recv_(max_bytes) {
    MPI_Comm dup = MPI_COMM_NULL;
    preflight::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &dup), "MPI_Comm_dup", "");
    comm_ = preflight::MpiCommunicator(dup);
  }

 protected:
  void raw_ping(std::size_t bytes) override {
    MPI_Send(send_.data(), static_cast<int>(bytes), MPI_BYTE, 1, 1, comm_.get());
    MPI_Recv(recv_.data(), static_cast<int>(bytes), MPI_BYTE, 1, 1, comm_.get(), MPI_STATUS_IGNORE);
  }
  void raw_pong(std::size_t bytes) override {
    MPI_Recv(recv_.data(), static_cast<int>(bytes), MPI_BYTE, 0, 1, comm_.get(), MPI_STATUS_IGNORE);
    MPI_Send(send_.data(), static_cast<int>(bytes), MPI_BYTE, 0, 1, comm_.get());
  }
  preflight::p2p::PairChannel& channel() override { return *channel_; }
  // bare + each receive's length read with MPI_Get_count right after it, on the round trip (what
  // preflight's MPI channel did before it moved the check off the round trip).
  VariantList extra_variants() override {
    return {{"+getcount", [this](std::size_t b) {
               if (initiator()) {
                 return stamped(
                     [&] {
                       MPI_Send(send_.data(), static_cast<int>(b), MPI_BYTE, 1, 1, comm_.get());
                       received(b, 1);
                     },
                     false);
               }
               return stamped(
                   [&] {
                     received(b, 0);
                     MPI_Send(send_.data(), static_cast<int>(b), MPI_BYTE, 0, 1, comm_.get());
                   },
                   false);
             }}};
  }

 private:
  void received(std::size_t bytes, int source) {
    MPI_Status status;
    MPI_Recv(recv_.data(), static_cast<int>(recv_.size()), MPI_BYTE, source, 1, comm_.get(),
             &status);
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    if (count != static_cast<int>(bytes)) {
      throw std::runtime_error("+getcount: wrong length");
    }
  }

  preflight::p2p::MpiTransport transport_;
  std::unique_ptr<preflight::p2p::PairChannel> channel_;
  preflight::MpiCommunicator comm_;
  std::vector<char> send_;
  std::vector<char> recv_;
};

#if defined(PREFLIGHT_BENCH_WITH_LIBFABRIC)

class FabricPairSuite final : public PairSuite {
 public:
  FabricPairSuite(const Settings& settings, int rank, const std::string& provider,
                  std::size_t max_bytes)
      : PairSuite(settings, provider == "tcp" ? settings.tcp_iterations : settings.iterations,
                  rank),
        endpoint_(request(provider), max_bytes, {}),
        raw_(provider, provider == "tcp" ? "lo" : "", max_bytes) {
    const std::vector<std::byte> mine = endpoint_.local_address();
    const auto length = static_cast<int>(mine.size());
    std::vector<int> lengths(2);
    MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
    std::vector<std::byte> both(static_cast<std::size_t>(lengths[0] + lengths[1]));
    const std::array<int, 2> offsets{0, lengths[0]};
    MPI_Allgatherv(mine.data(), length, MPI_BYTE, both.data(), lengths.data(), offsets.data(),
                   MPI_BYTE, MPI_COMM_WORLD);
    const int peer = 1 - rank;
    channel_ = endpoint_.open_channel(
        std::span<const std::byte>(both).subspan(static_cast<std::size_t>(offsets[peer]),
                                                 static_cast<std::size_t>(lengths[peer])),
        "peer");
    raw_.connect(MPI_COMM_WORLD, peer);
  }

 protected:
  void raw_ping(std::size_t bytes) override { raw_.ping(bytes, false); }
  void raw_pong(std::size_t bytes) override { raw_.pong(bytes, false); }
  preflight::p2p::PairChannel& channel() override { return *channel_; }
  VariantList extra_variants() override {
    return {{"+txpoll", [this](std::size_t bytes) {
               if (initiator()) {
                 return stamped([&] { raw_.ping(bytes, true); }, false);
               }
               return stamped([&] { raw_.pong(bytes, true); }, false);
             }}};
  }

 private:
  static preflight::p2p::FabricRequest request(const std::string& provider) {
    preflight::p2p::FabricRequest request;
    request.provider = provider;
    if (provider == "tcp") {
      request.domain = "lo";
    }
    return request;
  }

  preflight::p2p::FabricEndpoint endpoint_;
  preflight::bench::RawFabricEndpoint raw_;
  std::unique_ptr<preflight::p2p::PairChannel> channel_;
};

#endif

// ---------------------------------------------------------------------------------------------

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> parts;
  for (const auto part : preflight::split(text, ',')) {
    if (!part.empty()) {
      parts.emplace_back(part);
    }
  }
  return parts;
}

Settings parse(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];  // NOLINT
    if (i + 1 >= argc) {
      throw preflight::UsageError(flag + ": needs a value");
    }
    const std::string value = argv[++i];  // NOLINT
    if (flag == "--suites") {
      settings.suites = split_list(value);
    } else if (flag == "--sizes") {
      settings.sizes.clear();
      for (const auto& size : split_list(value)) {
        settings.sizes.push_back(std::stoull(size));
      }
    } else if (flag == "--iters") {
      settings.iterations = std::stoull(value);
    } else if (flag == "--tcp-iters") {
      settings.tcp_iterations = std::stoull(value);
    } else if (flag == "--warmup") {
      settings.warmup = std::stoull(value);
    } else if (flag == "--reps") {
      settings.reps = std::stoi(value);
    } else if (flag == "--min-near") {
      settings.min_near = std::stoi(value);
    } else if (flag == "--max-reps") {
      settings.max_reps = std::stoi(value);
    } else if (flag == "--near-ns") {
      settings.near_ns = std::stod(value);
    } else {
      throw preflight::UsageError("unknown flag " + flag);
    }
  }
  return settings;
}

// Repetitions of every variant at `bytes`, interleaved and rotated, each between two probes.
void measure(const std::string& suite, VariantList variants, std::size_t bytes,
             const Settings& settings, CacheLineProbe& probe, int rank) {
  int near_reps = 0;
  for (int rep = 0;; ++rep) {
    const bool enough = settings.min_near > 0
                            ? near_reps >= settings.min_near && rep >= settings.reps
                            : rep >= settings.reps;
    if (enough || rep >= settings.max_reps) {
      break;
    }
    const double before_ns = probe.one_way_ns();
    Json figures = Json::object();
    for (std::size_t k = 0; k < variants.size(); ++k) {
      const auto& [name, run] = variants[(k + static_cast<std::size_t>(rep)) % variants.size()];
      const Figures result = run(bytes);
      figures[name] = {{"median_s", result.median_s}, {"mean_s", result.mean_s}};
      if (result.batch_mean_s) {
        figures[name + "_batch"] = {{"median_s", *result.batch_mean_s},
                                    {"mean_s", *result.batch_mean_s}};
      }
    }
    const double after_ns = probe.one_way_ns();
    if (before_ns < settings.near_ns && after_ns < settings.near_ns) {
      ++near_reps;
    }
    if (rank == 0) {
      const Json line = {{"suite", suite},
                         {"bytes", bytes},
                         {"rep", rep},
                         {"cacheline_before_ns", before_ns},
                         {"cacheline_after_ns", after_ns},
                         {"variants", figures}};
      std::printf("%s\n", line.dump().c_str());
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const preflight::MpiSession session(&argc, &argv, MPI_THREAD_SINGLE);
  int rank = 0;
  int ranks = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  try {
    const Settings settings = parse(argc, argv);
    if (ranks != 2) {
      throw preflight::UsageError("run with exactly 2 ranks (mpirun -np 2 --bind-to core)");
    }
    const SampleClock& clock = preflight::process_sample_clock();
    if (rank == 0) {
      const Json header = {{"clock", clock.describe()},
                           {"iterations", settings.iterations},
                           {"tcp_iterations", settings.tcp_iterations},
                           {"warmup", settings.warmup},
                           {"mpi_library", preflight::collectives::mpi_library_version()}};
      std::printf("%s\n", header.dump().c_str());
    }
    CacheLineProbe probe;
    const auto world = preflight::make_mpi_bootstrap(MPI_COMM_WORLD);
    const std::size_t max_bytes = *std::max_element(settings.sizes.begin(), settings.sizes.end());
    for (const std::string& suite : settings.suites) {
      std::unique_ptr<AllreduceSuite> allreduce;
      std::unique_ptr<PairSuite> pair;
      VariantList variants;
      if (suite == "allreduce") {
        allreduce = std::make_unique<AllreduceSuite>(settings, *world);
        variants = allreduce->variants();
      } else if (suite == "mpi") {
        pair = std::make_unique<MpiPairSuite>(settings, rank, max_bytes);
        variants = pair->variants();
#if defined(PREFLIGHT_BENCH_WITH_LIBFABRIC)
      } else if (suite == "shm" || suite == "tcp") {
        pair = std::make_unique<FabricPairSuite>(settings, rank, suite, max_bytes);
        variants = pair->variants();
#endif
      } else {
        throw preflight::UsageError("--suites: unknown or unbuilt suite " + suite);
      }
      for (const std::size_t bytes : settings.sizes) {
        measure(suite, variants, bytes, settings, probe, rank);
      }
      MPI_Barrier(MPI_COMM_WORLD);
    }
  } catch (const preflight::UsageError& error) {
    if (rank == 0) {
      std::fprintf(stderr, "bench_harness_overhead: %s\n", error.what());
    }
    MPI_Abort(MPI_COMM_WORLD, 2);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_harness_overhead rank %d: %s\n", rank, error.what());
    MPI_Abort(MPI_COMM_WORLD, 4);
  }
  return 0;
}
