// The libfabric transport between two endpoints of this process (one per thread), over the shm
// and tcp providers that Debian's libfabric ships.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/fabric.hpp"
#include "common/text.hpp"
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

EndpointPair make_pair(const std::string& provider, const std::string& domain, DataOp op,
                       std::size_t max_cq_data_bytes = 0) {
  FabricRequest request;
  request.provider = provider;
  request.domain = domain;
  request.op = op;
  request.max_window = 8;
  request.max_cq_data_bytes = max_cq_data_bytes;
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
              const std::vector<std::size_t>& sizes, std::size_t max_cq_data_bytes = 0) {
  EndpointPair pair = make_pair(provider, domain, op, max_cq_data_bytes);
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
      // Every inject has been progressed when an operation returns: the initiator turns to the
      // next size (or its bootstrap) without touching the CQ again.
      EXPECT_EQ(pair.first->injects_awaiting_progress(), 0U) << to_string(test) << " " << bytes;
    }
  }
  other.join();
  // The responder's last message of each test was its result; nothing of it may still wait in
  // the provider while that side goes off to exchange results over the bootstrap.
  EXPECT_EQ(pair.second->injects_awaiting_progress(), 0U);
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

// efa carries 4 bytes of CQ data: the write size travels modulo 2^32, over shm as over efa.
TEST(FabricTransport, ShmRmaWriteWithEfasFourBytesOfCqData) {
  exercise("shm", "", DataOp::write, {1, 4096, 1 << 20}, 4);
}

TEST(FabricTransport, WriteSizesBeyondTheCqDataCompareModuloItsWidth) {
  constexpr std::uint64_t kFiveGiB = 5ULL << 30U;
  // What a 4-byte provider delivers for 5 GiB: the low 32 bits (1 GiB). Compared in full, as
  // before, it counted as a size error.
  const std::uint64_t delivered = kFiveGiB & 0xffffffffULL;
  EXPECT_NE(delivered, kFiveGiB);
  EXPECT_TRUE(write_size_matches(delivered, kFiveGiB, 4));
  EXPECT_EQ(write_size_cq_data(kFiveGiB, 4), delivered);
  EXPECT_FALSE(write_size_matches(delivered + 1, kFiveGiB, 4));
  EXPECT_EQ(write_size_cq_data(kFiveGiB, 8), kFiveGiB);
  EXPECT_TRUE(write_size_matches(kFiveGiB, kFiveGiB, 8));
  EXPECT_FALSE(write_size_matches(delivered, kFiveGiB, 8));
}

// fabtests' order: the endpoint (whose receive is still posted) closes before any registration,
// its CQs before the registrations, the AV, domain and fabric last; every close succeeds.
TEST(FabricTransport, TeardownClosesTheEndpointBeforeItsRegistrations) {
  std::vector<std::string> closed;
  FabricRequest request;
  request.provider = "shm";
  request.on_close = [&closed](std::string_view fid, int result) {
    EXPECT_EQ(result, 0) << fid;
    closed.emplace_back(fid);
  };
  {
    FabricEndpoint endpoint(request, 4096, nullptr);
    FabricRequest plain;
    plain.provider = "shm";
    FabricEndpoint peer(plain, 4096, nullptr);
    // open_channel posts the first ping-pong receive into the receive buffer's registration.
    auto channel = endpoint.open_channel(peer.local_address(), "rank 1 (test)");
  }
  EXPECT_EQ(closed,
            (std::vector<std::string>{"endpoint", "receive CQ", "transmit CQ", "send MR",
                                      "receive MR", "control MR", "AV", "domain", "fabric"}));
}

TEST(FabricTransport, RecordsTheApiAskedForAndWhatWasGranted) {
  EndpointPair pair = make_pair("shm", "", DataOp::write);
  ASSERT_TRUE(pair.first);
  const FabricDescription& d = pair.first->description();
  EXPECT_EQ(d.api_requested, "1.18");  // at least 1.18, whatever the headers
  EXPECT_EQ(d.library_version, fabric_runtime_version());
  if (d.library_version == "1.17") {  // Debian: refused, asked again at 1.17, and said so
    EXPECT_EQ(d.api_version, "1.17");
    EXPECT_NE(d.api_fallback.find("-FI_ENOSYS"), std::string::npos) << d.api_fallback;
  } else {
    EXPECT_TRUE(d.api_fallback.empty()) << d.api_fallback;
  }
  EXPECT_EQ(d.cq_data_size, 8U);
  EXPECT_TRUE(d.rma);
  EXPECT_EQ(d.device_rdma_source, "not an EFA provider");
  const nlohmann::json described = describe_fabric(d);
  EXPECT_EQ(described.at("api").at("requested"), "1.18");
  EXPECT_EQ(described.at("api").at("library"), d.library_version);
  EXPECT_EQ(described.at("cq_data_size_bytes"), 8);
}

TEST(FabricTransport, LoopbackEndpointsSayHowSharedMemoryIsKeptOff) {
  FabricRequest request;
  request.provider = "tcp";
  request.domain = "lo";
  EXPECT_EQ(FabricEndpoint(request, 4096, nullptr).description().shared_memory, "permitted");
  request.disable_shared_memory = true;
  const FabricEndpoint endpoint(request, 4096, nullptr);
  const std::string& shared = endpoint.description().shared_memory;
  EXPECT_EQ(shared.rfind("disabled: ", 0), 0U) << shared;
  EXPECT_NE(shared.find("FI_OPT_SHARED_MEMORY_PERMITTED"), std::string::npos) << shared;
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

// Rails are numbered in natural order, as the devices are on every node of one platform.
TEST(FabricTransport, RailDevicesAreInNaturalOrder) {
  EXPECT_TRUE(natural_less("rdmap16s27-rdm", "rdmap160s27-rdm"));
  EXPECT_TRUE(natural_less("rdmap16s27-rdm", "rdmap16s28-rdm"));
  EXPECT_FALSE(natural_less("rdmap160s27-rdm", "rdmap16s27-rdm"));
  EXPECT_TRUE(natural_less("eth2", "eth10"));
  EXPECT_FALSE(natural_less("eth1", "eth1"));
  EXPECT_TRUE(natural_less("eth", "eth0"));
  // tcp lists one domain per interface: never lo.
  for (const std::string& domain : list_rail_domains("tcp")) {
    EXPECT_NE(domain, "lo");
  }
}

}  // namespace
}  // namespace preflight::p2p
