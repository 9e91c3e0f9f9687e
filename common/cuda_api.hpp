// The CUDA runtime as one table of function pointers, loaded at run time (dlopen), so every
// binary starts on a machine without CUDA and tests whichever runtime the node has. Nothing here
// includes CUDA's headers: the handle types are the same incomplete structs cuda_runtime_api.h
// declares, error codes and enum arguments are ints, and where the headers exist
// common/cuda_api_check.cpp proves at build time that every pointer type and constant matches
// them. The tests fill the table with a host-memory double (tests/unit/collectives); the binaries
// fill it from libcudart.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/raii.hpp"
#include "common/version.hpp"

// The runtime's handle types (global namespace, as cuda_runtime_api.h declares them).
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;

namespace preflight::cuda {

using Status = int;  // cudaError_t
using Stream = CUstream_st*;
using Event = CUevent_st*;
using Graph = CUgraph_st*;
using GraphExec = CUgraphExec_st*;

// The enum values this code passes or tests (checked against the headers where they exist).
inline constexpr Status kSuccess = 0;
inline constexpr Status kErrorInvalidValue = 1;
inline constexpr Status kErrorMemoryAllocation = 2;
inline constexpr Status kErrorInsufficientDriver = 35;
inline constexpr Status kErrorNoDevice = 100;
inline constexpr Status kErrorInvalidDevice = 101;
inline constexpr Status kErrorInvalidResourceHandle = 400;
inline constexpr Status kErrorNotReady = 600;
inline constexpr Status kErrorStreamCaptureUnsupported = 900;
inline constexpr Status kErrorStreamCaptureInvalidated = 901;
inline constexpr Status kErrorStreamCaptureUnmatched = 903;
inline constexpr int kMemcpyHostToDevice = 1;
inline constexpr int kMemcpyDeviceToHost = 2;
inline constexpr unsigned kStreamNonBlocking = 1;
inline constexpr unsigned kEventDefault = 0;
inline constexpr int kStreamCaptureModeGlobal = 0;
inline constexpr int kStreamCaptureModeThreadLocal = 1;
inline constexpr int kStreamCaptureStatusNone = 0;
inline constexpr int kStreamCaptureStatusActive = 1;
inline constexpr int kDeviceAttributeComputeCapabilityMajor = 75;
inline constexpr int kDeviceAttributeComputeCapabilityMinor = 76;

// Room for any CUDA version's cudaDeviceProp (about 1 KiB in CUDA 12 and 13); only `name`, the
// first member in every version, is read.
struct DeviceProperties {
  char name[256];                  // NOLINT(modernize-avoid-c-arrays): the C layout
  unsigned char rest[8192 - 256];  // NOLINT(modernize-avoid-c-arrays)
};

// Every runtime function this code calls: name, return type, parameters. One list drives the
// table, the loader and the build-time check against cuda_runtime_api.h.
// NOLINTBEGIN(cppcoreguidelines-macro-usage)
#define PREFLIGHT_CUDA_RUNTIME_FUNCTIONS(F)                                                       \
  F(cudaGetErrorName, const char*, (::preflight::cuda::Status))                                   \
  F(cudaGetErrorString, const char*, (::preflight::cuda::Status))                                 \
  F(cudaGetLastError, ::preflight::cuda::Status, ())                                              \
  F(cudaRuntimeGetVersion, ::preflight::cuda::Status, (int*))                                     \
  F(cudaDriverGetVersion, ::preflight::cuda::Status, (int*))                                      \
  F(cudaGetDeviceCount, ::preflight::cuda::Status, (int*))                                        \
  F(cudaSetDevice, ::preflight::cuda::Status, (int))                                              \
  F(cudaGetDevice, ::preflight::cuda::Status, (int*))                                             \
  F(cudaDeviceGetAttribute, ::preflight::cuda::Status, (int*, int, int))                          \
  F(cudaDeviceGetPCIBusId, ::preflight::cuda::Status, (char*, int, int))                          \
  F(cudaGetDeviceProperties, ::preflight::cuda::Status,                                           \
    (::preflight::cuda::DeviceProperties*, int))                                                  \
  F(cudaMalloc, ::preflight::cuda::Status, (void**, std::size_t))                                 \
  F(cudaFree, ::preflight::cuda::Status, (void*))                                                 \
  F(cudaMemsetAsync, ::preflight::cuda::Status,                                                   \
    (void*, int, std::size_t, ::preflight::cuda::Stream))                                         \
  F(cudaMemcpyAsync, ::preflight::cuda::Status,                                                   \
    (void*, const void*, std::size_t, int, ::preflight::cuda::Stream))                            \
  F(cudaStreamCreateWithFlags, ::preflight::cuda::Status, (::preflight::cuda::Stream*, unsigned)) \
  F(cudaStreamDestroy, ::preflight::cuda::Status, (::preflight::cuda::Stream))                    \
  F(cudaStreamSynchronize, ::preflight::cuda::Status, (::preflight::cuda::Stream))                \
  F(cudaStreamQuery, ::preflight::cuda::Status, (::preflight::cuda::Stream))                      \
  F(cudaStreamBeginCapture, ::preflight::cuda::Status, (::preflight::cuda::Stream, int))          \
  F(cudaStreamEndCapture, ::preflight::cuda::Status,                                              \
    (::preflight::cuda::Stream, ::preflight::cuda::Graph*))                                       \
  F(cudaStreamIsCapturing, ::preflight::cuda::Status, (::preflight::cuda::Stream, int*))          \
  F(cudaEventCreateWithFlags, ::preflight::cuda::Status, (::preflight::cuda::Event*, unsigned))   \
  F(cudaEventDestroy, ::preflight::cuda::Status, (::preflight::cuda::Event))                      \
  F(cudaEventRecord, ::preflight::cuda::Status,                                                   \
    (::preflight::cuda::Event, ::preflight::cuda::Stream))                                        \
  F(cudaEventQuery, ::preflight::cuda::Status, (::preflight::cuda::Event))                        \
  F(cudaEventElapsedTime, ::preflight::cuda::Status,                                              \
    (float*, ::preflight::cuda::Event, ::preflight::cuda::Event))                                 \
  F(cudaGraphInstantiateWithFlags, ::preflight::cuda::Status,                                     \
    (::preflight::cuda::GraphExec*, ::preflight::cuda::Graph, unsigned long long))                \
  F(cudaGraphLaunch, ::preflight::cuda::Status,                                                   \
    (::preflight::cuda::GraphExec, ::preflight::cuda::Stream))                                    \
  F(cudaGraphExecDestroy, ::preflight::cuda::Status, (::preflight::cuda::GraphExec))              \
  F(cudaGraphDestroy, ::preflight::cuda::Status, (::preflight::cuda::Graph))
// NOLINTEND(cppcoreguidelines-macro-usage)

// One pointer type per function, named after it (token pasting keeps the name even where a
// header defines it as a macro, e.g. CUDA 12's cudaGetDeviceProperties -> ..._v2).
namespace signatures {
// `parameters` is a parenthesised parameter list, pasted as it is: not to be parenthesised again.
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define PREFLIGHT_CUDA_SIGNATURE(name, result, parameters) using name##_type = result(*) parameters;
PREFLIGHT_CUDA_RUNTIME_FUNCTIONS(PREFLIGHT_CUDA_SIGNATURE)
#undef PREFLIGHT_CUDA_SIGNATURE
}  // namespace signatures

// The table. Every pointer is set in a loaded runtime; a test double sets the ones it needs.
struct RuntimeApi {
#define PREFLIGHT_CUDA_FIELD(name, result, parameters) signatures::name##_type name = nullptr;
  PREFLIGHT_CUDA_RUNTIME_FUNCTIONS(PREFLIGHT_CUDA_FIELD)
#undef PREFLIGHT_CUDA_FIELD
};

// The oldest runtime preflight runs on (the catalog's CUDA_TOO_OLD minimum).
inline constexpr int kMinimumRuntimeCode = 12000;  // 12.0

// Where the runtime is looked for when no path is given: the sonames the dynamic loader resolves
// (newest major first), then CUDA_HOME / CUDA_PATH, /usr/local/cuda and /usr/local/cuda-*.
[[nodiscard]] std::vector<std::string> runtime_candidates();

// A libcudart loaded with dlopen, and its table.
class RuntimeLibrary {
 public:
  // The first candidate that loads, has every function, is at least the minimum and is not newer
  // than the driver (when a driver is there): a runtime the driver cannot serve fails every
  // call, so an older one that works is better. nullopt when none qualifies; `why_not` then
  // says what was tried and why each failed.
  [[nodiscard]] static std::optional<RuntimeLibrary> load(
      const std::vector<std::string>& candidates, std::string& why_not);

  [[nodiscard]] const RuntimeApi& api() const { return api_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const Version& version() const { return version_; }
  // The driver's CUDA version (cudaDriverGetVersion), nullopt without a driver.
  [[nodiscard]] const std::optional<Version>& driver_version() const { return driver_version_; }

 private:
  DynamicLibrary library_;
  RuntimeApi api_;
  std::string path_;
  Version version_;
  std::optional<Version> driver_version_;
};

// Fills `api` from `library`; returns the names of the functions it lacks.
[[nodiscard]] std::vector<std::string> bind_runtime(const DynamicLibrary& library, RuntimeApi& api);

}  // namespace preflight::cuda
