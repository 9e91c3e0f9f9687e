// CUDA runtime support (built with PREFLIGHT_WITH_CUDA): error checks and owning handles for
// device buffers, streams and events.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string_view>

#include "common/raii.hpp"

namespace preflight {

// Throws preflight::Error with cudaGetErrorName/String when `result` is not cudaSuccess.
void check_cuda(cudaError_t result, std::string_view call, std::string_view arguments);

namespace detail {
inline void free_device(void* pointer) {
  cudaFree(pointer);
}
inline void destroy_stream(cudaStream_t stream) {
  cudaStreamDestroy(stream);
}
inline void destroy_event(cudaEvent_t event) {
  cudaEventDestroy(event);
}
}  // namespace detail

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  [[nodiscard]] void* data() const { return memory_.get(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  UniqueHandle<void*, detail::free_device, nullptr> memory_;
  std::size_t bytes_ = 0;
};

class CudaStream {
 public:
  CudaStream();  // non-blocking stream
  [[nodiscard]] cudaStream_t get() const { return stream_.get(); }

 private:
  UniqueHandle<cudaStream_t, detail::destroy_stream, nullptr> stream_;
};

class CudaEvent {
 public:
  CudaEvent();
  [[nodiscard]] cudaEvent_t get() const { return event_.get(); }
  void record(cudaStream_t stream);
  // Seconds between two recorded, completed events.
  [[nodiscard]] static double elapsed_s(const CudaEvent& start, const CudaEvent& stop);

 private:
  UniqueHandle<cudaEvent_t, detail::destroy_event, nullptr> event_;
};

[[nodiscard]] int cuda_device_count();  // 0 when no driver or no device (never throws)

}  // namespace preflight
