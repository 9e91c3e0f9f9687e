#include "domain/collective.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>

namespace preflight {
namespace {

constexpr std::array kCollectives{
    CollectiveInfo{CollectiveKind::all_reduce, "all_reduce", "preflight-allreduce", true, false},
    CollectiveInfo{CollectiveKind::all_gather, "all_gather", "preflight-allgather", false, false},
    CollectiveInfo{CollectiveKind::reduce_scatter, "reduce_scatter", "preflight-reducescatter",
                   true, false},
    CollectiveInfo{CollectiveKind::broadcast, "broadcast", "preflight-broadcast", false, true},
    CollectiveInfo{CollectiveKind::alltoall, "alltoall", "preflight-alltoall", false, false},
};

// Each rank's share rounded down to a multiple of 16 bytes, as nccl-tests does, so that every
// chunk stays aligned for vectorised kernels.
std::uint64_t aligned_share(std::uint64_t count, std::size_t element_bytes, int ranks) {
  const std::uint64_t per_rank = count / static_cast<std::uint64_t>(ranks);
  const std::uint64_t elements_per_16_bytes = std::max<std::uint64_t>(1, 16 / element_bytes);
  return per_rank - per_rank % elements_per_16_bytes;
}

}  // namespace

std::uint64_t CollectiveLayout::size_bytes() const {
  return std::max(send_count, recv_count) * element_bytes;
}

const CollectiveInfo& collective_info(CollectiveKind kind) {
  for (const auto& info : kCollectives) {
    if (info.kind == kind) {
      return info;
    }
  }
  throw std::out_of_range("unknown collective");
}

std::span<const CollectiveInfo> all_collectives() {
  return kCollectives;
}

std::optional<CollectiveKind> parse_collective(std::string_view name) {
  for (const auto& info : kCollectives) {
    if (info.name == name || info.tool == name) {
      return info.kind;
    }
  }
  return std::nullopt;
}

std::string_view to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum:
      return "sum";
    case ReduceOp::prod:
      return "prod";
    case ReduceOp::min:
      return "min";
    case ReduceOp::max:
      return "max";
    case ReduceOp::avg:
      return "avg";
    case ReduceOp::none:
      return "none";
  }
  return "none";
}

std::optional<ReduceOp> parse_reduce_op(std::string_view name) {
  for (const ReduceOp op : {ReduceOp::sum, ReduceOp::prod, ReduceOp::min, ReduceOp::max,
                            ReduceOp::avg, ReduceOp::none}) {
    if (to_string(op) == name) {
      return op;
    }
  }
  return std::nullopt;
}

CollectiveLayout collective_layout(CollectiveKind kind, std::uint64_t size_bytes,
                                   std::size_t element_bytes, int ranks) {
  if (ranks < 1 || element_bytes == 0) {
    throw std::invalid_argument("collective_layout: ranks and element size must be positive");
  }
  const std::uint64_t count = size_bytes / element_bytes;
  const auto n = static_cast<std::uint64_t>(ranks);
  CollectiveLayout layout;
  layout.element_bytes = element_bytes;
  switch (kind) {
    case CollectiveKind::all_reduce:
    case CollectiveKind::broadcast:
      layout.send_count = layout.recv_count = layout.param_count = count;
      break;
    case CollectiveKind::all_gather: {
      const std::uint64_t share = aligned_share(count, element_bytes, ranks);
      layout.send_count = share;
      layout.recv_count = share * n;
      layout.param_count = share;
      layout.send_inplace_offset = share;  // my input sits in my slot of the output
      break;
    }
    case CollectiveKind::reduce_scatter: {
      const std::uint64_t share = aligned_share(count, element_bytes, ranks);
      layout.send_count = share * n;
      layout.recv_count = share;
      layout.param_count = share;
      layout.recv_inplace_offset = share;  // my output is my slot of the input
      break;
    }
    case CollectiveKind::alltoall: {
      const std::uint64_t share = aligned_share(count, element_bytes, ranks);
      layout.send_count = layout.recv_count = share * n;
      layout.param_count = share;  // elements sent to each peer
      break;
    }
  }
  return layout;
}

double busbw_factor(CollectiveKind kind, int ranks) {
  const double n = ranks;
  switch (kind) {
    case CollectiveKind::all_reduce:
      return 2.0 * (n - 1.0) / n;
    case CollectiveKind::all_gather:
    case CollectiveKind::reduce_scatter:
    case CollectiveKind::alltoall:
      return (n - 1.0) / n;
    case CollectiveKind::broadcast:
      return 1.0;
  }
  return 1.0;
}

double nccl_tests_busbw_factor(std::string_view benchmark, int ranks) {
  if (ranks < 1) {
    return 0;
  }
  for (const auto& info : kCollectives) {
    if (info.name == benchmark) {
      return busbw_factor(info.kind, ranks);
    }
  }
  const double n = ranks;
  if (benchmark == "gather" || benchmark == "scatter") {
    return (n - 1) / n;
  }
  if (benchmark == "reduce" || benchmark == "sendrecv" || benchmark == "hypercube") {
    return 1;
  }
  return 0;
}

std::optional<double> nccl_tests_ranks_for_factor(std::string_view benchmark, double factor) {
  // L(n-1)/n is L/2 at two ranks; a factor equal at one and two ranks does not scale with n.
  const double at_two = nccl_tests_busbw_factor(benchmark, 2);
  if (at_two == nccl_tests_busbw_factor(benchmark, 1)) {
    return std::nullopt;
  }
  const double limit = 2 * at_two;
  if (factor <= 0) {
    return 1.0;
  }
  if (factor >= limit) {
    return std::numeric_limits<double>::infinity();
  }
  return limit / (limit - factor);
}

Bandwidth compute_bandwidth(CollectiveKind kind, const CollectiveLayout& layout, int ranks,
                            double time_s) {
  Bandwidth bandwidth;
  bandwidth.factor = busbw_factor(kind, ranks);
  if (time_s > 0) {
    bandwidth.algbw_Bps = static_cast<double>(layout.size_bytes()) / time_s;
    bandwidth.busbw_Bps = bandwidth.algbw_Bps * bandwidth.factor;
  }
  return bandwidth;
}

}  // namespace preflight
