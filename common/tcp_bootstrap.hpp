// A Bootstrap of two ranks over one TCP connection, for runs without a launcher (like
// fi_pingpong's control channel): rank 0 listens (`--listen [ADDR:]PORT`), rank 1 connects
// (`--connect HOST:PORT`). Frames are length-prefixed; every wait has a deadline; a peer that
// goes away surfaces as PeerLostError naming its rank and host, a silent one as TimeoutError.
// Built into a library by p2p/CMakeLists.txt.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/bootstrap.hpp"
#include "common/raii.hpp"

namespace preflight {

struct TcpEndpointAddress {
  std::string host;  // empty: every interface (listen only)
  std::uint16_t port = 0;
};

// "PORT", "HOST:PORT" or "[IPV6]:PORT". Throws UsageError naming `flag`.
[[nodiscard]] TcpEndpointAddress parse_tcp_endpoint(const std::string& text, std::string_view flag);

struct TcpBootstrapOptions {
  double connect_timeout_s = 30;    // connect retries / accept wait
  double operation_timeout_s = 60;  // each barrier, allgather, broadcast
  std::string node_name;            // this side's name, sent to the peer (host name if empty)
};

// A bound, listening socket. Port 0 picks a free port (see port()).
class TcpListener {
 public:
  explicit TcpListener(const TcpEndpointAddress& address);
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Waits up to `timeout_s` for one connection.
  [[nodiscard]] FileDescriptor accept_one(double timeout_s) const;

 private:
  FileDescriptor socket_;
  std::uint16_t port_ = 0;
};

class TcpBootstrap final : public Bootstrap {
 public:
  // Rank 0: accepts one peer on `listener`.
  static std::unique_ptr<TcpBootstrap> accept(const TcpListener& listener,
                                              const TcpBootstrapOptions& options);
  // Rank 1: connects to `address`, retrying until the connect timeout (the peer may start later).
  static std::unique_ptr<TcpBootstrap> connect(const TcpEndpointAddress& address,
                                               const TcpBootstrapOptions& options);

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return 2; }
  [[nodiscard]] std::string kind() const override { return "tcp"; }
  void barrier() override;
  [[nodiscard]] std::vector<std::vector<std::byte>> allgather(
      std::span<const std::byte> mine) override;
  void broadcast(std::span<std::byte> data, int root) override;

  [[nodiscard]] const std::string& peer_name() const { return peer_name_; }
  // Cheap and non-blocking: throws PeerLostError when the peer has closed the connection (it
  // exited or was killed). Benchmarks call it while they poll for completions.
  void check_peer_alive() const;

  TcpBootstrap(FileDescriptor socket, int rank, TcpBootstrapOptions options);

 private:
  void send_frame(std::span<const std::byte> data, std::string_view operation);
  [[nodiscard]] std::vector<std::byte> receive_frame(std::string_view operation);
  void send_bytes(std::span<const std::byte> data, std::string_view operation);
  void receive_bytes(std::span<std::byte> data, std::string_view operation);
  [[nodiscard]] std::string peer_description() const;

  FileDescriptor socket_;
  int rank_;
  TcpBootstrapOptions options_;
  std::string peer_name_;
};

}  // namespace preflight
