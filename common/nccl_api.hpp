// NCCL as one table of function pointers, loaded at run time (dlopen): the binaries start
// without NCCL, and test the library the job loads (--nccl-lib PATH, PREFLIGHT_NCCL_LIB, or the
// one the dynamic loader finds), not the one found at build time. As in common/cuda_api.hpp,
// nothing here includes nccl.h; common/nccl_api_check.cpp proves the table against it where it
// exists. The tests fill the table with a host-memory double.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/cuda_api.hpp"
#include "common/raii.hpp"
#include "common/version.hpp"

struct ncclComm;  // global namespace, as nccl.h declares it

namespace preflight::nccl {

using Result = int;  // ncclResult_t
using Comm = ncclComm*;

struct UniqueId {
  char internal[128];  // NOLINT(modernize-avoid-c-arrays): NCCL_UNIQUE_ID_BYTES, the C layout
};

inline constexpr Result kSuccess = 0;
inline constexpr Result kUnhandledCudaError = 1;
inline constexpr Result kSystemError = 2;
inline constexpr Result kInternalError = 3;
inline constexpr Result kInvalidArgument = 4;
inline constexpr Result kInvalidUsage = 5;
inline constexpr Result kRemoteError = 6;
inline constexpr Result kInProgress = 7;

// ncclDataType_t and ncclRedOp_t values.
inline constexpr int kInt8 = 0;
inline constexpr int kUint8 = 1;
inline constexpr int kInt32 = 2;
inline constexpr int kUint32 = 3;
inline constexpr int kInt64 = 4;
inline constexpr int kUint64 = 5;
inline constexpr int kFloat16 = 6;
inline constexpr int kFloat32 = 7;
inline constexpr int kFloat64 = 8;
inline constexpr int kBfloat16 = 9;
inline constexpr int kFloat8e4m3 = 10;  // NCCL >= 2.24
inline constexpr int kFloat8e5m2 = 11;  // NCCL >= 2.24
inline constexpr int kSum = 0;
inline constexpr int kProd = 1;
inline constexpr int kMax = 2;
inline constexpr int kMin = 3;
inline constexpr int kAvg = 4;

// NCCL's version code: 2.28.9 -> 22809 (releases before 2.9 used major*1000 + minor*100).
[[nodiscard]] constexpr int version_code(int major, int minor, int patch) {
  return (major <= 2 && minor <= 8) ? major * 1000 + minor * 100 + patch
                                    : major * 10000 + minor * 100 + patch;
}
// The oldest NCCL preflight runs (the catalog's NCCL_TOO_OLD minimum).
inline constexpr int kMinimumVersionCode = version_code(2, 18, 0);
inline constexpr int kFp8VersionCode = version_code(2, 24, 0);       // ncclFloat8e4m3/e5m2
inline constexpr int kAlltoAllVersionCode = version_code(2, 28, 0);  // ncclAlltoAll

// NOLINTBEGIN(cppcoreguidelines-macro-usage)
// Functions every supported NCCL (>= 2.18) exports.
#define PREFLIGHT_NCCL_FUNCTIONS(F)                                                             \
  F(ncclGetVersion, ::preflight::nccl::Result, (int*))                                          \
  F(ncclGetUniqueId, ::preflight::nccl::Result, (::preflight::nccl::UniqueId*))                 \
  F(ncclCommInitRank, ::preflight::nccl::Result,                                                \
    (::preflight::nccl::Comm*, int, ::preflight::nccl::UniqueId, int))                          \
  F(ncclCommFinalize, ::preflight::nccl::Result, (::preflight::nccl::Comm))                     \
  F(ncclCommDestroy, ::preflight::nccl::Result, (::preflight::nccl::Comm))                      \
  F(ncclCommAbort, ::preflight::nccl::Result, (::preflight::nccl::Comm))                        \
  F(ncclCommGetAsyncError, ::preflight::nccl::Result,                                           \
    (::preflight::nccl::Comm, ::preflight::nccl::Result*))                                      \
  F(ncclGetErrorString, const char*, (::preflight::nccl::Result))                               \
  F(ncclGetLastError, const char*, (::preflight::nccl::Comm))                                   \
  F(ncclAllReduce, ::preflight::nccl::Result,                                                   \
    (const void*, void*, std::size_t, int, int, ::preflight::nccl::Comm,                        \
     ::preflight::cuda::Stream))                                                                \
  F(ncclAllGather, ::preflight::nccl::Result,                                                   \
    (const void*, void*, std::size_t, int, ::preflight::nccl::Comm, ::preflight::cuda::Stream)) \
  F(ncclReduceScatter, ::preflight::nccl::Result,                                               \
    (const void*, void*, std::size_t, int, int, ::preflight::nccl::Comm,                        \
     ::preflight::cuda::Stream))                                                                \
  F(ncclBroadcast, ::preflight::nccl::Result,                                                   \
    (const void*, void*, std::size_t, int, int, ::preflight::nccl::Comm,                        \
     ::preflight::cuda::Stream))                                                                \
  F(ncclSend, ::preflight::nccl::Result,                                                        \
    (const void*, std::size_t, int, int, ::preflight::nccl::Comm, ::preflight::cuda::Stream))   \
  F(ncclRecv, ::preflight::nccl::Result,                                                        \
    (void*, std::size_t, int, int, ::preflight::nccl::Comm, ::preflight::cuda::Stream))         \
  F(ncclGroupStart, ::preflight::nccl::Result, ())                                              \
  F(ncclGroupEnd, ::preflight::nccl::Result, ())
// Functions of newer releases: null in a table for an older NCCL.
#define PREFLIGHT_NCCL_OPTIONAL_FUNCTIONS(F) \
  F(ncclAlltoAll, ::preflight::nccl::Result, \
    (const void*, void*, std::size_t, int, ::preflight::nccl::Comm, ::preflight::cuda::Stream))
// NOLINTEND(cppcoreguidelines-macro-usage)

namespace signatures {
// `parameters` is a parenthesised parameter list, pasted as it is: not to be parenthesised again.
// NOLINTNEXTLINE(bugprone-macro-parentheses)
#define PREFLIGHT_NCCL_SIGNATURE(name, result, parameters) using name##_type = result(*) parameters;
PREFLIGHT_NCCL_FUNCTIONS(PREFLIGHT_NCCL_SIGNATURE)
PREFLIGHT_NCCL_OPTIONAL_FUNCTIONS(PREFLIGHT_NCCL_SIGNATURE)
#undef PREFLIGHT_NCCL_SIGNATURE
}  // namespace signatures

// The table, and the version of the library behind it (what optional features depend on).
struct Api {
#define PREFLIGHT_NCCL_FIELD(name, result, parameters) signatures::name##_type name = nullptr;
  PREFLIGHT_NCCL_FUNCTIONS(PREFLIGHT_NCCL_FIELD)
  PREFLIGHT_NCCL_OPTIONAL_FUNCTIONS(PREFLIGHT_NCCL_FIELD)
#undef PREFLIGHT_NCCL_FIELD
  int version_code = 0;  // ncclGetVersion's answer

