// --backend nccl: one GPU per rank, chosen by the rank's index on its node; one communicator per
// rank (or per --split group) from an ncclUniqueId exchanged through the bootstrap. NCCL and the
// CUDA runtime come in as function tables (common/nccl_api.hpp, common/cuda_api.hpp): loaded
// with dlopen in the binaries, the host-memory double in the tests.
//
// Timing. run_batch (the default, nccl-tests' method): after the caller's barrier, a start event,
// `iterations` calls launched back to back (or one CUDA graph holding all of them), a stop event;
// device time between the events and host time from the first launch to completion, both for the
// whole batch. run_timed: one call between two events (per-iteration distributions).
//
// Waiting polls the stop event and ncclCommGetAsyncError, so a failed peer surfaces as a decoded
// error instead of a hang. Everything that touches the communicator runs on the thread that owns
// the backend: the watchdog's abort() only raises a flag, which the next wait acts on
// (ncclCommAbort, then TimeoutError).
//
// Teardown order: CUDA graphs first (NCCL waits, in finalize and abort alike, until every graph
// that captured the communicator is destroyed), then the communicator (finish(): finalize;
// destructor without finish(): abort, never waiting on a peer), then buffers, events, stream.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "collectives/backend.hpp"
#include "collectives/placement.hpp"
#include "collectives/split.hpp"
#include "common/bootstrap.hpp"
#include "common/cuda.hpp"
#include "common/nccl.hpp"

namespace preflight::collectives {

// The libraries the backend runs on, and what the report says about where they came from.
struct GpuApis {
  const cuda::RuntimeApi* cuda = nullptr;
  const nccl::Api* nccl = nullptr;
  nlohmann::json libraries = nlohmann::json::object();  // {nccl: {path, version}, cuda_runtime}
};

[[nodiscard]] int nccl_datatype(DataType dtype);  // ncclDataType_t value
[[nodiscard]] int nccl_reduce_op(ReduceOp op);    // ncclRedOp_t value; avg -> ncclAvg
// The GPU a rank uses: its index on the node modulo the devices it sees (one visible device, as
// with one GPU per rank through CUDA_VISIBLE_DEVICES, is every rank's).
[[nodiscard]] int device_for_local_rank(int local_rank, int device_count);
// Ranks of one host that would share a GPU (the same PCI bus id): NCCL refuses that, and two
// ranks on one GPU would halve its bandwidth anyway. `hosts` and `bus_ids` are per world rank.
// The message names the ranks, the host and the GPU; nullopt when every rank has its own.
[[nodiscard]] std::optional<std::string> shared_gpu_conflict(
    const std::vector<std::string>& hosts, const std::vector<std::string>& bus_ids);

struct NcclBackendOptions {
  bool cuda_graph = false;  // capture the calls of each timed batch into one CUDA graph
};

class NcclBackend final : public CollectiveBackend {
 public:
  // Collective over `world`: every rank calls it at the same time. Throws BackendUnavailable
  // without a CUDA device and UsageError when two ranks of a host would share a GPU.
  NcclBackend(Bootstrap& world, const SplitGroups& groups, int local_rank, GpuApis apis,
              NcclBackendOptions options);
  NcclBackend(const NcclBackend&) = delete;
  NcclBackend& operator=(const NcclBackend&) = delete;
  NcclBackend(NcclBackend&&) = delete;
  NcclBackend& operator=(NcclBackend&&) = delete;
  ~NcclBackend() override;

  [[nodiscard]] std::string name() const override { return "nccl"; }
  [[nodiscard]] std::string transport() const override { return "nccl"; }
  [[nodiscard]] int rank() const override { return groups_.group_rank; }
  [[nodiscard]] int size() const override { return groups_.group_size; }
  [[nodiscard]] nlohmann::json describe() const override;
  [[nodiscard]] std::optional<std::string> unsupported(const CollectiveCall& call) const override;
  void prepare(const CollectiveCall& call) override;
  void write_input(std::span<const std::byte> input) override;
  void write_output(std::span<const std::byte> output) override;
  void read_output(std::span<std::byte> output) override;
  void run() override;
  IterationTime run_timed() override;
  BatchTime run_batch(std::size_t iterations) override;
  void finish() override;
  void abort() noexcept override;

 private:
  struct CapturedGraph {
    std::size_t iterations = 0;
    CudaGraph graph;
    CudaGraphExec exec;
  };

  void launch(std::size_t iterations);  // the calls, or the graph holding them, on the stream
  void enqueue_call();                  // one NCCL call
  const CapturedGraph& graph_for(std::size_t iterations);
  void release_graphs() noexcept;
  void wait_for(const CudaEvent& event);  // polls; acts on abort requests and async errors
  void synchronize();                     // waits for everything issued on the stream
  [[nodiscard]] void* device_address(const Region& region) const;
  void copy_to_device(const Region& region, std::span<const std::byte> bytes);

  const cuda::RuntimeApi& cuda_;
  const nccl::Api& nccl_;
  nlohmann::json libraries_;
  SplitGroups groups_;
  int device_ = 0;
  std::string bus_id_;
  int compute_capability_ = 0;
  int group_min_compute_capability_ = 0;  // NCCL's FP8 reductions need 90 on every rank
  bool cuda_graph_ = false;
  CudaStream stream_;
  CudaEvent start_;
  CudaEvent stop_;
  DeviceBuffer send_;
  DeviceBuffer recv_;
  CollectiveCall call_;
  CallPlacement placement_;
  std::vector<CapturedGraph> graphs_;  // per batch length, for the current call
  NcclCommunicator comm_;
  std::atomic<bool> abort_requested_{false};
};

}  // namespace preflight::collectives
