// --backend nccl (built with PREFLIGHT_WITH_NCCL): one GPU per rank, chosen by the rank's index on
// its node; one communicator per rank (or per --split group) from an ncclUniqueId exchanged
// through the bootstrap. Each iteration is timed with CUDA events recorded on the stream around
// the call (the sample) and with the host clock from launch to completion; while waiting,
// ncclCommGetAsyncError is polled so a failed peer surfaces as an error instead of a hang. The
// watchdog aborts the communicator (ncclCommAbort). Optionally the call is captured once into a
// CUDA graph and each iteration launches the graph.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <optional>
#include <string>

#include "collectives/backend.hpp"
#include "collectives/placement.hpp"
#include "collectives/split.hpp"
#include "common/bootstrap.hpp"
#include "common/cuda.hpp"
#include "common/nccl.hpp"
#include "common/raii.hpp"

namespace preflight::collectives {

[[nodiscard]] ncclDataType_t nccl_datatype(DataType dtype);
[[nodiscard]] ncclRedOp_t nccl_reduce_op(ReduceOp op);  // avg -> ncclAvg (NCCL >= 2.10)
// "2.28.9" from ncclGetVersion's code.
[[nodiscard]] std::string nccl_version_string(int code);
// The GPU a rank uses: its index on the node, modulo the devices visible to it.
[[nodiscard]] int device_for_local_rank(int local_rank, int device_count);
// Why NCCL cannot run here (no CUDA device), nullopt when it can. Never throws.
[[nodiscard]] std::optional<std::string> nccl_unavailable_reason();

namespace detail {
inline void destroy_graph(cudaGraph_t graph) {
  cudaGraphDestroy(graph);
}
inline void destroy_graph_exec(cudaGraphExec_t exec) {
  cudaGraphExecDestroy(exec);
}
}  // namespace detail

class NcclBackend final : public CollectiveBackend {
 public:
  // Collective over `world`: every rank calls it at the same time (the id exchange is a
  // bootstrap allgather). Throws BackendUnavailable without a CUDA device.
  NcclBackend(Bootstrap& world, const SplitGroups& groups, int local_rank, bool cuda_graph);

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
  void abort() noexcept override;

 private:
  void launch();        // enqueue the call (or the graph) on the stream
  void enqueue_call();  // the NCCL call itself
  void wait_for(const CudaEvent& event);
  [[nodiscard]] void* device_address(const Region& region) const;
  void copy_to_device(const Region& region, std::span<const std::byte> bytes);

  SplitGroups groups_;
  int device_ = 0;
  bool cuda_graph_ = false;
  std::optional<CudaStream> stream_;
  std::optional<CudaEvent> start_;
  std::optional<CudaEvent> stop_;
  DeviceBuffer send_;
  DeviceBuffer recv_;
  CollectiveCall call_;
  CallPlacement placement_;
  UniqueHandle<cudaGraph_t, detail::destroy_graph, nullptr> graph_;
  UniqueHandle<cudaGraphExec_t, detail::destroy_graph_exec, nullptr> graph_exec_;
  NcclCommunicator comm_;  // last: destroyed first, while the stream and buffers still exist
};

}  // namespace preflight::collectives
