// A shared library that poses as libnccl.so.2 for the loader tests: it exports every function of
// the NCCL function table, answers ncclGetVersion with FAKE_NCCL_VERSION_CODE, and fails every
// other call (there is no GPU behind it). Test code only.
#include <cstddef>

namespace {
constexpr int kInternalError = 3;
}

#define FAKE_NCCL_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_NCCL_EXPORT int ncclGetVersion(int* version) {
  *version = FAKE_NCCL_VERSION_CODE;
  return 0;
}
FAKE_NCCL_EXPORT int ncclGetUniqueId(void* /*id*/) {
  return kInternalError;
}
struct FakeUniqueId {
  char internal[128];
};
FAKE_NCCL_EXPORT int ncclCommInitRank(void** /*comm*/, int /*nranks*/, FakeUniqueId /*id*/,
                                      int /*rank*/) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclCommFinalize(void* /*comm*/) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclCommDestroy(void* /*comm*/) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclCommAbort(void* /*comm*/) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclCommGetAsyncError(void* /*comm*/, int* result) {
  *result = kInternalError;
  return kInternalError;
}
FAKE_NCCL_EXPORT const char* ncclGetErrorString(int /*result*/) {
  return "fake NCCL: no GPU behind it";
}
FAKE_NCCL_EXPORT const char* ncclGetLastError(void* /*comm*/) {
  return "";
}
FAKE_NCCL_EXPORT int ncclAllReduce(const void*, void*, std::size_t, int, int, void*, void*) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclAllGather(const void*, void*, std::size_t, int, void*, void*) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclReduceScatter(const void*, void*, std::size_t, int, int, void*, void*) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclBroadcast(const void*, void*, std::size_t, int, int, void*, void*) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclSend(const void*, std::size_t, int, int, void*, void*) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclRecv(void*, std::size_t, int, int, void*, void*) {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclGroupStart() {
  return kInternalError;
}
FAKE_NCCL_EXPORT int ncclGroupEnd() {
  return kInternalError;
}
