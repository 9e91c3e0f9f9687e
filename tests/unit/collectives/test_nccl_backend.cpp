// Host logic of the NCCL backend. Without a GPU the backend must refuse to start with a reason
// (the run becomes a skip, never a pass); with one, a single-rank run is checked end to end.
#include <gtest/gtest.h>

#include <vector>

#include "collectives/expected.hpp"
#include "collectives/nccl_backend.hpp"

namespace preflight::collectives {
namespace {

TEST(NcclBackend, MapsEveryTypeAndOp) {
  EXPECT_EQ(nccl_datatype(DataType::int8), ncclInt8);
  EXPECT_EQ(nccl_datatype(DataType::uint8), ncclUint8);
  EXPECT_EQ(nccl_datatype(DataType::int32), ncclInt32);
  EXPECT_EQ(nccl_datatype(DataType::uint32), ncclUint32);
  EXPECT_EQ(nccl_datatype(DataType::int64), ncclInt64);
  EXPECT_EQ(nccl_datatype(DataType::uint64), ncclUint64);
  EXPECT_EQ(nccl_datatype(DataType::half), ncclFloat16);
  EXPECT_EQ(nccl_datatype(DataType::bfloat16), ncclBfloat16);
  EXPECT_EQ(nccl_datatype(DataType::float32), ncclFloat32);
  EXPECT_EQ(nccl_datatype(DataType::float64), ncclFloat64);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::sum), ncclSum);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::prod), ncclProd);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::min), ncclMin);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::max), ncclMax);
  EXPECT_EQ(nccl_reduce_op(ReduceOp::avg), ncclAvg);
}

TEST(NcclBackend, VersionsAndDevices) {
  EXPECT_EQ(nccl_version_string(22809), "2.28.9");
  EXPECT_EQ(nccl_version_string(2708), "2.7.8");
  EXPECT_EQ(device_for_local_rank(0, 8), 0);
  EXPECT_EQ(device_for_local_rank(9, 8), 1);
  EXPECT_EQ(device_for_local_rank(3, 1), 0);
  EXPECT_THROW((void)device_for_local_rank(0, 0), std::invalid_argument);
}

TEST(NcclBackend, WithoutAGpuItRefusesWithAReason) {
  if (!nccl_unavailable_reason()) {
    GTEST_SKIP() << "a CUDA device is visible: see SingleRankRoundTrip";
  }
  EXPECT_NE(nccl_unavailable_reason()->find("--backend nccl"), std::string::npos);
  auto world = make_single_bootstrap();
  SplitGroups groups;
  groups.members = {0};
  EXPECT_THROW(NcclBackend(*world, groups, 0, false), BackendUnavailable);
}

TEST(NcclBackend, SingleRankRoundTrip) {
  if (auto reason = nccl_unavailable_reason()) {
    GTEST_SKIP() << *reason;
  }
  auto world = make_single_bootstrap();
  SplitGroups groups;
  groups.members = {0};
  NcclBackend backend(*world, groups, 0, false);
  for (const bool in_place : {false, true}) {
    CollectiveCall call;
    call.kind = CollectiveKind::all_reduce;
    call.dtype = DataType::bfloat16;
    call.op = ReduceOp::avg;
    call.in_place = in_place;
    call.layout = collective_layout(call.kind, 4096, 2, 1);
    const ReferenceData reference(call.kind, call.dtype, call.op, 1, 0);
    std::vector<std::byte> input(call.layout.send_count * 2);
    std::vector<std::byte> output(call.layout.recv_count * 2);
    reference.fill_input(0, call.layout, input);
    backend.prepare(call);
    reference.fill_poison(output);
    backend.write_output(output);
    backend.write_input(input);
    backend.run();
    backend.read_output(output);
    EXPECT_EQ(reference.count_wrong(0, call.layout, output), 0U);
    const IterationTime time = backend.run_timed();
    EXPECT_GT(time.sample_s, 0.0);
    EXPECT_GE(time.host_s, time.sample_s * 0.5);
  }
}

}  // namespace
}  // namespace preflight::collectives
