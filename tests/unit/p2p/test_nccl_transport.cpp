// preflight-p2p's NCCL transport over the host-memory double of NCCL and the CUDA runtime
// (tests/unit/collectives/gpu_double.hpp): the pair protocol verifies every payload and control
// message, copies reach the device before the send that reads them, NCCL errors are decoded, and
// the communicator is finalized on the normal end and aborted otherwise.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/gpu_libraries.hpp"
#include "gpu_double.hpp"
#include "p2p/nccl_transport.hpp"
#include "p2p/pair_test.hpp"
#include "p2p/runner.hpp"

namespace preflight::p2p {
namespace {

using preflight::testing::FakeGpuConfig;
using preflight::testing::FakeGpuNode;

// Both ranks on threads, each with its own transport and GPU; `body` runs on each.
template <typename Body>
void run_pair(const Body& body) {
  auto bootstraps = make_thread_group_bootstraps(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        body(rank, *bootstraps[static_cast<std::size_t>(rank)]);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(rank)] = e.what();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const auto& error : errors) {
    EXPECT_TRUE(error.empty()) << error;
  }
}

TEST(NcclTransportDouble, EveryPairTestVerifiesItsPayloads) {
  FakeGpuNode node;
  run_pair([&](int rank, Bootstrap& bootstrap) {
    NcclTransport transport(bootstrap, 1 << 16, rank, {}, node.cuda(), node.nccl());
    EXPECT_EQ(transport.version(), "2.28.9");
    auto channel = transport.open_channel(1 - rank, fmt::format("rank {}", 1 - rank));
    for (const TestKind test : {TestKind::latency, TestKind::bw, TestKind::bibw}) {
      for (const std::size_t bytes : {std::size_t{1}, std::size_t{1000}, std::size_t{1} << 16}) {
        PairTestSpec spec;
        spec.test = test;
        spec.bytes = bytes;
        spec.window = 4;
        spec.check_iterations = 2;
        spec.sampling.warmup_iterations = 1;
        spec.sampling.min_iterations = spec.sampling.max_iterations = 3;
        spec.sampling.fixed = true;
        if (rank == 0) {
          const PairSizeOutcome outcome = run_initiator(*channel, spec);
          EXPECT_EQ(outcome.wrong_bytes, 0U) << to_string(test) << " " << bytes;
          EXPECT_GT(outcome.verified_messages, 0U);
          EXPECT_EQ(outcome.samples_s.size(), 3U);
        } else {
          run_responder(*channel, spec);
        }
      }
    }
    bootstrap.barrier();
    transport.finish();
  });
  for (const auto& violation : node.violations()) {
    ADD_FAILURE() << violation;
  }
  EXPECT_EQ(node.communicator_ends(), (std::vector<std::string>{"finalized", "finalized"}));
  EXPECT_EQ(node.live_allocations(), 0U);
}

// What the copy-ordering fix guards against, shown on the double: bytes copied on a stream
// nobody waits for are not there when the send on the transport's stream reads the buffer (a
// plain cudaMemcpy from pageable memory may return before its DMA lands, and the send runs on a
// non-blocking stream). MessageBuffer and the control messages copy in order, and arrive.
TEST(NcclTransportDouble, CopiesReachTheDeviceBeforeTheSend) {
  FakeGpuNode node;
  constexpr std::size_t kBytes = 4096;
  const std::uint64_t seed = payload_seed(kBytes, 7, 0);
  std::vector<std::uint64_t> wrong(2, 0);
  run_pair([&](int rank, Bootstrap& bootstrap) {
    NcclTransport transport(bootstrap, kBytes, rank, {}, node.cuda(), node.nccl());
    auto channel = transport.open_channel(1 - rank, "peer");
    for (const bool ordered : {false, true}) {
      if (rank == 0) {
        if (ordered) {
          channel->send_buffer().fill_payload(kBytes, seed);
        } else {
          std::vector<std::byte> host(kBytes);
          fill_payload(host, seed);
          node.enqueue_unordered_copy(channel->send_buffer().data(), host.data(), kBytes);
        }
        channel->ping(kBytes);
      } else {
        channel->recv_buffer().fill_poison(kBytes, seed);
        channel->pong(kBytes);
        (ordered ? wrong[1] : wrong[0]) = channel->recv_buffer().count_mismatches(kBytes, seed);
      }
      bootstrap.barrier();
    }
    // Control messages carry every field.
    ControlMessage message;
    message.kind = ControlMessage::Kind::verified;
    message.count = 123456789;
    message.wrong_bytes = 42;
    message.verified_messages = 7;
    if (rank == 0) {
      channel->send_control(message);
    } else {
      const ControlMessage received = channel->recv_control();
      EXPECT_EQ(received.kind, ControlMessage::Kind::verified);
      EXPECT_EQ(received.count, 123456789U);
      EXPECT_EQ(received.wrong_bytes, 42U);
      EXPECT_EQ(received.verified_messages, 7U);
    }
    bootstrap.barrier();
    transport.finish();
  });
  EXPECT_GT(wrong[0], 0U) << "the double did not model the unordered copy";
  EXPECT_EQ(wrong[1], 0U);
}

TEST(NcclTransportDouble, AsyncErrorIsDecodedAndTheCommunicatorAborted) {
  FakeGpuConfig config;
  config.async_failure =
      FakeGpuConfig::AsyncFailure{0, nccl::kRemoteError, "NET/OFI connection closed by peer"};
  FakeGpuNode node(config);
  std::vector<std::string> errors(2);
  auto bootstraps = make_thread_group_bootstraps(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        NcclTransport transport(*bootstraps[static_cast<std::size_t>(rank)], 1024, rank, {},
                                node.cuda(), node.nccl());
        auto channel = transport.open_channel(1 - rank, "rank " + std::to_string(1 - rank));
        // Failed from the start: the send never completes, and the wait ends on the error.
        if (rank == 0) {
          channel->ping(64);
        } else {
          channel->pong(64);
        }
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(rank)] = e.what();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (const auto& error : errors) {
    EXPECT_NE(error.find("ncclRemoteError"), std::string::npos) << error;
    EXPECT_NE(error.find("NET/OFI connection closed by peer"), std::string::npos) << error;
  }
  EXPECT_EQ(node.communicator_ends(), (std::vector<std::string>{"aborted", "aborted"}));
  for (const auto& violation : node.violations()) {
    ADD_FAILURE() << violation;
  }
}

// The whole runner over the double: prerequisites agreed, the NCCL session set up and finished,
// rows measured and verified.
std::vector<reports::Report> run_ranks(const GpuLibraries& gpu) {
  P2pOptions options = default_options();
  options.transport = Transport::nccl;
  options.memory = MemoryKind::cuda;
  options.sizes = {8, 4096};
  options.tests = {TestKind::latency, TestKind::bw};
  options.window = 4;
  options.sampling.warmup_iterations = 1;
  options.sampling.min_iterations = options.sampling.max_iterations = 5;
  options.sampling.fixed = true;
  options.common.deterministic = true;
  auto bootstraps = make_thread_group_bootstraps(2);
  std::vector<reports::Report> reports(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      RunEnvironment environment;
      environment.bootstrap = bootstraps[static_cast<std::size_t>(rank)].get();
      environment.gpu = &gpu;
      const std::array<const char*, 1> argv{"preflight-p2p"};
      reports[static_cast<std::size_t>(rank)] =
          run(options, reports::start_report("preflight-p2p", 1, argv.data(), true), environment);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  return reports;
}

TEST(NcclTransportDouble, TheRunnerMeasuresAndVerifiesOverNccl) {
  FakeGpuNode node;
  GpuLibraries gpu;
  gpu.use_tables(&node.cuda(), &node.nccl());
  const auto reports = run_ranks(gpu);
  const reports::Report& report = reports[0];
  EXPECT_EQ(report.verdict.status, Status::pass) << report.verdict.summary;
  EXPECT_EQ(report.results.size(), 4U);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.transport, "nccl");
    EXPECT_EQ(row.wrong_elements, 0);
  }
  EXPECT_EQ(report.details["transport"]["backend"], "nccl");
  EXPECT_EQ(report.details["transport"]["libraries"]["nccl"]["version"], "2.28.9");
  EXPECT_TRUE(report.details["transport"]["net_plugin"].contains("loaded"));
  EXPECT_EQ(node.communicator_ends(), (std::vector<std::string>{"finalized", "finalized"}));
  for (const auto& violation : node.violations()) {
    ADD_FAILURE() << violation;
  }
}

TEST(NcclTransportDouble, WithoutNcclOrAGpuTheRunIsASkipThatSaysSo) {
  {
    FakeGpuNode node;
    GpuLibraries gpu;
    gpu.use_tables(&node.cuda(), nullptr);
    for (const auto& report : run_ranks(gpu)) {
      EXPECT_EQ(report.verdict.status, Status::skip);
      EXPECT_EQ(report.verdict.exit_code, exit_code::skip);
      ASSERT_FALSE(report.checks.empty());
      EXPECT_NE(report.checks.back().message.find("--transport nccl: NCCL was not loaded"),
                std::string::npos)
          << report.checks.back().message;
    }
  }
  FakeGpuConfig no_gpu;
  no_gpu.devices = 0;
  FakeGpuNode node(no_gpu);
  GpuLibraries gpu;
  gpu.use_tables(&node.cuda(), &node.nccl());
  for (const auto& report : run_ranks(gpu)) {
    EXPECT_EQ(report.verdict.status, Status::skip);
    ASSERT_FALSE(report.checks.empty());
    EXPECT_NE(report.checks.back().message.find("no usable CUDA device"), std::string::npos)
        << report.checks.back().message;
  }
}

}  // namespace
}  // namespace preflight::p2p
