// The libfabric transport between two endpoints of this process (one per thread), over the shm
// and tcp providers that Debian's libfabric ships.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/error.hpp"
#include "common/timer.hpp"
#include "p2p/fabric_transport.hpp"
#include "p2p/pair_test.hpp"

namespace preflight::p2p {
namespace {

PairTestSpec quick_spec(TestKind test, std::size_t bytes) {
  PairTestSpec spec;
  spec.test = test;
  spec.bytes = bytes;
  spec.window = 8;
  spec.check_iterations = 2;
  spec.sampling.warmup_iterations = 2;
  spec.sampling.min_iterations = 5;
  spec.sampling.max_iterations = 5;
  spec.sampling.fixed = true;
  return spec;
}

struct EndpointPair {
  std::unique_ptr<FabricEndpoint> first;
  std::unique_ptr<FabricEndpoint> second;
};

EndpointPair make_pair(const std::string& provider, const std::string& domain, DataOp op) {
  FabricRequest request;
  request.provider = provider;
  request.domain = domain;
  request.op = op;
  request.max_window = 8;
  EndpointPair pair;
  try {
    pair.first = std::make_unique<FabricEndpoint>(request, 1 << 20, nullptr);
    pair.second = std::make_unique<FabricEndpoint>(request, 1 << 20, nullptr);
  } catch (const FabricUnavailable& e) {
    ADD_FAILURE() << e.what();
  }
  return pair;
}

// Every test and size over one pair of endpoints; returns the outcomes' wrong and size errors.
void exercise(const std::string& provider, const std::string& domain, DataOp op,
              const std::vector<std::size_t>& sizes) {
  EndpointPair pair = make_pair(provider, domain, op);
  ASSERT_TRUE(pair.first && pair.second);
  auto initiator = pair.first->open_channel(pair.second->local_address(), "rank 1 (test)");
  auto responder = pair.second->open_channel(pair.first->local_address(), "rank 0 (test)");
  const std::vector<TestKind> tests = {TestKind::latency, TestKind::bw, TestKind::bibw};
  std::thread other([&] {
    for (const TestKind test : tests) {
      for (const std::size_t bytes : sizes) {
        run_responder(*responder, quick_spec(test, bytes));
      }
    }
  });
  for (const TestKind test : tests) {
    for (const std::size_t bytes : sizes) {
      const PairSizeOutcome outcome = run_initiator(*initiator, quick_spec(test, bytes));
      EXPECT_EQ(outcome.wrong_bytes, 0U) << to_string(op) << " " << to_string(test) << " " << bytes;
      EXPECT_EQ(outcome.size_errors, 0U) << to_string(test) << " " << bytes;
      EXPECT_EQ(outcome.samples_s.size(), 5U);
      EXPECT_GT(outcome.verified_messages, 0U);
    }
  }
  other.join();
}

TEST(FabricTransport, ShmTaggedSend) {
  exercise("shm", "", DataOp::send, {1, 64, 4096, 4097, 65536, 1 << 20});
}

TEST(FabricTransport, ShmRmaWrite) {
  exercise("shm", "", DataOp::write, {1, 4096, 1 << 20});
}

TEST(FabricTransport, ShmRmaRead) {
  exercise("shm", "", DataOp::read, {1, 4096, 1 << 20});
}

TEST(FabricTransport, TcpTaggedSendOnLoopbackDomain) {
  exercise("tcp", "lo", DataOp::send, {1, 64, 65, 65536});
}

TEST(FabricTransport, DescribesWhatItGot) {
  EndpointPair pair = make_pair("shm", "", DataOp::send);
  ASSERT_TRUE(pair.first);
  const FabricDescription& description = pair.first->description();
  EXPECT_EQ(description.provider, "shm");
  EXPECT_EQ(description.domain, "shm");
  EXPECT_GT(description.inject_size, 0U);
  EXPECT_FALSE(description.mr_mode.empty());
  EndpointPair tcp = make_pair("tcp", "lo", DataOp::send);
  ASSERT_TRUE(tcp.first);
  EXPECT_EQ(tcp.first->description().provider, "tcp;ofi_rxm");  // layered name
  EXPECT_EQ(tcp.first->description().domain, "lo");             // exact domain, not eth0
}

TEST(FabricTransport, MissingProviderOrDomainIsUnavailableNotAnError) {
  FabricRequest request;
  request.provider = "no-such-provider";
  EXPECT_THROW(FabricEndpoint(request, 4096, nullptr), FabricUnavailable);
  request.provider = "tcp";
  request.domain = "no-such-interface";
  try {
    FabricEndpoint endpoint(request, 4096, nullptr);
    FAIL() << "a missing domain was accepted";
  } catch (const FabricUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-interface"), std::string::npos) << e.what();
  }
}

TEST(FabricTransport, AWaitNoticesALostPeerThroughTheLivenessCheck) {
  FabricRequest request;
  request.provider = "shm";
  std::atomic<int> calls{0};
  FabricEndpoint lonely(request, 4096, [&calls] {
    if (++calls >= 3) {
      throw PeerLostError("peer rank 1 (test) closed the rendezvous connection");
    }
  });
  FabricEndpoint silent(request, 4096, nullptr);
  auto channel = lonely.open_channel(silent.local_address(), "rank 1 (test)");
  const Stopwatch watch;
  EXPECT_THROW((void)channel->recv_control(), PeerLostError);
  EXPECT_LT(watch.elapsed_s(), 5.0);
  EXPECT_GE(calls.load(), 3);
}

TEST(FabricTransport, EfaDomainNames) {
  EXPECT_EQ(efa_device_of_domain("rdmap79s0-rdm"), "rdmap79s0");
  EXPECT_EQ(efa_device_of_domain("rdmap79s0-dgrm"), "rdmap79s0");
  EXPECT_EQ(efa_device_of_domain("lo"), "lo");
  EXPECT_TRUE(list_efa_domains().empty() ||
              list_efa_domains().front().find("rdm") != std::string::npos);
}

}  // namespace
}  // namespace preflight::p2p
