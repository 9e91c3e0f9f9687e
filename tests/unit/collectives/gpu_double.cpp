#include "gpu_double.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "domain/dtype.hpp"

namespace preflight::testing {
namespace {

// Error codes the double returns beyond those cuda_api.hpp names.
constexpr cuda::Status kErrorIllegalState = 401;
constexpr cuda::Status kErrorUnknown = 999;
constexpr double kSynchronizeLimit_s = 60;  // a wait that can never end is reported, not hung

struct Comm;
struct Stream;
struct Event;

struct CommGroup {
  std::array<char, 128> key{};
  int nranks = 0;
  std::vector<Comm*> members;
  std::vector<std::uint64_t> next_collective;                 // per rank
  std::map<std::pair<int, int>, std::uint64_t> next_send;     // (from, to)
  std::map<std::pair<int, int>, std::uint64_t> next_receive;  // (to, from)
  int async_error = nccl::kSuccess;
  std::string last_error;
};

struct Comm {
  std::size_t index = 0;
  CommGroup* group = nullptr;
  int rank = 0;
  int device = 0;
  std::string end = "live";
  bool valid = true;  // the handle may be used
  std::optional<std::thread::id> busy;
  std::string busy_call;
};

struct P2pPart {
  bool send = false;
  int peer = 0;
  std::byte* buffer = nullptr;
  std::size_t bytes = 0;
  std::uint64_t sequence = 0;
  bool done = false;
};

struct Op {
  enum class Kind { copy, memset, record, collective, p2p };
  Kind kind = Kind::copy;
  double host_time = 0;
  // copy / memset
  std::byte* destination = nullptr;
  const std::byte* source = nullptr;  // device to host: read when executed
  std::vector<std::byte> staged;      // host to device: taken when enqueued (pageable staging)
  std::size_t bytes = 0;
  int value = 0;
  // record
  Event* event = nullptr;
  // collective
  Comm* comm = nullptr;
  std::string function;
  const std::byte* send = nullptr;
  std::byte* receive = nullptr;
  std::size_t count = 0;
  int dtype = 0;
  int reduction = 0;
  int root = 0;
  std::uint64_t sequence = 0;
  // p2p
  std::vector<P2pPart> parts;
  double done_time = 0;
};

struct Capture {
  std::thread::id thread;
  int mode = 0;
  std::vector<Op> ops;
  bool invalidated = false;
};

struct Stream {
  int device = 0;
  std::deque<Op> queue;
  double ready_at = 0;
  std::optional<Capture> capture;
};

struct Event {
  bool pending = false;
  double time = 0;
  Stream* stream = nullptr;
};

struct Graph {
  std::vector<Op> ops;
  std::set<Comm*> comms;
  std::vector<const std::byte*> buffers;
};

struct Allocation {
  std::unique_ptr<std::byte[]> storage;  // NOLINT(modernize-avoid-c-arrays)
  std::size_t bytes = 0;
  int device = 0;
};

struct ThreadState {
  double host_s = 0;
  int device = 0;
  int group_depth = 0;
  std::vector<std::pair<Stream*, Op>> grouped;  // p2p parts of the open group, per stream
};

}  // namespace

// Everything the node holds; one per FakeGpuNode, reached by the tables' plain functions through
// `current` (test code: the tables are C function pointers without a context argument).
struct NodeState {
  explicit NodeState(FakeGpuConfig c) : config(std::move(c)) {}
  FakeGpuConfig config;
  mutable std::mutex mutex;
  std::vector<std::string> violations;
  std::map<std::thread::id, ThreadState> threads;
  std::map<std::uintptr_t, Allocation> allocations;
  std::map<Stream*, std::unique_ptr<Stream>> streams;
  std::map<Event*, std::unique_ptr<Event>> events;
  std::map<Graph*, std::unique_ptr<Graph>> graphs;
  std::map<Graph*, std::unique_ptr<Graph>> executables;
  std::vector<std::unique_ptr<CommGroup>> groups;
  std::vector<std::unique_ptr<Comm>> comms;
  std::uint64_t next_unique_id = 1;
  std::size_t collectives_executed = 0;
  bool capture_failure_used = false;
  std::string node_last_error;

