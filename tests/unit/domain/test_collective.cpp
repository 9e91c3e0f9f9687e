#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string_view>

#include "domain/collective.hpp"
#include "domain/dtype.hpp"

namespace preflight {
namespace {

TEST(Registry, EveryCollectiveHasOneEntry) {
  ASSERT_EQ(all_collectives().size(), 5U);
  for (const auto& info : all_collectives()) {
    EXPECT_EQ(parse_collective(info.name), info.kind);
    EXPECT_EQ(parse_collective(info.tool), info.kind);
    EXPECT_EQ(&collective_info(info.kind), &info);
  }
  EXPECT_TRUE(collective_info(CollectiveKind::all_reduce).reduces);
  EXPECT_TRUE(collective_info(CollectiveKind::reduce_scatter).reduces);
  EXPECT_FALSE(collective_info(CollectiveKind::all_gather).reduces);
  EXPECT_TRUE(collective_info(CollectiveKind::broadcast).rooted);
  EXPECT_EQ(collective_info(CollectiveKind::alltoall).tool, "preflight-alltoall");
  EXPECT_FALSE(parse_collective("reduce").has_value());
}

TEST(Registry, BusBandwidthFactorsAreNcclTests) {
  for (const int n : {1, 2, 3, 4, 8, 16, 1024}) {
    const double d = n;
    EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::all_reduce, n), 2 * (d - 1) / d) << n;
    EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::all_gather, n), (d - 1) / d) << n;
    EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::reduce_scatter, n), (d - 1) / d) << n;
    EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::alltoall, n), (d - 1) / d) << n;
    EXPECT_DOUBLE_EQ(busbw_factor(CollectiveKind::broadcast, n), 1.0) << n;
  }
}

// The importer's view: every nccl-tests benchmark by name, those preflight runs through the same
// factors as the runner.
TEST(Registry, NcclTestsFactorsByNameCoverEveryBenchmark) {
  for (const CollectiveInfo& info : all_collectives()) {
    EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor(info.name, 8), busbw_factor(info.kind, 8))
        << info.name;
  }
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("gather", 4), 0.75);
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("scatter", 4), 0.75);
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("reduce", 4), 1.0);
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("sendrecv", 4), 1.0);
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("hypercube", 4), 1.0);
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("all_reduce_perf", 4), 0.0);  // names, not programs
  EXPECT_DOUBLE_EQ(nccl_tests_busbw_factor("all_reduce", 0), 0.0);
}

// The importer reads n back from busbw/algbw: the inverse of the factor, where there is one.
TEST(Registry, RanksForFactorInvertsTheScalingFactors) {
  for (const std::string_view benchmark :
       {"all_reduce", "all_gather", "reduce_scatter", "alltoall", "gather", "scatter"}) {
    for (const int n : {2, 3, 8, 16, 1024}) {
      const auto ranks =
          nccl_tests_ranks_for_factor(benchmark, nccl_tests_busbw_factor(benchmark, n));
      ASSERT_TRUE(ranks.has_value()) << benchmark;
      EXPECT_NEAR(*ranks, n, 1e-6 * n) << benchmark;
    }
  }
  EXPECT_EQ(nccl_tests_ranks_for_factor("all_reduce", 0.0), 1.0);
  EXPECT_TRUE(std::isinf(*nccl_tests_ranks_for_factor("all_reduce", 2.0)));
  EXPECT_TRUE(std::isinf(*nccl_tests_ranks_for_factor("all_gather", 1.0)));
  for (const std::string_view constant : {"broadcast", "reduce", "sendrecv", "hypercube", "x"}) {
    EXPECT_FALSE(nccl_tests_ranks_for_factor(constant, 1.0).has_value()) << constant;
  }
}

TEST(Registry, AllReduceAndBroadcastMoveTheWholeSize) {
  for (const auto kind : {CollectiveKind::all_reduce, CollectiveKind::broadcast}) {
    const auto layout = collective_layout(kind, 16777216, 4, 16);
    EXPECT_EQ(layout.send_count, 4194304U);
    EXPECT_EQ(layout.recv_count, 4194304U);
    EXPECT_EQ(layout.param_count, 4194304U);  // p5 corpus: 16777216 B -> count 4194304
    EXPECT_EQ(layout.send_inplace_offset, 0U);
    EXPECT_EQ(layout.recv_inplace_offset, 0U);
    EXPECT_EQ(layout.size_bytes(), 16777216U);
  }
  // A size that is not a multiple of the element drops the remainder.
  EXPECT_EQ(collective_layout(CollectiveKind::all_reduce, 10, 4, 2).param_count, 2U);
}

