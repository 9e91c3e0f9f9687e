// Built only where nccl.h exists (PREFLIGHT_WITH_NCCL): the function table of common/nccl_api.hpp
// against NCCL's header. Nothing here runs; a mismatch fails the build.
// clang-format off
#include "common/nccl_api.hpp"  // first: its field names must not meet the header's macros
// clang-format on

#include <nccl.h>

#include "common/library_abi.hpp"

namespace preflight::abi {
template <>
struct TableType<ncclUniqueId> {
  using type = nccl::UniqueId;
};
}  // namespace preflight::abi

namespace preflight::nccl {
namespace {

static_assert(sizeof(ncclUniqueId) == sizeof(UniqueId));
static_assert(alignof(ncclUniqueId) == alignof(UniqueId));
static_assert(std::is_same_v<Comm, ncclComm_t>);

#define PREFLIGHT_NCCL_CHECK(name, result, parameters) \
  PREFLIGHT_ABI_SAME_SIGNATURE(name, "nccl_api.hpp", "nccl.h");
PREFLIGHT_NCCL_FUNCTIONS(PREFLIGHT_NCCL_CHECK)
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 28, 0)
PREFLIGHT_NCCL_OPTIONAL_FUNCTIONS(PREFLIGHT_NCCL_CHECK)
#endif
#undef PREFLIGHT_NCCL_CHECK

static_assert(kSuccess == ncclSuccess);
static_assert(kUnhandledCudaError == ncclUnhandledCudaError);
static_assert(kSystemError == ncclSystemError);
static_assert(kInternalError == ncclInternalError);
static_assert(kInvalidArgument == ncclInvalidArgument);
static_assert(kInvalidUsage == ncclInvalidUsage);
static_assert(kRemoteError == ncclRemoteError);
static_assert(kInProgress == ncclInProgress);
static_assert(kInt8 == ncclInt8 && kUint8 == ncclUint8 && kInt32 == ncclInt32 &&
              kUint32 == ncclUint32 && kInt64 == ncclInt64 && kUint64 == ncclUint64);
static_assert(kFloat16 == ncclFloat16 && kFloat32 == ncclFloat32 && kFloat64 == ncclFloat64 &&
              kBfloat16 == ncclBfloat16);
#if NCCL_VERSION_CODE >= NCCL_VERSION(2, 24, 0)
static_assert(kFloat8e4m3 == ncclFloat8e4m3 && kFloat8e5m2 == ncclFloat8e5m2);
#endif
static_assert(kSum == ncclSum && kProd == ncclProd && kMax == ncclMax && kMin == ncclMin &&
              kAvg == ncclAvg);
static_assert(version_code(2, 28, 9) == NCCL_VERSION(2, 28, 9));
static_assert(version_code(2, 7, 8) == NCCL_VERSION(2, 7, 8));

}  // namespace
}  // namespace preflight::nccl
