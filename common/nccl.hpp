// NCCL support (built with PREFLIGHT_WITH_NCCL): error checks with NCCL's last-error text and an
// owning communicator that aborts instead of finalising when the run is being torn down on error.
#pragma once

#include <nccl.h>

#include <string_view>

namespace preflight {

// Throws preflight::Error with ncclGetErrorString and ncclGetLastError(comm).
void check_nccl(ncclResult_t result, std::string_view call, std::string_view arguments,
                ncclComm_t comm = nullptr);

class NcclCommunicator {
 public:
  NcclCommunicator() = default;
  explicit NcclCommunicator(ncclComm_t comm) : comm_(comm) {}
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  NcclCommunicator(NcclCommunicator&& other) noexcept;
  NcclCommunicator& operator=(NcclCommunicator&& other) noexcept;
  // Finalize + destroy on the normal path; abort if abort() was requested or an async error is
  // pending (ncclCommFinalize would hang on a dead peer).
  ~NcclCommunicator();

  [[nodiscard]] ncclComm_t get() const { return comm_; }
  // Aborts now (safe from a watchdog thread); the destructor then does nothing more.
  void abort();
  // ncclCommGetAsyncError; throws on an error.
  void check_async_error() const;

 private:
  ncclComm_t comm_ = nullptr;
};

}  // namespace preflight
