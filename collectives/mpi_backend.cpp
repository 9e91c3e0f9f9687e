#include "collectives/mpi_backend.hpp"

#include <fmt/format.h>

#include <array>
#include <climits>
#include <cstdint>
#include <cstring>
#include <utility>

#include "common/error.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"

namespace preflight::collectives {
namespace {

MPI_Datatype mpi_datatype(DataType dtype) {
  switch (dtype) {
    case DataType::int8:
      return MPI_INT8_T;
    case DataType::uint8:
      return MPI_UINT8_T;
    case DataType::int32:
      return MPI_INT32_T;
    case DataType::uint32:
      return MPI_UINT32_T;
    case DataType::int64:
      return MPI_INT64_T;
    case DataType::uint64:
      return MPI_UINT64_T;
    case DataType::half:
    case DataType::bfloat16:
      return MPI_UINT16_T;  // 16-bit floats travel as opaque 16-bit words
    case DataType::float32:
      return MPI_FLOAT;
    case DataType::float64:
      return MPI_DOUBLE;
    case DataType::fp8_e4m3:
    case DataType::fp8_e5m2:
      return MPI_BYTE;  // never called: unsupported()
  }
  return MPI_BYTE;
}

MPI_Op mpi_builtin_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg:  // MPI has no average: sum, then divide (divide_by_ranks)
      return MPI_SUM;
    case ReduceOp::prod:
      return MPI_PROD;
    case ReduceOp::min:
      return MPI_MIN;
    case ReduceOp::max:
      return MPI_MAX;
    case ReduceOp::none:
      break;
  }
  return MPI_OP_NULL;
}

template <DataType Type>
float decode16(std::uint16_t bits) {
  if constexpr (Type == DataType::half) {
    return float_from_half(bits);
  } else {
    return float_from_bfloat16(bits);
  }
}

template <DataType Type>
std::uint16_t encode16(float value) {
  if constexpr (Type == DataType::half) {
    return half_from_float(value);
  } else {
    return bfloat16_from_float(value);
  }
}

// inout[i] = in[i] (op) inout[i] for 16-bit floats, computed in float and rounded once: exact
// for the integer-valued check data, and the same rounding a GPU reduction applies.
template <DataType Type, ReduceOp Op>
// NOLINTNEXTLINE(readability-non-const-parameter): MPI_User_function's signature
void reduce_16bit(void* in, void* inout, int* length, MPI_Datatype* /*datatype*/) {
  const auto* a = static_cast<const std::uint16_t*>(in);
  auto* b = static_cast<std::uint16_t*>(inout);
  for (int i = 0; i < *length; ++i) {
    const float x =
        decode16<Type>(a[i]);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    const float y =
        decode16<Type>(b[i]);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    float result = 0;
    if constexpr (Op == ReduceOp::sum || Op == ReduceOp::avg) {
      result = x + y;
    } else if constexpr (Op == ReduceOp::prod) {
      result = x * y;
    } else if constexpr (Op == ReduceOp::min) {
      result = y < x ? y : x;
    } else {
      result = y > x ? y : x;
    }
    b[i] = encode16<Type>(result);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
  }
}

template <DataType Type>
MPI_User_function* reduce_16bit_function(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
    case ReduceOp::avg:
      return &reduce_16bit<Type, ReduceOp::sum>;
    case ReduceOp::prod:
      return &reduce_16bit<Type, ReduceOp::prod>;
    case ReduceOp::min:
      return &reduce_16bit<Type, ReduceOp::min>;
    case ReduceOp::max:
      return &reduce_16bit<Type, ReduceOp::max>;
    case ReduceOp::none:
      break;
  }
  return nullptr;
}

template <typename T>
void divide_elements(std::byte* data, std::size_t count, int divisor) {
  for (std::size_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, data + i * sizeof(T), sizeof(T));
    value = static_cast<T>(value / divisor);
    std::memcpy(data + i * sizeof(T), &value, sizeof(T));
  }
}

