// The runner end to end inside one process: N threads with thread-group bootstraps, and a test
// backend whose collectives go through the bootstrap. Exercises sampling, checks, fault
// injection, split groups, skips and the report schema without MPI.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "collectives/expected.hpp"
#include "collectives/faults.hpp"
#include "collectives/host_backend.hpp"
#include "collectives/runner.hpp"
#include "common/error.hpp"
#include "common/timer.hpp"
#include "harness/report.hpp"
#include "reports/report_io.hpp"
#include "test_support.hpp"

namespace preflight::collectives {
namespace {

using testing_support::decode_element;

// Collectives through the bootstrap: every rank publishes its input, and computes its own output
// from its group's inputs. Slow and simple; exactly right by construction.
class BootstrapBackend final : public HostMemoryBackend {
 public:
  BootstrapBackend(Bootstrap& world, SplitGroups groups, bool in_place_supported)
      : HostMemoryBackend(Convention::nccl),
        world_(world),
        groups_(std::move(groups)),
        in_place_supported_(in_place_supported) {}

  [[nodiscard]] std::string name() const override { return "test"; }
  [[nodiscard]] std::string transport() const override { return "bootstrap"; }
  [[nodiscard]] int rank() const override { return groups_.group_rank; }
  [[nodiscard]] int size() const override { return groups_.group_size; }
  [[nodiscard]] nlohmann::json describe() const override { return {{"memory", "host"}}; }
  [[nodiscard]] std::optional<std::string> unsupported(const CollectiveCall& call) const override {
    if (call.in_place && !in_place_supported_) {
      return std::string("this test backend has no in-place mode");
    }
    return std::nullopt;
  }
  void abort() noexcept override {}
  IterationTime run_timed() override {
    const Stopwatch clock;
    run();
    return {clock.elapsed_s(), clock.elapsed_s()};
  }

  void run() override {
    const CollectiveCall& c = call();
    const std::size_t element = c.layout.element_bytes;
    const std::span<const std::byte> input(address(placement().input),
                                           placement().input.length_bytes);
    const auto all = world_.allgather(input);
    std::vector<std::vector<std::byte>> group;
    for (const int member : groups_.members) {
      group.push_back(all[static_cast<std::size_t>(member)]);
    }
    std::vector<std::byte> output(placement().output.length_bytes);
    const std::uint64_t chunk = c.layout.param_count;
    const auto reduce = [&](std::uint64_t global, std::byte* out) {
      std::int64_t result = decode_element(c.dtype, group[0].data() + global * element);
      for (std::size_t source = 1; source < group.size(); ++source) {
        const std::int64_t value = decode_element(c.dtype, group[source].data() + global * element);
        switch (c.op) {
          // Two's-complement wrap, as the hardware does (poisoned outputs hold the extremes):
          // signed overflow would be undefined behaviour.
          case ReduceOp::sum:
          case ReduceOp::avg:
            result = static_cast<std::int64_t>(static_cast<std::uint64_t>(result) +
                                               static_cast<std::uint64_t>(value));
            break;
          case ReduceOp::prod:
            result = static_cast<std::int64_t>(static_cast<std::uint64_t>(result) *
                                               static_cast<std::uint64_t>(value));
            break;
          case ReduceOp::min:
            result = std::min(result, value);
            break;
          case ReduceOp::max:
            result = std::max(result, value);
            break;
          case ReduceOp::none:
            break;
        }
      }
      if (c.op == ReduceOp::avg) {
        result /= static_cast<std::int64_t>(group.size());
      }
      encode_element(c.dtype, result, out);
    };
    for (std::uint64_t i = 0; i < c.layout.recv_count; ++i) {
      std::byte* out = output.data() + i * element;
      switch (c.kind) {
        case CollectiveKind::all_reduce:
          reduce(i, out);
          break;
        case CollectiveKind::reduce_scatter:
          reduce(static_cast<std::uint64_t>(rank()) * chunk + i, out);
          break;
        case CollectiveKind::all_gather:
          std::memcpy(out, group[i / chunk].data() + (i % chunk) * element, element);
          break;
        case CollectiveKind::broadcast:
          std::memcpy(out, group[static_cast<std::size_t>(c.root)].data() + i * element, element);
          break;
        case CollectiveKind::alltoall:
          std::memcpy(out,
                      group[i / chunk].data() +
                          (static_cast<std::uint64_t>(rank()) * chunk + i % chunk) * element,
                      element);
          break;
      }
    }
    if (!output.empty()) {  // an empty vector's data() may be null, which memcpy must never get
      std::memcpy(address(placement().output), output.data(), output.size());
    }
  }