  ThreadState& me() { return threads[std::this_thread::get_id()]; }
  void violation(std::string text) { violations.push_back(std::move(text)); }
};

namespace {

std::atomic<NodeState*> current{nullptr};

// memcpy with a null pointer is undefined even for zero bytes, and an empty buffer (a
// zero-element size, an empty staging vector) may have none.
void copy_bytes(void* destination, const void* source, std::size_t bytes) {
  if (bytes > 0) {
    std::memcpy(destination, source, bytes);
  }
}

NodeState& node() {
  NodeState* state = current.load();
  if (state == nullptr) {
    throw std::logic_error("gpu double: no FakeGpuNode installed");
  }
  return *state;
}

template <typename Handle, typename Object>
Handle to_handle(Object* object) {
  return reinterpret_cast<Handle>(object);  // NOLINT: opaque handles, as the real libraries do
}
template <typename Object, typename Handle>
Object* from_handle(Handle handle) {
  return reinterpret_cast<Object*>(handle);  // NOLINT
}

Stream* find_stream(NodeState& s, cuda::Stream handle) {
  auto* stream = from_handle<Stream>(handle);
  return s.streams.count(stream) > 0 ? stream : nullptr;
}

Event* find_event(NodeState& s, cuda::Event handle) {
  auto* event = from_handle<Event>(handle);
  return s.events.count(event) > 0 ? event : nullptr;
}

Comm* find_comm(NodeState& s, nccl::Comm handle, const char* call) {
  auto* comm = from_handle<Comm>(handle);
  const auto known = std::find_if(s.comms.begin(), s.comms.end(),
                                  [&](const auto& owned) { return owned.get() == comm; });
  if (known == s.comms.end()) {
    s.violation(fmt::format("{} on an unknown communicator", call));
    return nullptr;
  }
  if (!comm->valid) {
    s.violation(fmt::format("{} on communicator {} (rank {}) after it was {}: use after free", call,
                            comm->index, comm->rank, comm->end));
    return nullptr;
  }
  return comm;
}

Allocation* find_allocation(NodeState& s, const void* pointer, std::size_t bytes) {
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);  // NOLINT
  auto it = s.allocations.upper_bound(address);
  if (it == s.allocations.begin()) {
    return nullptr;
  }
  --it;
  if (address + bytes > it->first + std::max<std::size_t>(it->second.bytes, 1)) {
    return nullptr;
  }
  return &it->second;
}

// The capture of a stream the calling thread captures, if any.
Capture* my_capture(NodeState& s) {
  for (auto& [pointer, stream] : s.streams) {
    if (stream->capture && stream->capture->thread == std::this_thread::get_id()) {
      return &*stream->capture;
    }
  }
  return nullptr;
}

// Thread-local (and global) capture mode: the capturing thread may not call functions that
// synchronize or allocate; doing so invalidates its capture.
bool refused_during_capture(NodeState& s) {
  if (Capture* capture = my_capture(s)) {
    capture->invalidated = true;
    return true;
  }
  return false;
}

std::size_t type_size(int dtype) {
  switch (dtype) {
    case nccl::kInt8:
    case nccl::kUint8:
    case nccl::kFloat8e4m3:
    case nccl::kFloat8e5m2:
      return 1;
    case nccl::kFloat16:
    case nccl::kBfloat16:
      return 2;
    case nccl::kInt32:
    case nccl::kUint32:
    case nccl::kFloat32:
      return 4;
    default:
      return 8;
  }
}

bool is_float_type(int dtype) {
  return dtype == nccl::kFloat16 || dtype == nccl::kBfloat16 || dtype == nccl::kFloat32 ||
         dtype == nccl::kFloat64 || dtype == nccl::kFloat8e4m3 || dtype == nccl::kFloat8e5m2;
}

double read_float(int dtype, const std::byte* data) {
  switch (dtype) {
    case nccl::kFloat16: {
      std::uint16_t v = 0;
      std::memcpy(&v, data, 2);
      return float_from_half(v);
    }
    case nccl::kBfloat16: {
      std::uint16_t v = 0;
      std::memcpy(&v, data, 2);
      return float_from_bfloat16(v);
    }
    case nccl::kFloat32: {
      float v = 0;
      std::memcpy(&v, data, 4);
      return v;
    }
    case nccl::kFloat8e4m3:
      return float_from_fp8_e4m3(static_cast<std::uint8_t>(*data));
    case nccl::kFloat8e5m2:
      return float_from_fp8_e5m2(static_cast<std::uint8_t>(*data));
    default: {
      double v = 0;
      std::memcpy(&v, data, 8);
      return v;
    }
  }
}

void write_float(int dtype, double value, std::byte* out) {
  if (dtype == nccl::kFloat64) {
    std::memcpy(out, &value, 8);
    return;
  }
  // Clamped first: a double beyond float's range converts with undefined behaviour.
  const auto f = static_cast<float>(
      std::isfinite(value) ? std::clamp(value, -double{std::numeric_limits<float>::max()},
                                        double{std::numeric_limits<float>::max()})
                           : value);
  switch (dtype) {
    case nccl::kFloat16: {
      const std::uint16_t v = half_from_float(f);
      std::memcpy(out, &v, 2);
      return;
    }
    case nccl::kBfloat16: {
      const std::uint16_t v = bfloat16_from_float(f);
      std::memcpy(out, &v, 2);
      return;
    }
    case nccl::kFloat32:
      std::memcpy(out, &f, 4);
      return;
    case nccl::kFloat8e4m3:
      *out = static_cast<std::byte>(fp8_e4m3_from_float(f));
      return;
    case nccl::kFloat8e5m2:
      *out = static_cast<std::byte>(fp8_e5m2_from_float(f));
      return;
    default:
      std::memcpy(out, &value, 8);
      return;
  }
}

std::int64_t read_integer(int dtype, const std::byte* data) {
  switch (dtype) {
    case nccl::kInt8: {
      std::int8_t v = 0;
      std::memcpy(&v, data, 1);
      return v;
    }
    case nccl::kUint8: {
      std::uint8_t v = 0;
      std::memcpy(&v, data, 1);
      return v;
    }
    case nccl::kInt32: {
      std::int32_t v = 0;
      std::memcpy(&v, data, 4);
      return v;
    }
    case nccl::kUint32: {
      std::uint32_t v = 0;
      std::memcpy(&v, data, 4);
      return v;
    }
    default: {
      std::int64_t v = 0;
      std::memcpy(&v, data, 8);
      return v;
    }
  }
}

void write_integer(int dtype, std::int64_t value, std::byte* out) {
  // Little-endian truncation is the wrap-around of every integer type.
  std::memcpy(out, &value, type_size(dtype));
}

// element = reduce over `inputs` of element `index`.
void reduce_element(int dtype, int reduction, const std::vector<const std::byte*>& inputs,
                    std::size_t index, std::byte* out) {
  const std::size_t size = type_size(dtype);
  const auto n = static_cast<std::int64_t>(inputs.size());
  if (is_float_type(dtype)) {
    double result = read_float(dtype, inputs[0] + index * size);
    for (std::size_t r = 1; r < inputs.size(); ++r) {
      const double value = read_float(dtype, inputs[r] + index * size);
      switch (reduction) {
        case nccl::kProd:
          result *= value;
          break;
        case nccl::kMin:
          result = std::min(result, value);
          break;
        case nccl::kMax:
          result = std::max(result, value);
          break;
        default:
          result += value;
      }
    }
    if (reduction == nccl::kAvg) {
      result /= static_cast<double>(n);
    }
    write_float(dtype, result, out);
    return;
  }
  const bool is_unsigned =
      dtype == nccl::kUint8 || dtype == nccl::kUint32 || dtype == nccl::kUint64;
  std::int64_t result = read_integer(dtype, inputs[0] + index * size);
  for (std::size_t r = 1; r < inputs.size(); ++r) {
    const std::int64_t value = read_integer(dtype, inputs[r] + index * size);
    switch (reduction) {
      case nccl::kProd:
        result = static_cast<std::int64_t>(static_cast<std::uint64_t>(result) *
                                           static_cast<std::uint64_t>(value));
        break;
      case nccl::kMin:
        result = is_unsigned
                     ? static_cast<std::int64_t>(std::min(static_cast<std::uint64_t>(result),
                                                          static_cast<std::uint64_t>(value)))
                     : std::min(result, value);
        break;
      case nccl::kMax:
        result = is_unsigned
                     ? static_cast<std::int64_t>(std::max(static_cast<std::uint64_t>(result),
                                                          static_cast<std::uint64_t>(value)))
                     : std::max(result, value);
        break;
      default:
        result = static_cast<std::int64_t>(static_cast<std::uint64_t>(result) +
                                           static_cast<std::uint64_t>(value));
    }
  }
  if (reduction == nccl::kAvg) {
    result /= n;
  }
  write_integer(dtype, result, out);
}

double call_duration(const NodeState& s, const SimulatedCall& call) {
  return s.config.duration_s ? s.config.duration_s(call) : 1e-6;
}

// Runs the collective whose ops (one per rank, in comm-rank order) are all at their streams'
// heads.
void execute_collective(NodeState& s, const std::vector<Op*>& ops) {
  const Op& first = *ops.front();
  const std::size_t size = type_size(first.dtype);
  const std::size_t count = first.count;
  const int n = static_cast<int>(ops.size());
  std::vector<std::vector<std::byte>> outputs(ops.size());
  std::vector<const std::byte*> inputs;
  for (const Op* op : ops) {
    inputs.push_back(op->send);
  }
  for (int r = 0; r < n; ++r) {
    std::vector<std::byte>& out = outputs[static_cast<std::size_t>(r)];
    const auto rank = static_cast<std::size_t>(r);
    if (first.function == "AllReduce") {
      out.resize(count * size);
      for (std::size_t i = 0; i < count; ++i) {
        reduce_element(first.dtype, first.reduction, inputs, i, out.data() + i * size);
      }
    } else if (first.function == "ReduceScatter") {
      out.resize(count * size);
      for (std::size_t i = 0; i < count; ++i) {
        reduce_element(first.dtype, first.reduction, inputs, rank * count + i,
                       out.data() + i * size);
      }
    } else if (first.function == "AllGather") {
      out.resize(count * size * ops.size());
      for (std::size_t q = 0; q < ops.size(); ++q) {
        copy_bytes(out.data() + q * count * size, inputs[q], count * size);
      }
    } else if (first.function == "Broadcast") {
      out.resize(count * size);
      copy_bytes(out.data(), inputs[static_cast<std::size_t>(first.root)], count * size);
    } else {  // AlltoAll
      out.resize(count * size * ops.size());
      for (std::size_t q = 0; q < ops.size(); ++q) {
        copy_bytes(out.data() + q * count * size, inputs[q] + rank * count * size, count * size);
      }
    }
  }
  for (std::size_t r = 0; r < ops.size(); ++r) {
    if (!outputs[r].empty()) {
      std::memcpy(ops[r]->receive, outputs[r].data(), outputs[r].size());
    }
    const auto& corruption = s.config.corruption;
    if (corruption && corruption->rank == static_cast<int>(r) &&
        corruption->element * size < outputs[r].size()) {
      ops[r]->receive[corruption->element * size] ^= std::byte{1};
    }
  }
}

bool stalled(const NodeState& s, const Stream& stream) {
  return s.config.stalled_device && stream.device == *s.config.stalled_device &&
         s.collectives_executed >= s.config.stall_after_collectives;
}

// Runs the ops at the head of `stream` that need no other stream (copies, memsets, event
// records), so that a communication op further down becomes its head.
void advance_local(NodeState& s, Stream& stream) {
  while (!stream.queue.empty() && !stream.capture && !stalled(s, stream)) {
    Op& op = stream.queue.front();
    switch (op.kind) {
      case Op::Kind::copy:
        if (op.source == nullptr) {
          copy_bytes(op.destination, op.staged.data(), op.staged.size());
        } else {
          copy_bytes(op.destination, op.source, op.bytes);
        }
        stream.ready_at = std::max(stream.ready_at, op.host_time);
        break;
      case Op::Kind::memset:
        std::memset(op.destination, op.value, op.bytes);
        stream.ready_at = std::max(stream.ready_at, op.host_time);
        break;
      case Op::Kind::record:
        op.event->time = std::max(stream.ready_at, op.host_time);
        op.event->pending = false;
        stream.ready_at = op.event->time;
        break;
      case Op::Kind::collective:
      case Op::Kind::p2p:
        return;
    }
    stream.queue.pop_front();
  }
}

// The communication op at the head of another stream (after its local ops ran) that satisfies
// `match`. Only local ops run on the other streams here, never communication: that stays with
// the stream being driven, so no op is executed from two places at once.
template <typename Match>
std::pair<Stream*, Op*> find_head(NodeState& s, Stream& origin, const Match& match) {
  for (auto& [pointer, other] : s.streams) {
    const bool communicates = std::any_of(
        other->queue.begin(), other->queue.end(),
        [](const Op& op) { return op.kind == Op::Kind::collective || op.kind == Op::Kind::p2p; });
    if (other.get() == &origin || !communicates) {
      continue;  // a stream of copies alone runs only when someone waits for it
    }
    advance_local(s, *other);
    if (!other->queue.empty() && !other->capture && match(other->queue.front())) {
      return {other.get(), &other->queue.front()};
    }
  }
  return {nullptr, nullptr};
}

bool try_collective(NodeState& s, Stream& stream) {
  Op& op = stream.queue.front();
  CommGroup* group = op.comm->group;
  if (op.comm->end == "aborted") {
    stream.queue.pop_front();
    return true;
  }
  if (group->async_error != nccl::kSuccess) {
    return false;  // hangs until aborted, as NCCL's kernels do
  }
  std::vector<Op*> ops(static_cast<std::size_t>(group->nranks), nullptr);
  std::vector<Stream*> streams(ops.size(), nullptr);
  ops[static_cast<std::size_t>(op.comm->rank)] = &op;
  streams[static_cast<std::size_t>(op.comm->rank)] = &stream;
  for (int rank = 0; rank < group->nranks; ++rank) {
    if (rank == op.comm->rank) {
      continue;
    }
    auto [other, head] = find_head(s, stream, [&](const Op& candidate) {
      return candidate.kind == Op::Kind::collective && candidate.comm->group == group &&
             candidate.comm->rank == rank && candidate.sequence == op.sequence;
    });
    if (head == nullptr || stalled(s, *other)) {
      return false;
    }
    ops[static_cast<std::size_t>(rank)] = head;
    streams[static_cast<std::size_t>(rank)] = other;
  }
  double start = 0;
  for (std::size_t r = 0; r < ops.size(); ++r) {
    start = std::max({start, streams[r]->ready_at, ops[r]->host_time});
    if (ops[r]->function != op.function || ops[r]->count != op.count || ops[r]->dtype != op.dtype) {
      s.violation(fmt::format("mismatched collective {} #{}: rank {} called {} count {}",
                              op.function, op.sequence, r, ops[r]->function, ops[r]->count));
    }
  }
  execute_collective(s, ops);
  const double end =
      start + call_duration(s, {op.function, op.count * type_size(op.dtype), group->nranks});
  for (Stream* participant : streams) {
    participant->ready_at = end;
    participant->queue.pop_front();
  }
  ++s.collectives_executed;
  const auto& failure = s.config.async_failure;
  if (failure && s.collectives_executed == failure->after_collectives) {
    for (auto& each : s.groups) {
      each->async_error = failure->result;
      each->last_error = failure->last_error;
    }
  }
  return true;
}

bool try_p2p(NodeState& s, Stream& stream) {
  Op& op = stream.queue.front();
  if (op.comm->end == "aborted") {
    stream.queue.pop_front();
    return true;
  }
  CommGroup* group = op.comm->group;
  if (group->async_error != nccl::kSuccess) {
    return false;
  }
  bool changed = false;
  for (P2pPart& part : op.parts) {
    if (part.done) {
      continue;
    }
    const auto matches = [&](const Op& candidate, P2pPart*& found) {
      if (candidate.kind != Op::Kind::p2p || candidate.comm->group != group ||
          candidate.comm->rank != part.peer) {
        return false;
      }
      for (const P2pPart& other : candidate.parts) {
        if (!other.done && other.send != part.send && other.peer == op.comm->rank &&
            other.sequence == part.sequence) {
          found = const_cast<P2pPart*>(&other);  // NOLINT: the op is ours to change
          return true;
        }
      }
      return false;
    };
    P2pPart* partner = nullptr;
    Stream* partner_stream = nullptr;
    Op* partner_op = nullptr;
    if (part.peer == op.comm->rank && matches(op, partner)) {
      partner_stream = &stream;
      partner_op = &op;
    } else {
      auto [other, head] = find_head(s, stream, [&](const Op& candidate) {
        P2pPart* found = nullptr;
        return matches(candidate, found);
      });
      if (head != nullptr && !stalled(s, *other)) {
        (void)matches(*head, partner);
        partner_stream = other;
        partner_op = head;
      }
    }
    if (partner == nullptr) {
      continue;
    }
    P2pPart& sender = part.send ? part : *partner;
    P2pPart& receiver = part.send ? *partner : part;
    if (sender.bytes != receiver.bytes) {
      s.violation(fmt::format("ncclSend of {} B matched with ncclRecv of {} B", sender.bytes,
                              receiver.bytes));
    }
    copy_bytes(receiver.buffer, sender.buffer, std::min(sender.bytes, receiver.bytes));
    part.done = partner->done = true;
    const double start =
        std::max({stream.ready_at, op.host_time, partner_stream->ready_at, partner_op->host_time});
    const double end = start + call_duration(s, {"SendRecv", sender.bytes, 2});
    op.done_time = std::max(op.done_time, end);
    partner_op->done_time = std::max(partner_op->done_time, end);
    changed = true;
  }
  return changed;
}

// Executes the communication op at the head of `stream` if its partners are there; true when
// anything changed.
bool step(NodeState& s, Stream& stream) {
  advance_local(s, stream);
  if (stream.queue.empty() || stream.capture || stalled(s, stream)) {
    return false;
  }
  Op& op = stream.queue.front();
  if (op.kind == Op::Kind::collective) {
    return try_collective(s, stream);
  }
  const bool changed = try_p2p(s, stream);
  if (!stream.queue.empty() && &stream.queue.front() == &op &&
      std::all_of(op.parts.begin(), op.parts.end(),
                  [](const P2pPart& part) { return part.done; })) {
    stream.ready_at = std::max(stream.ready_at, op.done_time);
    stream.queue.pop_front();
    return true;
  }
  return changed;
}

// Runs `stream` as far as it can go now.
void drive(NodeState& s, Stream& stream) {
  while (step(s, stream)) {
  }
}

void enqueue(NodeState& s, Stream& stream, Op op) {
  if (stream.capture) {
    stream.capture->ops.push_back(std::move(op));
    return;
  }
  op.host_time = s.me().host_s;
  stream.queue.push_back(std::move(op));
}

// Sequence numbers are given when an op is issued (enqueued, or launched from a graph).
void assign_sequence(Op& op) {
  CommGroup& group = *op.comm->group;
  if (op.kind == Op::Kind::collective) {
    op.sequence = group.next_collective[static_cast<std::size_t>(op.comm->rank)]++;
    return;
  }
  for (P2pPart& part : op.parts) {
    part.done = false;
    part.sequence = part.send ? group.next_send[{op.comm->rank, part.peer}]++
                              : group.next_receive[{op.comm->rank, part.peer}]++;
  }
}

const char* error_name(cuda::Status status) {
  switch (status) {
    case cuda::kSuccess:
      return "cudaSuccess";
    case cuda::kErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cuda::kErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cuda::kErrorNoDevice:
      return "cudaErrorNoDevice";
    case cuda::kErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cuda::kErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case kErrorIllegalState:
      return "cudaErrorIllegalState";
    case cuda::kErrorNotReady:
      return "cudaErrorNotReady";
    case 700:
      return "cudaErrorIllegalAddress";
    case cuda::kErrorStreamCaptureUnsupported:
      return "cudaErrorStreamCaptureUnsupported";
    case cuda::kErrorStreamCaptureInvalidated:
      return "cudaErrorStreamCaptureInvalidated";
    default:
      return "cudaErrorUnknown";
  }
}

const char* error_string(cuda::Status status) {
  switch (status) {
    case cuda::kSuccess:
      return "no error";
    case cuda::kErrorInvalidValue:
      return "invalid argument";
    case cuda::kErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cuda::kErrorInvalidDevice:
      return "invalid device ordinal";
    case cuda::kErrorInvalidResourceHandle:
      return "invalid resource handle";
    case kErrorIllegalState:
      return "the operation cannot be performed in the present state";
    case cuda::kErrorNotReady:
      return "device not ready";
    case 700:
      return "an illegal memory access was encountered";
    case cuda::kErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cuda::kErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    default:
      return "unknown error";
  }
}

// ---- the CUDA runtime's functions ----

const char* double_cudaGetErrorName(cuda::Status status) {
  return error_name(status);
}
const char* double_cudaGetErrorString(cuda::Status status) {
  return error_string(status);
}
cuda::Status double_cudaGetLastError() {
  return cuda::kSuccess;
}
cuda::Status double_cudaRuntimeGetVersion(int* version) {
  *version = 13000;
  return cuda::kSuccess;
}
cuda::Status double_cudaDriverGetVersion(int* version) {
  *version = 13000;
  return cuda::kSuccess;
}
cuda::Status double_cudaGetDeviceCount(int* count) {
  NodeState& s = node();
  *count = s.config.devices;
  return s.config.devices > 0 ? cuda::kSuccess : cuda::kErrorNoDevice;
}
cuda::Status double_cudaSetDevice(int device) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  if (device < 0 || device >= s.config.devices) {
    return cuda::kErrorInvalidDevice;
  }
  s.me().device = device;
  return cuda::kSuccess;
}
cuda::Status double_cudaGetDevice(int* device) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  *device = s.me().device;
  return cuda::kSuccess;
}
cuda::Status double_cudaDeviceGetAttribute(int* value, int attribute, int device) {
  NodeState& s = node();
  if (device < 0 || device >= s.config.devices) {
    return cuda::kErrorInvalidDevice;
  }
  if (attribute == cuda::kDeviceAttributeComputeCapabilityMajor) {
    *value = s.config.compute_capability / 10;
  } else if (attribute == cuda::kDeviceAttributeComputeCapabilityMinor) {
    *value = s.config.compute_capability % 10;
  } else {
    return cuda::kErrorInvalidValue;
  }
  return cuda::kSuccess;
}
cuda::Status double_cudaDeviceGetPCIBusId(char* bus_id, int length, int device) {
  NodeState& s = node();
  if (device < 0 || device >= s.config.devices) {
    return cuda::kErrorInvalidDevice;
  }
  const std::string text = fmt::format("0000:{:02X}:00.0", 0x10 + device);
  std::snprintf(bus_id, static_cast<std::size_t>(length), "%s", text.c_str());
  return cuda::kSuccess;
}
cuda::Status double_cudaGetDeviceProperties(cuda::DeviceProperties* properties, int device) {
  NodeState& s = node();
  if (device < 0 || device >= s.config.devices) {
    return cuda::kErrorInvalidDevice;
  }
  std::snprintf(properties->name, sizeof(properties->name), "Double GPU (sm_%d)",
                s.config.compute_capability);
  return cuda::kSuccess;
}
cuda::Status double_cudaMalloc(void** pointer, std::size_t bytes) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  if (refused_during_capture(s)) {
    return cuda::kErrorStreamCaptureUnsupported;
  }
  Allocation allocation;
  allocation.bytes = bytes;
  allocation.device = s.me().device;
  allocation.storage = std::make_unique<std::byte[]>(std::max<std::size_t>(bytes, 1));  // NOLINT
  std::memset(allocation.storage.get(), 0x5a, std::max<std::size_t>(bytes, 1));         // not zeros
  *pointer = allocation.storage.get();
  s.allocations.emplace(reinterpret_cast<std::uintptr_t>(*pointer),  // NOLINT
                        std::move(allocation));
  return cuda::kSuccess;
}
cuda::Status double_cudaFree(void* pointer) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  const auto address = reinterpret_cast<std::uintptr_t>(pointer);  // NOLINT
  const auto found = s.allocations.find(address);
  if (found == s.allocations.end()) {
    s.violation("cudaFree of memory cudaMalloc did not return (or freed twice)");
    return cuda::kErrorInvalidValue;
  }
  const std::uintptr_t end = address + std::max<std::size_t>(found->second.bytes, 1);
  for (const auto* table : {&s.graphs, &s.executables}) {
    for (const auto& [handle, graph] : *table) {
      for (const std::byte* buffer : graph->buffers) {
        const auto at = reinterpret_cast<std::uintptr_t>(buffer);  // NOLINT
        if (at >= address && at < end) {
          s.violation(
              "cudaFree of memory a live CUDA graph captured (NCCL registered it for the graph "
              "and deregisters it only when the graph is destroyed)");
        }
      }
    }
  }
  s.allocations.erase(found);
  return cuda::kSuccess;
}
cuda::Status double_cudaMemsetAsync(void* pointer, int value, std::size_t bytes,
                                    cuda::Stream handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr || find_allocation(s, pointer, bytes) == nullptr) {
    s.violation("cudaMemsetAsync on an unknown stream or outside device memory");
    return cuda::kErrorInvalidValue;
  }
  Op op;
  op.kind = Op::Kind::memset;
  op.destination = static_cast<std::byte*>(pointer);
  op.bytes = bytes;
  op.value = value;
  enqueue(s, *stream, std::move(op));
  return cuda::kSuccess;
}
cuda::Status double_cudaMemcpyAsync(void* destination, const void* source, std::size_t bytes,
                                    int direction, cuda::Stream handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr) {
    s.violation("cudaMemcpyAsync on an unknown stream");
    return cuda::kErrorInvalidResourceHandle;
  }
  Op op;
  op.kind = Op::Kind::copy;
  op.destination = static_cast<std::byte*>(destination);
  op.bytes = bytes;
  if (direction == cuda::kMemcpyHostToDevice) {
    if (find_allocation(s, destination, bytes) == nullptr) {
      s.violation("cudaMemcpyAsync host to device: the destination is not device memory");
      return cuda::kErrorInvalidValue;
    }
    const auto* from = static_cast<const std::byte*>(source);
    op.staged.assign(from, from + bytes);
  } else if (direction == cuda::kMemcpyDeviceToHost) {
    if (find_allocation(s, source, bytes) == nullptr) {
      s.violation("cudaMemcpyAsync device to host: the source is not device memory");
      return cuda::kErrorInvalidValue;
    }
    op.source = static_cast<const std::byte*>(source);
  } else {
    return cuda::kErrorInvalidValue;
  }
  enqueue(s, *stream, std::move(op));
  return cuda::kSuccess;
}
cuda::Status double_cudaStreamCreateWithFlags(cuda::Stream* handle, unsigned /*flags*/) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  auto stream = std::make_unique<Stream>();
  stream->device = s.me().device;
  *handle = to_handle<cuda::Stream>(stream.get());
  s.streams.emplace(stream.get(), std::move(stream));
  return cuda::kSuccess;
}
cuda::Status double_cudaStreamDestroy(cuda::Stream handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr) {
    s.violation("cudaStreamDestroy of an unknown stream");
    return cuda::kErrorInvalidResourceHandle;
  }
  // Work still queued runs to completion on a real device; here it is dropped.
  s.streams.erase(stream);
  return cuda::kSuccess;
}
cuda::Status double_cudaStreamQuery(cuda::Stream handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  if (refused_during_capture(s)) {
    return cuda::kErrorStreamCaptureUnsupported;
  }
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  drive(s, *stream);
  if (!stream->queue.empty()) {
    return cuda::kErrorNotReady;
  }
  ThreadState& me = s.me();
  me.host_s = std::max(me.host_s, stream->ready_at);
  return cuda::kSuccess;
}
cuda::Status double_cudaStreamSynchronize(cuda::Stream handle) {
  const auto started = std::chrono::steady_clock::now();
  while (true) {
    const cuda::Status state = double_cudaStreamQuery(handle);
    if (state != cuda::kErrorNotReady) {
      return state;
    }
    if (std::chrono::steady_clock::now() - started >
        std::chrono::duration<double>(kSynchronizeLimit_s)) {
      NodeState& s = node();
      const std::lock_guard lock(s.mutex);
      s.violation("cudaStreamSynchronize on a stream whose work can never complete");
      return kErrorUnknown;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}
cuda::Status double_cudaStreamBeginCapture(cuda::Stream handle, int mode) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  if (stream->capture) {
    return kErrorIllegalState;  // already capturing
  }
  stream->capture = Capture{std::this_thread::get_id(), mode, {}, false};
  return cuda::kSuccess;
}
cuda::Status double_cudaStreamEndCapture(cuda::Stream handle, cuda::Graph* graph_out) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  if (!stream->capture) {
    return kErrorIllegalState;
  }
  Capture capture = std::move(*stream->capture);
  stream->capture.reset();
  if (capture.invalidated) {
    *graph_out = nullptr;
    return cuda::kErrorStreamCaptureInvalidated;
  }
  auto graph = std::make_unique<Graph>();
  for (const Op& op : capture.ops) {
    if (op.comm != nullptr) {
      graph->comms.insert(op.comm);
    }
    if (op.kind == Op::Kind::collective) {
      graph->buffers.push_back(op.send);
      graph->buffers.push_back(op.receive);
    }
    for (const P2pPart& part : op.parts) {
      graph->buffers.push_back(part.buffer);
    }
  }
  graph->ops = std::move(capture.ops);
  *graph_out = to_handle<cuda::Graph>(graph.get());
  s.graphs.emplace(graph.get(), std::move(graph));
  return cuda::kSuccess;
}
cuda::Status double_cudaStreamIsCapturing(cuda::Stream handle, int* status) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Stream* stream = find_stream(s, handle);
  if (stream == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  *status = stream->capture ? cuda::kStreamCaptureStatusActive : cuda::kStreamCaptureStatusNone;
  return cuda::kSuccess;
}
cuda::Status double_cudaEventCreateWithFlags(cuda::Event* handle, unsigned /*flags*/) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  auto event = std::make_unique<Event>();
  *handle = to_handle<cuda::Event>(event.get());
  s.events.emplace(event.get(), std::move(event));
  return cuda::kSuccess;
}
cuda::Status double_cudaEventDestroy(cuda::Event handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Event* event = find_event(s, handle);
  if (event == nullptr) {
    s.violation("cudaEventDestroy of an unknown event");
    return cuda::kErrorInvalidResourceHandle;
  }
  for (auto& [pointer, stream] : s.streams) {  // a queued record must not outlive its event
    std::erase_if(stream->queue, [&](const Op& op) { return op.event == event; });
  }
  s.events.erase(event);
  return cuda::kSuccess;
}
cuda::Status double_cudaEventRecord(cuda::Event event_handle, cuda::Stream stream_handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Event* event = find_event(s, event_handle);
  Stream* stream = find_stream(s, stream_handle);
  if (event == nullptr || stream == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  Op op;
  op.kind = Op::Kind::record;
  op.event = event;
  if (!stream->capture) {
    event->pending = true;
    event->stream = stream;
  }
  enqueue(s, *stream, std::move(op));
  return cuda::kSuccess;
}
cuda::Status event_query(NodeState& s, cuda::Event handle) {
  const std::lock_guard lock(s.mutex);
  if (refused_during_capture(s)) {
    return cuda::kErrorStreamCaptureUnsupported;
  }
  Event* event = find_event(s, handle);
  if (event == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  if (event->stream != nullptr && s.config.sticky_error &&
      event->stream->device == s.config.sticky_error->device) {
    return s.config.sticky_error->error;
  }
  if (event->pending && event->stream != nullptr && s.streams.count(event->stream) > 0) {
    drive(s, *event->stream);
  }
  if (event->pending) {
    return cuda::kErrorNotReady;
  }
  ThreadState& me = s.me();
  me.host_s = std::max(me.host_s, event->time);
  return cuda::kSuccess;
}
cuda::Status double_cudaEventQuery(cuda::Event handle) {
  const cuda::Status status = event_query(node(), handle);
  if (status == cuda::kErrorNotReady) {
    std::this_thread::yield();  // the polling caller lets the other ranks run
  }
  return status;
}
cuda::Status double_cudaEventElapsedTime(float* milliseconds, cuda::Event start_handle,
                                         cuda::Event stop_handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Event* start = find_event(s, start_handle);
  Event* stop = find_event(s, stop_handle);
  if (start == nullptr || stop == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  if (start->pending || stop->pending) {
    return cuda::kErrorNotReady;
  }
  *milliseconds = static_cast<float>((stop->time - start->time) * 1e3);
  return cuda::kSuccess;
}
cuda::Status double_cudaGraphInstantiateWithFlags(cuda::GraphExec* exec, cuda::Graph handle,
                                                  unsigned long long /*flags*/) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  auto* graph = from_handle<Graph>(handle);
  if (s.graphs.count(graph) == 0) {
    return cuda::kErrorInvalidValue;
  }
  auto executable = std::make_unique<Graph>(*graph);
  *exec = to_handle<cuda::GraphExec>(executable.get());
  s.executables.emplace(executable.get(), std::move(executable));
  return cuda::kSuccess;
}
cuda::Status double_cudaGraphLaunch(cuda::GraphExec handle, cuda::Stream stream_handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  auto* executable = from_handle<Graph>(handle);
  Stream* stream = find_stream(s, stream_handle);
  if (s.executables.count(executable) == 0 || stream == nullptr) {
    return cuda::kErrorInvalidResourceHandle;
  }
  ThreadState& me = s.me();
  me.host_s += s.config.graph_launch_s;
  for (Op op : executable->ops) {
    if (op.comm != nullptr) {
      if (!op.comm->valid) {
        s.violation("cudaGraphLaunch of a graph whose communicator is gone");
        continue;
      }
      assign_sequence(op);
    }
    if (op.kind == Op::Kind::record) {
      op.event->pending = true;
      op.event->stream = stream;
    }
    enqueue(s, *stream, std::move(op));
  }
  return cuda::kSuccess;
}
cuda::Status double_cudaGraphExecDestroy(cuda::GraphExec handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  auto* executable = from_handle<Graph>(handle);
  if (s.executables.erase(executable) == 0) {
    s.violation("cudaGraphExecDestroy of an unknown executable graph");
    return cuda::kErrorInvalidValue;
  }
  return cuda::kSuccess;
}
cuda::Status double_cudaGraphDestroy(cuda::Graph handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  auto* graph = from_handle<Graph>(handle);
  if (s.graphs.erase(graph) == 0) {
    s.violation("cudaGraphDestroy of an unknown graph");
    return cuda::kErrorInvalidValue;
  }
  return cuda::kSuccess;
}

// ---- NCCL's functions ----

// Marks a communicator busy for the call; a second thread inside an NCCL call on it at the same
// time is a violation (NCCL calls on one communicator are not thread-safe).
void enter(NodeState& s, Comm& comm, const char* call) {
  const auto me = std::this_thread::get_id();
  if (comm.busy && *comm.busy != me) {
    s.violation(fmt::format(
        "{} on communicator {} (rank {}) while another thread is inside {} on it: NCCL calls on "
        "one communicator are not thread-safe",
        call, comm.index, comm.rank, comm.busy_call));
  }
  comm.busy = me;
  comm.busy_call = call;
}

void leave(Comm& comm) {
  if (comm.busy == std::this_thread::get_id()) {
    comm.busy.reset();
  }
}

// Keeps the communicator busy for a while outside the lock, so overlapping use is seen.
void hold(NodeState& s, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  std::this_thread::sleep_for(std::chrono::duration<double>(s.config.nccl_call_hold_s));
  lock.lock();
}

std::size_t live_graphs_with(const NodeState& s, const Comm* comm) {
  std::size_t count = 0;
  for (const auto* table : {&s.graphs, &s.executables}) {
    for (const auto& [handle, graph] : *table) {
      count += graph->comms.count(const_cast<Comm*>(comm));  // NOLINT
    }
  }
  return count;
}

void check_no_graphs(NodeState& s, const Comm& comm, const char* call) {
  if (const std::size_t graphs = live_graphs_with(s, &comm); graphs > 0) {
    s.violation(fmt::format(
        "{} on communicator {} (rank {}) while {} CUDA graph(s) that captured it still exist: "
        "NCCL waits until they are destroyed, forever",
        call, comm.index, comm.rank, graphs));
  }
}

nccl::Result double_ncclGetVersion(int* version) {
  *version = node().config.nccl_version_code;
  return nccl::kSuccess;
}
nccl::Result double_ncclGetUniqueId(nccl::UniqueId* id) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  std::memset(id->internal, 0, sizeof(id->internal));
  const std::uint64_t value = s.next_unique_id++;
  std::memcpy(id->internal, &value, sizeof(value));
  return nccl::kSuccess;
}
nccl::Result double_ncclCommInitRank(nccl::Comm* handle, int nranks, nccl::UniqueId id, int rank) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  if (nranks < 1 || rank < 0 || rank >= nranks) {
    return nccl::kInvalidArgument;
  }
  CommGroup* group = nullptr;
  for (auto& each : s.groups) {
    if (std::memcmp(each->key.data(), id.internal, each->key.size()) == 0) {
      group = each.get();
    }
  }
  if (group == nullptr) {
    auto created = std::make_unique<CommGroup>();
    std::memcpy(created->key.data(), id.internal, created->key.size());
    created->nranks = nranks;
    created->members.assign(static_cast<std::size_t>(nranks), nullptr);
    created->next_collective.assign(static_cast<std::size_t>(nranks), 0);
    group = created.get();
    if (const auto& failure = s.config.async_failure; failure && failure->after_collectives == 0) {
      group->async_error = failure->result;
      group->last_error = failure->last_error;
    }
    s.groups.push_back(std::move(created));
  }
  if (group->nranks != nranks || group->members[static_cast<std::size_t>(rank)] != nullptr) {
    return nccl::kInvalidUsage;
  }
  const int device = s.me().device;
  for (const Comm* member : group->members) {
    if (member != nullptr && member->device == device) {
      group->last_error = fmt::format(
          "Duplicate GPU detected : rank {} and rank {} both on CUDA "
          "device {}",
          member->rank, rank, device);
      return nccl::kInvalidUsage;
    }
  }
  auto comm = std::make_unique<Comm>();
  comm->index = s.comms.size();
  comm->group = group;
  comm->rank = rank;
  comm->device = device;
  group->members[static_cast<std::size_t>(rank)] = comm.get();
  *handle = to_handle<nccl::Comm>(comm.get());
  s.comms.push_back(std::move(comm));
  return nccl::kSuccess;
}
nccl::Result double_ncclCommFinalize(nccl::Comm handle) {
  NodeState& s = node();
  std::unique_lock lock(s.mutex);
  Comm* comm = find_comm(s, handle, "ncclCommFinalize");
  if (comm == nullptr) {
    return nccl::kInvalidArgument;
  }
  enter(s, *comm, "ncclCommFinalize");
  check_no_graphs(s, *comm, "ncclCommFinalize");
  for (auto& [pointer, stream] : s.streams) {
    drive(s, *stream);
    for (const Op& op : stream->queue) {
      if (op.comm == comm) {
        s.violation(fmt::format(
            "ncclCommFinalize on communicator {} (rank {}) with work that can never complete "
            "(a peer is gone or stalled): it blocks forever",
            comm->index, comm->rank));
      }
    }
  }
  hold(s, lock);
  leave(*comm);
  comm->end = "finalized";
  return nccl::kSuccess;
}
nccl::Result double_ncclCommDestroy(nccl::Comm handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Comm* comm = find_comm(s, handle, "ncclCommDestroy");
  if (comm == nullptr) {
    return nccl::kInvalidArgument;
  }
  check_no_graphs(s, *comm, "ncclCommDestroy");
  if (comm->end == "live") {
    comm->end = "destroyed";
  }
  comm->valid = false;
  return nccl::kSuccess;
}
nccl::Result double_ncclCommAbort(nccl::Comm handle) {
  NodeState& s = node();
  std::unique_lock lock(s.mutex);
  Comm* comm = find_comm(s, handle, "ncclCommAbort");
  if (comm == nullptr) {
    return nccl::kInvalidArgument;
  }
  enter(s, *comm, "ncclCommAbort");
  check_no_graphs(s, *comm, "ncclCommAbort");
  hold(s, lock);
  leave(*comm);
  comm->end = "aborted";
  comm->valid = false;
  for (auto& [pointer, stream] : s.streams) {  // its kernels are killed: the streams move on
    std::erase_if(stream->queue, [&](const Op& op) { return op.comm == comm; });
  }
  return nccl::kSuccess;
}
nccl::Result double_ncclCommGetAsyncError(nccl::Comm handle, nccl::Result* result) {
  NodeState& s = node();
  std::unique_lock lock(s.mutex);
  Comm* comm = find_comm(s, handle, "ncclCommGetAsyncError");
  if (comm == nullptr) {
    return nccl::kInvalidArgument;
  }
  enter(s, *comm, "ncclCommGetAsyncError");
  hold(s, lock);
  leave(*comm);
  *result = comm->group->async_error;
  return nccl::kSuccess;
}
const char* double_ncclGetErrorString(nccl::Result result) {
  switch (result) {
    case nccl::kSuccess:
      return "no error";
    case nccl::kUnhandledCudaError:
      return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case nccl::kSystemError:
      return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case nccl::kInternalError:
      return "internal error - please report this issue to the NCCL developers";
    case nccl::kInvalidArgument:
      return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case nccl::kInvalidUsage:
      return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case nccl::kRemoteError:
      return "remote process exited or there was a network error";
    case nccl::kInProgress:
      return "NCCL operation in progress";
    default:
      return "unknown result code";
  }
}
const char* double_ncclGetLastError(nccl::Comm handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  if (handle == nullptr) {
    return s.node_last_error.c_str();
  }
  auto* comm = from_handle<Comm>(handle);
  for (const auto& owned : s.comms) {
    if (owned.get() == comm) {
      return comm->group->last_error.c_str();
    }
  }
  return s.node_last_error.c_str();
}

