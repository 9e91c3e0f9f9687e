// CUDA runtime support over the function table of common/cuda_api.hpp: error checks that decode
// the runtime's error, and owning handles for device memory, streams, events and graphs. Every
// handle keeps the table it was made with, so the same code runs on libcudart and on the tests'
// host-memory double.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/cuda_api.hpp"

namespace preflight {

// "cudaErrorNoDevice: no CUDA-capable device is detected".
[[nodiscard]] std::string describe_cuda_error(const cuda::RuntimeApi& api, cuda::Status result);
// Throws preflight::Error (library CUDA) with the decoded error when `result` is not success.
void check_cuda(const cuda::RuntimeApi& api, cuda::Status result, std::string_view call,
                std::string_view arguments);

// An owned runtime handle, released through the table's `Destroy` function.
template <typename Handle, auto Destroy>
class CudaHandle {
 public:
  CudaHandle() = default;
  CudaHandle(const cuda::RuntimeApi& api, Handle handle) : api_(&api), handle_(handle) {}
  CudaHandle(const CudaHandle&) = delete;
  CudaHandle& operator=(const CudaHandle&) = delete;
  CudaHandle(CudaHandle&& other) noexcept
      : api_(other.api_), handle_(std::exchange(other.handle_, nullptr)) {}
  CudaHandle& operator=(CudaHandle&& other) noexcept {
    if (this != &other) {
      reset();
      api_ = other.api_;
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  ~CudaHandle() { reset(); }

  [[nodiscard]] Handle get() const { return handle_; }
  [[nodiscard]] explicit operator bool() const { return handle_ != nullptr; }
  void reset() {
    if (handle_ != nullptr) {
      (api_->*Destroy)(std::exchange(handle_, nullptr));
    }
  }

 private:
  const cuda::RuntimeApi* api_ = nullptr;
  Handle handle_ = nullptr;
};

using CudaGraph = CudaHandle<cuda::Graph, &cuda::RuntimeApi::cudaGraphDestroy>;
using CudaGraphExec = CudaHandle<cuda::GraphExec, &cuda::RuntimeApi::cudaGraphExecDestroy>;

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // cudaMalloc on the current device.
  DeviceBuffer(const cuda::RuntimeApi& api, std::size_t bytes);
  [[nodiscard]] void* data() const { return memory_.get(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  CudaHandle<void*, &cuda::RuntimeApi::cudaFree> memory_;
  std::size_t bytes_ = 0;
};

class CudaStream {
 public:
  CudaStream() = default;
  explicit CudaStream(const cuda::RuntimeApi& api);  // non-blocking: never waits on stream 0
  [[nodiscard]] cuda::Stream get() const { return stream_.get(); }

 private:
  CudaHandle<cuda::Stream, &cuda::RuntimeApi::cudaStreamDestroy> stream_;
};

class CudaEvent {
 public:
  CudaEvent() = default;
  explicit CudaEvent(const cuda::RuntimeApi& api);
  [[nodiscard]] cuda::Event get() const { return event_.get(); }
  void record(cuda::Stream stream);
  // Seconds between two recorded, completed events.
  [[nodiscard]] static double elapsed_s(const CudaEvent& start, const CudaEvent& stop);

 private:
  const cuda::RuntimeApi* api_ = nullptr;
  CudaHandle<cuda::Event, &cuda::RuntimeApi::cudaEventDestroy> event_;
};

// Devices the runtime sees; 0 with no driver or no device (never throws).
[[nodiscard]] int cuda_device_count(const cuda::RuntimeApi& api);
// Why this process cannot use a GPU ("no CUDA device visible", the decoded driver error), or
// nullopt when it can. Never throws.
[[nodiscard]] std::optional<std::string> cuda_unavailable_reason(const cuda::RuntimeApi& api);
// "0000:10:1c.0" (lower case), empty when unknown.
[[nodiscard]] std::string cuda_pci_bus_id(const cuda::RuntimeApi& api, int device);
// Compute capability as major * 10 + minor (90 for H100), 0 when unknown.
[[nodiscard]] int cuda_compute_capability(const cuda::RuntimeApi& api, int device);
// The device's marketing name ("NVIDIA H100 80GB HBM3"), empty when unknown.
[[nodiscard]] std::string cuda_device_name(const cuda::RuntimeApi& api, int device);

}  // namespace preflight