 private:
  Bootstrap& world_;
  SplitGroups groups_;
  bool in_place_supported_;
};

struct Job {
  explicit Job(int rank_count) : ranks(rank_count) {}
  int ranks = 3;
  bool in_place_supported = true;
  FaultInjection faults;
  std::function<std::optional<std::string>(int rank)> unavailable;
  std::string nccl_log_file;
  std::string sysfs_root = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/none";
};

CollectiveOptions small_options(CollectiveKind kind) {
  CollectiveOptions options = testing_support::small_sweep(kind);
  options.sampling.min_iterations = 3;
  options.sampling.max_iterations = 5;
  options.sampling.time_budget_s = 0.001;
  // These tests look at single calls (the per-iteration maximum over ranks); batches, the
  // default, are tested below and through the GPU double (test_nccl_double.cpp).
  options.timing = TimingMode::per_iteration;
  options.timeout_s = 120;
  return options;
}

// Runs the options on `job.ranks` threads; returns every rank's report.
std::vector<reports::Report> run_job(const CollectiveOptions& options, const Job& job) {
  auto bootstraps = make_thread_group_bootstraps(job.ranks);
  std::vector<reports::Report> results(static_cast<std::size_t>(job.ranks));
  std::vector<std::string> errors(static_cast<std::size_t>(job.ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < job.ranks; ++rank) {
    threads.emplace_back([&, rank] {
      Bootstrap& world = *bootstraps[static_cast<std::size_t>(rank)];
      RunEnvironment environment(world);
      environment.sysfs = RootFs(job.sysfs_root);
      environment.nccl_log_file = job.nccl_log_file;
      environment.backend_selection = "test";
      if (job.unavailable) {
        environment.backend_unavailable = [&job, rank] { return job.unavailable(rank); };
      }
      environment.make_backend = [&](const SplitGroups& groups) {
        return std::make_unique<BootstrapBackend>(world, groups, job.in_place_supported);
      };
      // Only the jobs with a fault get the fault-injecting backend around the test backend.
      install_fault_injection(environment, job.faults, options);
      environment.exit_process = [](int code) {
        ADD_FAILURE() << "the watchdog fired (exit " << code << ")";
        std::abort();
      };
      try {
        results[static_cast<std::size_t>(rank)] = run_collective(options, environment);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(rank)] = e.what();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const auto& error : errors) {
    if (!error.empty()) {
      throw UsageError(error);
    }
  }
  return results;
}

const reports::Check* find_check(const reports::Report& report, std::string_view id) {
  const auto it = std::find_if(report.checks.begin(), report.checks.end(),
                               [&](const reports::Check& check) { return check.id == id; });
  return it == report.checks.end() ? nullptr : &*it;
}

// Writes the report and reads it back through the schema validator.
reports::Report round_trip(const reports::Report& report) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("collectives-runner-" + std::to_string(::getpid()) + ".json");
  reports::write_report(report, path.string());
  reports::Report read = reports::read_report(path);
  std::filesystem::remove(path);
  return read;
}

TEST(Runner, EveryCollectivePassesOnThreeRanks) {
  for (const auto& info : all_collectives()) {
    SCOPED_TRACE(info.name);
    CollectiveOptions options = small_options(info.kind);
    options.root = 2;
    const auto reports = run_job(options, Job(3));
    const reports::Report& report = reports[0];
    EXPECT_EQ(report.verdict.status, Status::pass) << report.verdict.summary;
    ASSERT_NE(find_check(report, "RESULT_CORRECT"), nullptr);
    ASSERT_NE(find_check(report, "COLLECTIVE_MEASURED"), nullptr);
    EXPECT_EQ(find_check(report, "BENCH_INCOMPLETE"), nullptr);
    for (const auto& row : report.results) {
      EXPECT_EQ(row.wrong_elements, 0) << row.dtype << " " << row.op << " " << row.size_bytes;
      EXPECT_EQ(row.ranks, 3);
      EXPECT_EQ(row.warmup_iterations, 1U);
      EXPECT_GE(row.time_s.n, 3U);
      EXPECT_LE(row.time_s.n, 5U);
      EXPECT_EQ(row.busbw_factor, busbw_factor(info.kind, 3));
      EXPECT_FALSE(row.stop_reason.empty());
    }
    // Every rank reached the same verdict from the same data.
    for (const auto& other : reports) {
      EXPECT_EQ(other.verdict.status, report.verdict.status);
      EXPECT_EQ(other.results.size(), report.results.size());
    }
    EXPECT_NO_THROW((void)round_trip(report));
  }
}

TEST(Runner, RowsFollowNcclTestsCountsAndTimesAreMaxOverRanks) {
  CollectiveOptions options = small_options(CollectiveKind::all_gather);
  options.dtypes = {DataType::float32};
  options.keep_samples = true;
  const auto reports = run_job(options, Job(4));
  const reports::Report& report = reports[0];
  // 8 B over 4 ranks rounds to 0 elements; 1000 B to 60 per rank (16-byte aligned floats).
  ASSERT_EQ(report.results.size(), 6U);
  EXPECT_EQ(report.results[0].size_bytes, 0U);
  EXPECT_EQ(report.results[2].count, 60U);
  EXPECT_EQ(report.results[2].size_bytes, 960U);
  EXPECT_EQ(report.results[4].count, 256U);
  for (const auto& row : report.results) {
    ASSERT_TRUE(row.samples_s.has_value());
    EXPECT_EQ(row.samples_s->size(), row.time_s.n);
    EXPECT_EQ(row.labels.at("placement"), row.in_place ? "in-place" : "out-of-place");
    EXPECT_GE(row.slowest_rank, 0);
    EXPECT_LT(row.slowest_rank, 4);
    // The batched mean in the same row: one batch of calls, as many as samples (the budget
    // allows: 1 ms over 4 at the median's pace), timed as a whole.
    const auto batch_iterations = std::stoul(row.labels.at("batch_mean_iterations"));
    EXPECT_GE(batch_iterations, 1U);
    EXPECT_LE(batch_iterations, row.time_s.n);
    EXPECT_GT(std::stod(row.labels.at("batch_mean_time_s")), 0.0);
  }
  EXPECT_NE(report.details["sampling"]["batch_mean"].get<std::string>().find("averaged over ranks"),
            std::string::npos);
  // Identical samples on every rank: the per-iteration maximum is shared.
  for (const auto& other : reports) {
    for (std::size_t i = 0; i < report.results.size(); ++i) {
      EXPECT_EQ(other.results[i].samples_s, report.results[i].samples_s);
    }
  }
}

TEST(Runner, BatchesAreTheDefaultAndSharedByEveryRank) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.timing = TimingMode::batch;
  options.batch_iterations = 4;
  options.sampling.min_iterations = 8;
  options.sampling.max_iterations = 40;  // at most 10 batches of 4 calls
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.keep_samples = true;
  const auto reports = run_job(options, Job(3));
  const reports::Report& report = reports[0];
  EXPECT_EQ(report.verdict.status, Status::pass) << report.verdict.summary;
  EXPECT_EQ(report.details["sampling"]["timing"], "batch");
  EXPECT_EQ(report.details["sampling"]["batch_iterations"], 4);
  for (const auto& row : report.results) {
    EXPECT_GE(row.time_s.n, 5U);  // at least five batches, for the median's interval
    EXPECT_LE(row.time_s.n, 10U);
    EXPECT_EQ(row.labels.at("timing"), "batch");
    EXPECT_EQ(row.labels.at("batch_iterations"), "4");
    EXPECT_GT(std::stod(row.labels.at("host_time_s")), 0.0);
    EXPECT_EQ(row.labels.count("batch_mean_time_s"), 0U);  // the row's time already is one
  }
  for (const auto& other : reports) {
    for (std::size_t i = 0; i < report.results.size(); ++i) {
      EXPECT_EQ(other.results[i].samples_s, report.results[i].samples_s);
    }
  }
  // --max-iters below the batch length shortens the batch: never more calls than asked.
  options.batch_iterations = 20;
  options.sampling.min_iterations = 3;
  options.sampling.max_iterations = 5;
  const auto capped = run_job(options, Job(2))[0];
  for (const auto& row : capped.results) {
    EXPECT_EQ(row.labels.at("batch_iterations"), "5");
    EXPECT_EQ(row.time_s.n, 1U);
  }
}

TEST(Runner, FlippedElementFailsNamingRankAndCount) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.check_iterations = 2;
  Job job(3);
  job.faults.flip_rank = 1;
  const auto reports = run_job(options, job);
  const reports::Report& report = reports[0];
  EXPECT_EQ(report.verdict.status, Status::fail);
  EXPECT_EQ(report.verdict.exit_code, 1);
  EXPECT_EQ(find_check(report, "RESULT_CORRECT"), nullptr);
  std::size_t wrong_checks = 0;
  for (const auto& check : report.checks) {
    if (check.id != "RESULT_WRONG") {
      continue;
    }
    ++wrong_checks;
    EXPECT_EQ(check.status, Status::fail);
    EXPECT_EQ(check.evidence["wrong_elements"], 4);  // 2 check iterations x 2 placements
    EXPECT_EQ(check.evidence["ranks"], nlohmann::json::array({1}));
    EXPECT_EQ(check.evidence["wrong_by_rank"]["1"]["out_of_place"], 2);
    EXPECT_EQ(check.evidence["wrong_by_rank"]["1"]["in_place"], 2);
    EXPECT_NE(check.message.find("rank 1"), std::string::npos) << check.message;
    EXPECT_EQ(check.evidence["wrong_by_rank"]["1"]["first_wrong_element"], 0);
  }
  EXPECT_EQ(wrong_checks, 3U);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.wrong_elements, 2);
  }
  EXPECT_TRUE(report.details.contains("fault_injection"));
}