// Checks and costs common to every enqueued NCCL call; returns the stream, or sets `result`.
Stream* begin_enqueue(NodeState& s, Comm*& comm, nccl::Comm handle, cuda::Stream stream_handle,
                      const char* call, nccl::Result& result) {
  comm = find_comm(s, handle, call);
  Stream* stream = find_stream(s, stream_handle);
  if (comm == nullptr || stream == nullptr) {
    result = nccl::kInvalidArgument;
    return nullptr;
  }
  if (stream->capture && s.config.fail_call_during_capture && !s.capture_failure_used) {
    s.capture_failure_used = true;
    comm->group->last_error = fmt::format("{}: injected failure during stream capture", call);
    result = *s.config.fail_call_during_capture;
    return nullptr;
  }
  if (!stream->capture) {  // a capture records the call; launching the graph costs the launch
    ThreadState& me = s.me();
    me.host_s += s.config.launch_s + s.config.launch_skew_s * comm->rank;
  }
  result = nccl::kSuccess;
  return stream;
}

nccl::Result enqueue_collective(const char* call, const char* function, const void* send,
                                void* receive, std::size_t count, int dtype, int reduction,
                                int root, nccl::Comm handle, cuda::Stream stream_handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  if ((dtype == nccl::kFloat8e4m3 || dtype == nccl::kFloat8e5m2)) {
    if (s.config.nccl_version_code < nccl::kFp8VersionCode) {
      return nccl::kInvalidArgument;
    }
    const bool reduces =
        std::string_view(function) == "AllReduce" || std::string_view(function) == "ReduceScatter";
    if (reduces && s.config.compute_capability < 90) {
      s.node_last_error = "FP8 reduction support begins with sm90 capable devices.";
      return nccl::kInvalidArgument;
    }
  }
  Comm* comm = nullptr;
  nccl::Result result = nccl::kSuccess;
  Stream* stream = begin_enqueue(s, comm, handle, stream_handle, call, result);
  if (stream == nullptr) {
    return result;
  }
  if (count > 0 &&
      (find_allocation(s, send, 1) == nullptr || find_allocation(s, receive, 1) == nullptr)) {
    s.violation(fmt::format("{} with a buffer outside device memory", call));
    return nccl::kInvalidArgument;
  }
  Op op;
  op.kind = Op::Kind::collective;
  op.comm = comm;
  op.function = function;
  op.send = static_cast<const std::byte*>(send);
  op.receive = static_cast<std::byte*>(receive);
  op.count = count;
  op.dtype = dtype;
  op.reduction = reduction;
  op.root = root;
  if (!stream->capture) {
    assign_sequence(op);
  }
  enqueue(s, *stream, std::move(op));
  return nccl::kSuccess;
}

