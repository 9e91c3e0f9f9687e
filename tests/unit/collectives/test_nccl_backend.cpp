// Pure host logic of the NCCL backend: type and op codes, NCCL's names, the GPU a rank takes and
// the refusal of two ranks on one GPU, FP8 encodings, and the real GPU when one is there.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <vector>

#include "collectives/expected.hpp"
#include "collectives/nccl_backend.hpp"
#include "domain/nccl_log.hpp"

namespace preflight::collectives {
namespace {

TEST(NcclBackend, MapsEveryTypeAndOp) {
  EXPECT_EQ(nccl_datatype(DataType::int8), nccl::kInt8);
  EXPECT_EQ(nccl_datatype(DataType::uint8), nccl::kUint8);
  EXPECT_EQ(nccl_datatype(DataType::int32), nccl::kInt32);
  EXPECT_EQ(nccl_datatype(DataType::uint32), nccl::kUint32);
  EXPECT_EQ(nccl_datatype(DataType::int64), nccl::kInt64);
  EXPECT_EQ(nccl_datatype(DataType::uint64), nccl::kUint64);
  EXPECT_EQ(nccl_datatype(DataType::half), nccl::kFloat16);
  EXPECT_EQ(nccl_datatype(DataType::bfloat16), nccl::kBfloat16);
  EXPECT_EQ(nccl_datatype(DataType::float32), nccl::kFloat32);
  EXPECT_EQ(nccl_datatype(DataType::float64), nccl::kFloat64);
  EXPECT_EQ(nccl_datatype(DataType::fp8_e4m3), nccl::kFloat8e4m3);
  EXPECT_EQ(nccl_datatype(DataType::fp8_e5m2), nccl::kFloat8e5m2);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::sum), nccl::kSum);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::prod), nccl::kProd);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::min), nccl::kMin);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::max), nccl::kMax);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::avg), nccl::kAvg);
  EXPECT_EQ(nccl_function_name(CollectiveKind::all_reduce), "AllReduce");
  EXPECT_EQ(nccl_function_name(CollectiveKind::alltoall), "AlltoAll");
}

TEST(NcclBackend, VersionCodes) {
  EXPECT_EQ(nccl::version_code(2, 28, 9), 22809);
  EXPECT_EQ(nccl::version_code(2, 7, 8), 2708);
  EXPECT_EQ(version_from_nccl_code(22809).text, "2.28.9");
  EXPECT_EQ(version_from_nccl_code(nccl::kMinimumVersionCode).text, "2.18.0");
  nccl::Api api;
  api.version_code = nccl::version_code(2, 23, 4);
  EXPECT_FALSE(api.has_fp8());
  api.version_code = nccl::version_code(2, 24, 3);
  EXPECT_TRUE(api.has_fp8());
}

TEST(NcclBackend, DevicesPerLocalRank) {
  EXPECT_EQ(device_for_local_rank(0, 8), 0);
  EXPECT_EQ(device_for_local_rank(7, 8), 7);
  EXPECT_EQ(device_for_local_rank(3, 1), 0);  // one GPU per rank through CUDA_VISIBLE_DEVICES
  EXPECT_THROW((void)device_for_local_rank(0, 0), std::invalid_argument);
}

TEST(NcclBackend, TwoRanksOnOneGpuAreNamed) {
  // Eight GPUs, nine ranks on host a: local rank 8 wraps onto GPU 0 with rank 0.
  std::vector<std::string> hosts(9, "a");
  std::vector<std::string> buses;
  for (int i = 0; i < 9; ++i) {
    buses.push_back(fmt::format("0000:{:02x}:00.0", 0x10 + i % 8));
  }
  const auto conflict = shared_gpu_conflict(hosts, buses);
  ASSERT_TRUE(conflict.has_value());
  EXPECT_NE(conflict->find("ranks 0, 8 on host a all use GPU 0000:10:00.0"), std::string::npos)
      << *conflict;
  // The same bus id on two hosts is two GPUs.
  EXPECT_FALSE(shared_gpu_conflict({"a", "b"}, {"0000:10:00.0", "0000:10:00.0"}).has_value());
  // One GPU per rank through CUDA_VISIBLE_DEVICES: every rank sees device 0, each a different one.
  EXPECT_FALSE(shared_gpu_conflict({"a", "a"}, {"0000:10:00.0", "0000:20:00.0"}).has_value());
}