TEST(Runner, FlipAtOneSizeOnly) {
  CollectiveOptions options = small_options(CollectiveKind::reduce_scatter);
  options.dtypes = {DataType::bfloat16};
  options.ops = {ReduceOp::max};
  Job job(3);
  job.faults.flip_rank = 2;
  job.faults.flip_size_bytes = 4096;
  const auto report = run_job(options, job)[0];
  EXPECT_EQ(report.verdict.status, Status::fail);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.wrong_elements, row.labels.at("requested_bytes") == "4096" ? 1 : 0);
  }
}

TEST(Runner, SplitRunsEqualGroups) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.dtypes = {DataType::int32};
  options.ops = {ReduceOp::sum, ReduceOp::max};
  options.split = parse_split("mod:2");
  const auto report = run_job(options, Job(4))[0];
  EXPECT_EQ(report.verdict.status, Status::pass) << report.verdict.summary;
  EXPECT_EQ(report.details["split"]["groups"], 2);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.ranks, 2);
    EXPECT_EQ(row.labels.at("split"), "mod:2");
  }
  options.split = parse_split("div:3");  // groups of 3 and 1
  EXPECT_THROW((void)run_job(options, Job(4)), UsageError);
}

TEST(Runner, UnsupportedPlacementIsSkippedNeverPassed) {
  CollectiveOptions options = small_options(CollectiveKind::alltoall);
  options.dtypes = {DataType::float32};
  const auto report = run_job(options, [] {
    Job job(2);
    job.in_place_supported = false;
    return job;
  }())[0];
  EXPECT_EQ(report.verdict.status, Status::pass);
  EXPECT_TRUE(std::none_of(report.results.begin(), report.results.end(),
                           [](const auto& row) { return row.in_place; }));
  const reports::Check* skipped = find_check(report, "STEP_SKIPPED");
  ASSERT_NE(skipped, nullptr);
  EXPECT_EQ(skipped->status, Status::skip);
  EXPECT_NE(skipped->message.find("in-place"), std::string::npos) << skipped->message;
}