  [[nodiscard]] bool has_fp8() const {
    return version_code >= kFp8VersionCode;
  }
};

// Where NCCL is looked for without --nccl-lib: libnccl.so.2 through the dynamic loader
// (LD_LIBRARY_PATH, the ld.so cache: what the job would load), then NCCL_HOME, the deep-learning
// containers' /opt/nccl/build/lib, and the CUDA toolkits.
[[nodiscard]] std::vector<std::string> default_candidates();

// Why a library could not be used, and how a run should end because of it.
struct LoadFailure {
  enum class Kind {
    not_found,  // no candidate exists (the default search): skip
    missing,    // the file given (--nccl-lib) does not exist: usage error
    not_nccl,   // the file loads but is not NCCL (or not a shared library at all): usage error
    too_old,    // NCCL older than the minimum: skip
  };
  Kind kind = Kind::not_found;
  std::string message;  // names the path(s) and the reason
};

// A libnccl loaded with dlopen, and its table.
class Library {
 public:
  // The exact file `path` (--nccl-lib), or the first of default_candidates() that loads. On
  // failure returns nullopt and fills `failure`.
  [[nodiscard]] static std::optional<Library> load(const std::string& path, LoadFailure& failure);
  // The same over an explicit candidate list (the default search, or tests).
  [[nodiscard]] static std::optional<Library> load_first(const std::vector<std::string>& candidates,
                                                         LoadFailure& failure);

  [[nodiscard]] const Api& api() const { return api_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const Version& version() const { return version_; }
  [[nodiscard]] bool requested() const { return requested_; }  // --nccl-lib / PREFLIGHT_NCCL_LIB

 private:
  DynamicLibrary library_;
  Api api_;
  std::string path_;
  Version version_;
  bool requested_ = false;
};

// Fills `api` from `library`; returns the names of the required functions it lacks.
[[nodiscard]] std::vector<std::string> bind(const DynamicLibrary& library, Api& api);

}  // namespace preflight::nccl
