// The collectives: one entry per collective (name, binary, whether it reduces or has a
// root), its per-rank buffer layout as nccl-tests lays it out (the `size` and `count` columns of
// its table mean the same here), and the one place where algorithm and bus bandwidth are computed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace preflight {

enum class CollectiveKind { all_reduce, all_gather, reduce_scatter, broadcast, alltoall };

// `none` is the op of the collectives that move data without reducing it (nccl-tests prints it).
enum class ReduceOp { sum, prod, min, max, avg, none };

struct CollectiveInfo {
  CollectiveKind kind;
  std::string_view name;  // nccl-tests' name without "_perf": all_reduce, all_gather, ...
  std::string_view tool;  // the binary: preflight-allreduce, ...
  bool reduces;           // takes a reduction op
  bool rooted;            // takes a root (broadcast)
};

[[nodiscard]] const CollectiveInfo& collective_info(CollectiveKind kind);
[[nodiscard]] std::span<const CollectiveInfo> all_collectives();
[[nodiscard]] std::optional<CollectiveKind> parse_collective(std::string_view name);

[[nodiscard]] std::string_view to_string(ReduceOp op);
[[nodiscard]] std::optional<ReduceOp> parse_reduce_op(std::string_view name);
inline constexpr std::array kReductionOps{ReduceOp::sum, ReduceOp::prod, ReduceOp::min,
                                          ReduceOp::max, ReduceOp::avg};

// Element counts of one call on one rank, as nccl-tests' getCollByteCount defines them. Offsets
// are in elements and are multiplied by the rank: in place, the input of rank r starts at
// recv + r * send_inplace_offset and its output at recv + r * recv_inplace_offset.
struct CollectiveLayout {
  std::uint64_t send_count = 0;   // elements of this rank's input
  std::uint64_t recv_count = 0;   // elements of this rank's output
  std::uint64_t param_count = 0;  // the count argument of the call: nccl-tests' `count` column
  std::uint64_t send_inplace_offset = 0;
  std::uint64_t recv_inplace_offset = 0;
  std::size_t element_bytes = 1;
  // nccl-tests' `size` column: the larger of the input and output bytes of one rank. It is also
  // the byte count algbw divides by time, for every collective.
  [[nodiscard]] std::uint64_t size_bytes() const;
  friend bool operator==(const CollectiveLayout&, const CollectiveLayout&) = default;
};

// The layout of a requested size: all_reduce and broadcast move size/element_bytes elements;
// all_gather, reduce_scatter and alltoall split the size over the ranks and round each rank's
// share down to a multiple of 16 bytes (so a size can shrink, possibly to 0).
[[nodiscard]] CollectiveLayout collective_layout(CollectiveKind kind, std::uint64_t size_bytes,
                                                 std::size_t element_bytes, int ranks);

// nccl-tests' bus bandwidth factors: all_reduce 2(n-1)/n; all_gather, reduce_scatter and alltoall
// (n-1)/n; broadcast 1.
[[nodiscard]] double busbw_factor(CollectiveKind kind, int ranks);

// The same factor for any nccl-tests benchmark by name, also those preflight does not run (reduce,
// gather, scatter: (n-1)/n or 1; sendrecv, hypercube: 1), as the importer meets them; 0 for an
// unknown name or fewer than one rank.
[[nodiscard]] double nccl_tests_busbw_factor(std::string_view benchmark, int ranks);

// The inverse, for a benchmark whose factor grows with the ranks as L(n-1)/n (all_reduce: L = 2;
// the gathers, scatters and alltoall: L = 1): the real n whose factor is `factor`, 1 at or below
// 0 and infinity at or above L. nullopt for a benchmark whose factor does not depend on the ranks
// (broadcast, reduce, sendrecv, hypercube), or an unknown one: its factor says nothing of n.
[[nodiscard]] std::optional<double> nccl_tests_ranks_for_factor(std::string_view benchmark,
                                                                double factor);

struct Bandwidth {
  double algbw_Bps = 0;  // size_bytes / time
  double busbw_Bps = 0;  // algbw * factor
  double factor = 0;
};

// The one place algbw and busbw are computed. A zero or negative time gives zero bandwidths
// (a 0-byte row), never infinity.
[[nodiscard]] Bandwidth compute_bandwidth(CollectiveKind kind, const CollectiveLayout& layout,
                                          int ranks, double time_s);

}  // namespace preflight
