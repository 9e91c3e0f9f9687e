// Where each collective call reads and writes, in place and out of place, under NCCL's and MPI's
// conventions (collectives/placement.hpp).
#include <gtest/gtest.h>

#include "collectives/placement.hpp"
#include "domain/collective.hpp"

namespace preflight::collectives {
namespace {

TEST(Placement, OutOfPlaceUsesBothBuffersFromTheStart) {
  CollectiveCall call;
  call.kind = CollectiveKind::all_gather;
  call.layout = collective_layout(call.kind, 4096, 4, 4);
  const auto placement = place_call(call, 2, Convention::nccl);
  EXPECT_EQ(placement.input.buffer, Buffer::send);
  EXPECT_EQ(placement.input.offset_bytes, 0U);
  EXPECT_EQ(placement.input.length_bytes, 1024U);
  EXPECT_EQ(placement.output.buffer, Buffer::recv);
  EXPECT_EQ(placement.output.length_bytes, 4096U);
}

TEST(Placement, InPlaceFollowsNcclConvention) {
  CollectiveCall call;
  call.in_place = true;
  call.kind = CollectiveKind::all_gather;
  call.layout = collective_layout(call.kind, 4096, 4, 4);
  auto placement = place_call(call, 3, Convention::nccl);
  EXPECT_EQ(placement.input.buffer, Buffer::recv);
  EXPECT_EQ(placement.input.offset_bytes, 3U * 1024);  // my slot of the output
  EXPECT_EQ(placement.output.offset_bytes, 0U);
  EXPECT_EQ(placement.call_send.offset_bytes, 3U * 1024);

  call.kind = CollectiveKind::reduce_scatter;
  call.layout = collective_layout(call.kind, 4096, 4, 4);
  placement = place_call(call, 3, Convention::nccl);
  EXPECT_EQ(placement.input.offset_bytes, 0U);
  EXPECT_EQ(placement.input.length_bytes, 4096U);
  EXPECT_EQ(placement.output.offset_bytes, 3U * 1024);  // my slot of the input
  EXPECT_EQ(placement.output.length_bytes, 1024U);
}

TEST(Placement, MpiDiffersForReduceScatterAndBroadcast) {
  CollectiveCall call;
  call.in_place = true;
  call.kind = CollectiveKind::reduce_scatter;
  call.layout = collective_layout(call.kind, 4096, 4, 4);
  // MPI_IN_PLACE reduce-scatter leaves the result at the start of the receive buffer.
  EXPECT_EQ(place_call(call, 3, Convention::mpi).output.offset_bytes, 0U);

  call.in_place = false;
  call.kind = CollectiveKind::broadcast;
  call.root = 1;
  call.layout = collective_layout(call.kind, 4096, 4, 4);
  EXPECT_EQ(place_call(call, 1, Convention::mpi).output.buffer, Buffer::send);  // the root
  EXPECT_EQ(place_call(call, 0, Convention::mpi).output.buffer, Buffer::recv);
  EXPECT_EQ(place_call(call, 1, Convention::nccl).output.buffer, Buffer::recv);
}

}  // namespace
}  // namespace preflight::collectives
