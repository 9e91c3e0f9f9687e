#include "probes/imds.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "common/error.hpp"
#include "common/raii.hpp"
#include "common/sysfs.hpp"
#include "common/text.hpp"

namespace preflight::probes {
namespace {

using Clock = std::chrono::steady_clock;

// Answers beyond this are not metadata values; stop reading.
constexpr std::size_t kMaxResponseBytes = 64U * 1024U;

struct HttpResponse {
  int status = 0;
  std::string body;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Waits for `events` on `fd` until the deadline; false on timeout or poll error.
bool wait_for(int fd, short events, Clock::time_point deadline, std::string& error) {
  while (true) {
    const int timeout_ms = remaining_ms(deadline);
    if (timeout_ms == 0) {
      error = "timed out";
      return false;
    }
    pollfd descriptor{fd, events, 0};
    const int ready = ::poll(&descriptor, 1, timeout_ms);
    if (ready > 0) {
      return true;
    }
    if (ready == 0) {
      error = "timed out";
      return false;
    }
    if (errno != EINTR) {
      error = "poll: " + errno_message(errno);
      return false;
    }
  }
}

std::optional<HttpResponse> parse_response(const std::string& raw, std::string& error) {
  const auto header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos || !starts_with(raw, "HTTP/1.")) {
    error = "malformed HTTP response";
    return std::nullopt;
  }
  const auto status_fields = split_whitespace(std::string_view(raw).substr(0, raw.find("\r\n")));
  const auto status =
      status_fields.size() >= 2 ? parse_integer(status_fields[1]) : std::optional<std::int64_t>{};
  if (!status) {
    error = "malformed HTTP status line";
    return std::nullopt;
  }
  return HttpResponse{static_cast<int>(*status), raw.substr(header_end + 4)};
}

std::optional<HttpResponse> exchange(const ImdsEndpoint& endpoint, const std::string& request,
                                     Clock::time_point deadline, std::string& error) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(endpoint.port);
  if (::inet_pton(AF_INET, endpoint.ipv4_address.c_str(), &address.sin_addr) != 1) {
    error = "bad IMDS address " + endpoint.ipv4_address;
    return std::nullopt;
  }
  FileDescriptor socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket_fd) {
    error = "socket: " + errno_message(errno);
    return std::nullopt;
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) !=
      0) {
    if (errno != EINPROGRESS) {
      error = "connect: " + errno_message(errno);
      return std::nullopt;
    }
    if (!wait_for(socket_fd.get(), POLLOUT, deadline, error)) {
      error = "connect " + error;
      return std::nullopt;
    }
    int socket_error = 0;
    socklen_t length = sizeof(socket_error);
    ::getsockopt(socket_fd.get(), SOL_SOCKET, SO_ERROR, &socket_error, &length);
    if (socket_error != 0) {
      error = "connect: " + errno_message(socket_error);
      return std::nullopt;
    }
  }
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(socket_fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(socket_fd.get(), POLLOUT, deadline, error)) {
        return std::nullopt;
      }
    } else {
      error = "send: " + errno_message(errno);
      return std::nullopt;
    }
  }
  std::string raw;
  std::array<char, 4096> buffer{};
  while (raw.size() < kMaxResponseBytes) {
    const ssize_t n = ::recv(socket_fd.get(), buffer.data(), buffer.size(), 0);
    if (n > 0) {
      raw.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;  // "Connection: close": the answer is complete
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(socket_fd.get(), POLLIN, deadline, error)) {
        return std::nullopt;
      }
    } else {
      error = "recv: " + errno_message(errno);
      return std::nullopt;
    }
  }
  return parse_response(raw, error);
}

}  // namespace

ImdsAnswer imds_get(const ImdsEndpoint& endpoint, const std::string& path,
                    std::chrono::milliseconds budget) {
  const auto deadline = Clock::now() + budget;
  const std::string host = fmt::format("{}:{}", endpoint.ipv4_address, endpoint.port);
  ImdsAnswer answer;
  const auto token = exchange(endpoint,
                              fmt::format("PUT /latest/api/token HTTP/1.1\r\nHost: {}\r\n"
                                          "X-aws-ec2-metadata-token-ttl-seconds: 60\r\n"
                                          "Content-Length: 0\r\nConnection: close\r\n\r\n",
                                          host),
                              deadline, answer.error);
  if (!token) {
    answer.error = "IMDSv2 token: " + answer.error;
    return answer;
  }
  if (token->status != 200) {
    answer.error = fmt::format("IMDSv2 token: HTTP {}", token->status);
    return answer;
  }
  const auto response = exchange(endpoint,
                                 fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\n"
                                             "X-aws-ec2-metadata-token: {}\r\n"
                                             "Connection: close\r\n\r\n",
                                             path, host, trim(token->body)),
                                 deadline, answer.error);
  if (!response) {
    answer.error = "IMDS " + path + ": " + answer.error;
    return answer;
  }
  if (response->status != 200) {
    answer.error = fmt::format("IMDS {}: HTTP {}", path, response->status);
    return answer;
  }
  answer.value = std::string(trim(response->body));
  return answer;
}

}  // namespace preflight::probes