nccl::Result double_ncclAllReduce(const void* send, void* receive, std::size_t count, int dtype,
                                  int reduction, nccl::Comm comm, cuda::Stream stream) {
  return enqueue_collective("ncclAllReduce", "AllReduce", send, receive, count, dtype, reduction, 0,
                            comm, stream);
}
nccl::Result double_ncclAllGather(const void* send, void* receive, std::size_t count, int dtype,
                                  nccl::Comm comm, cuda::Stream stream) {
  return enqueue_collective("ncclAllGather", "AllGather", send, receive, count, dtype, 0, 0, comm,
                            stream);
}
nccl::Result double_ncclReduceScatter(const void* send, void* receive, std::size_t count, int dtype,
                                      int reduction, nccl::Comm comm, cuda::Stream stream) {
  return enqueue_collective("ncclReduceScatter", "ReduceScatter", send, receive, count, dtype,
                            reduction, 0, comm, stream);
}
nccl::Result double_ncclBroadcast(const void* send, void* receive, std::size_t count, int dtype,
                                  int root, nccl::Comm comm, cuda::Stream stream) {
  return enqueue_collective("ncclBroadcast", "Broadcast", send, receive, count, dtype, 0, root,
                            comm, stream);
}
nccl::Result double_ncclAlltoAll(const void* send, void* receive, std::size_t count, int dtype,
                                 nccl::Comm comm, cuda::Stream stream) {
  return enqueue_collective("ncclAlltoAll", "AlltoAll", send, receive, count, dtype, 0, 0, comm,
                            stream);
}

