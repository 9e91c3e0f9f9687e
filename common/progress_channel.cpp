#include "common/progress_channel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>

#include "common/error.hpp"
#include "common/raii.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"

namespace preflight {

std::string_view to_string(RankState state) {
  switch (state) {
    case RankState::running:
      return "running";
    case RankState::behind:
      return "behind";
    case RankState::stopped:
      return "stopped";
    case RankState::unreachable:
      return "unreachable";
    case RankState::exited:
      return "exited";
    case RankState::finished:
      return "finished";
    case RankState::unknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

// The integer at the start of `text`, 0 when there is none: atoi without its undefined behaviour
// on overflow. The frames come from this program's own ranks; a malformed one reads as 0, which
// the range checks after each read reject.
template <typename Integer>
Integer leading_integer(std::string_view text) {
  Integer value = 0;
  (void)std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

using Clock = MonotonicClock;

constexpr std::uint32_t kMaxFrameBytes = 64U * 1024U;

double seconds_since(Clock::time_point then) {
  return std::chrono::duration<double>(Clock::now() - then).count();
}

// Frames: a 4-byte length (host order: both ends are the same job's binary) and the payload, whose
// first byte is the type: H hello, P position, B goodbye (rank -> rank 0), S status (rank 0 ->).
std::string frame(std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::string bytes(sizeof(length), '\0');
  std::memcpy(bytes.data(), &length, sizeof(length));
  bytes.append(payload);
  return bytes;
}

// Takes the complete frames off the front of `buffer`; false when a frame is malformed.
bool take_frames(std::string& buffer, std::vector<std::string>& frames) {
  std::size_t at = 0;
  while (buffer.size() - at >= sizeof(std::uint32_t)) {
    std::uint32_t length = 0;
    std::memcpy(&length, buffer.data() + at, sizeof(length));
    if (length > kMaxFrameBytes) {
      return false;
    }
    if (buffer.size() - at - sizeof(length) < length) {
      break;
    }
    frames.emplace_back(buffer.substr(at + sizeof(length), length));
    at += sizeof(length) + length;
  }
  buffer.erase(0, at);
  return true;
}

// Sends what fits without blocking; a slow or dead peer never stalls the channel's thread.
void send_quietly(int fd, std::string_view bytes) {
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Reads what is there; false at end of stream or on an error.
bool read_available(int fd, std::string& buffer) {
  std::array<char, 4096> chunk{};
  while (true) {
    const ssize_t count = ::recv(fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
    if (count > 0) {
      buffer.append(chunk.data(), static_cast<std::size_t>(count));
      if (buffer.size() > std::size_t{4} * kMaxFrameBytes) {
        return false;
      }
      continue;
    }
    if (count == 0) {
      return false;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

std::string random_token() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", device(), device(), device(), device());
}

// This host's IPv4 addresses, loopback last (another host reaches us on a real interface; the
// ranks of this host also on loopback).
std::vector<std::string> local_addresses() {
  std::vector<std::string> addresses;
  std::vector<std::string> loopback;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
      if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) {
        continue;
      }
      std::array<char, INET_ADDRSTRLEN> text{};
      const auto* address = reinterpret_cast<const sockaddr_in*>(entry->ifa_addr);  // NOLINT
      if (::inet_ntop(AF_INET, &address->sin_addr, text.data(), text.size()) == nullptr) {
        continue;
      }
      ((entry->ifa_flags & IFF_LOOPBACK) != 0U ? loopback : addresses).emplace_back(text.data());
    }
    ::freeifaddrs(list);
  }
  addresses.insert(addresses.end(), loopback.begin(), loopback.end());
  if (addresses.empty()) {
    addresses.emplace_back("127.0.0.1");
  }
  return addresses;
}

// A pipe that wakes the channel's thread for shutdown.
class WakePipe {
 public:
  WakePipe() {
    std::array<int, 2> ends{-1, -1};
    if (::pipe2(ends.data(), O_CLOEXEC | O_NONBLOCK) == 0) {
      read_ = FileDescriptor(ends[0]);
      write_ = FileDescriptor(ends[1]);
    }
  }
  void wake() const {
    if (write_) {
      const char byte = 1;
      (void)::write(write_.get(), &byte, 1);
    }
  }
  [[nodiscard]] int read_end() const { return read_.get(); }

 private:
  FileDescriptor read_;
  FileDescriptor write_;
};

struct SharedPosition {
  mutable std::mutex mutex;
  std::string phase;
  std::int64_t step = -1;
  std::atomic<std::int64_t> iteration{0};

  void set(const std::string& new_phase, std::int64_t new_step) {
    const std::lock_guard lock(mutex);
    phase = new_phase;
    step = new_step;
    iteration.store(0, std::memory_order_relaxed);
  }
  [[nodiscard]] RankPosition get() const {
    const std::lock_guard lock(mutex);
    return {phase, step, iteration.load(std::memory_order_relaxed)};
  }
};

// What both ends of the channel share: this rank's own position and the thread that reports or
// serves, stopped (and joined) by the derived class's destructor before its members go.
class ChannelThread : public ProgressChannel {
 public:
  void set_phase(const std::string& phase, std::int64_t step) override { own_.set(phase, step); }
  void set_iteration(std::int64_t iteration) override {
    own_.iteration.store(iteration, std::memory_order_relaxed);
  }

 protected:
  void start(std::function<void()> body) { thread_ = std::thread(std::move(body)); }
  void stop() {
    stopping_.store(true);
    wake_.wake();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  [[nodiscard]] bool stopping() const { return stopping_.load(); }
  [[nodiscard]] int wake_fd() const { return wake_.read_end(); }
  [[nodiscard]] RankPosition own_position() const { return own_.get(); }

 private:
  SharedPosition own_;
  WakePipe wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// ------------------------------------------------------------------------------------------------
// Rank 0: the hub.

class Hub final : public ChannelThread {
 public:
  Hub(FileDescriptor listener, std::string token, std::vector<RankProgress> ranks,
      ProgressChannelOptions options)
      : listener_(std::move(listener)),
        token_(std::move(token)),
        options_(options),
        started_(Clock::now()) {
    for (RankProgress& rank : ranks) {
      Peer peer;
      peer.progress = std::move(rank);
      peers_.push_back(std::move(peer));
    }
    start([this] { serve(); });
  }
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;
  Hub(Hub&&) = delete;
  Hub& operator=(Hub&&) = delete;
  ~Hub() override { stop(); }

  [[nodiscard]] std::vector<RankProgress> snapshot() const override {
    const std::lock_guard lock(mutex_);
    std::vector<RankProgress> ranks;
    for (std::size_t rank = 0; rank < peers_.size(); ++rank) {
      const Peer& peer = peers_[rank];
      RankProgress progress = peer.progress;
      if (rank == 0) {
        progress.position = own_position();
        progress.state = RankState::running;
        progress.silent_s = 0;
      } else {
        progress.state = classify(peer);
        progress.silent_s = peer.heard ? seconds_since(peer.last_heard) : seconds_since(started_);
      }
      ranks.push_back(std::move(progress));
    }
    if (options_.comparable_positions) {
      mark_stragglers(ranks);
    }
    return ranks;
  }

  [[nodiscard]] bool rank0_gone() const override { return false; }
  [[nodiscard]] bool some_rank_unreachable() const override {
    const std::lock_guard lock(mutex_);
    return std::any_of(
        peers_.begin() + std::min<std::ptrdiff_t>(1, std::ssize(peers_)), peers_.end(),
        [this](const Peer& peer) { return classify(peer) == RankState::unreachable; });
  }

  void settle(double max_wait_s) const override {
    const Stopwatch clock;
    while (clock.elapsed_s() < max_wait_s) {
      bool going_quiet = false;
      {
        const std::lock_guard lock(mutex_);
        for (std::size_t rank = 1; rank < peers_.size(); ++rank) {
          const Peer& peer = peers_[rank];
          if (peer.heard && !peer.closed && !peer.said_goodbye) {
            const double silent_s = seconds_since(peer.last_heard);
            going_quiet = going_quiet || (silent_s > 2 * options_.interval_s &&
                                          silent_s <= options_.silence_s + options_.interval_s);
          }
        }
      }
      if (!going_quiet) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

 private:
  struct Peer {
    RankProgress progress;
    FileDescriptor socket;
    std::string buffer;
    bool heard = false;
    bool closed = false;
    bool said_goodbye = false;
    Clock::time_point last_heard{};
  };

  struct Pending {  // accepted, hello not read yet
    FileDescriptor socket;
    std::string buffer;
    Clock::time_point since;
  };

  RankState classify(const Peer& peer) const {
    if (peer.said_goodbye) {
      return RankState::finished;
    }
    if (peer.closed) {
      return RankState::exited;
    }
    if (!peer.heard) {
      return seconds_since(started_) > options_.silence_s ? RankState::unknown : RankState::running;
    }
    if (seconds_since(peer.last_heard) <= options_.silence_s) {
      return RankState::running;
    }
    // Silent: does its host still acknowledge what rank 0 sends it?
    tcp_info info{};
    socklen_t length = sizeof(info);
    if (peer.socket &&
        ::getsockopt(peer.socket.get(), IPPROTO_TCP, TCP_INFO, &info, &length) == 0 &&
        info.tcpi_unacked > 0 &&
        static_cast<double>(info.tcpi_last_ack_recv) / 1000.0 > options_.silence_s) {
      return RankState::unreachable;
    }
    return RankState::stopped;
  }

  // When every rank is running (nothing stopped, cut off or gone explains a stall), the ranks at
  // the lowest position, while others are further, are the ones the others wait for.
  static void mark_stragglers(std::vector<RankProgress>& ranks) {
    const bool all_running = std::all_of(ranks.begin(), ranks.end(), [](const RankProgress& r) {
      return r.state == RankState::running || r.state == RankState::finished;
    });
    if (!all_running) {
      return;
    }
    const auto position = [](const RankProgress& r) {
      return std::pair(r.position.step, r.position.iteration);
    };
    std::optional<std::pair<std::int64_t, std::int64_t>> lowest;
    std::optional<std::pair<std::int64_t, std::int64_t>> highest;
    for (const RankProgress& rank : ranks) {
      if (rank.state == RankState::running) {
        lowest = lowest ? std::min(*lowest, position(rank)) : position(rank);
        highest = highest ? std::max(*highest, position(rank)) : position(rank);
      }
    }
    if (!lowest || *lowest == *highest) {
      return;
    }
    for (RankProgress& rank : ranks) {
      if (rank.state == RankState::running && position(rank) == *lowest) {
        rank.state = RankState::behind;
      }
    }
  }

  void serve() {
    Clock::time_point last_status{};
    while (!stopping()) {
      std::vector<pollfd> fds;
      fds.push_back({wake_fd(), POLLIN, 0});
      fds.push_back({listener_.get(), POLLIN, 0});
      const std::size_t pending_count = pending_.size();
      for (const Pending& pending : pending_) {
        fds.push_back({pending.socket.get(), POLLIN, 0});
      }
      std::vector<std::size_t> peer_of;
      {
        const std::lock_guard lock(mutex_);
        for (std::size_t rank = 0; rank < peers_.size(); ++rank) {
          if (peers_[rank].socket && !peers_[rank].closed) {
            fds.push_back({peers_[rank].socket.get(), POLLIN, 0});
            peer_of.push_back(rank);
          }
        }
      }
      const int timeout_ms = static_cast<int>(options_.interval_s * 1000);
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
        return;
      }
      for (std::size_t i = 0; i < pending_count; ++i) {
        if (fds[2 + i].revents != 0) {
          read_hello(i);
        }
      }
      std::erase_if(pending_, [&](const Pending& pending) {
        return !pending.socket || seconds_since(pending.since) > 10;
      });
      if ((fds[1].revents & POLLIN) != 0) {
        accept_one();
      }
      for (std::size_t i = 0; i < peer_of.size(); ++i) {
        if (fds[2 + pending_count + i].revents != 0) {
          read_peer(peer_of[i]);
        }
      }
      if (seconds_since(last_status) >= options_.interval_s) {
        last_status = Clock::now();
        const std::string status = frame(some_rank_unreachable() ? "SU" : "SK");
        const std::lock_guard lock(mutex_);
        for (const Peer& peer : peers_) {
          if (peer.socket && !peer.closed) {
            send_quietly(peer.socket.get(), status);
          }
        }
      }
    }
  }

  void accept_one() {
    FileDescriptor socket(
        ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (socket) {
      const int one = 1;
      ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      pending_.push_back({std::move(socket), {}, Clock::now()});
    }
  }

  void read_hello(std::size_t index) {
    Pending& pending = pending_[index];
    std::vector<std::string> frames;
    const bool open = read_available(pending.socket.get(), pending.buffer);
    if (!take_frames(pending.buffer, frames) || (!open && frames.empty())) {
      pending.socket = FileDescriptor();
      return;
    }
    if (frames.empty()) {
      return;
    }
    // "H<token>\n<rank>"
    const std::string& hello = frames.front();
    const auto newline = hello.find('\n');
    if (hello.empty() || hello[0] != 'H' || newline == std::string::npos ||
        hello.substr(1, newline - 1) != token_) {
      pending.socket = FileDescriptor();  // not one of ours
      return;
    }
    const int rank = leading_integer<int>(std::string_view(hello).substr(newline + 1));
    const std::lock_guard lock(mutex_);
    if (rank <= 0 || rank >= static_cast<int>(peers_.size())) {
      pending.socket = FileDescriptor();
      return;
    }
    Peer& peer = peers_[static_cast<std::size_t>(rank)];
    peer.socket = std::move(pending.socket);
    peer.buffer = std::move(pending.buffer);
    peer.closed = false;
    peer.heard = true;
    peer.last_heard = Clock::now();
    frames.erase(frames.begin());
    apply(peer, frames);
  }

  void read_peer(std::size_t rank) {
    const std::lock_guard lock(mutex_);
    Peer& peer = peers_[rank];
    std::vector<std::string> frames;
    const bool open = read_available(peer.socket.get(), peer.buffer);
    const bool well_formed = take_frames(peer.buffer, frames);
    apply(peer, frames);
    if (!open || !well_formed) {
      peer.closed = true;
    }
  }

  static void apply(Peer& peer, const std::vector<std::string>& frames) {
    for (const std::string& message : frames) {
      if (message.empty()) {
        continue;
      }
      peer.heard = true;
      peer.last_heard = Clock::now();
      if (message[0] == 'B') {
        peer.said_goodbye = true;
      } else if (message[0] == 'P') {
        // "P<step>\n<iteration>\n<phase>"
        const auto first = message.find('\n');
        const auto second = first == std::string::npos ? first : message.find('\n', first + 1);
        if (second != std::string::npos) {
          peer.progress.position.step = leading_integer<decltype(peer.progress.position.step)>(
              std::string_view(message).substr(1));
          peer.progress.position.iteration =
              leading_integer<decltype(peer.progress.position.iteration)>(
                  std::string_view(message).substr(first + 1));
          peer.progress.position.phase = message.substr(second + 1);
        }
      }
    }
  }

  FileDescriptor listener_;
  std::string token_;
  ProgressChannelOptions options_;
  Clock::time_point started_;
  mutable std::mutex mutex_;
  std::vector<Peer> peers_;
  std::vector<Pending> pending_;  // the hub thread's own
};

// ------------------------------------------------------------------------------------------------
// Every other rank: the reporter.

class Reporter final : public ChannelThread {
 public:
  Reporter(int rank, std::string token, std::vector<std::string> addresses, std::uint16_t port,
           ProgressChannelOptions options)
      : rank_(rank),
        token_(std::move(token)),
        addresses_(std::move(addresses)),
        port_(port),
        options_(options) {
    start([this] { report(); });
  }
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  Reporter(Reporter&&) = delete;
  Reporter& operator=(Reporter&&) = delete;
  ~Reporter() override { stop(); }
  [[nodiscard]] std::vector<RankProgress> snapshot() const override { return {}; }
  [[nodiscard]] bool some_rank_unreachable() const override { return unreachable_.load(); }
  [[nodiscard]] bool rank0_gone() const override {
    const std::int64_t heard_ns = heard_from_rank0_ns_.load();
    if (heard_ns == 0) {
      return false;  // never reached it: nothing is known
    }
    return rank0_closed_.load() ||
           static_cast<double>(now_ns() - heard_ns) * 1e-9 > options_.silence_s;
  }
  void settle(double /*max_wait_s*/) const override {}

 private:
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // A non-blocking connect to one of rank 0's addresses, waiting at most `timeout_ms` on each.
  FileDescriptor connect_to_hub(int timeout_ms) const {
    for (const std::string& address : addresses_) {
      sockaddr_in target{};
      target.sin_family = AF_INET;
      target.sin_port = htons(port_);
      if (::inet_pton(AF_INET, address.c_str(), &target.sin_addr) != 1) {
        continue;
      }
      FileDescriptor socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      if (!socket) {
        continue;
      }
      int result = ::connect(socket.get(), reinterpret_cast<const sockaddr*>(&target),  // NOLINT
                             sizeof(target));
      if (result != 0 && errno == EINPROGRESS) {
        pollfd waiting{socket.get(), POLLOUT, 0};
        result = ::poll(&waiting, 1, timeout_ms) == 1 ? 0 : -1;
        int error = 0;
        socklen_t length = sizeof(error);
        if (result == 0 &&
            (::getsockopt(socket.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
             error != 0)) {
          result = -1;
        }
      }
      if (result == 0) {
        const int one = 1;
        ::setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return socket;
      }
      if (stopping()) {
        break;
      }
    }
    return {};
  }

  void report() {
    FileDescriptor socket;
    std::string buffer;
    while (!stopping()) {
      if (!socket) {
        socket = connect_to_hub(1000);
        if (socket) {
          send_quietly(socket.get(), frame(fmt::format("H{}\n{}", token_, rank_)));
        }
      }
      if (socket) {
        const RankPosition position = own_position();
        send_quietly(socket.get(), frame(fmt::format("P{}\n{}\n{}", position.step,
                                                     position.iteration, position.phase)));
      }
      std::array<pollfd, 2> fds{pollfd{wake_fd(), POLLIN, 0},
                                pollfd{socket ? socket.get() : -1, POLLIN, 0}};
      (void)::poll(fds.data(), fds.size(), static_cast<int>(options_.interval_s * 1000));
      if (socket && fds[1].revents != 0) {
        std::vector<std::string> frames;
        const bool open = read_available(socket.get(), buffer);
        if (!take_frames(buffer, frames) || !open) {
          socket = FileDescriptor();  // rank 0 went away: it may come back (it will not), retry
          buffer.clear();
          rank0_closed_.store(true);
        }
        if (!frames.empty()) {
          heard_from_rank0_ns_.store(now_ns());
        }
        for (const std::string& message : frames) {
          if (message.size() >= 2 && message[0] == 'S') {
            unreachable_.store(message[1] == 'U');
          }
        }
      }
    }
    if (socket) {
      send_quietly(socket.get(), frame("B"));
    }
  }

  int rank_;
  std::string token_;
  std::vector<std::string> addresses_;
  std::uint16_t port_;
  ProgressChannelOptions options_;
  std::atomic<bool> unreachable_{false};
  std::atomic<bool> rank0_closed_{false};
  std::atomic<std::int64_t> heard_from_rank0_ns_{0};  // steady clock; 0: never
};

// A channel that reports nothing (a job of one rank, or a hub that could not listen).
class Silent final : public ProgressChannel {
 public:
  void set_phase(const std::string& /*phase*/, std::int64_t /*step*/) override {}
  void set_iteration(std::int64_t /*iteration*/) override {}
  [[nodiscard]] std::vector<RankProgress> snapshot() const override { return {}; }
  [[nodiscard]] bool some_rank_unreachable() const override { return false; }
  [[nodiscard]] bool rank0_gone() const override { return false; }
  void settle(double /*max_wait_s*/) const override {}
};

// A listening socket on every IPv4 interface, port chosen by the kernel; empty on failure.
FileDescriptor listen_anywhere(std::uint16_t& port) {
  FileDescriptor socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!socket) {
    return socket;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address),  // NOLINT
             sizeof(address)) != 0 ||
      ::listen(socket.get(), 128) != 0) {
    return {};
  }
  socklen_t length = sizeof(address);
  if (::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {  // NOLINT
    return {};
  }
  port = ntohs(address.sin_port);
  return socket;
}

// One connection per rank: lift the soft limit on open files to the hard one for large jobs.
void allow_connections(std::size_t ranks) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < ranks + 256 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

std::unique_ptr<ProgressChannel> ProgressChannel::open(Bootstrap& bootstrap,
                                                       ProgressChannelOptions options) {
  const int rank = bootstrap.rank();
  // Rank 0 listens and says where; everyone says who it is.
  FileDescriptor listener;
  std::string where;
  std::string token;
  if (rank == 0 && bootstrap.size() > 1) {
    allow_connections(static_cast<std::size_t>(bootstrap.size()));
    std::uint16_t port = 0;
    listener = listen_anywhere(port);
    if (listener) {
      token = random_token();
      where = fmt::format("{}\n{}\n{}", token, port, join(local_addresses(), ","));
    }
  }
  const std::vector<std::string> all = bootstrap.allgather_strings(
      fmt::format("{}\n{}\n{}", host_name(), ::getpid(), rank == 0 ? where : std::string()));
  std::vector<RankProgress> ranks;
  std::string hub;
  for (std::size_t index = 0; index < all.size(); ++index) {
    const std::string& entry = all[index];
    const auto first = entry.find('\n');
    const auto second = first == std::string::npos ? first : entry.find('\n', first + 1);
    RankProgress progress;
    progress.rank = static_cast<int>(index);
    progress.host = entry.substr(0, first);
    if (first != std::string::npos) {
      progress.pid =
          leading_integer<decltype(progress.pid)>(std::string_view(entry).substr(first + 1));
    }
    if (index == 0 && second != std::string::npos) {
      hub = entry.substr(second + 1);
    }
    ranks.push_back(std::move(progress));
  }
  if (bootstrap.size() <= 1 || hub.empty()) {
    return std::make_unique<Silent>();
  }
  if (rank == 0) {
    return std::make_unique<Hub>(std::move(listener), std::move(token), std::move(ranks), options);
  }
  const auto lines = split_lines(hub);
  if (lines.size() < 3) {
    return std::make_unique<Silent>();
  }
  std::vector<std::string> addresses;
  for (const auto address : split(lines[2], ',')) {
    addresses.emplace_back(address);
  }
  const auto port = leading_integer<std::uint16_t>(lines[1]);
  return std::make_unique<Reporter>(rank, std::string(lines[0]), std::move(addresses), port,
                                    options);
}

std::vector<RankProgress> ranks_not_progressing(const std::vector<RankProgress>& ranks) {
  std::vector<RankProgress> named;
  std::copy_if(ranks.begin(), ranks.end(), std::back_inserter(named), [](const RankProgress& r) {
    return r.state != RankState::running && r.state != RankState::finished;
  });
  return named;
}

std::string describe(const RankProgress& rank, bool deterministic) {
  const std::string who = deterministic
                              ? fmt::format("rank {}", rank.rank)
                              : fmt::format("rank {} ({}, pid {})", rank.rank, rank.host, rank.pid);
  std::string where;
  if (!rank.position.phase.empty()) {
    where = fmt::format(" at '{}'", rank.position.phase);
    if (rank.position.step >= 0) {
      where += fmt::format(", step {}", rank.position.step);
    }
    where += fmt::format(", iteration {}", rank.position.iteration);
  } else {
    where = " before its first phase";
  }
  switch (rank.state) {
    case RankState::stopped:
      return fmt::format("{} stopped: silent {:.1f} s{} (its host answers, the process does not)",
                         who, rank.silent_s, where);
    case RankState::unreachable:
      return fmt::format("{} unreachable: silent {:.1f} s{} (its host acknowledges nothing)", who,
                         rank.silent_s, where);
    case RankState::exited:
      return fmt::format("{} exited{} (its connection closed without a goodbye)", who, where);
    case RankState::behind:
      return fmt::format("{} behind the others{}", who, where);
    case RankState::unknown:
      return fmt::format("{} never reported (it could not reach rank 0)", who);
    case RankState::running:
    case RankState::finished:
      break;
  }
  return fmt::format("{} {}{}", who, to_string(rank.state), where);
}

nlohmann::json to_json(const std::vector<RankProgress>& ranks, bool deterministic) {
  nlohmann::json list = nlohmann::json::array();
  for (const RankProgress& rank : ranks) {
    nlohmann::json entry{{"rank", rank.rank},
                         {"state", to_string(rank.state)},
                         {"phase", rank.position.phase},
                         {"step", rank.position.step},
                         {"iteration", rank.position.iteration},
                         {"silent_s", rank.silent_s}};
    if (!deterministic) {
      entry["host"] = rank.host;
      entry["pid"] = rank.pid;
    }
    list.push_back(std::move(entry));
  }
  return list;
}

}  // namespace preflight
