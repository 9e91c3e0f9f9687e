#include "common/nccl.hpp"

#include <fmt/format.h>

#include <utility>

#include "common/error.hpp"

namespace preflight {

void check_nccl(ncclResult_t result, std::string_view call, std::string_view arguments,
                ncclComm_t comm) {
  if (result == ncclSuccess || result == ncclInProgress) {
    return;
  }
  const char* last = ncclGetLastError(comm);
  std::string decoded = ncclGetErrorString(result);
  if (last != nullptr && *last != '\0') {
    decoded += fmt::format(" (last error: {})", last);
  }
  throw Error("NCCL", call, arguments, decoded, static_cast<long long>(result));
}

NcclCommunicator::NcclCommunicator(NcclCommunicator&& other) noexcept
    : comm_(std::exchange(other.comm_, nullptr)) {}

NcclCommunicator& NcclCommunicator::operator=(NcclCommunicator&& other) noexcept {
  if (this != &other) {
    this->~NcclCommunicator();
    comm_ = std::exchange(other.comm_, nullptr);
  }
  return *this;
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_ == nullptr) {
    return;
  }
  ncclResult_t async = ncclSuccess;
  if (ncclCommGetAsyncError(comm_, &async) != ncclSuccess || async != ncclSuccess) {
    ncclCommAbort(comm_);
  } else {
    ncclCommFinalize(comm_);
    ncclCommDestroy(comm_);
  }
  comm_ = nullptr;
}

void NcclCommunicator::abort() {
  if (comm_ != nullptr) {
    ncclCommAbort(std::exchange(comm_, nullptr));
  }
}

void NcclCommunicator::check_async_error() const {
  if (comm_ == nullptr) {
    return;
  }
  ncclResult_t async = ncclSuccess;
  check_nccl(ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError", "", comm_);
  check_nccl(async, "ncclCommGetAsyncError", "asynchronous error", comm_);
}

}  // namespace preflight
