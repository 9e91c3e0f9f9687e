#include "common/tcp_bootstrap.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/error.hpp"
#include "common/timer.hpp"

namespace preflight {
namespace {

// Sent first by both sides: a stray client (a port scanner, an fi_pingpong) is refused, not
// misread as a frame length.
constexpr std::string_view kHelloMagic = "preflight-p2p-bootstrap/1";
// Frames carry ids, addresses and result rows; anything larger is a corrupt length.
constexpr std::uint64_t kMaxFrameBytes = 256ULL << 20U;

using Clock = MonotonicClock;

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1'000'000));
}

Clock::time_point deadline_after(double seconds) {
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

void set_no_delay(int fd) {
  const int one = 1;
  check_errno(::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), "setsockopt",
              "TCP_NODELAY");
}

struct AddressList {
  addrinfo* head = nullptr;
  AddressList(const AddressList&) = delete;
  AddressList& operator=(const AddressList&) = delete;
  AddressList(AddressList&&) = delete;
  AddressList& operator=(AddressList&&) = delete;
  AddressList() = default;
  ~AddressList() {
    if (head != nullptr) {
      ::freeaddrinfo(head);
    }
  }
};

void resolve(const TcpEndpointAddress& address, bool passive, AddressList& list) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  const std::string port = std::to_string(address.port);
  const char* host = address.host.empty() ? nullptr : address.host.c_str();
  const int result = ::getaddrinfo(host, port.c_str(), &hints, &list.head);
  if (result != 0) {
    throw Error("libc", "getaddrinfo", fmt::format("{}:{}", address.host, address.port),
                ::gai_strerror(result), result);
  }
}

}  // namespace

TcpEndpointAddress parse_tcp_endpoint(const std::string& text, std::string_view flag) {
  TcpEndpointAddress address;
  std::string_view port_text = text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw UsageError(fmt::format("{} '{}': expected [IPV6]:PORT", flag, text));
    }
    address.host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
  } else if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    address.host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    throw UsageError(fmt::format("{} '{}': the port must be a number 0-65535", flag, text));
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

TcpListener::TcpListener(const TcpEndpointAddress& address) {
  AddressList list;
  resolve(address, /*passive=*/true, list);
  int last_errno = 0;
  for (addrinfo* entry = list.head; entry != nullptr; entry = entry->ai_next) {
    FileDescriptor fd(
        ::socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC, entry->ai_protocol));
    if (!fd) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), entry->ai_addr, entry->ai_addrlen) != 0 || ::listen(fd.get(), 4) != 0) {
      last_errno = errno;
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    check_errno(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length),  // NOLINT
                "getsockname", "listener");
    port_ = ntohs(bound.ss_family == AF_INET6
                      ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port  // NOLINT
                      : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);  // NOLINT
    socket_ = std::move(fd);
    return;
  }
  throw Error("libc", "bind/listen", fmt::format("{}:{}", address.host, address.port),
              errno_message(last_errno), last_errno);
}