TEST(Fp8, EncodingsRoundTripTheCheckValues) {
  for (int value = -16; value <= 16; ++value) {
    EXPECT_EQ(float_from_fp8_e4m3(fp8_e4m3_from_float(static_cast<float>(value))),
              static_cast<float>(value));
  }
  for (int value = -8; value <= 8; ++value) {
    EXPECT_EQ(float_from_fp8_e5m2(fp8_e5m2_from_float(static_cast<float>(value))),
              static_cast<float>(value));
  }
  // Known bit patterns (OCP FP8): 1.0, 448 (E4M3's largest), 57344 (E5M2's largest), NaN.
  EXPECT_EQ(fp8_e4m3_from_float(1.0F), 0x38);
  EXPECT_EQ(fp8_e4m3_from_float(448.0F), 0x7e);
  EXPECT_EQ(fp8_e4m3_from_float(1000.0F), 0x7e);  // saturates
  EXPECT_EQ(fp8_e5m2_from_float(1.0F), 0x3c);
  EXPECT_EQ(fp8_e5m2_from_float(57344.0F), 0x7b);
  EXPECT_TRUE(std::isnan(float_from_fp8_e4m3(0xff)));
  EXPECT_TRUE(std::isnan(float_from_fp8_e5m2(0xff)));
  EXPECT_EQ(fp8_e4m3_from_float(17.0F), 0x58);                 // 17 rounds to 16 (ties to even)
  EXPECT_EQ(fp8_e4m3_from_float(18.0F), 0x59);                 // 18 is exact
  EXPECT_EQ(float_from_fp8_e4m3(0x01), std::ldexp(1.0F, -9));  // smallest subnormal
  EXPECT_EQ(parse_data_type("f8e4m3"), DataType::fp8_e4m3);
  EXPECT_EQ(parse_data_type("e5m2"), DataType::fp8_e5m2);
  EXPECT_EQ(to_string(DataType::fp8_e5m2), "f8e5m2");
}

TEST(Fp8, ReferenceDataStaysExact) {
  for (const DataType dtype : {DataType::fp8_e4m3, DataType::fp8_e5m2}) {
    for (const ReduceOp op : {ReduceOp::sum, ReduceOp::prod, ReduceOp::min, ReduceOp::max}) {
      const ReferenceData reference(CollectiveKind::all_reduce, dtype, op, 8, 0);
      EXPECT_FALSE(reference.inexact_reason().has_value());
      const CollectiveLayout layout = collective_layout(CollectiveKind::all_reduce, 256, 1, 8);
      for (std::uint64_t i = 0; i < layout.recv_count; ++i) {
        std::byte encoded{};
        const std::int64_t expected = reference.expected_value(0, i, layout);
        encode_element(dtype, expected, &encoded);
        const float decoded = dtype == DataType::fp8_e4m3
                                  ? float_from_fp8_e4m3(static_cast<std::uint8_t>(encoded))
                                  : float_from_fp8_e5m2(static_cast<std::uint8_t>(encoded));
        EXPECT_EQ(decoded, static_cast<float>(expected)) << to_string(dtype) << " " << i;
      }
    }
    // NCCL scales by 1/ranks in the 8-bit type first: exact only over a power of two.
    EXPECT_TRUE(ReferenceData(CollectiveKind::all_reduce, dtype, ReduceOp::avg, 3, 0)
                    .inexact_reason()
                    .has_value());
    EXPECT_FALSE(ReferenceData(CollectiveKind::all_reduce, dtype, ReduceOp::avg, 4, 0)
                     .inexact_reason()
                     .has_value());
  }
}

}  // namespace
}  // namespace preflight::collectives
