// Check data: the input every rank contributes and the exact result every rank must receive, for
// every collective, data type, op and rank count. All values are integers chosen so that every
// partial result stays exactly representable in the data type whatever order the reduction takes
// (half holds integers up to 2048 exactly, bfloat16 only up to 256, int8 up to 127, f8e4m3 up to
// 16, f8e5m2 up to 8):
//
//   sum   inputs h((rank + index) mod P) with h(k) = k for k < M, else 0; M and P are picked so the
//         largest possible sum over all ranks stays within the type's exact integer range (few
//         ranks: dense small integers; more ranks than the range: sparse 0/1).
//   avg   defined as the sum divided by the rank count, where that is exact: inputs are
//         ranks * h(...), so the sum is ranks * S and the average exactly S. (MPI has no average:
//         its backend sums with MPI_SUM and divides each element by the rank count. NCCL
//         pre-multiplies floating-point inputs by 1/ranks, which still rounds to exactly h here.)
//         Beyond the type's integer range (e.g. bfloat16 over more than 256 ranks) it cannot be
//         exact, and the check is skipped with that reason.
//   prod  inputs 2 where (rank + index) mod P == 0, else 1: results are powers of two, kept below
//         the type's largest exact power.
//   min, max   inputs ((rank + index) mod M) - offset, signed types centred on zero.
//   data movement (all_gather, broadcast, alltoall)   ((index + 7 * rank) mod M) - offset, so
//         the chunks of different ranks differ.
//
// Expected values come from closed forms (O(1) per element), never from simulating the ranks, so
// checking stays cheap at any rank count. Comparison is bit-exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "domain/collective.hpp"
#include "domain/dtype.hpp"

namespace preflight::collectives {

class ReferenceData {
 public:
  ReferenceData(CollectiveKind kind, DataType dtype, ReduceOp op, int ranks, int root);

  // Why results cannot be checked bit-exactly (avg beyond the type's exact range); nullopt when
  // they can.
  [[nodiscard]] const std::optional<std::string>& inexact_reason() const { return inexact_; }

  // Exact value of element `index` of `rank`'s input (layout.send_count elements).
  [[nodiscard]] std::int64_t input_value(int rank, std::uint64_t index,
                                         const CollectiveLayout& layout) const;
  // Exact value of element `index` of `rank`'s output (layout.recv_count elements).
  [[nodiscard]] std::int64_t expected_value(int rank, std::uint64_t index,
                                            const CollectiveLayout& layout) const;

  // `out` holds layout.send_count elements of the data type.
  void fill_input(int rank, const CollectiveLayout& layout, std::span<std::byte> out) const;
  // `out` holds layout.recv_count elements: values no correct result ever has (the type's minimum
  // for signed integers, maximum for unsigned, NaN for floating point), so an output the
  // collective never wrote is caught.
  void fill_poison(std::span<std::byte> out) const;
  // Number of elements of `actual` (layout.recv_count elements) whose bits differ from the
  // expected result.
  [[nodiscard]] std::uint64_t count_wrong(int rank, const CollectiveLayout& layout,
                                          std::span<const std::byte> actual) const;

  // The pattern parameters, for tests and the report.
  struct Pattern {
    std::uint64_t period = 1;  // P
    std::int64_t modulus = 1;  // M
    std::int64_t scale = 1;    // avg: inputs are scale * h
    std::int64_t offset = 0;   // min/max/movement: subtracted so signed values straddle zero
  };
  [[nodiscard]] const Pattern& pattern() const { return pattern_; }
  [[nodiscard]] DataType dtype() const { return dtype_; }

 private:
  [[nodiscard]] std::int64_t reduced(std::uint64_t global_index) const;
  [[nodiscard]] std::int64_t reduction_input(int rank, std::uint64_t global_index) const;
  [[nodiscard]] std::int64_t movement_value(int rank, std::uint64_t index) const;

  CollectiveKind kind_;
  DataType dtype_;
  ReduceOp op_;
  int ranks_;
  int root_;
  Pattern pattern_;
  std::optional<std::string> inexact_;
};

// Writes `value` (exactly representable by construction) as one element of `dtype`.
void encode_element(DataType dtype, std::int64_t value, std::byte* out);

}  // namespace preflight::collectives