template <DataType Type>
void divide_16bit(std::byte* data, std::size_t count, int divisor) {
  for (std::size_t i = 0; i < count; ++i) {
    std::uint16_t bits = 0;
    std::memcpy(&bits, data + i * 2, 2);
    bits = encode16<Type>(decode16<Type>(bits) / static_cast<float>(divisor));
    std::memcpy(data + i * 2, &bits, 2);
  }
}

}  // namespace

MpiUserOp::MpiUserOp(MPI_User_function* function, bool commutative) {
  check_mpi(MPI_Op_create(function, commutative ? 1 : 0, &op_), "MPI_Op_create", "");
}

MpiUserOp::MpiUserOp(MpiUserOp&& other) noexcept : op_(std::exchange(other.op_, MPI_OP_NULL)) {}

MpiUserOp& MpiUserOp::operator=(MpiUserOp&& other) noexcept {
  if (this != &other) {
    this->~MpiUserOp();
    op_ = std::exchange(other.op_, MPI_OP_NULL);
  }
  return *this;
}

MpiUserOp::~MpiUserOp() {
  if (op_ == MPI_OP_NULL) {
    return;
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized == 0) {
    MPI_Op_free(&op_);
  }
  op_ = MPI_OP_NULL;
}

MpiBackend::MpiBackend(MPI_Comm world, int color, int key) : HostMemoryBackend(Convention::mpi) {
  MPI_Comm group = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split(world, color, key, &group), "MPI_Comm_split",
            fmt::format("color={}, key={}", color, key));
  group_ = MpiCommunicator(group);
  check_mpi(MPI_Comm_set_errhandler(group, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
            "collective comm");
  check_mpi(MPI_Comm_rank(group, &rank_), "MPI_Comm_rank", "collective comm");
  check_mpi(MPI_Comm_size(group, &size_), "MPI_Comm_size", "collective comm");
}

nlohmann::json MpiBackend::describe() const {
  return {
      {"memory", "host"}, {"mpi_library", mpi_library_version()}, {"clock", clock().describe()}};
}

std::optional<std::string> MpiBackend::unsupported(const CollectiveCall& call) const {
  if (is_fp8(call.dtype)) {
    return std::string("MPI has no 8-bit floating-point type (FP8 runs on --backend nccl)");
  }
  if (call.layout.param_count > static_cast<std::uint64_t>(INT_MAX)) {
    return fmt::format("{} elements per call exceed MPI's int count", call.layout.param_count);
  }
  return std::nullopt;
}

void MpiBackend::prepare(const CollectiveCall& call) {
  HostMemoryBackend::prepare(call);
  datatype_ = mpi_datatype(call.dtype);
  const CallPlacement& p = placement();
  bound_ = {.send = call.in_place ? MPI_IN_PLACE : address(p.call_send),
            .recv = address(p.call_recv),
            .broadcast = rank_ == call.root ? address(p.input) : address(p.output),
            .count = static_cast<int>(call.layout.param_count),
            .root = call.root,
            .kind = call.kind,
            .divides = call.op == ReduceOp::avg};
  op_ = MPI_OP_NULL;
  user_op_ = MpiUserOp();
  if (!collective_info(call.kind).reduces) {
    return;
  }
  if (call.dtype == DataType::half) {
    user_op_ = MpiUserOp(reduce_16bit_function<DataType::half>(call.op), true);
    op_ = user_op_.get();
  } else if (call.dtype == DataType::bfloat16) {
    user_op_ = MpiUserOp(reduce_16bit_function<DataType::bfloat16>(call.op), true);
    op_ = user_op_.get();
  } else {
    op_ = mpi_builtin_op(call.op);
  }
}

