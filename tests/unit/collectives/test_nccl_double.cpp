// The NCCL backend and the runner's GPU paths through the host-memory double of the CUDA runtime
// and NCCL (gpu_double.hpp): the happy path, a wrong result, a hang, an NCCL error, and one
// regression test per bug found by reading the GPU code (issue 18).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "collectives/expected.hpp"
#include "collectives/nccl_backend.hpp"
#include "collectives/runner.hpp"
#include "common/error.hpp"
#include "domain/nccl_log.hpp"
#include "gpu_double.hpp"
#include "reports/report_io.hpp"
#include "test_support.hpp"

namespace preflight::collectives {
namespace {

using testing::FakeGpuConfig;
using testing::FakeGpuNode;

CollectiveOptions options_for(CollectiveKind kind) {
  CollectiveOptions options = testing_support::small_sweep(kind);
  options.sampling.min_iterations = 10;
  options.sampling.max_iterations = 20;  // two batches of ten: 22 calls per size and placement
  options.sampling.time_budget_s = 0.5;
  options.batch_iterations = 10;
  options.timeout_s = 60;
  return options;
}

struct RankResult {
  std::optional<reports::Report> report;
  std::string error;  // what run_collective threw
  bool timeout_error = false;
  int exit_code = -1;  // what the watchdog asked for
};

struct GpuJob {
  int ranks = 4;
  bool cuda_graph = false;
  std::string json_path;  // rank 0's report, also the watchdog's partial one
  std::string nccl_log_file;
  const char* const* environment = nullptr;
  std::string sysfs_fixture = "none";  // tests/fixtures/sysfs/<name>: the node's devices
};

// The runner on `job.ranks` threads, each with an NcclBackend on the double.
std::vector<RankResult> run_gpu_job(const CollectiveOptions& options, const FakeGpuNode& node,
                                    const GpuJob& job) {
  auto bootstraps = testing::make_synced_bootstraps(job.ranks, node);
  std::vector<RankResult> results(static_cast<std::size_t>(job.ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < job.ranks; ++rank) {
    threads.emplace_back([&, rank] {
      RankResult& result = results[static_cast<std::size_t>(rank)];
      Bootstrap& world = *bootstraps[static_cast<std::size_t>(rank)];
      RunEnvironment environment(world);
      environment.local_rank = rank;
      environment.sysfs =
          RootFs(std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/" + job.sysfs_fixture);
      environment.backend_name = "nccl";
      environment.backend_selection = "test double";
      environment.nccl_log_file = job.nccl_log_file;
      environment.environment = job.environment;
      environment.make_backend = [&](const SplitGroups& groups) {
        return std::make_unique<NcclBackend>(world, groups, rank,
                                             GpuApis{&node.cuda(), &node.nccl(), {}},
                                             NcclBackendOptions{job.cuda_graph});
      };
      environment.exit_process = [&result](int code) { result.exit_code = code; };
      CollectiveOptions mine = options;
      mine.common.json_path = rank == 0 ? job.json_path : "";
      try {
        result.report = run_collective(mine, environment);
      } catch (const TimeoutError& e) {
        result.error = e.what();
        result.timeout_error = true;
      } catch (const std::exception& e) {
        result.error = e.what();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  return results;
}

const reports::Check* find_check(const reports::Report& report, std::string_view id) {
  for (const auto& check : report.checks) {
    if (check.id == id) {
      return &check;
    }
  }
  return nullptr;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          fmt::format("preflight-double-{}-{}", ::getpid(), name))
      .string();
}

void expect_clean(const FakeGpuNode& node) {
  for (const auto& violation : node.violations()) {
    ADD_FAILURE() << "violation: " << violation;
  }
}

// ---- the four cases ----

TEST(NcclDouble, HappyPathEveryCollectiveChecksBitExactAndFinalizes) {
  for (const auto& info : all_collectives()) {
    SCOPED_TRACE(info.name);
    FakeGpuNode node;
    CollectiveOptions options = options_for(info.kind);
    options.root = 1;
    options.dtypes = {DataType::int8, DataType::bfloat16, DataType::fp8_e4m3};
    if (info.reduces) {
      options.ops = {ReduceOp::sum, ReduceOp::min, ReduceOp::avg};
    }
    const auto results = run_gpu_job(options, node, {});
    for (const auto& result : results) {
      ASSERT_TRUE(result.report.has_value()) << result.error;
      EXPECT_EQ(result.report->verdict.status, Status::pass) << result.report->verdict.summary;
    }
    const reports::Report& report = *results[0].report;
    ASSERT_NE(find_check(report, "RESULT_CORRECT"), nullptr);
    EXPECT_FALSE(report.results.empty());
    for (const auto& row : report.results) {
      EXPECT_EQ(row.backend, "nccl");
      EXPECT_EQ(row.wrong_elements, 0) << row.dtype << " " << row.op << " " << row.size_bytes;
      EXPECT_EQ(row.labels.at("timing"), "batch");
      EXPECT_GT(row.time_s.median, 0.0);
    }
    EXPECT_EQ(report.details["ranks"][0]["device"]["pci_bus_id"], "0000:10:00.0");
    EXPECT_EQ(report.details["ranks"][3]["device"]["pci_bus_id"], "0000:13:00.0");
    expect_clean(node);
    for (const auto& end : node.communicator_ends()) {
      EXPECT_EQ(end, "finalized");
    }
    EXPECT_EQ(node.live_allocations(), 0U);
    EXPECT_EQ(node.live_graphs(), 0U);
    EXPECT_EQ(node.live_streams(), 0U);
  }
}

TEST(NcclDouble, WrongResultNamesTheRankAndTheElement) {
  FakeGpuConfig config;
  config.corruption = FakeGpuConfig::Corruption{2, 5};
  FakeGpuNode node(config);
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  const auto results = run_gpu_job(options, node, {});
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  const reports::Report& report = *results[0].report;
  EXPECT_EQ(report.verdict.status, Status::fail);
  EXPECT_EQ(report.verdict.exit_code, 1);
  const reports::Check* wrong = find_check(report, "RESULT_WRONG");
  ASSERT_NE(wrong, nullptr);
  EXPECT_EQ(wrong->evidence["ranks"], nlohmann::json::array({2}));
  EXPECT_EQ(wrong->evidence["wrong_by_rank"]["2"]["first_wrong_element"], 5);
  EXPECT_NE(wrong->message.find("rank 2"), std::string::npos) << wrong->message;
  EXPECT_NE(wrong->message.find("first at element 5"), std::string::npos) << wrong->message;
  // 8 B is two floats: element 5 does not exist there, so that size is correct.
  for (const auto& row : report.results) {
    EXPECT_EQ(row.wrong_elements, row.size_bytes > 20 ? 1 : 0) << row.size_bytes;
  }
  expect_clean(node);
}

TEST(NcclDouble, HangEndsWithTimeoutAndAPartialReport) {
  FakeGpuConfig config;
  // Device 1 hangs once the first size (2 placements x 22 calls) is done: the second size never
  // completes.
  config.stalled_device = 1;
  config.stall_after_collectives = 60;
  FakeGpuNode node(config);
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.timeout_s = 2;  // per phase: init and the first size must fit, under TSan too
  GpuJob job;
  job.ranks = 2;
  job.json_path = temp_path("hang.json");
  const auto started = std::chrono::steady_clock::now();
  const auto results = run_gpu_job(options, node, job);
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(elapsed_s, options.timeout_s + 5);
  for (const auto& result : results) {
    EXPECT_EQ(result.exit_code, exit_code::timeout);
    EXPECT_TRUE(result.timeout_error) << result.error;
    EXPECT_NE(result.error.find("aborted at the watchdog's request"), std::string::npos)
        << result.error;
  }
  const reports::Report partial = reports::read_report(job.json_path);
  std::filesystem::remove(job.json_path);
  EXPECT_EQ(partial.verdict.exit_code, exit_code::timeout);
  const reports::Check* timeout = find_check(partial, "BENCH_TIMEOUT");
  ASSERT_NE(timeout, nullptr);
  EXPECT_NE(timeout->message.find("all_reduce float sum 1000 B"), std::string::npos)
      << timeout->message;
  EXPECT_EQ(partial.results.size(), 2U);  // the first size, both placements
  expect_clean(node);
  for (const auto& end : node.communicator_ends()) {
    EXPECT_EQ(end, "aborted");  // by the thread that owns it, never finalized on a dead peer
  }
}

TEST(NcclDouble, NcclErrorIsDecodedAndTheCommunicatorAborted) {
  FakeGpuConfig config;
  // Every communicator fails after the first size's calls (2 placements x 22 calls): mid-sweep.
  config.async_failure = FakeGpuConfig::AsyncFailure{
      60, nccl::kRemoteError,
      "NET/OFI Request 0x7f completed with error. RC: 12. Error: Connection timed out"};
  FakeGpuNode node(config);
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  GpuJob job;
  job.ranks = 2;
  job.json_path = temp_path("error.json");
  const auto results = run_gpu_job(options, node, job);
  for (const auto& result : results) {
    EXPECT_FALSE(result.report.has_value());
    EXPECT_NE(result.error.find("ncclCommGetAsyncError"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("ncclRemoteError (6): remote process exited or there was a "
                                "network error"),
              std::string::npos)
        << result.error;
    EXPECT_NE(result.error.find("last error: NET/OFI Request 0x7f completed with error"),
              std::string::npos)
        << result.error;
    EXPECT_NE(result.error.find(" on "), std::string::npos) << "names the host: " << result.error;
  }
  // The sizes finished before the error are on disk, never read as a pass.
  const reports::Report partial = reports::read_report(job.json_path);
  std::filesystem::remove(job.json_path);
  EXPECT_NE(find_check(partial, "BENCH_INCOMPLETE"), nullptr);
  EXPECT_NE(partial.verdict.status, Status::pass);
  EXPECT_FALSE(partial.results.empty());
  expect_clean(node);
  for (const auto& end : node.communicator_ends()) {
    EXPECT_EQ(end, "aborted");
  }
}

// ---- one regression test per bug ----

// Bug 1: the communicator went first while CUDA graphs still referenced it, so NCCL's destroy
// waited for them forever.
TEST(NcclDoubleBugs, GraphsAreDestroyedBeforeTheCommunicator) {
  for (const bool finish : {true, false}) {
    SCOPED_TRACE(finish ? "finish() then destroy" : "destroyed on an error path");
    FakeGpuNode node;
    auto bootstraps = testing::make_synced_bootstraps(2, node);
    std::vector<std::thread> threads;
    for (int rank = 0; rank < 2; ++rank) {
      threads.emplace_back([&, rank] {
        Bootstrap& world = *bootstraps[static_cast<std::size_t>(rank)];
        SplitGroups groups = resolve_split({0, 0}, rank);
        NcclBackend backend(world, groups, rank, {&node.cuda(), &node.nccl(), {}}, {true});
        CollectiveCall call;
        call.layout = collective_layout(CollectiveKind::all_reduce, 4096, 4, 2);
        backend.prepare(call);
        (void)backend.run_batch(8);
        (void)backend.run_timed();
        if (finish) {
          backend.finish();
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    expect_clean(node);
    for (const auto& end : node.communicator_ends()) {
      EXPECT_EQ(end, finish ? "finalized" : "aborted");
    }
    EXPECT_EQ(node.live_graphs(), 0U);
  }
}

// Bug 2: the watchdog's abort ran ncclCommAbort while the main thread polled
// ncclCommGetAsyncError on the same communicator (and could free it under the poll). Now the
// watchdog only requests; the polling thread aborts. Run under ThreadSanitizer (label threads).
TEST(NcclDoubleBugs, AbortFromAnotherThreadWhilePolling) {
  FakeGpuConfig config;
  config.stalled_device = 1;  // the collective never completes: both ranks poll
  FakeGpuNode node(config);
  auto bootstraps = testing::make_synced_bootstraps(2, node);
  AbortSlot slots[2];  // NOLINT(modernize-avoid-c-arrays)
  std::atomic<int> registered{0};
  std::atomic<int> timeouts{0};
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      Bootstrap& world = *bootstraps[static_cast<std::size_t>(rank)];
      SplitGroups groups = resolve_split({0, 0}, rank);
      auto backend = std::make_unique<NcclBackend>(
          world, groups, rank, GpuApis{&node.cuda(), &node.nccl(), {}}, NcclBackendOptions{});
      const AbortRegistration registration(slots[rank], *backend);
      CollectiveCall call;
      call.layout = collective_layout(CollectiveKind::all_reduce, 1024, 4, 2);
      backend->prepare(call);
      ++registered;
      try {
        backend->run();
      } catch (const TimeoutError&) {
        ++timeouts;
      }
    });
  }
  while (registered < 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both are polling now
  std::thread watchdog([&] {
    for (auto& slot : slots) {
      slot.abort();
    }
  });
  watchdog.join();
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(timeouts, 2);
  expect_clean(node);
  for (const auto& end : node.communicator_ends()) {
    EXPECT_EQ(end, "aborted");
  }
  for (auto& slot : slots) {
    slot.abort();  // after the backends are gone: reaches nothing
  }
}

// Bug 3: each sample was one call between two events on an idle stream, so it held the host
// launch and the skew between ranks. On a schedule where a call takes 10 us on the device and
// launching it costs rank r 5 + r us of host time, nccl-tests reports D + L_max / N per call.
TEST(NcclDoubleBugs, TimingIsNcclTestsMethodOnASimulatedSchedule) {
  constexpr double kDuration_s = 10e-6;
  constexpr double kLaunch_s = 5e-6;
  constexpr double kSkew_s = 1e-6;
  constexpr int kRanks = 4;
  constexpr double kSlowestLaunch_s = kLaunch_s + (kRanks - 1) * kSkew_s;  // 8 us
  FakeGpuConfig config;
  config.launch_s = kLaunch_s;
  config.launch_skew_s = kSkew_s;
  config.graph_launch_s = 3e-6;
  config.duration_s = [](const testing::SimulatedCall&) { return kDuration_s; };
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.sizes_bytes = {4096};  // the simulated duration does not depend on the size
  options.batch_iterations = 20;
  options.sampling.max_iterations = 200;
  options.check_iterations = 0;
  GpuJob job;
  job.ranks = kRanks;
  const auto median_of = [&](const CollectiveOptions& o, bool graph) {
    FakeGpuNode node(config);
    job.cuda_graph = graph;
    const auto results = run_gpu_job(o, node, job);
    expect_clean(node);
    EXPECT_TRUE(results[0].report.has_value()) << results[0].error;
    return results[0].report ? results[0].report->results.at(0).time_s.median : 0.0;
  };
  // Batches (the default): the device is busy back to back; the launches overlap it.
  EXPECT_NEAR(median_of(options, false), kDuration_s + kSlowestLaunch_s / 20, 1e-10);
  // One graph per batch: one graph launch instead of 20 enqueues.
  EXPECT_NEAR(median_of(options, true), kDuration_s + 3e-6 / 20, 1e-10);
  // Per-iteration distributions, an explicit mode: launch and skew are inside each sample.
  options.timing = TimingMode::per_iteration;
  EXPECT_NEAR(median_of(options, false), kSlowestLaunch_s + kDuration_s, 1e-10);
}

TEST(NcclDoubleBugs, BatchRowsCarryMeanSlowestAndHostTimes) {
  FakeGpuConfig config;
  config.launch_skew_s = 1e-6;
  config.duration_s = [](const testing::SimulatedCall&) { return 1e-6; };
  FakeGpuNode node(config);
  CollectiveOptions options = options_for(CollectiveKind::all_gather);
  options.dtypes = {DataType::float32};
  options.keep_samples = true;
  GpuJob job;
  job.ranks = 3;
  const auto results = run_gpu_job(options, node, job);
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  const auto& report = *results[0].report;
  EXPECT_EQ(report.details["sampling"]["timing"], "batch");
  EXPECT_EQ(report.details["sampling"]["batch_iterations"], 10);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.labels.at("batch_iterations"), "10");
    EXPECT_TRUE(row.labels.count("host_time_s") > 0);
    EXPECT_GE(std::stod(row.labels.at("slowest_rank_time_s")), row.time_s.median * 0.999);
    EXPECT_EQ(row.time_s.n, 2U);  // --max-iters 20 in batches of 10
  }
  // -n N (nccl-tests): exactly one batch of N calls.
  options.sampling.fixed = true;
  options.sampling.min_iterations = options.sampling.max_iterations = 7;
  options.batch_iterations = 7;
  const auto fixed = run_gpu_job(options, node, job);
  ASSERT_TRUE(fixed[0].report.has_value()) << fixed[0].error;
  for (const auto& row : fixed[0].report->results) {
    EXPECT_EQ(row.time_s.n, 1U);
    EXPECT_EQ(row.labels.at("batch_iterations"), "7");
  }
}

// Bug 4 (through the runner): an intra-node log where aws-ofi-nccl chose efa but every channel
// is P2P must neither pass NCCL_USES_EFA nor relabel the rows "efa".
TEST(NcclDoubleBugs, IntraNodeLogDoesNotClaimEfa) {
  const std::string log = temp_path("intra.log");
  {
    std::ofstream out(log);
    out << "ip-10-0-0-1:1:1 [0] NCCL INFO NCCL version 2.28.9+cuda13.0\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.17.1\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa "
           "(found 4 nics)\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO Using network Libfabric\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via P2P/CUMEM/read\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO Channel 01/0 : 0[0] -> 1[1] via P2P/CUMEM/read\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO AllReduce: 1000 Bytes -> Algo Ring proto LL "
           "channel{Lo..Hi}={0..1}\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO AllReduce: 4096 Bytes -> Algo NVLS proto Simple "
           "channel{Lo..Hi}={0..15}\n";
  }
  FakeGpuNode node;
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.expect_efa_nics = 4;  // judge as on an EFA node
  GpuJob job;
  job.ranks = 2;
  job.nccl_log_file = log;
  const auto results = run_gpu_job(options, node, job);
  std::filesystem::remove(log);
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  const auto& report = *results[0].report;
  EXPECT_EQ(find_check(report, "NCCL_USES_EFA"), nullptr);
  const reports::Check* skipped = nullptr;
  for (const auto& check : report.checks) {
    if (check.id == "STEP_SKIPPED" &&
        check.message.find("NCCL transport not judged") != std::string::npos) {
      skipped = &check;
    }
  }
  ASSERT_NE(skipped, nullptr);
  EXPECT_NE(skipped->message.find("via NET/"), std::string::npos) << skipped->message;
  for (const auto& row : report.results) {
    EXPECT_EQ(row.transport, "nccl");
    // Algorithm and protocol from the TUNING lines, per row (1000 B = 250 floats).
    if (row.count == 250) {
      EXPECT_EQ(row.labels.at("nccl_algorithm"), "Ring");
      EXPECT_EQ(row.labels.at("nccl_protocol"), "LL");
      EXPECT_EQ(row.labels.at("nccl_nvls"), "no");
    } else if (row.count == 1024) {
      EXPECT_EQ(row.labels.at("nccl_algorithm"), "NVLS");
      EXPECT_EQ(row.labels.at("nccl_nvls"), "yes");
    } else {
      EXPECT_EQ(row.labels.count("nccl_algorithm"), 0U);
    }
  }
  EXPECT_EQ(report.details["nccl_algorithms_used"], nlohmann::json::array({"NVLS", "Ring"}));
}

// One NIC of a p5en's 16 missing from NCCL's view: the run takes the expected count from the
// platform catalog for the instance type it detects (no --expect-efa-nics) and fails on it.
TEST(NcclDoubleBugs, OneMissingNicAgainstThePlatformCatalogFails) {
  const std::string log = temp_path("fifteen-nics.log");
  {
    std::ofstream out(log);
    out << "ip-10-0-0-1:1:1 [0] NCCL INFO NCCL version 2.28.9+cuda13.0\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.17.1\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa "
           "(found 15 nics)\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO Using network Libfabric\n"
           "ip-10-0-0-1:1:1 [0] NCCL INFO Channel 00/0 : 1[0] -> 0[0] [receive] via "
           "NET/Libfabric/0/GDRDMA\n";
  }
  FakeGpuNode node;
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.common.deterministic = false;  // the inventory, with the instance type, is recorded
  GpuJob job;
  job.ranks = 2;
  job.nccl_log_file = log;
  job.sysfs_fixture = "p5en-healthy";
  const auto results = run_gpu_job(options, node, job);
  std::filesystem::remove(log);
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  const auto& report = *results[0].report;
  ASSERT_EQ(report.inventory.instance_type, "p5en.48xlarge");
  const reports::Check* mismatch = find_check(report, "NCCL_EFA_NIC_COUNT_MISMATCH");
  ASSERT_NE(mismatch, nullptr);
  EXPECT_EQ(mismatch->status, Status::fail);
  EXPECT_EQ(mismatch->message, "aws-ofi-nccl found 15 EFA NICs, platform p5en.48xlarge has 16");
}

TEST(NcclDoubleBugs, RequestedAlgorithmAndTheNetPluginAreRecorded) {
  FakeGpuNode node;
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  options.dtypes = {DataType::float32};
  options.ops = {ReduceOp::sum};
  options.common.deterministic = false;  // the inventory is recorded
  const std::array<const char*, 3> environment{"NCCL_ALGO=Tree", "NCCL_PROTO=Simple", nullptr};
  GpuJob job;
  job.ranks = 2;
  job.environment = environment.data();
  // A network plugin in the process, as NCCL would have loaded it.
  const DynamicLibrary plugin =
      DynamicLibrary::open(std::string(PREFLIGHT_FAKE_LIB_DIR) + "/libnccl-net-fake.so");
  ASSERT_TRUE(plugin.loaded()) << plugin.error();
  const auto results = run_gpu_job(options, node, job);
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  const std::string recorded = results[0].report->inventory.versions.at("nccl_net_plugin");
  EXPECT_NE(recorded.find("1.16.2-fake (/"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find("libnccl-net-fake.so"), std::string::npos) << recorded;
  for (const auto& row : results[0].report->results) {
    EXPECT_EQ(row.labels.at("requested_nccl_algo"), "Tree");
    EXPECT_EQ(row.labels.at("requested_nccl_proto"), "Simple");
  }
  EXPECT_TRUE(results[0].report->details["nccl_algorithms_used"].is_string());
}

// Bug 6: on error unwinding the communicator was finalized (it aborted only when NCCL already
// reported an asynchronous error); finalize flushes pending work and can block on a dead peer.
TEST(NcclDoubleBugs, ErrorUnwindingAbortsInsteadOfFinalizing) {
  FakeGpuConfig config;
  config.sticky_error = FakeGpuConfig::StickyError{0, 700};
  FakeGpuNode node(config);
  auto world = make_single_bootstrap();
  SplitGroups groups = resolve_split({0}, 0);
  try {
    NcclBackend backend(*world, groups, 0, {&node.cuda(), &node.nccl(), {}}, {});
    CollectiveCall call;
    call.layout = collective_layout(CollectiveKind::all_reduce, 64, 4, 1);
    backend.prepare(call);
    backend.run();
    FAIL() << "the sticky CUDA error was not seen";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cudaErrorIllegalAddress"), std::string::npos) << e.what();
  }
  expect_clean(node);
  EXPECT_EQ(node.communicator_ends(), std::vector<std::string>{"aborted"});
}

// Smaller: an older NCCL without ncclAlltoAll runs alltoall as grouped send/recv, bit-exact.
TEST(NcclDoubleBugs, OlderNcclRunsAlltoallAsSendRecv) {
  FakeGpuConfig config;
  config.nccl_version_code = nccl::version_code(2, 21, 5);
  config.alltoall_symbol = false;
  FakeGpuNode node(config);
  CollectiveOptions options = options_for(CollectiveKind::alltoall);
  options.dtypes = {DataType::int32, DataType::half};
  GpuJob job;
  job.ranks = 3;
  const auto results = run_gpu_job(options, node, job);
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  EXPECT_EQ(results[0].report->verdict.status, Status::pass) << results[0].report->verdict.summary;
  EXPECT_NE(find_check(*results[0].report, "RESULT_CORRECT"), nullptr);
  expect_clean(node);
}

// Smaller: two ranks on one GPU were silently allowed (local_rank % device_count).
TEST(NcclDoubleBugs, TwoRanksOnOneGpuAreRefusedOnEveryRank) {
  FakeGpuConfig config;
  config.devices = 2;
  FakeGpuNode node(config);
  CollectiveOptions options = options_for(CollectiveKind::all_reduce);
  GpuJob job;
  job.ranks = 3;
  const auto results = run_gpu_job(options, node, job);
  for (const auto& result : results) {
    EXPECT_FALSE(result.report.has_value());
    EXPECT_NE(result.error.find("ranks 0, 2 on host"), std::string::npos) << result.error;
    EXPECT_NE(result.error.find("GPU 0000:10:00.0"), std::string::npos) << result.error;
  }
  EXPECT_TRUE(node.communicator_ends().empty());  // refused before NCCL saw anything
}

// Smaller: prepare() freed the buffers while the old graph (which captured them) still existed.
TEST(NcclDoubleBugs, PrepareReleasesGraphsBeforeBuffers) {
  FakeGpuNode node;
  auto world = make_single_bootstrap();
  NcclBackend backend(*world, resolve_split({0}, 0), 0, {&node.cuda(), &node.nccl(), {}}, {true});
  for (const std::uint64_t bytes : {64U, 4096U, 1U << 20U}) {  // each grows the buffers
    CollectiveCall call;
    call.layout = collective_layout(CollectiveKind::all_reduce, bytes, 4, 1);
    backend.prepare(call);
    (void)backend.run_batch(4);
  }
  backend.finish();
  expect_clean(node);
}

// Smaller: a throw during capture left the stream capturing, so every later call failed.
TEST(NcclDoubleBugs, AFailedCaptureLeavesTheStreamUsable) {
  FakeGpuConfig config;
  config.fail_call_during_capture = nccl::kInvalidUsage;
  FakeGpuNode node(config);
  auto world = make_single_bootstrap();
  NcclBackend backend(*world, resolve_split({0}, 0), 0, {&node.cuda(), &node.nccl(), {}}, {true});
  CollectiveCall call;
  call.dtype = DataType::int32;
  call.layout = collective_layout(CollectiveKind::all_reduce, 256, 4, 1);
  backend.prepare(call);
  try {
    (void)backend.run_batch(4);
    FAIL() << "the injected failure was not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ncclAllReduce"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ncclInvalidUsage"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("injected failure during stream capture"),
              std::string::npos)
        << e.what();
  }
  // The next batch captures afresh and computes the right result.
  EXPECT_EQ(testing_support::wrong_elements_after(
                backend, call, [&] { EXPECT_NO_THROW((void)backend.run_batch(4)); }),
            0U);
  backend.finish();
  expect_clean(node);
}

// Smaller: FP8 offered where NCCL and the GPUs support it, a named skip where not.
TEST(NcclDoubleBugs, Fp8WhereNcclAndTheGpuSupportIt) {
  const auto unsupported_reason = [](int version, int capability, CollectiveKind kind) {
    FakeGpuConfig config;
    config.nccl_version_code = version;
    config.compute_capability = capability;
    FakeGpuNode node(config);
    auto world = make_single_bootstrap();
    NcclBackend backend(*world, resolve_split({0}, 0), 0, {&node.cuda(), &node.nccl(), {}}, {});
    CollectiveCall call;
    call.kind = kind;
    call.dtype = DataType::fp8_e5m2;
    return backend.unsupported(call);
  };
  EXPECT_FALSE(unsupported_reason(22809, 90, CollectiveKind::all_reduce).has_value());
  const auto old = unsupported_reason(nccl::version_code(2, 23, 4), 90, CollectiveKind::all_gather);
  ASSERT_TRUE(old.has_value());
  EXPECT_NE(old->find("NCCL 2.23.4 has no FP8 types"), std::string::npos) << *old;
  const auto ampere = unsupported_reason(22809, 80, CollectiveKind::reduce_scatter);
  ASSERT_TRUE(ampere.has_value());
  EXPECT_NE(ampere->find("compute capability 9.0"), std::string::npos) << *ampere;
  EXPECT_FALSE(unsupported_reason(22809, 80, CollectiveKind::all_gather).has_value());

  // End to end on a Hopper-like node: FP8 reductions bit-exact.
  FakeGpuNode node;
  CollectiveOptions options = options_for(CollectiveKind::reduce_scatter);
  options.dtypes = {DataType::fp8_e4m3, DataType::fp8_e5m2};
  GpuJob job;
  job.ranks = 4;
  const auto results = run_gpu_job(options, node, job);
  ASSERT_TRUE(results[0].report.has_value()) << results[0].error;
  EXPECT_EQ(results[0].report->verdict.status, Status::pass) << results[0].report->verdict.summary;
  for (const auto& row : results[0].report->results) {
    EXPECT_EQ(row.wrong_elements, 0) << row.dtype << " " << row.op;
  }
}

}  // namespace
}  // namespace preflight::collectives
