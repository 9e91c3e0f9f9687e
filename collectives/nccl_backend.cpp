#include "collectives/nccl_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

#include "common/error.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"

namespace preflight::collectives {
namespace {

// A stream capture that is always ended: a throw between begin and end (an NCCL call refused
// during capture) would otherwise leave the stream capturing, and every later call on it would
// fail with cudaErrorStreamCaptureInvalidated/Unsupported.
class StreamCapture {
 public:
  StreamCapture(const cuda::RuntimeApi& api, cuda::Stream stream) : api_(api), stream_(stream) {
    // Thread-local mode, as nccl-tests: other threads (the watchdog, NCCL's proxy) may call
    // unsafe CUDA functions meanwhile without invalidating this capture.
    check_cuda(api_, api_.cudaStreamBeginCapture(stream_, cuda::kStreamCaptureModeThreadLocal),
               "cudaStreamBeginCapture", "cudaStreamCaptureModeThreadLocal");
    active_ = true;
  }
  StreamCapture(const StreamCapture&) = delete;
  StreamCapture& operator=(const StreamCapture&) = delete;
  StreamCapture(StreamCapture&&) = delete;
  StreamCapture& operator=(StreamCapture&&) = delete;
  ~StreamCapture() {
    if (active_) {
      cuda::Graph graph = nullptr;
      api_.cudaStreamEndCapture(stream_, &graph);  // invalidated or not: the stream is free again
      if (graph != nullptr) {
        api_.cudaGraphDestroy(graph);
      }
    }
  }

  CudaGraph end() {
    active_ = false;
    cuda::Graph graph = nullptr;
    check_cuda(api_, api_.cudaStreamEndCapture(stream_, &graph), "cudaStreamEndCapture", "");
    return {api_, graph};
  }

 private:
  const cuda::RuntimeApi& api_;
  cuda::Stream stream_;
  bool active_ = false;
};

bool reduces(CollectiveKind kind) {
  return kind == CollectiveKind::all_reduce || kind == CollectiveKind::reduce_scatter;
}

}  // namespace

int nccl_datatype(DataType dtype) {
  switch (dtype) {
    case DataType::int8:
      return nccl::kInt8;
    case DataType::uint8:
      return nccl::kUint8;
    case DataType::int32:
      return nccl::kInt32;
    case DataType::uint32:
      return nccl::kUint32;
    case DataType::int64:
      return nccl::kInt64;
    case DataType::uint64:
      return nccl::kUint64;
    case DataType::half:
      return nccl::kFloat16;
    case DataType::bfloat16:
      return nccl::kBfloat16;
    case DataType::float32:
      return nccl::kFloat32;
    case DataType::float64:
      return nccl::kFloat64;
    case DataType::fp8_e4m3:
      return nccl::kFloat8e4m3;
    case DataType::fp8_e5m2:
      return nccl::kFloat8e5m2;
  }
  return nccl::kFloat32;
}

int nccl_reduce_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::none:  // ignored by the data-movement calls
      return nccl::kSum;
    case ReduceOp::prod:
      return nccl::kProd;
    case ReduceOp::min:
      return nccl::kMin;
    case ReduceOp::max:
      return nccl::kMax;
    case ReduceOp::avg:
      return nccl::kAvg;
  }
  return nccl::kSum;
}

int device_for_local_rank(int local_rank, int device_count) {
  if (device_count < 1) {
    throw std::invalid_argument("device_for_local_rank: no device");
  }
  return local_rank % device_count;
}

std::optional<std::string> shared_gpu_conflict(const std::vector<std::string>& hosts,
                                               const std::vector<std::string>& bus_ids) {
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> users;
  for (std::size_t rank = 0; rank < hosts.size() && rank < bus_ids.size(); ++rank) {
    if (!bus_ids[rank].empty()) {
      users[{hosts[rank], bus_ids[rank]}].push_back(rank);
    }
  }
  std::vector<std::string> conflicts;
  for (const auto& [where, ranks] : users) {
    if (ranks.size() > 1) {
      std::vector<std::string> names;
      for (const std::size_t rank : ranks) {
        names.push_back(std::to_string(rank));
      }
      conflicts.push_back(fmt::format("ranks {} on host {} all use GPU {}", join(names, ", "),
                                      where.first, where.second));
    }
  }
  if (conflicts.empty()) {
    return std::nullopt;
  }
  return fmt::format(
      "{}: launch one rank per GPU (at most as many ranks per node as GPUs), or give each rank "
      "its own GPU through CUDA_VISIBLE_DEVICES",
      join(conflicts, "; "));
}

