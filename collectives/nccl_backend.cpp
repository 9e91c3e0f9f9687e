#include "collectives/nccl_backend.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "common/error.hpp"
#include "common/timer.hpp"

namespace preflight::collectives {

ncclDataType_t nccl_datatype(DataType dtype) {
  switch (dtype) {
    case DataType::int8:
      return ncclInt8;
    case DataType::uint8:
      return ncclUint8;
    case DataType::int32:
      return ncclInt32;
    case DataType::uint32:
      return ncclUint32;
    case DataType::int64:
      return ncclInt64;
    case DataType::uint64:
      return ncclUint64;
    case DataType::half:
      return ncclFloat16;
    case DataType::bfloat16:
      return ncclBfloat16;
    case DataType::float32:
      return ncclFloat32;
    case DataType::float64:
      return ncclFloat64;
  }
  return ncclFloat32;
}

ncclRedOp_t nccl_reduce_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::none:  // ignored by the data-movement calls
      return ncclSum;
    case ReduceOp::prod:
      return ncclProd;
    case ReduceOp::min:
      return ncclMin;
    case ReduceOp::max:
      return ncclMax;
    case ReduceOp::avg:
      return ncclAvg;
  }
  return ncclSum;
}

std::string nccl_version_string(int code) {
  // Since 2.9 the code is major * 10000 + minor * 100 + patch; before, major * 1000 + minor * 100.
  if (code >= 10000) {
    return fmt::format("{}.{}.{}", code / 10000, (code / 100) % 100, code % 100);
  }
  return fmt::format("{}.{}.{}", code / 1000, (code / 100) % 10, code % 100);
}

int device_for_local_rank(int local_rank, int device_count) {
  if (device_count < 1) {
    throw std::invalid_argument("device_for_local_rank: no device");
  }
  return local_rank % device_count;
}

std::optional<std::string> nccl_unavailable_reason() {
  int count = 0;
  const cudaError_t result = cudaGetDeviceCount(&count);
  if (result != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error
    return fmt::format("--backend nccl: no usable CUDA device ({}: {})", cudaGetErrorName(result),
                       cudaGetErrorString(result));
  }
  if (count == 0) {
    return std::string("--backend nccl: no CUDA device visible");
  }
  return std::nullopt;
}

NcclBackend::NcclBackend(Bootstrap& world, const SplitGroups& groups, int local_rank,
                         bool cuda_graph)
    : groups_(groups), cuda_graph_(cuda_graph) {
  if (auto reason = nccl_unavailable_reason()) {
    throw BackendUnavailable(*reason);
  }
  device_ = device_for_local_rank(local_rank, cuda_device_count());
  check_cuda(cudaSetDevice(device_), "cudaSetDevice", fmt::format("device={}", device_));
  stream_.emplace();
  start_.emplace();
  stop_.emplace();

  // The group's lowest world rank creates the id; everyone takes it from the allgather.
  const bool leader = world.rank() == groups.members.front();
  ncclUniqueId id{};
  if (leader) {
    check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", "");
  }
  const auto ids = world.allgather(std::as_bytes(std::span<const ncclUniqueId, 1>(&id, 1)));
  const auto& leader_id = ids.at(static_cast<std::size_t>(groups.members.front()));
  if (leader_id.size() != sizeof id) {
    throw Error("NCCL", "ncclUniqueId exchange", "", "unexpected id size", 0);
  }
  std::memcpy(&id, leader_id.data(), sizeof id);
  ncclComm_t comm = nullptr;
  check_nccl(
      ncclCommInitRank(&comm, groups.group_size, id, groups.group_rank), "ncclCommInitRank",
      fmt::format("nranks={}, rank={}, device={}", groups.group_size, groups.group_rank, device_));
  comm_ = NcclCommunicator(comm);
}

nlohmann::json NcclBackend::describe() const {
  nlohmann::json description{
      {"memory", "device"}, {"device", device_}, {"cuda_graph", cuda_graph_}};
  cudaDeviceProp properties{};
  if (cudaGetDeviceProperties(&properties, device_) == cudaSuccess) {
    description["gpu"] = properties.name;
    std::array<char, 32> bus_id{};
    if (cudaDeviceGetPCIBusId(bus_id.data(), static_cast<int>(bus_id.size()), device_) ==
        cudaSuccess) {
      description["pci_bus_id"] = bus_id.data();
    }
  }
  int version = 0;
  if (ncclGetVersion(&version) == ncclSuccess) {
    description["nccl_version"] = nccl_version_string(version);
  }
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess) {
    description["cuda_driver"] = fmt::format("{}.{}", driver / 1000, (driver % 1000) / 10);
  }
  return description;
}

std::optional<std::string> NcclBackend::unsupported(const CollectiveCall& call) const {
  if (call.kind == CollectiveKind::alltoall && call.in_place) {
    return std::string("NCCL has no in-place alltoall");
  }
  return std::nullopt;
}