nccl::Result enqueue_p2p(const char* call, bool send, void* buffer, std::size_t count, int dtype,
                         int peer, nccl::Comm handle, cuda::Stream stream_handle) {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  Comm* comm = nullptr;
  nccl::Result result = nccl::kSuccess;
  Stream* stream = begin_enqueue(s, comm, handle, stream_handle, call, result);
  if (stream == nullptr) {
    return result;
  }
  if (peer < 0 || peer >= comm->group->nranks) {
    return nccl::kInvalidArgument;
  }
  P2pPart part{send, peer, static_cast<std::byte*>(buffer), count * type_size(dtype), 0, false};
  ThreadState& me = s.me();
  if (me.group_depth > 0) {
    const auto open = std::find_if(me.grouped.begin(), me.grouped.end(), [&](const auto& entry) {
      return entry.first == stream && entry.second.comm == comm;
    });
    if (open != me.grouped.end()) {
      open->second.parts.push_back(part);
      return nccl::kSuccess;
    }
    Op op;
    op.kind = Op::Kind::p2p;
    op.comm = comm;
    op.parts.push_back(part);
    me.grouped.emplace_back(stream, std::move(op));
    return nccl::kSuccess;
  }
  Op op;
  op.kind = Op::Kind::p2p;
  op.comm = comm;
  op.parts.push_back(part);
  if (!stream->capture) {
    assign_sequence(op);
  }
  enqueue(s, *stream, std::move(op));
  return nccl::kSuccess;
}

