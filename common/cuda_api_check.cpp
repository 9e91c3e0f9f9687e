// Built only where CUDA's headers exist (PREFLIGHT_WITH_CUDA): the function table of
// common/cuda_api.hpp against cuda_runtime_api.h. Nothing here runs; a mismatch fails the build.
// clang-format off
#include "common/cuda_api.hpp"  // first: its field names must not meet the header's macros
// clang-format on

#include <cuda_runtime_api.h>

#include <cstddef>

#include "common/library_abi.hpp"

namespace preflight::abi {
template <>
struct TableType<cudaDeviceProp> {
  using type = cuda::DeviceProperties;
};
}  // namespace preflight::abi

namespace preflight::cuda {
namespace {

static_assert(sizeof(cudaDeviceProp) <= sizeof(DeviceProperties));
static_assert(offsetof(cudaDeviceProp, name) == offsetof(DeviceProperties, name));
static_assert(sizeof(cudaDeviceProp::name) == sizeof(DeviceProperties::name));

#define PREFLIGHT_CUDA_CHECK(name, result, parameters) \
  PREFLIGHT_ABI_SAME_SIGNATURE(name, "cuda_api.hpp", "cuda_runtime_api.h");
PREFLIGHT_CUDA_RUNTIME_FUNCTIONS(PREFLIGHT_CUDA_CHECK)
#undef PREFLIGHT_CUDA_CHECK

static_assert(kSuccess == cudaSuccess);
static_assert(kErrorInvalidValue == cudaErrorInvalidValue);
static_assert(kErrorMemoryAllocation == cudaErrorMemoryAllocation);
static_assert(kErrorInsufficientDriver == cudaErrorInsufficientDriver);
static_assert(kErrorNoDevice == cudaErrorNoDevice);
static_assert(kErrorInvalidDevice == cudaErrorInvalidDevice);
static_assert(kErrorInvalidResourceHandle == cudaErrorInvalidResourceHandle);
static_assert(kErrorNotReady == cudaErrorNotReady);
static_assert(kErrorStreamCaptureUnsupported == cudaErrorStreamCaptureUnsupported);
static_assert(kErrorStreamCaptureInvalidated == cudaErrorStreamCaptureInvalidated);
static_assert(kErrorStreamCaptureUnmatched == cudaErrorStreamCaptureUnmatched);
static_assert(kMemcpyHostToDevice == cudaMemcpyHostToDevice);
static_assert(kMemcpyDeviceToHost == cudaMemcpyDeviceToHost);
static_assert(kStreamNonBlocking == cudaStreamNonBlocking);
static_assert(kEventDefault == cudaEventDefault);
static_assert(kStreamCaptureModeGlobal == cudaStreamCaptureModeGlobal);
static_assert(kStreamCaptureModeThreadLocal == cudaStreamCaptureModeThreadLocal);
static_assert(kStreamCaptureStatusNone == cudaStreamCaptureStatusNone);
static_assert(kStreamCaptureStatusActive == cudaStreamCaptureStatusActive);
static_assert(kDeviceAttributeComputeCapabilityMajor == cudaDevAttrComputeCapabilityMajor);
static_assert(kDeviceAttributeComputeCapabilityMinor == cudaDevAttrComputeCapabilityMinor);
static_assert(std::is_same_v<Stream, cudaStream_t>);
static_assert(std::is_same_v<Event, cudaEvent_t>);
static_assert(std::is_same_v<Graph, cudaGraph_t>);
static_assert(std::is_same_v<GraphExec, cudaGraphExec_t>);

}  // namespace
}  // namespace preflight::cuda
