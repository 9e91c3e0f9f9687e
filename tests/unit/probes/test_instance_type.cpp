#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common/raii.hpp"
#include "probe_test_support.hpp"
#include "probes/imds.hpp"
#include "probes/instance_type.hpp"

namespace preflight::probes {
namespace {

using testing::sysfs_fixture;
using testing::TempRoot;

// A one-shot HTTP server on 127.0.0.1 standing in for IMDS: the tests never contact
// 169.254.169.254.
class FakeImds {
 public:
  enum class Mode { answer, silent };

  explicit FakeImds(Mode mode) : mode_(mode) {
    listener_ = FileDescriptor(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_.get(), 4);
    socklen_t length = sizeof(address);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  FakeImds(const FakeImds&) = delete;
  FakeImds& operator=(const FakeImds&) = delete;
  ~FakeImds() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] int requests() const { return requests_; }

 private:
  void serve() {
    while (!stop_) {
      const FileDescriptor client(::accept(listener_.get(), nullptr, nullptr));
      if (!client) {
        return;
      }
      std::string request;
      char buffer[1024];  // NOLINT(cppcoreguidelines-avoid-c-arrays)
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(client.get(), buffer, sizeof(buffer), 0);
        if (n <= 0) {
          break;
        }
        request.append(buffer, static_cast<std::size_t>(n));
      }
      ++requests_;
      if (mode_ == Mode::silent) {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        continue;
      }
      std::string body;
      if (request.rfind("PUT /latest/api/token", 0) == 0 &&
          request.find("X-aws-ec2-metadata-token-ttl-seconds") != std::string::npos) {
        body = "TOKEN123";
      } else if (request.rfind("GET /latest/meta-data/instance-type", 0) == 0 &&
                 request.find("X-aws-ec2-metadata-token: TOKEN123") != std::string::npos) {
        body = "p5en.48xlarge";
      }
      const std::string status = body.empty() ? "401 Unauthorized" : "200 OK";
      const std::string response = "HTTP/1.1 " + status +
                                   "\r\nContent-Length: " + std::to_string(body.size()) +
                                   "\r\n\r\n" + body;
      ::send(client.get(), response.data(), response.size(), MSG_NOSIGNAL);
    }
  }