nccl::Result double_ncclSend(const void* buffer, std::size_t count, int dtype, int peer,
                             nccl::Comm comm, cuda::Stream stream) {
  return enqueue_p2p("ncclSend", true, const_cast<void*>(buffer), count, dtype, peer,
                     comm,  // NOLINT
                     stream);
}
nccl::Result double_ncclRecv(void* buffer, std::size_t count, int dtype, int peer, nccl::Comm comm,
                             cuda::Stream stream) {
  return enqueue_p2p("ncclRecv", false, buffer, count, dtype, peer, comm, stream);
}
nccl::Result double_ncclGroupStart() {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  ++s.me().group_depth;
  return nccl::kSuccess;
}
nccl::Result double_ncclGroupEnd() {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  ThreadState& me = s.me();
  if (me.group_depth == 0) {
    return nccl::kInvalidUsage;
  }
  if (--me.group_depth > 0) {
    return nccl::kSuccess;
  }
  for (auto& [stream, op] : me.grouped) {
    if (!stream->capture) {
      assign_sequence(op);
    }
    enqueue(s, *stream, std::move(op));
  }
  me.grouped.clear();
  return nccl::kSuccess;
}

}  // namespace

FakeGpuNode::FakeGpuNode(FakeGpuConfig config) {
  auto* state = new NodeState(std::move(config));  // NOLINT(cppcoreguidelines-owning-memory)
  NodeState* expected = nullptr;
  if (!current.compare_exchange_strong(expected, state)) {
    delete state;  // NOLINT(cppcoreguidelines-owning-memory)
    throw std::logic_error("gpu double: one FakeGpuNode at a time");
  }
#define PREFLIGHT_DOUBLE_CUDA(name, result, parameters) cuda_.name = &double_##name;
  PREFLIGHT_CUDA_RUNTIME_FUNCTIONS(PREFLIGHT_DOUBLE_CUDA)
#undef PREFLIGHT_DOUBLE_CUDA
#define PREFLIGHT_DOUBLE_NCCL(name, result, parameters) nccl_.name = &double_##name;
  PREFLIGHT_NCCL_FUNCTIONS(PREFLIGHT_DOUBLE_NCCL)
  PREFLIGHT_NCCL_OPTIONAL_FUNCTIONS(PREFLIGHT_DOUBLE_NCCL)
#undef PREFLIGHT_DOUBLE_NCCL
  if (!state->config.alltoall_symbol) {
    nccl_.ncclAlltoAll = nullptr;
  }
  nccl_.version_code = state->config.nccl_version_code;
}

