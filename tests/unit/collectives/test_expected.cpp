// The closed-form expected results against a brute-force simulation of the ranks, for every
// collective, data type and op, at power-of-two, odd and large rank counts; and the exactness of
// every value in its data type.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "collectives/expected.hpp"
#include "test_support.hpp"

namespace preflight::collectives {
namespace {

using testing_support::decode_element;

// The value survives a round trip through the data type unchanged.
bool exact_in(DataType dtype, std::int64_t value) {
  std::byte buffer[8];
  encode_element(dtype, value, buffer);
  return decode_element(dtype, buffer) == value;
}

std::int64_t simulate(CollectiveKind kind, ReduceOp op, const ReferenceData& reference,
                      const CollectiveLayout& layout, int ranks, int root, int rank,
                      std::uint64_t index) {
  const std::uint64_t chunk = layout.param_count;
  const auto input = [&](int source, std::uint64_t i) {
    return reference.input_value(source, i, layout);
  };
  if (kind == CollectiveKind::all_reduce || kind == CollectiveKind::reduce_scatter) {
    const std::uint64_t global = kind == CollectiveKind::all_reduce
                                     ? index
                                     : static_cast<std::uint64_t>(rank) * chunk + index;
    std::int64_t result = input(0, global);
    for (int source = 1; source < ranks; ++source) {
      const std::int64_t value = input(source, global);
      switch (op) {
        case ReduceOp::sum:
        case ReduceOp::avg:
          result += value;
          break;
        case ReduceOp::prod:
          result *= value;
          break;
        case ReduceOp::min:
          result = std::min(result, value);
          break;
        case ReduceOp::max:
          result = std::max(result, value);
          break;
        case ReduceOp::none:
          break;
      }
    }
    if (op == ReduceOp::avg) {
      EXPECT_EQ(result % ranks, 0) << "the average must be exact";
      result /= ranks;
    }
    return result;
  }
  if (kind == CollectiveKind::all_gather) {
    return input(static_cast<int>(index / chunk), index % chunk);
  }
  if (kind == CollectiveKind::broadcast) {
    return input(root, index);
  }
  // alltoall: block s of my output is block `rank` of rank s's input.
  return input(static_cast<int>(index / chunk),
               static_cast<std::uint64_t>(rank) * chunk + index % chunk);
}

void check_against_simulation(CollectiveKind kind, DataType dtype, ReduceOp op, int ranks,
                              std::uint64_t size_bytes) {
  SCOPED_TRACE(testing::Message() << collective_info(kind).name << " " << to_string(dtype) << " "
                                  << to_string(op) << " ranks=" << ranks);
  const int root = ranks - 1;
  const ReferenceData reference(kind, dtype, op, ranks, root);
  if (reference.inexact_reason()) {
    return;  // checked separately
  }
  const CollectiveLayout layout = collective_layout(kind, size_bytes, element_bytes(dtype), ranks);
  for (int rank = 0; rank < ranks; ++rank) {
    for (std::uint64_t i = 0; i < layout.send_count; ++i) {
      const std::int64_t value = reference.input_value(rank, i, layout);
      ASSERT_TRUE(exact_in(dtype, value)) << "input " << value << " rank " << rank << " i " << i;
    }
    std::vector<std::byte> output(layout.recv_count * element_bytes(dtype));
    for (std::uint64_t i = 0; i < layout.recv_count; ++i) {
      const std::int64_t expected = simulate(kind, op, reference, layout, ranks, root, rank, i);
      ASSERT_EQ(reference.expected_value(rank, i, layout), expected)
          << "rank " << rank << " i " << i;
      ASSERT_TRUE(exact_in(dtype, expected)) << expected;
      encode_element(dtype, expected, output.data() + i * element_bytes(dtype));
    }
    EXPECT_EQ(reference.count_wrong(rank, layout, output), 0U);
    if (!output.empty()) {
      output[0] ^= std::byte{1};  // what PREFLIGHT_FAULT_FLIP_RANK does
      EXPECT_EQ(reference.count_wrong(rank, layout, output), 1U);
    }
    // No correct result ever equals the poison, so an unwritten output is all wrong.
    reference.fill_poison(output);
    EXPECT_EQ(reference.count_wrong(rank, layout, output), layout.recv_count);
  }
}

std::vector<ReduceOp> ops_of(CollectiveKind kind) {
  if (collective_info(kind).reduces) {
    return {kReductionOps.begin(), kReductionOps.end()};
  }
  return {ReduceOp::none};
}

TEST(ReferenceData, MatchesSimulationForEveryCollectiveTypeAndOp) {
  for (const auto& info : all_collectives()) {
    for (const DataType dtype : kAllDataTypes) {
      for (const ReduceOp op : ops_of(info.kind)) {
        for (const int ranks : {1, 2, 3, 4, 5, 8}) {
          check_against_simulation(info.kind, dtype, op, ranks, 1024);
        }
      }
    }
  }
}

TEST(ReferenceData, StaysExactBeyondTheTypesIntegerRange) {
  // More ranks than int8, uint8 or bfloat16 can count: sparse patterns keep every result exact.
  for (const DataType dtype :
       {DataType::int8, DataType::uint8, DataType::bfloat16, DataType::half}) {
    for (const ReduceOp op : {ReduceOp::sum, ReduceOp::prod, ReduceOp::min, ReduceOp::max}) {
      for (const int ranks : {17, 63, 130, 300}) {
        check_against_simulation(CollectiveKind::all_reduce, dtype, op, ranks, 96);
      }
    }
  }
  check_against_simulation(CollectiveKind::reduce_scatter, DataType::bfloat16, ReduceOp::sum, 40,
                           40 * 16);
  check_against_simulation(CollectiveKind::all_reduce, DataType::bfloat16, ReduceOp::avg, 16, 64);
  check_against_simulation(CollectiveKind::all_reduce, DataType::half, ReduceOp::avg, 45, 64);
}

TEST(ReferenceData, AverageBeyondTheRangeIsDeclaredInexact) {
  EXPECT_FALSE(ReferenceData(CollectiveKind::all_reduce, DataType::bfloat16, ReduceOp::avg, 256, 0)
                   .inexact_reason()
                   .has_value());
  const ReferenceData beyond(CollectiveKind::all_reduce, DataType::bfloat16, ReduceOp::avg, 257, 0);
  ASSERT_TRUE(beyond.inexact_reason().has_value());
  EXPECT_NE(beyond.inexact_reason()->find("bfloat16"), std::string::npos);
  EXPECT_TRUE(ReferenceData(CollectiveKind::all_reduce, DataType::int8, ReduceOp::avg, 127, 0)
                  .inexact_reason()
                  .has_value());
  EXPECT_FALSE(ReferenceData(CollectiveKind::all_reduce, DataType::float32, ReduceOp::avg, 4096, 0)
                   .inexact_reason()
                   .has_value());
}

TEST(ReferenceData, DataIsNotTrivial) {
  // Values vary along the buffer and between ranks, so misplaced chunks are caught.
  const CollectiveLayout layout = collective_layout(CollectiveKind::all_gather, 4096, 4, 4);
  const ReferenceData reference(CollectiveKind::all_gather, DataType::float32, ReduceOp::none, 4,
                                0);
  EXPECT_NE(reference.input_value(0, 0, layout), reference.input_value(0, 1, layout));
  EXPECT_NE(reference.input_value(0, 0, layout), reference.input_value(1, 0, layout));
  EXPECT_NE(reference.expected_value(0, 0, layout),
            reference.expected_value(0, layout.param_count, layout));
  // Signed types straddle zero for min/max; sums are dense small integers on few ranks.
  const CollectiveLayout reduce = collective_layout(CollectiveKind::all_reduce, 1024, 4, 4);
  const ReferenceData minimum(CollectiveKind::all_reduce, DataType::int32, ReduceOp::min, 4, 0);
  EXPECT_LT(minimum.input_value(0, 0, reduce), 0);
  const ReferenceData sum(CollectiveKind::all_reduce, DataType::float32, ReduceOp::sum, 4, 0);
  EXPECT_EQ(sum.pattern().modulus, 61);
  EXPECT_GT(sum.expected_value(0, 10, reduce), 0);
}

TEST(ReferenceData, FillInputMatchesInputValue) {
  const CollectiveLayout layout = collective_layout(CollectiveKind::reduce_scatter, 256, 2, 4);
  const ReferenceData reference(CollectiveKind::reduce_scatter, DataType::half, ReduceOp::max, 4,
                                0);
  std::vector<std::byte> input(layout.send_count * 2);
  reference.fill_input(2, layout, input);
  for (std::uint64_t i = 0; i < layout.send_count; ++i) {
    EXPECT_EQ(decode_element(DataType::half, input.data() + i * 2),
              reference.input_value(2, i, layout));
  }
}

}  // namespace
}  // namespace preflight::collectives