TEST(Registry, AllGatherSplitsTheSizeOverRanksAlignedTo16Bytes) {
  // bottlerocket corpus (16 ranks, float): size 2048 B -> count 32 per rank.
  auto layout = collective_layout(CollectiveKind::all_gather, 2048, 4, 16);
  EXPECT_EQ(layout.param_count, 32U);
  EXPECT_EQ(layout.send_count, 32U);
  EXPECT_EQ(layout.recv_count, 512U);
  EXPECT_EQ(layout.send_inplace_offset, 32U);
  EXPECT_EQ(layout.recv_inplace_offset, 0U);
  EXPECT_EQ(layout.size_bytes(), 2048U);
  // 3 ranks, 1 KiB of floats: 256 / 3 = 85 -> 84 (a multiple of 4 floats = 16 bytes).
  layout = collective_layout(CollectiveKind::all_gather, 1024, 4, 3);
  EXPECT_EQ(layout.param_count, 84U);
  EXPECT_EQ(layout.size_bytes(), 84U * 3 * 4);
  // Tiny sizes round down to nothing, as in nccl-tests.
  EXPECT_EQ(collective_layout(CollectiveKind::all_gather, 8, 4, 4).size_bytes(), 0U);
  // Doubles: pairs of elements.
  EXPECT_EQ(collective_layout(CollectiveKind::all_gather, 1000, 8, 3).param_count, 40U);
}

TEST(Registry, ReduceScatterInputIsTheWholeVector) {
  const auto layout = collective_layout(CollectiveKind::reduce_scatter, 4096, 4, 4);
  EXPECT_EQ(layout.param_count, 256U);
  EXPECT_EQ(layout.send_count, 1024U);
  EXPECT_EQ(layout.recv_count, 256U);
  EXPECT_EQ(layout.send_inplace_offset, 0U);
  EXPECT_EQ(layout.recv_inplace_offset, 256U);
  EXPECT_EQ(layout.size_bytes(), 4096U);
}

TEST(Registry, AlltoallCountIsPerPeer) {
  const auto layout = collective_layout(CollectiveKind::alltoall, 65536, 1, 3);
  EXPECT_EQ(layout.param_count, 21840U);  // 21845 rounded down to 16 bytes
  EXPECT_EQ(layout.send_count, 65520U);
  EXPECT_EQ(layout.recv_count, 65520U);
  EXPECT_EQ(layout.size_bytes(), 65520U);
}

TEST(Registry, BandwidthMatchesNcclTestsRows) {
  // p5 corpus row: 16777216 B, 16 ranks, 298.1 us -> algbw 56.28, busbw 105.52 GB/s.
  const auto layout = collective_layout(CollectiveKind::all_reduce, 16777216, 4, 16);
  const Bandwidth bw = compute_bandwidth(CollectiveKind::all_reduce, layout, 16, 298.1e-6);
  EXPECT_NEAR(bw.algbw_Bps / 1e9, 56.28, 0.005);
  EXPECT_NEAR(bw.busbw_Bps / 1e9, 105.52, 0.01);
  EXPECT_DOUBLE_EQ(bw.factor, 1.875);
  // bottlerocket all_gather row: 524288 B, 16 ranks, 212.76 us -> 2.46 / 2.31 GB/s.
  const auto gather = collective_layout(CollectiveKind::all_gather, 524288, 4, 16);
  const Bandwidth gbw = compute_bandwidth(CollectiveKind::all_gather, gather, 16, 212.76e-6);
  EXPECT_NEAR(gbw.algbw_Bps / 1e9, 2.46, 0.005);
  EXPECT_NEAR(gbw.busbw_Bps / 1e9, 2.31, 0.005);
  // Zero time (0-byte rows) never gives infinity.
  const Bandwidth zero = compute_bandwidth(CollectiveKind::all_reduce, layout, 16, 0.0);
  EXPECT_EQ(zero.algbw_Bps, 0.0);
  EXPECT_EQ(zero.busbw_Bps, 0.0);
}