FakeGpuNode::~FakeGpuNode() {
  delete current.exchange(nullptr);  // NOLINT(cppcoreguidelines-owning-memory)
}

std::vector<std::string> FakeGpuNode::violations() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  return s.violations;
}

std::vector<std::string> FakeGpuNode::communicator_ends() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  std::vector<std::string> ends;
  for (const auto& comm : s.comms) {
    ends.push_back(comm->end);
  }
  return ends;
}

std::size_t FakeGpuNode::live_allocations() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  return s.allocations.size();
}

std::size_t FakeGpuNode::live_graphs() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  return s.graphs.size() + s.executables.size();
}

std::size_t FakeGpuNode::live_streams() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  return s.streams.size();
}

std::size_t FakeGpuNode::collectives_executed() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  return s.collectives_executed;
}

double FakeGpuNode::host_time() const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  return s.me().host_s;
}

void FakeGpuNode::set_host_time(double seconds) const {
  NodeState& s = node();
  const std::lock_guard lock(s.mutex);
  s.me().host_s = seconds;
}

void FakeGpuNode::enqueue_unordered_copy(void* device, const void* host, std::size_t bytes) const {
  cuda::Stream stream = nullptr;
  double_cudaStreamCreateWithFlags(&stream, cuda::kStreamNonBlocking);
  double_cudaMemcpyAsync(device, host, bytes, cuda::kMemcpyHostToDevice, stream);
}