NcclBackend::NcclBackend(Bootstrap& world, const SplitGroups& groups, int local_rank, GpuApis apis,
                         NcclBackendOptions options)
    : cuda_(*apis.cuda),
      nccl_(*apis.nccl),
      libraries_(std::move(apis.libraries)),
      groups_(groups),
      cuda_graph_(options.cuda_graph) {
  if (auto reason = cuda_unavailable_reason(cuda_)) {
    throw BackendUnavailable("--backend nccl: " + *reason);
  }
  device_ = device_for_local_rank(local_rank, cuda_device_count(cuda_));
  check_cuda(cuda_, cuda_.cudaSetDevice(device_), "cudaSetDevice",
             fmt::format("device={}", device_));
  bus_id_ = cuda_pci_bus_id(cuda_, device_);
  compute_capability_ = cuda_compute_capability(cuda_, device_);

  // Before NCCL sees anything: two ranks of one host on one GPU is a launch mistake, named here
  // on every rank alike (NCCL would fail only the ranks sharing a communicator, cryptically).
  const auto placements =
      world.allgather_strings(fmt::format("{}\t{}\t{}", host_name(), bus_id_, compute_capability_));
  std::vector<std::string> hosts;
  std::vector<std::string> bus_ids;
  std::vector<int> capabilities;
  for (const std::string& entry : placements) {
    const auto fields = split(entry, '\t');
    hosts.emplace_back(fields.at(0));
    bus_ids.emplace_back(fields.at(1));
    capabilities.push_back(std::stoi(std::string(fields.at(2))));
  }
  if (auto conflict = shared_gpu_conflict(hosts, bus_ids)) {
    throw UsageError("--backend nccl: " + *conflict);
  }
  group_min_compute_capability_ = compute_capability_;
  for (const int member : groups.members) {
    group_min_compute_capability_ =
        std::min(group_min_compute_capability_, capabilities.at(static_cast<std::size_t>(member)));
  }

  stream_ = CudaStream(cuda_);
  start_ = CudaEvent(cuda_);
  stop_ = CudaEvent(cuda_);

  // The group's lowest world rank creates the id; everyone takes it from the allgather.
  const bool leader = world.rank() == groups.members.front();
  nccl::UniqueId id{};
  if (leader) {
    check_nccl(nccl_, nccl_.ncclGetUniqueId(&id), "ncclGetUniqueId", "");
  }
  const auto ids = world.allgather(std::as_bytes(std::span<const nccl::UniqueId, 1>(&id, 1)));
  const auto& leader_id = ids.at(static_cast<std::size_t>(groups.members.front()));
  if (leader_id.size() != sizeof id) {
    throw Error("NCCL", "ncclUniqueId exchange", "", "unexpected id size", 0);
  }
  std::memcpy(&id, leader_id.data(), sizeof id);
  nccl::Comm comm = nullptr;
  check_nccl(
      nccl_, nccl_.ncclCommInitRank(&comm, groups.group_size, id, groups.group_rank),
      "ncclCommInitRank",
      fmt::format("nranks={}, rank={}, device={}", groups.group_size, groups.group_rank, device_));
  comm_ = NcclCommunicator(nccl_, comm);
}

NcclBackend::~NcclBackend() {
  release_graphs();
  comm_.abort();  // nothing left to do after finish()
}

nlohmann::json NcclBackend::describe() const {
  nlohmann::json description{{"memory", "device"},
                             {"device", device_},
                             {"cuda_graph", cuda_graph_},
                             {"nccl_version", version_from_nccl_code(nccl_.version_code).text}};
  if (const std::string gpu = cuda_device_name(cuda_, device_); !gpu.empty()) {
    description["gpu"] = gpu;
  }
  if (!bus_id_.empty()) {
    description["pci_bus_id"] = bus_id_;
  }
  if (compute_capability_ > 0) {
    description["compute_capability"] =
        fmt::format("{}.{}", compute_capability_ / 10, compute_capability_ % 10);
  }
  int driver = 0;
  if (cuda_.cudaDriverGetVersion(&driver) == cuda::kSuccess && driver > 0) {
    description["cuda_driver"] = version_from_cuda_code(driver).text;
  }
  int runtime = 0;
  if (cuda_.cudaRuntimeGetVersion(&runtime) == cuda::kSuccess) {
    description["cuda_runtime"] = version_from_cuda_code(runtime).text;
  }
  description["libraries"] = libraries_;
  description["net_plugin"] = loaded_net_plugins().to_json();
  return description;
}