TEST(Registry, ReduceOpNames) {
  for (const ReduceOp op : kReductionOps) {
    EXPECT_EQ(parse_reduce_op(to_string(op)), op);
  }
  EXPECT_EQ(to_string(ReduceOp::none), "none");
  EXPECT_FALSE(parse_reduce_op("mean").has_value());
}

TEST(DataType, PrintedTypeSizesTakeEveryNameOldAndNew) {
  EXPECT_EQ(printed_type_bytes("float"), 4U);
  EXPECT_EQ(printed_type_bytes("float32"), 4U);
  EXPECT_EQ(printed_type_bytes("int"), 4U);
  EXPECT_EQ(printed_type_bytes("char"), 1U);
  EXPECT_EQ(printed_type_bytes("half"), 2U);
  EXPECT_EQ(printed_type_bytes("bfloat16"), 2U);
  EXPECT_EQ(printed_type_bytes("double"), 8U);
  EXPECT_EQ(printed_type_bytes("uint64"), 8U);
  EXPECT_EQ(printed_type_bytes("f8e5m2"), 1U);
  EXPECT_EQ(printed_type_bytes("fp8"), 1U);
  EXPECT_EQ(printed_type_bytes("float128"), 0U);
  EXPECT_EQ(printed_type_bytes(""), 0U);
}

TEST(DataType, NamesSizesAndAliases) {
  for (const DataType type : kAllDataTypes) {
    EXPECT_EQ(parse_data_type(to_string(type)), type);
  }
  EXPECT_EQ(to_string(DataType::float32), "float");
  EXPECT_EQ(to_string(DataType::float64), "double");
  EXPECT_EQ(parse_data_type("bf16"), DataType::bfloat16);
  EXPECT_EQ(parse_data_type("fp16"), DataType::half);
  EXPECT_EQ(element_bytes(DataType::bfloat16), 2U);
  EXPECT_EQ(element_bytes(DataType::uint64), 8U);
  EXPECT_FALSE(parse_data_type("fp8").has_value());
}

TEST(DataType, HalfRoundTripsEveryValue) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    const float value = float_from_half(half);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(float_from_half(half_from_float(value)))) << bits;
      continue;
    }
    EXPECT_EQ(half_from_float(value), half) << bits;
  }
}

TEST(DataType, HalfAndBfloat16HoldIntegersExactlyUpToTheirLimits) {
  for (int i = -2048; i <= 2048; ++i) {
    EXPECT_EQ(float_from_half(half_from_float(static_cast<float>(i))), static_cast<float>(i)) << i;
  }
  for (int i = -256; i <= 256; ++i) {
    EXPECT_EQ(float_from_bfloat16(bfloat16_from_float(static_cast<float>(i))),
              static_cast<float>(i))
        << i;
  }
  // Beyond the limit, rounding to nearest even.
  EXPECT_EQ(float_from_half(half_from_float(2049.0F)), 2048.0F);
  EXPECT_EQ(float_from_half(half_from_float(2051.0F)), 2052.0F);
  EXPECT_EQ(float_from_bfloat16(bfloat16_from_float(257.0F)), 256.0F);
  EXPECT_EQ(float_from_bfloat16(bfloat16_from_float(259.0F)), 260.0F);
  // Powers of two far beyond (products): exact in bfloat16, infinity past half's range.
  EXPECT_EQ(float_from_bfloat16(bfloat16_from_float(std::ldexp(1.0F, 62))), std::ldexp(1.0F, 62));
  EXPECT_EQ(float_from_half(half_from_float(std::ldexp(1.0F, 15))), 32768.0F);
  EXPECT_TRUE(std::isinf(float_from_half(half_from_float(65536.0F))));
  // Subnormals.
  EXPECT_EQ(float_from_half(0x0001), std::ldexp(1.0F, -24));
  EXPECT_EQ(half_from_float(std::ldexp(1.0F, -24)), 0x0001);
  EXPECT_EQ(half_from_float(std::ldexp(1.0F, -25)), 0x0000);  // tie to even
  EXPECT_EQ(bfloat16_from_float(-1.0F), 0xbf80);
}

}  // namespace
}  // namespace preflight
