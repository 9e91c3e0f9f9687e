#include "common/cuda.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace preflight {

void check_cuda(cudaError_t result, std::string_view call, std::string_view arguments) {
  if (result == cudaSuccess) {
    return;
  }
  throw Error("CUDA", call, arguments,
              fmt::format("{}: {}", cudaGetErrorName(result), cudaGetErrorString(result)),
              static_cast<long long>(result));
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  void* pointer = nullptr;
  check_cuda(cudaMalloc(&pointer, bytes), "cudaMalloc", fmt::format("bytes={}", bytes));
  memory_.reset(pointer);
}

CudaStream::CudaStream() {
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags",
             "cudaStreamNonBlocking");
  stream_.reset(stream);
}

CudaEvent::CudaEvent() {
  cudaEvent_t event = nullptr;
  check_cuda(cudaEventCreate(&event), "cudaEventCreate", "");
  event_.reset(event);
}

void CudaEvent::record(cudaStream_t stream) {
  check_cuda(cudaEventRecord(event_.get(), stream), "cudaEventRecord", "");
}

double CudaEvent::elapsed_s(const CudaEvent& start, const CudaEvent& stop) {
  float milliseconds = 0;
  check_cuda(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()), "cudaEventElapsedTime",
             "");
  return static_cast<double>(milliseconds) / 1e3;
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

}  // namespace preflight