TEST(Runner, BackendUnavailableAnywhereIsASkipEverywhere) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  Job job(3);
  job.unavailable = [](int rank) -> std::optional<std::string> {
    return rank == 1 ? std::optional<std::string>("--backend nccl: no CUDA device visible")
                     : std::nullopt;
  };
  const auto reports = run_job(options, job);
  for (const auto& report : reports) {
    EXPECT_EQ(report.verdict.status, Status::skip);
    EXPECT_EQ(report.verdict.exit_code, 3);
    EXPECT_TRUE(report.results.empty());
    const reports::Check* skipped = find_check(report, "STEP_SKIPPED");
    ASSERT_NE(skipped, nullptr);
    EXPECT_NE(skipped->message.find("rank 1"), std::string::npos);
    EXPECT_NE(skipped->message.find("no CUDA device"), std::string::npos);
  }
}

TEST(Runner, UncheckedRunSaysSo) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.check_iterations = 0;
  const auto unchecked = run_job(options, Job(2))[0];
  EXPECT_EQ(unchecked.verdict.status, Status::pass);
  EXPECT_NE(find_check(unchecked, "STEP_SKIPPED"), nullptr);
  for (const auto& row : unchecked.results) {
    EXPECT_EQ(row.wrong_elements, -1);
  }
}

TEST(Runner, RootMustExist) {
  CollectiveOptions options = small_options(CollectiveKind::broadcast);
  options.root = 3;
  EXPECT_THROW((void)run_job(options, Job(3)), UsageError);
}