std::optional<std::string> NcclBackend::unsupported(const CollectiveCall& call) const {
  if (call.kind == CollectiveKind::alltoall && call.in_place) {
    return std::string("NCCL has no in-place alltoall");
  }
  if (is_fp8(call.dtype)) {
    if (!nccl_.has_fp8()) {
      return fmt::format("NCCL {} has no FP8 types (NCCL >= {} has)",
                         version_from_nccl_code(nccl_.version_code).text,
                         version_from_nccl_code(nccl::kFp8VersionCode).text);
    }
    if (reduces(call.kind) && group_min_compute_capability_ < 90) {
      return fmt::format(
          "NCCL reduces FP8 only on compute capability 9.0 (Hopper) or newer on every rank; "
          "the lowest here is {}.{}",
          group_min_compute_capability_ / 10, group_min_compute_capability_ % 10);
    }
  }
  return std::nullopt;
}

void NcclBackend::prepare(const CollectiveCall& call) {
  // Graphs first: they captured the old buffers (and NCCL registered them for the graph), so
  // the buffers may go only after the graphs have.
  release_graphs();
  call_ = call;
  placement_ = place_call(call, groups_.group_rank, Convention::nccl);
  const std::size_t bytes = std::max<std::size_t>(call.layout.size_bytes(), 1);
  if (send_.bytes() < bytes) {
    send_ = DeviceBuffer();
    send_ = DeviceBuffer(cuda_, bytes);
  }
  if (recv_.bytes() < bytes) {
    recv_ = DeviceBuffer();
    recv_ = DeviceBuffer(cuda_, bytes);
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
  // On the benchmark stream: the copy is ordered before the calls that read it (a copy on the
  // legacy default stream would not be, the stream being non-blocking), and synchronize()
  // returns only once the bytes are on the device.
  check_cuda(cuda_,
             cuda_.cudaMemcpyAsync(device_address(region), bytes.data(), bytes.size(),
                                   cuda::kMemcpyHostToDevice, stream_.get()),
             "cudaMemcpyAsync", fmt::format("bytes={}, host to device", bytes.size()));
  synchronize();
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
  check_cuda(cuda_,
             cuda_.cudaMemcpyAsync(output.data(), device_address(placement_.output), output.size(),
                                   cuda::kMemcpyDeviceToHost, stream_.get()),
             "cudaMemcpyAsync", fmt::format("bytes={}, device to host", output.size()));
  synchronize();
}

void NcclBackend::enqueue_call() {
  const CollectiveLayout& layout = call_.layout;
  const std::size_t count = layout.param_count;
  const void* send = device_address(placement_.call_send);
  void* recv = device_address(placement_.call_recv);
  const int type = nccl_datatype(call_.dtype);
  const int op = nccl_reduce_op(call_.op);
  nccl::Comm comm = comm_.get();
  cuda::Stream stream = stream_.get();
  const auto check = [&](nccl::Result result, std::string_view call) {
    if (result != nccl::kSuccess) [[unlikely]] {
      check_nccl(nccl_, result, call,
                 fmt::format("count={}, type={}, rank {} of {}", count, to_string(call_.dtype),
                             groups_.group_rank, groups_.group_size),
                 comm);
    }
  };
  switch (call_.kind) {
    case CollectiveKind::all_reduce:
      check(nccl_.ncclAllReduce(send, recv, count, type, op, comm, stream), "ncclAllReduce");
      break;
    case CollectiveKind::all_gather:
      check(nccl_.ncclAllGather(send, recv, count, type, comm, stream), "ncclAllGather");
      break;
    case CollectiveKind::reduce_scatter:
      check(nccl_.ncclReduceScatter(send, recv, count, type, op, comm, stream),
            "ncclReduceScatter");
      break;
    case CollectiveKind::broadcast:
      check(nccl_.ncclBroadcast(send, recv, count, type, call_.root, comm, stream),
            "ncclBroadcast");
      break;
    case CollectiveKind::alltoall: {
      if (nccl_.ncclAlltoAll != nullptr) {  // NCCL >= 2.28
        check(nccl_.ncclAlltoAll(send, recv, count, type, comm, stream), "ncclAlltoAll");
        break;
      }
      // Older NCCL: what nccl-tests does, one grouped send and receive per peer.
      const std::size_t chunk_bytes = count * layout.element_bytes;
      check(nccl_.ncclGroupStart(), "ncclGroupStart");
      for (int peer = 0; peer < groups_.group_size; ++peer) {
        const auto offset = static_cast<std::size_t>(peer) * chunk_bytes;
        check(nccl_.ncclSend(static_cast<const std::byte*>(send) + offset, count, type, peer, comm,
                             stream),
              "ncclSend");
        check(
            nccl_.ncclRecv(static_cast<std::byte*>(recv) + offset, count, type, peer, comm, stream),
            "ncclRecv");
      }
      check(nccl_.ncclGroupEnd(), "ncclGroupEnd");
      break;
    }
  }
}

const NcclBackend::CapturedGraph& NcclBackend::graph_for(std::size_t iterations) {
  const auto found = std::find_if(graphs_.begin(), graphs_.end(), [&](const CapturedGraph& g) {
    return g.iterations == iterations;
  });
  if (found != graphs_.end()) {
    return *found;
  }
  CapturedGraph captured;
  captured.iterations = iterations;
  {
    StreamCapture capture(cuda_, stream_.get());
    for (std::size_t i = 0; i < iterations; ++i) {
      enqueue_call();
    }
    captured.graph = capture.end();
  }
  cuda::GraphExec exec = nullptr;
  check_cuda(cuda_, cuda_.cudaGraphInstantiateWithFlags(&exec, captured.graph.get(), 0),
             "cudaGraphInstantiateWithFlags", fmt::format("{} captured calls", iterations));
  captured.exec = CudaGraphExec(cuda_, exec);
  graphs_.push_back(std::move(captured));
  return graphs_.back();
}

void NcclBackend::release_graphs() noexcept {
  // Executable graphs before the graphs they were made from.
  for (auto& captured : graphs_) {
    captured.exec.reset();
    captured.graph.reset();
  }
  graphs_.clear();
}

void NcclBackend::launch(std::size_t iterations) {
  if (cuda_graph_) {
    const CapturedGraph& captured = graph_for(iterations);
    check_cuda(cuda_, cuda_.cudaGraphLaunch(captured.exec.get(), stream_.get()), "cudaGraphLaunch",
               fmt::format("{} captured calls", iterations));
    return;
  }
  for (std::size_t i = 0; i < iterations; ++i) {
    enqueue_call();
  }
}

void NcclBackend::wait_for(const CudaEvent& event) {
  // Poll instead of blocking in cudaEventSynchronize: a dead peer shows up as an NCCL async
  // error (decoded and thrown), and the watchdog's abort request is acted on here, on the
  // thread that owns the communicator.
  while (true) {
    if (abort_requested_.load(std::memory_order_acquire)) {
      release_graphs();
      comm_.abort();
      throw TimeoutError(fmt::format(
          "NCCL communicator of rank {} aborted at the watchdog's request", groups_.group_rank));
    }
    const cuda::Status state = cuda_.cudaEventQuery(event.get());
    if (state == cuda::kSuccess) {
      return;
    }
    if (state != cuda::kErrorNotReady) {
      check_cuda(cuda_, state, "cudaEventQuery", "waiting for the collective");
    }
    comm_.check_async_error();
  }
}

void NcclBackend::synchronize() {
  stop_.record(stream_.get());
  wait_for(stop_);
}

void NcclBackend::run() {
  launch(1);
  synchronize();
}

IterationTime NcclBackend::run_timed() {
  if (cuda_graph_) {
    (void)graph_for(1);  // captured outside the timed region
  }
  const auto host_start = MonotonicClock::now();
  start_.record(stream_.get());
  launch(1);
  stop_.record(stream_.get());
  wait_for(stop_);
  const double host_s = seconds_between(host_start, MonotonicClock::now());
  return {CudaEvent::elapsed_s(start_, stop_), host_s};
}

BatchTime NcclBackend::run_batch(std::size_t iterations) {
  if (cuda_graph_) {
    (void)graph_for(iterations);  // captured and instantiated outside the timed region
  }
  const auto host_start = MonotonicClock::now();
  start_.record(stream_.get());
  launch(iterations);
  stop_.record(stream_.get());
  wait_for(stop_);
  const double host_s = seconds_between(host_start, MonotonicClock::now());
  return {CudaEvent::elapsed_s(start_, stop_), host_s};
}

void NcclBackend::finish() {
  release_graphs();
  comm_.finalize();
}

void NcclBackend::abort() noexcept {
  abort_requested_.store(true, std::memory_order_release);
}

}  // namespace preflight::collectives
