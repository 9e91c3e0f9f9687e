// On a machine with a GPU (label gpu; a skip elsewhere): the NCCL backend end to end on the
// machine's own CUDA runtime and NCCL, one rank.
#include <gtest/gtest.h>

#include <vector>

#include "collectives/expected.hpp"
#include "collectives/nccl_backend.hpp"
#include "common/gpu_libraries.hpp"
#include "test_support.hpp"

namespace preflight::collectives {
namespace {

// With a GPU (the gpu label): a single rank end to end on the machine's own libraries.
TEST(NcclBackendOnGpu, SingleRankRoundTrip) {
  GpuLibraries libraries;
  libraries.load(true, "");
  if (const std::string missing = libraries.missing(true); !missing.empty()) {
    GTEST_SKIP() << missing;
  }
  if (auto reason = cuda_unavailable_reason(*libraries.cuda())) {
    GTEST_SKIP() << *reason;
  }
  auto world = make_single_bootstrap();
  SplitGroups groups;
  groups.members = {0};
  NcclBackend backend(*world, groups, 0, {libraries.cuda(), libraries.nccl(), libraries.facts()},
                      {});
  for (const bool in_place : {false, true}) {
    CollectiveCall call;
    call.kind = CollectiveKind::all_reduce;
    call.dtype = DataType::bfloat16;
    call.op = ReduceOp::avg;
    call.in_place = in_place;
    call.layout = collective_layout(call.kind, 4096, 2, 1);
    backend.prepare(call);
    EXPECT_EQ(testing_support::wrong_elements_after(backend, call, [&] { backend.run(); }), 0U);
    const BatchTime time = backend.run_batch(20);
    EXPECT_GT(time.device_s, 0.0);
    EXPECT_GE(time.host_s, time.device_s * 0.5);
  }
  backend.finish();
}

}  // namespace
}  // namespace preflight::collectives
