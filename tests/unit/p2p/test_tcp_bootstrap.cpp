// The TCP rendezvous bootstrap on 127.0.0.1 only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "common/tcp_bootstrap.hpp"
#include "common/timer.hpp"

namespace preflight {
namespace {

TcpBootstrapOptions quick_options(std::string name) {
  TcpBootstrapOptions options;
  options.connect_timeout_s = 5;
  options.operation_timeout_s = 5;
  options.node_name = std::move(name);
  return options;
}

TEST(TcpEndpoint, ParsesPortsHostsAndIpv6) {
  EXPECT_EQ(parse_tcp_endpoint("4000", "--listen").port, 4000);
  EXPECT_EQ(parse_tcp_endpoint("4000", "--listen").host, "");
  const auto address = parse_tcp_endpoint("127.0.0.1:5000", "--connect");
  EXPECT_EQ(address.host, "127.0.0.1");
  EXPECT_EQ(address.port, 5000);
  EXPECT_EQ(parse_tcp_endpoint("[::1]:6000", "--connect").host, "::1");
  EXPECT_THROW((void)parse_tcp_endpoint("host:", "--connect"), UsageError);
  EXPECT_THROW((void)parse_tcp_endpoint("host:70000", "--connect"), UsageError);
  EXPECT_THROW((void)parse_tcp_endpoint("[::1]6000", "--connect"), UsageError);
  try {
    (void)parse_tcp_endpoint("x:y", "--connect");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--connect"), std::string::npos);
  }
}

TEST(TcpBootstrap, TwoRanksExchangeAndNameEachOther) {
  const TcpListener listener({"127.0.0.1", 0});
  ASSERT_NE(listener.port(), 0);
  std::vector<std::vector<std::string>> gathered(2);
  std::thread connector([&] {
    auto rank1 = TcpBootstrap::connect({"127.0.0.1", listener.port()}, quick_options("beta"));
    EXPECT_EQ(rank1->rank(), 1);
    EXPECT_EQ(rank1->peer_name(), "alpha");
    for (int round = 0; round < 20; ++round) {
      gathered[1] = rank1->allgather_strings(std::string(static_cast<std::size_t>(round), 'b'));
      rank1->barrier();
    }
    int value = 0;
    rank1->broadcast_value(value, 0);
    EXPECT_EQ(value, 42);
    // A large frame both ways at once: no deadlock.
    const std::string big(8 << 20, 'y');
    EXPECT_EQ(rank1->allgather_strings(big)[0].size(), big.size());
  });
  auto rank0 = TcpBootstrap::accept(listener, quick_options("alpha"));
  EXPECT_EQ(rank0->rank(), 0);
  EXPECT_EQ(rank0->size(), 2);
  EXPECT_EQ(rank0->kind(), "tcp");
  EXPECT_EQ(rank0->peer_name(), "beta");
  for (int round = 0; round < 20; ++round) {
    gathered[0] = rank0->allgather_strings(std::string("a"));
    rank0->barrier();
  }
  int value = 42;
  rank0->broadcast_value(value, 0);
  EXPECT_NO_THROW(rank0->check_peer_alive());  // rank 1 is still there, in the next exchange
  const std::string big(8 << 20, 'x');
  EXPECT_EQ(rank0->allgather_strings(big)[1].size(), big.size());
  connector.join();
  EXPECT_EQ(gathered[0], (std::vector<std::string>{"a", std::string(19, 'b')}));
}

TEST(TcpBootstrap, APeerThatLeavesIsNamedQuickly) {
  const TcpListener listener({"127.0.0.1", 0});
  std::thread connector([&] {
    auto rank1 = TcpBootstrap::connect({"127.0.0.1", listener.port()}, quick_options("gone-host"));
  });  // rank 1 closes its socket at once
  auto rank0 = TcpBootstrap::accept(listener, quick_options("alpha"));
  connector.join();
  const Stopwatch watch;
  try {
    rank0->barrier();
    FAIL() << "barrier with a departed peer returned";
  } catch (const PeerLostError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 (gone-host)"), std::string::npos) << e.what();
  }
  EXPECT_LT(watch.elapsed_s(), 1.0);
  EXPECT_THROW(rank0->check_peer_alive(), PeerLostError);
}

TEST(TcpBootstrap, ASilentPeerTimesOut) {
  const TcpListener listener({"127.0.0.1", 0});
  TcpBootstrapOptions options = quick_options("alpha");
  options.operation_timeout_s = 0.3;
  std::unique_ptr<TcpBootstrap> rank1;
  std::thread connector([&] {
    rank1 = TcpBootstrap::connect({"127.0.0.1", listener.port()}, quick_options("silent"));
  });
  auto rank0 = TcpBootstrap::accept(listener, options);
  connector.join();
  const Stopwatch watch;
  EXPECT_THROW(rank0->barrier(), TimeoutError);  // rank 1 never calls barrier
  EXPECT_LT(watch.elapsed_s(), 2.0);
  EXPECT_NO_THROW(rank0->check_peer_alive());  // silent, but there
}

TEST(TcpBootstrap, ConnectAndAcceptTimeOut) {
  // A port that nobody listens on (bound, never listening, so nothing else takes it meanwhile).
  const int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(blocker, 0);
  const FileDescriptor owned(blocker);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blocker, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::getsockname(blocker, reinterpret_cast<sockaddr*>(&address), &length), 0);
  TcpBootstrapOptions options = quick_options("x");
  options.connect_timeout_s = 0.4;
  const Stopwatch watch;
  EXPECT_THROW((void)TcpBootstrap::connect({"127.0.0.1", ntohs(address.sin_port)}, options),
               TimeoutError);
  EXPECT_LT(watch.elapsed_s(), 3.0);

  const TcpListener listener({"127.0.0.1", 0});
  EXPECT_THROW((void)TcpBootstrap::accept(listener, options), TimeoutError);
}

TEST(TcpBootstrap, AStrangerIsRefused) {
  const TcpListener listener({"127.0.0.1", 0});
  std::thread stranger([&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const FileDescriptor owned(fd);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(listener.port());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
    (void)::send(fd, garbage, sizeof(garbage), MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  });
  EXPECT_THROW((void)TcpBootstrap::accept(listener, quick_options("alpha")), Error);
  stranger.join();
}

}  // namespace
}  // namespace preflight
