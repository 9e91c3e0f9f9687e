// A host-memory double of the CUDA runtime and NCCL, behind the same function tables the binaries
// fill from libcudart and libnccl (common/cuda_api.hpp, common/nccl_api.hpp). Test code only:
// it is linked into the unit tests and never into a shipped binary.
//
// What it keeps of the real semantics:
//   - devices, cudaSetDevice per host thread, device memory as host allocations;
//   - streams as in-order queues, executed lazily: an operation runs only when it reaches the
//     head of its stream and everything it waits for is there (a collective: every rank's call;
//     a send: the matching receive), so work on another stream that nobody waited for has simply
//     not happened yet, which is how the real hardware may order it;
//   - events that time on a virtual clock: every host thread has its own virtual time, which an
//     NCCL launch advances by a configured cost and a completed wait moves up to the event's
//     time; a collective starts when the last rank's call is there and takes a configured time;
//     cudaEventElapsedTime returns exact differences, so timing methods compare on a simulated
//     schedule (SyncedClockBootstrap below makes the bootstrap's barriers sync the clocks);
//   - the five collectives and grouped send/recv across threads, bit-exact on the data types;
//   - stream capture into graphs, graph launch, thread-local capture mode refusing unsafe calls;
//   - communicator lifetimes: finalize, destroy, abort, asynchronous errors, last error text.
// And it records misuse the real libraries punish by hanging or corrupting, as violations():
// finalizing or aborting a communicator a live CUDA graph captured (NCCL waits forever), freeing
// memory a live graph captured, two threads in NCCL calls on one communicator at once, calls on
// a communicator after it was aborted or destroyed, finalize with work that can never complete.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bootstrap.hpp"
#include "common/cuda_api.hpp"
#include "common/nccl_api.hpp"

namespace preflight::testing {

// What the duration model sees of one collective or send/receive.
struct SimulatedCall {
  std::string function;   // "AllReduce", ..., "SendRecv"
  std::size_t bytes = 0;  // NCCL's count * type size
  int ranks = 1;
};

struct FakeGpuConfig {
  int devices = 4;
  int compute_capability = 90;  // 9.0: FP8 reductions allowed
  int nccl_version_code = nccl::version_code(2, 28, 9);
  bool alltoall_symbol = true;  // ncclAlltoAll exported (NCCL >= 2.28)
  // Virtual host seconds one NCCL enqueue costs the calling thread: launch_s plus the comm rank
  // times launch_skew_s (so ranks launch at different speeds).
  double launch_s = 0;
  double launch_skew_s = 0;
  double graph_launch_s = 0;  // one cudaGraphLaunch, whatever it holds
  // Device seconds of one call (default 1 microsecond).
  std::function<double(const SimulatedCall&)> duration_s;
  // Faults.
  std::optional<int> stalled_device;        // nothing on this device ever completes (a hung kernel)
  std::size_t stall_after_collectives = 0;  // ... once this many collectives ran (node-wide)
  struct Corruption {
    int rank = 0;             // comm rank whose output is corrupted
    std::size_t element = 0;  // element index (of the call's output) whose lowest bit flips
  };
  std::optional<Corruption> corruption;  // every collective's output
  struct AsyncFailure {
    std::size_t after_collectives = 0;  // node-wide count after which every communicator fails
    int result = nccl::kRemoteError;
    std::string last_error;
  };
  std::optional<AsyncFailure> async_failure;
  // The first NCCL call made while its stream is capturing returns this (once).
  std::optional<int> fail_call_during_capture;
  struct StickyError {
    int device = 0;
    int error = 700;  // cudaErrorIllegalAddress
  };
  std::optional<StickyError> sticky_error;  // event queries on that device's streams fail
  // Real seconds an NCCL call keeps its communicator busy, so that two threads using one
  // communicator at once overlap and are seen.
  double nccl_call_hold_s = 20e-6;
};

class FakeGpuNode {
 public:
  // Installs this node: the tables' functions act on it until it is destroyed (one at a time).
  explicit FakeGpuNode(FakeGpuConfig config = {});
  FakeGpuNode(const FakeGpuNode&) = delete;
  FakeGpuNode& operator=(const FakeGpuNode&) = delete;
  FakeGpuNode(FakeGpuNode&&) = delete;
  FakeGpuNode& operator=(FakeGpuNode&&) = delete;
  ~FakeGpuNode();

  [[nodiscard]] const cuda::RuntimeApi& cuda() const { return cuda_; }
  [[nodiscard]] const nccl::Api& nccl() const { return nccl_; }

  // Misuse seen so far (empty: none).
  [[nodiscard]] std::vector<std::string> violations() const;
  // How each communicator created so far ended: "live", "finalized" (then destroyed), "destroyed"
  // (without finalize), "aborted"; in creation order.
  [[nodiscard]] std::vector<std::string> communicator_ends() const;
  [[nodiscard]] std::size_t live_allocations() const;
  [[nodiscard]] std::size_t live_graphs() const;  // graphs and executable graphs
  [[nodiscard]] std::size_t live_streams() const;
  [[nodiscard]] std::size_t collectives_executed() const;
  // The calling thread's virtual time, and setting it (the clock-syncing bootstrap).
  [[nodiscard]] double host_time() const;
  void set_host_time(double seconds) const;

  // Test-only access to a stream that the code under test never exposes: runs `copy` bytes from
  // host to device on a fresh stream nobody waits for (to show what an unordered copy does).
  void enqueue_unordered_copy(void* device, const void* host, std::size_t bytes) const;

 private:
  cuda::RuntimeApi cuda_;
  nccl::Api nccl_;
};

// A bootstrap that also keeps the double's per-thread virtual clocks in step: every barrier and
// allgather leaves each rank's clock at the latest of them, as a real barrier leaves every rank
// at the time the last one arrived.
class SyncedClockBootstrap final : public Bootstrap {
 public:
  SyncedClockBootstrap(std::unique_ptr<Bootstrap> inner, const FakeGpuNode& node)
      : inner_(std::move(inner)), node_(node) {}
  [[nodiscard]] int rank() const override { return inner_->rank(); }
  [[nodiscard]] int size() const override { return inner_->size(); }
  [[nodiscard]] std::string kind() const override { return "synced-" + inner_->kind(); }
  void barrier() override;
  [[nodiscard]] std::vector<std::vector<std::byte>> allgather(
      std::span<const std::byte> mine) override;
  void broadcast(std::span<std::byte> data, int root) override;

 private:
  void sync_clocks();
  std::unique_ptr<Bootstrap> inner_;
  const FakeGpuNode& node_;
};

// `count` thread-group bootstraps wrapped in SyncedClockBootstrap.
[[nodiscard]] std::vector<std::unique_ptr<Bootstrap>> make_synced_bootstraps(
    int count, const FakeGpuNode& node);

}  // namespace preflight::testing