int MpiBackend::call_mpi() const {
  const BoundCall& b = bound_;
  MPI_Comm comm = group_.get();
  switch (b.kind) {
    case CollectiveKind::all_reduce:
      return MPI_Allreduce(b.send, b.recv, b.count, datatype_, op_, comm);
    case CollectiveKind::all_gather:
      return MPI_Allgather(b.send, b.count, datatype_, b.recv, b.count, datatype_, comm);
    case CollectiveKind::reduce_scatter:
      return MPI_Reduce_scatter_block(b.send, b.recv, b.count, datatype_, op_, comm);
    case CollectiveKind::broadcast:
      return MPI_Bcast(b.broadcast, b.count, datatype_, b.root, comm);
    case CollectiveKind::alltoall:
      return MPI_Alltoall(b.send, b.count, datatype_, b.recv, b.count, datatype_, comm);
  }
  return MPI_ERR_OTHER;  // unreachable: every kind is handled above
}

void MpiBackend::check_call(int result) const {
  if (result == MPI_SUCCESS) [[likely]] {
    return;
  }
  std::string_view name = "MPI_Allreduce";
  switch (bound_.kind) {
    case CollectiveKind::all_reduce:
      break;
    case CollectiveKind::all_gather:
      name = "MPI_Allgather";
      break;
    case CollectiveKind::reduce_scatter:
      name = "MPI_Reduce_scatter_block";
      break;
    case CollectiveKind::broadcast:
      name = "MPI_Bcast";
      break;
    case CollectiveKind::alltoall:
      name = "MPI_Alltoall";
      break;
  }
  check_mpi(result, name, fmt::format("{} elements", bound_.count));
}

void MpiBackend::run() {
  const int result = call_mpi();
  check_call(result);
  if (bound_.divides) {
    divide_by_ranks();
  }
}

IterationTime MpiBackend::run_timed() {
  const SampleClock::Ticks start = clock().now();
  const int result = call_mpi();
  if (bound_.divides && result == MPI_SUCCESS) {
    divide_by_ranks();
  }
  const SampleClock::Ticks end = clock().now();
  check_call(result);
  const double elapsed_s = clock().seconds(start, end);
  return {elapsed_s, elapsed_s};
}

void MpiBackend::divide_by_ranks() {
  std::byte* data = address(placement().output);
  const std::size_t count = call().layout.recv_count;
  switch (call().dtype) {
    case DataType::int8:
      return divide_elements<std::int8_t>(data, count, size_);
    case DataType::uint8:
      return divide_elements<std::uint8_t>(data, count, size_);
    case DataType::int32:
      return divide_elements<std::int32_t>(data, count, size_);
    case DataType::uint32:
      return divide_elements<std::uint32_t>(data, count, size_);
    case DataType::int64:
      return divide_elements<std::int64_t>(data, count, size_);
    case DataType::uint64:
      return divide_elements<std::uint64_t>(data, count, size_);
    case DataType::half:
      return divide_16bit<DataType::half>(data, count, size_);
    case DataType::bfloat16:
      return divide_16bit<DataType::bfloat16>(data, count, size_);
    case DataType::float32:
      return divide_elements<float>(data, count, size_);
    case DataType::float64:
      return divide_elements<double>(data, count, size_);
    case DataType::fp8_e4m3:
    case DataType::fp8_e5m2:
      return;  // never called: unsupported()
  }
}

MpiMaxReducer::MpiMaxReducer(MPI_Comm world) {
  MPI_Comm duplicate = MPI_COMM_NULL;
  check_mpi(MPI_Comm_dup(world, &duplicate), "MPI_Comm_dup", "time reducer");
  comm_ = MpiCommunicator(duplicate);
  check_mpi(MPI_Comm_set_errhandler(duplicate, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
            "time reducer");
}

void MpiMaxReducer::operator()(std::span<double> values) const {
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE,
                          MPI_MAX, comm_.get()),
            "MPI_Allreduce", "per-iteration time, MPI_MAX");
}

std::string mpi_library_version() {
  std::array<char, MPI_MAX_LIBRARY_VERSION_STRING> text{};
  int length = 0;
  if (MPI_Get_library_version(text.data(), &length) != MPI_SUCCESS) {
    return "";
  }
  std::string version(text.data(), static_cast<std::size_t>(length));
  const auto newline = version.find_first_of("\n,");
  return std::string(trim(std::string_view(version).substr(0, newline)));
}

}  // namespace preflight::collectives