void SyncedClockBootstrap::sync_clocks() {
  const double mine = node_.host_time();
  const auto all = inner_->allgather(std::as_bytes(std::span<const double, 1>(&mine, 1)));
  double latest = mine;
  for (const auto& bytes : all) {
    double value = 0;
    std::memcpy(&value, bytes.data(), sizeof value);
    latest = std::max(latest, value);
  }
  node_.set_host_time(latest);
}

void SyncedClockBootstrap::barrier() {
  inner_->barrier();
  sync_clocks();
}

std::vector<std::vector<std::byte>> SyncedClockBootstrap::allgather(
    std::span<const std::byte> mine) {
  auto gathered = inner_->allgather(mine);
  sync_clocks();
  return gathered;
}

void SyncedClockBootstrap::broadcast(std::span<std::byte> data, int root) {
  inner_->broadcast(data, root);
  sync_clocks();
}

std::vector<std::unique_ptr<Bootstrap>> make_synced_bootstraps(int count, const FakeGpuNode& node) {
  std::vector<std::unique_ptr<Bootstrap>> wrapped;
  for (auto& inner : make_thread_group_bootstraps(count)) {
    wrapped.push_back(std::make_unique<SyncedClockBootstrap>(std::move(inner), node));
  }
  return wrapped;
}

}  // namespace preflight::testing