  Mode mode_;
  FileDescriptor listener_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
};

TEST(InstanceType, Shape) {
  for (const char* good : {"p5en.48xlarge", "p6-b200.48xlarge", "p6e-gb200.36xlarge", "c5.large"}) {
    EXPECT_TRUE(looks_like_instance_type(good)) << good;
  }
  for (const char* bad :
       {"", "Standard PC (i440FX + PIIX, 1996)", "p5", "a.b.c", "P5.48XLARGE", ".large", "p5."}) {
    EXPECT_FALSE(looks_like_instance_type(bad)) << bad;
  }
}

TEST(InstanceType, FlagWinsOverDmi) {
  const RootFs fs(sysfs_fixture("p5en-healthy"));
  InstanceTypeQuery query;
  query.flag_value = "p4d.24xlarge";
  const auto context = resolve_platform(fs, query);
  EXPECT_EQ(context.instance_type, "p4d.24xlarge");
  EXPECT_EQ(context.source, "--instance-type");
  ASSERT_TRUE(context.known());
  EXPECT_EQ(context.platform->efa_count, 4);
}

TEST(InstanceType, DmiProductNameUnderTheRoot) {
  const RootFs fs(sysfs_fixture("old-versions"));
  const auto context = resolve_platform(fs, InstanceTypeQuery{});
  EXPECT_EQ(context.instance_type, "p5.48xlarge");
  EXPECT_EQ(context.source, "DMI product_name");
  EXPECT_TRUE(context.known());
}

TEST(InstanceType, UnknownTypeAndNoImdsUnderARoot) {
  const TempRoot root;
  root.write("sys/devices/virtual/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
  const auto context = resolve_platform(RootFs(root.path()), InstanceTypeQuery{});
  EXPECT_FALSE(context.known());
  EXPECT_TRUE(context.instance_type.empty());
  EXPECT_NE(context.unknown_reason.find("IMDS not consulted for --root"), std::string::npos)
      << context.unknown_reason;

  root.write("sys/devices/virtual/dmi/id/product_name", "c5.large\n");
  const auto uncatalogued = resolve_platform(RootFs(root.path()), InstanceTypeQuery{});
  EXPECT_EQ(uncatalogued.instance_type, "c5.large");
  EXPECT_FALSE(uncatalogued.known());
  EXPECT_NE(uncatalogued.unknown_reason.find("not in the platform catalog"), std::string::npos);
}

TEST(InstanceType, InputHintWithoutConsultingTheMachine) {
  InstanceTypeQuery query;
  query.input_hint = "p5.48xlarge";
  query.consult_machine = false;
  const auto context = resolve_platform(RootFs("/"), query);
  EXPECT_EQ(context.instance_type, "p5.48xlarge");
  query.input_hint = "NVIDIA DGX-2H";
  const auto other = resolve_platform(RootFs("/"), query);
  EXPECT_FALSE(other.known());
  EXPECT_NE(other.unknown_reason.find("names no instance type"), std::string::npos);
}

TEST(Imds, TokenThenInstanceTypeFromALocalServer) {
  const FakeImds server(FakeImds::Mode::answer);
  const auto answer = imds_get({"127.0.0.1", server.port()}, "/latest/meta-data/instance-type",
                               std::chrono::milliseconds(2000));
  ASSERT_TRUE(answer.value.has_value()) << answer.error;
  EXPECT_EQ(*answer.value, "p5en.48xlarge");
  EXPECT_EQ(server.requests(), 2);
}

TEST(Imds, GivesUpWithinTheBudget) {
  const FakeImds server(FakeImds::Mode::silent);
  const auto start = std::chrono::steady_clock::now();
  const auto answer = imds_get({"127.0.0.1", server.port()}, "/latest/meta-data/instance-type",
                               std::chrono::milliseconds(150));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(answer.value.has_value());
  EXPECT_NE(answer.error.find("timed out"), std::string::npos) << answer.error;
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));
}

TEST(Imds, RefusedConnectionIsAnError) {
  // A port nobody listens on: bind one, close it, connect to it.
  std::uint16_t port = 0;
  {
    const FileDescriptor probe(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    ::bind(probe.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  const auto answer = imds_get({"127.0.0.1", port}, "/latest/meta-data/instance-type",
                               std::chrono::milliseconds(500));
  EXPECT_FALSE(answer.value.has_value());
  EXPECT_FALSE(answer.error.empty());
}

TEST(Imds, ImdsThroughResolvePlatformOnlyWhenAllowed) {
  const FakeImds server(FakeImds::Mode::answer);
  // The live root has no EC2 DMI name on this test machine; point IMDS at the fake server.
  const RootFs live("/");
  if (const auto product = live.read_line("/sys/devices/virtual/dmi/id/product_name");
      product && looks_like_instance_type(*product)) {
    GTEST_SKIP() << "this machine publishes its instance type in DMI";
  }
  InstanceTypeQuery query;
  query.imds_endpoint = {"127.0.0.1", server.port()};
  query.imds_budget = std::chrono::milliseconds(2000);
  const auto context = resolve_platform(live, query);
  EXPECT_EQ(context.instance_type, "p5en.48xlarge");
  EXPECT_EQ(context.source, "IMDSv2");
  query.allow_imds = false;
  const auto disabled = resolve_platform(live, query);
  EXPECT_TRUE(disabled.instance_type.empty());
  EXPECT_NE(disabled.unknown_reason.find("--no-imds"), std::string::npos);
}

}  // namespace
}  // namespace preflight::probes