void NcclBackend::prepare(const CollectiveCall& call) {
  call_ = call;
  placement_ = place_call(call, groups_.group_rank, Convention::nccl);
  const std::size_t bytes = std::max<std::size_t>(call.layout.size_bytes(), 1);
  if (send_.bytes() < bytes) {
    send_ = DeviceBuffer();
    send_ = DeviceBuffer(bytes);
  }
  if (recv_.bytes() < bytes) {
    recv_ = DeviceBuffer();
    recv_ = DeviceBuffer(bytes);
  }
  graph_exec_.reset();
  graph_.reset();
  if (cuda_graph_) {
    check_cuda(cudaStreamBeginCapture(stream_->get(), cudaStreamCaptureModeThreadLocal),
               "cudaStreamBeginCapture", "");
    enqueue_call();
    cudaGraph_t graph = nullptr;
    check_cuda(cudaStreamEndCapture(stream_->get(), &graph), "cudaStreamEndCapture", "");
    graph_.reset(graph);
    cudaGraphExec_t exec = nullptr;
    check_cuda(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate", "");
    graph_exec_.reset(exec);
  }
}

void* NcclBackend::device_address(const Region& region) const {
  auto* base = static_cast<std::byte*>(region.buffer == Buffer::send ? send_.data() : recv_.data());
  return base + region.offset_bytes;
}

void NcclBackend::copy_to_device(const Region& region, std::span<const std::byte> bytes) {
  if (bytes.size() != region.length_bytes) {
    throw std::invalid_argument("NcclBackend: host span differs from the region");
  }
  // On the benchmark stream (non-blocking streams do not order with the legacy default stream).
  check_cuda(cudaMemcpyAsync(device_address(region), bytes.data(), bytes.size(),
                             cudaMemcpyHostToDevice, stream_->get()),
             "cudaMemcpyAsync", fmt::format("bytes={}, host to device", bytes.size()));
  check_cuda(cudaStreamSynchronize(stream_->get()), "cudaStreamSynchronize", "");
}

void NcclBackend::write_input(std::span<const std::byte> input) {
  copy_to_device(placement_.input, input);
}

void NcclBackend::write_output(std::span<const std::byte> output) {
  copy_to_device(placement_.output, output);
}

void NcclBackend::read_output(std::span<std::byte> output) {
  if (output.size() != placement_.output.length_bytes) {
    throw std::invalid_argument("NcclBackend::read_output: size differs from the output");
  }
  check_cuda(cudaMemcpyAsync(output.data(), device_address(placement_.output), output.size(),
                             cudaMemcpyDeviceToHost, stream_->get()),
             "cudaMemcpyAsync", fmt::format("bytes={}, device to host", output.size()));
  check_cuda(cudaStreamSynchronize(stream_->get()), "cudaStreamSynchronize", "");
}

void NcclBackend::enqueue_call() {
  const CollectiveLayout& layout = call_.layout;
  const std::size_t count = layout.param_count;
  const void* send = device_address(placement_.call_send);
  void* recv = device_address(placement_.call_recv);
  const ncclDataType_t type = nccl_datatype(call_.dtype);
  const ncclRedOp_t op = nccl_reduce_op(call_.op);
  ncclComm_t comm = comm_.get();
  cudaStream_t stream = stream_->get();
  const std::string arguments = fmt::format("count={}", count);
  switch (call_.kind) {
    case CollectiveKind::all_reduce:
      check_nccl(ncclAllReduce(send, recv, count, type, op, comm, stream), "ncclAllReduce",
                 arguments, comm);
      break;
    case CollectiveKind::all_gather:
      check_nccl(ncclAllGather(send, recv, count, type, comm, stream), "ncclAllGather", arguments,
                 comm);
      break;
    case CollectiveKind::reduce_scatter:
      check_nccl(ncclReduceScatter(send, recv, count, type, op, comm, stream), "ncclReduceScatter",
                 arguments, comm);
      break;
    case CollectiveKind::broadcast:
      check_nccl(ncclBroadcast(send, recv, count, type, call_.root, comm, stream), "ncclBroadcast",
                 arguments, comm);
      break;
    case CollectiveKind::alltoall: {
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 28, 0)
      check_nccl(ncclAlltoAll(send, recv, count, type, comm, stream), "ncclAlltoAll", arguments,
                 comm);
#else
      const std::size_t chunk_bytes = count * layout.element_bytes;
      check_nccl(ncclGroupStart(), "ncclGroupStart", "");
      for (int peer = 0; peer < groups_.group_size; ++peer) {
        const auto offset = static_cast<std::size_t>(peer) * chunk_bytes;
        check_nccl(
            ncclSend(static_cast<const std::byte*>(send) + offset, count, type, peer, comm, stream),
            "ncclSend", arguments, comm);
        check_nccl(
            ncclRecv(static_cast<std::byte*>(recv) + offset, count, type, peer, comm, stream),
            "ncclRecv", arguments, comm);
      }
      check_nccl(ncclGroupEnd(), "ncclGroupEnd", "");
#endif
      break;
    }
  }
}

void NcclBackend::launch() {
  if (graph_exec_) {
    check_cuda(cudaGraphLaunch(graph_exec_.get(), stream_->get()), "cudaGraphLaunch", "");
  } else {
    enqueue_call();
  }
}

void NcclBackend::wait_for(const CudaEvent& event) {
  // Poll instead of cudaEventSynchronize: a dead peer shows up as an NCCL async error, and the
  // loop turns it into an exception instead of waiting forever.
  while (true) {
    const cudaError_t state = cudaEventQuery(event.get());
    if (state == cudaSuccess) {
      return;
    }
    if (state != cudaErrorNotReady) {
      check_cuda(state, "cudaEventQuery", "waiting for the collective");
    }
    comm_.check_async_error();
  }
}

void NcclBackend::run() {
  launch();
  stop_->record(stream_->get());
  wait_for(*stop_);
}

IterationTime NcclBackend::run_timed() {
  const auto host_start = MonotonicClock::now();
  start_->record(stream_->get());
  launch();
  stop_->record(stream_->get());
  wait_for(*stop_);
  const double host_s = seconds_between(host_start, MonotonicClock::now());
  return {CudaEvent::elapsed_s(*start_, *stop_), host_s};
}

void NcclBackend::abort() noexcept {
  comm_.abort();
}

}  // namespace preflight::collectives