TEST(Runner, PartialReportsAreValidAndNeverPass) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  const auto report = run_job(options, Job(2))[0];

  const reports::Report incomplete =
      round_trip(harness::incomplete_report(report, "preflight-test", 1, 3, true));
  EXPECT_EQ(incomplete.verdict.status, Status::error);
  EXPECT_TRUE(incomplete.run.finished_at.empty());
  ASSERT_NE(find_check(incomplete, "BENCH_INCOMPLETE"), nullptr);

  const reports::Report timed_out = round_trip(harness::timeout_report(
      harness::incomplete_report(report, "preflight-test", 1, 3, true), "preflight-test",
      "all_reduce float sum 1024 B: timing in-place", 5.0, 0, "host", true));
  EXPECT_EQ(timed_out.verdict.status, Status::timeout);
  EXPECT_EQ(timed_out.verdict.exit_code, 124);
  EXPECT_EQ(find_check(timed_out, "BENCH_INCOMPLETE"), nullptr);
  const reports::Check* timeout = find_check(timed_out, "BENCH_TIMEOUT");
  ASSERT_NE(timeout, nullptr);
  EXPECT_NE(timeout->message.find("timing in-place"), std::string::npos) << timeout->message;
  EXPECT_EQ(timed_out.results.size(), report.results.size());
}

std::string corpus_log(const std::string& name) {
  const char* from_environment = std::getenv("PREFLIGHT_SHARED_DIR");  // NOLINT
  const std::filesystem::path shared =
      from_environment != nullptr ? from_environment : PREFLIGHT_SHARED_DIR;
  return (shared / "corpus" / "nccl-debug-logs" / name).string();
}

TEST(Runner, NcclLogIsJudgedOnEveryRankAndMerged) {
  const std::string g6e = corpus_log("g6e-48xl-4pods-ofi-1.16.2-no-gdrdma-fullfile.txt");
  if (!std::filesystem::exists(g6e)) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.expect_efa_nics = 4;
  Job job(2);
  job.nccl_log_file = g6e;
  const auto report = run_job(options, job)[0];
  // EFA in use but without GPUDirect RDMA: a warning, exit 0.
  EXPECT_EQ(report.verdict.status, Status::warn) << report.verdict.summary;
  EXPECT_EQ(report.verdict.exit_code, 0);
  const reports::Check* uses = find_check(report, "NCCL_USES_EFA");
  ASSERT_NE(uses, nullptr);
  EXPECT_EQ(uses->evidence["ranks"], nlohmann::json::array({0, 1}));
  ASSERT_NE(find_check(report, "NCCL_GDRDMA_OFF"), nullptr);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.transport, "efa");
  }

  job.nccl_log_file = corpus_log("p4d-1node-ofi-1.17.1-init-failed-socket-fallback.txt");
  const auto fallback = run_job(options, job)[0];
  EXPECT_EQ(fallback.verdict.status, Status::fail);
  EXPECT_NE(find_check(fallback, "OFI_NCCL_NOT_LOADED"), nullptr);
  EXPECT_NE(find_check(fallback, "NCCL_FALLBACK_SOCKET"), nullptr);
  EXPECT_EQ(fallback.results.front().transport, "socket");

  // No EFA device and no expectation: the facts are kept, the transport is not judged.
  options.expect_efa_nics.reset();
  const auto unjudged = run_job(options, job)[0];
  EXPECT_EQ(unjudged.verdict.status, Status::pass);
  EXPECT_EQ(find_check(unjudged, "NCCL_FALLBACK_SOCKET"), nullptr);
  const reports::Check* skipped = find_check(unjudged, "STEP_SKIPPED");
  ASSERT_NE(skipped, nullptr);
  EXPECT_NE(skipped->message.find("no EFA device"), std::string::npos) << skipped->message;
}

TEST(Runner, EfaCounterDeltasLandInTheReport) {
  CollectiveOptions options = small_options(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  Job job(2);
  job.sysfs_root = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/p5en-healthy";
  const auto report = run_job(options, job)[0];
  EXPECT_EQ(report.inventory.instance_type, "p5en.48xlarge");
  EXPECT_EQ(report.inventory.efa.size(), 16U);
  ASSERT_EQ(report.hw_counters_delta.size(), 16U);  // one node: keyed by device
  EXPECT_EQ(report.hw_counters_delta.at("rdmap101s0").at("tx_bytes"), 0);
  EXPECT_EQ(find_check(report, "EFA_ERROR_COUNTERS_RISING"), nullptr);
}

}  // namespace
}  // namespace preflight::collectives