FileDescriptor TcpListener::accept_one(double timeout_s) const {
  const auto deadline = deadline_after(timeout_s);
  while (true) {
    pollfd waiting{socket_.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    check_errno(ready, "poll", "accept");
    if (ready == 0) {
      throw TimeoutError(fmt::format(
          "no peer connected to port {} within {} s (start the other side with --connect)", port_,
          timeout_s));
    }
    FileDescriptor peer(::accept4(socket_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (peer) {
      return peer;
    }
    if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
      check_errno(-1, "accept4", fmt::format("port {}", port_));
    }
  }
}

TcpBootstrap::TcpBootstrap(FileDescriptor socket, int rank, TcpBootstrapOptions options)
    : socket_(std::move(socket)), rank_(rank), options_(std::move(options)) {
  if (options_.node_name.empty()) {
    options_.node_name = host_name();
  }
  set_no_delay(socket_.get());
  // Hello: magic, rank, name. Rank 0 speaks first, so both sides agree on who is who.
  const std::string hello = fmt::format("{}\n{}\n{}", kHelloMagic, rank_, options_.node_name);
  const auto hello_bytes = std::as_bytes(std::span<const char>(hello.data(), hello.size()));
  std::vector<std::byte> received;
  if (rank_ == 0) {
    send_frame(hello_bytes, "hello");
    received = receive_frame("hello");
  } else {
    received = receive_frame("hello");
    send_frame(hello_bytes, "hello");
  }
  const std::string text(reinterpret_cast<const char*>(received.data()),  // NOLINT
                         received.size());
  const auto first = text.find('\n');
  const auto second = first == std::string::npos ? first : text.find('\n', first + 1);
  if (second == std::string::npos || text.substr(0, first) != kHelloMagic ||
      text.substr(first + 1, second - first - 1) != std::to_string(1 - rank_)) {
    throw Error("preflight", "bootstrap hello", "tcp",
                "the peer is not a preflight-p2p of the "
                "other rank (check --listen/--connect)",
                0);
  }
  peer_name_ = text.substr(second + 1);
}

std::unique_ptr<TcpBootstrap> TcpBootstrap::accept(const TcpListener& listener,
                                                   const TcpBootstrapOptions& options) {
  return std::make_unique<TcpBootstrap>(listener.accept_one(options.connect_timeout_s), 0, options);
}

std::unique_ptr<TcpBootstrap> TcpBootstrap::connect(const TcpEndpointAddress& address,
                                                    const TcpBootstrapOptions& options) {
  const auto deadline = deadline_after(options.connect_timeout_s);
  std::string last_error = "no address";
  while (true) {
    AddressList list;
    resolve(address, /*passive=*/false, list);
    for (addrinfo* entry = list.head; entry != nullptr; entry = entry->ai_next) {
      FileDescriptor fd(::socket(
          entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, entry->ai_protocol));
      if (!fd) {
        last_error = errno_message(errno);
        continue;
      }
      int result = ::connect(fd.get(), entry->ai_addr, entry->ai_addrlen);
      if (result != 0 && errno == EINPROGRESS) {
        pollfd waiting{fd.get(), POLLOUT, 0};
        result = ::poll(&waiting, 1, std::max(1, std::min(remaining_ms(deadline), 1000)));
        if (result == 1) {
          int error = 0;
          socklen_t length = sizeof(error);
          ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
          result = error == 0 ? 0 : -1;
          errno = error;
        } else {
          result = -1;
          errno = ETIMEDOUT;
        }
      }
      if (result == 0) {
        const int flags = ::fcntl(fd.get(), F_GETFL);
        check_errno(::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK), "fcntl", "blocking socket");
        return std::make_unique<TcpBootstrap>(std::move(fd), 1, options);
      }
      last_error = errno_message(errno);
    }
    if (Clock::now() >= deadline) {
      throw TimeoutError(fmt::format("could not connect to {}:{} within {} s: {}", address.host,
                                     address.port, options.connect_timeout_s, last_error));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the listener may start later
  }
}

std::string TcpBootstrap::peer_description() const {
  return fmt::format("peer rank {} ({})", 1 - rank_, peer_name_.empty() ? "?" : peer_name_);
}

void TcpBootstrap::send_bytes(std::span<const std::byte> data, std::string_view operation) {
  const auto deadline = deadline_after(options_.operation_timeout_s);
  std::size_t sent = 0;
  while (sent < data.size()) {
    pollfd waiting{socket_.get(), POLLOUT, 0};
    const int ready = ::poll(&waiting, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    check_errno(ready, "poll", operation);
    if (ready == 0) {
      throw TimeoutError(fmt::format("bootstrap {}: {} did not take data within {} s", operation,
                                     peer_description(), options_.operation_timeout_s));
    }
    const ssize_t count =
        ::send(socket_.get(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (count < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      throw PeerLostError(fmt::format("bootstrap {}: {} is gone: {}", operation, peer_description(),
                                      errno_message(errno)));
    }
    sent += static_cast<std::size_t>(count);
  }
}

void TcpBootstrap::receive_bytes(std::span<std::byte> data, std::string_view operation) {
  const auto deadline = deadline_after(options_.operation_timeout_s);
  std::size_t received = 0;
  while (received < data.size()) {
    pollfd waiting{socket_.get(), POLLIN, 0};
    const int ready = ::poll(&waiting, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) {
      continue;
    }
    check_errno(ready, "poll", operation);
    if (ready == 0) {
      throw TimeoutError(fmt::format("bootstrap {}: no data from {} within {} s", operation,
                                     peer_description(), options_.operation_timeout_s));
    }
    const ssize_t count =
        ::recv(socket_.get(), data.data() + received, data.size() - received, MSG_DONTWAIT);
    if (count == 0) {
      throw PeerLostError(
          fmt::format("bootstrap {}: {} closed the connection (it exited or was killed)", operation,
                      peer_description()));
    }
    if (count < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      throw PeerLostError(fmt::format("bootstrap {}: {} is gone: {}", operation, peer_description(),
                                      errno_message(errno)));
    }
    received += static_cast<std::size_t>(count);
  }
}

void TcpBootstrap::send_frame(std::span<const std::byte> data, std::string_view operation) {
  const std::uint64_t length = data.size();
  send_bytes(std::as_bytes(std::span<const std::uint64_t, 1>(&length, 1)), operation);
  send_bytes(data, operation);
}

std::vector<std::byte> TcpBootstrap::receive_frame(std::string_view operation) {
  std::uint64_t length = 0;
  receive_bytes(std::as_writable_bytes(std::span<std::uint64_t, 1>(&length, 1)), operation);
  if (length > kMaxFrameBytes) {
    throw Error("preflight", "bootstrap receive", std::string(operation),
                fmt::format("frame of {} bytes from {} (corrupt or not a preflight peer)", length,
                            peer_description()),
                0);
  }
  std::vector<std::byte> data(length);
  receive_bytes(data, operation);
  return data;
}

void TcpBootstrap::barrier() {
  (void)allgather({});
}

std::vector<std::vector<std::byte>> TcpBootstrap::allgather(std::span<const std::byte> mine) {
  // Rank 0 writes first and rank 1 reads first: no deadlock whatever the frame sizes.
  std::vector<std::vector<std::byte>> all(2);
  all[static_cast<std::size_t>(rank_)].assign(mine.begin(), mine.end());
  if (rank_ == 0) {
    send_frame(mine, "allgather");
    all[1] = receive_frame("allgather");
  } else {
    all[0] = receive_frame("allgather");
    send_frame(mine, "allgather");
  }
  return all;
}

void TcpBootstrap::broadcast(std::span<std::byte> data, int root) {
  if (root != 0 && root != 1) {
    throw std::invalid_argument("broadcast root out of range");
  }
  if (root == rank_) {
    send_frame(data, "broadcast");
    return;
  }
  const auto received = receive_frame("broadcast");
  if (received.size() != data.size()) {
    throw Error("preflight", "bootstrap broadcast", "tcp",
                fmt::format("{} sent {} bytes, expected {}", peer_description(), received.size(),
                            data.size()),
                0);
  }
  std::copy(received.begin(), received.end(), data.begin());
}

void TcpBootstrap::check_peer_alive() const {
  std::array<std::byte, 1> probe{};
  const ssize_t count = ::recv(socket_.get(), probe.data(), probe.size(), MSG_PEEK | MSG_DONTWAIT);
  if (count == 0) {
    throw PeerLostError(fmt::format("{} closed the rendezvous connection (it exited or was killed)",
                                    peer_description()));
  }
  if (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    throw PeerLostError(fmt::format("{} is gone: {}", peer_description(), errno_message(errno)));
  }
}

}  // namespace preflight
