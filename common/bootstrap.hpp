// How the ranks of one run find each other and exchange small messages (NCCL unique ids, result
// rows, host names): `single` (one process), `mpi` (an MPI communicator, common/mpi.hpp),
// `thread_group` (N threads of one process, for tests), and the TCP rendezvous of preflight-p2p.
// Benchmarks are written against this interface only.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace preflight {

class Bootstrap {
 public:
  Bootstrap() = default;
  Bootstrap(const Bootstrap&) = delete;
  Bootstrap& operator=(const Bootstrap&) = delete;
  Bootstrap(Bootstrap&&) = delete;
  Bootstrap& operator=(Bootstrap&&) = delete;
  virtual ~Bootstrap() = default;

  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  [[nodiscard]] virtual std::string kind() const = 0;
  virtual void barrier() = 0;
  // Every rank contributes a byte string (sizes may differ); every rank receives all of them,
  // indexed by rank.
  [[nodiscard]] virtual std::vector<std::vector<std::byte>> allgather(
      std::span<const std::byte> mine) = 0;
  // `data` has the same size on every rank; on return it holds the root's bytes.
  virtual void broadcast(std::span<std::byte> data, int root) = 0;

  // Typed helpers over the byte interface.
  [[nodiscard]] std::vector<std::string> allgather_strings(const std::string& mine);
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  [[nodiscard]] std::vector<T> allgather_value(const T& mine) {
    auto gathered = allgather(std::as_bytes(std::span<const T, 1>(&mine, 1)));
    std::vector<T> values(gathered.size());
    for (std::size_t i = 0; i < gathered.size(); ++i) {
      std::memcpy(&values[i], gathered[i].data(), sizeof(T));
    }
    return values;
  }
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  void broadcast_value(T& value, int root) {
    broadcast(std::as_writable_bytes(std::span<T, 1>(&value, 1)), root);
  }
};

[[nodiscard]] std::unique_ptr<Bootstrap> make_single_bootstrap();

// `count` bootstraps sharing one in-process rendezvous; give each to its own thread. Collective
// calls block until all `count` threads have called them (a thread that never calls hangs the
// others, exactly as a lost rank would).
[[nodiscard]] std::vector<std::unique_ptr<Bootstrap>> make_thread_group_bootstraps(int count);

}  // namespace preflight
