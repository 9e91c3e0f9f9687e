#include "common/cuda.hpp"

#include <fmt/format.h>

#include <array>
#include <memory>

#include "common/error.hpp"
#include "common/text.hpp"

namespace preflight {

std::string describe_cuda_error(const cuda::RuntimeApi& api, cuda::Status result) {
  const char* name = api.cudaGetErrorName != nullptr ? api.cudaGetErrorName(result) : nullptr;
  const char* text = api.cudaGetErrorString != nullptr ? api.cudaGetErrorString(result) : nullptr;
  return fmt::format("{}: {}", name != nullptr ? name : fmt::format("cudaError {}", result),
                     text != nullptr ? text : "unknown error");
}

void check_cuda(const cuda::RuntimeApi& api, cuda::Status result, std::string_view call,
                std::string_view arguments) {
  if (result == cuda::kSuccess) {
    return;
  }
  throw Error("CUDA", call, arguments, describe_cuda_error(api, result),
              static_cast<long long>(result));
}

DeviceBuffer::DeviceBuffer(const cuda::RuntimeApi& api, std::size_t bytes) : bytes_(bytes) {
  void* pointer = nullptr;
  check_cuda(api, api.cudaMalloc(&pointer, bytes), "cudaMalloc", fmt::format("bytes={}", bytes));
  memory_ = CudaHandle<void*, &cuda::RuntimeApi::cudaFree>(api, pointer);
}

CudaStream::CudaStream(const cuda::RuntimeApi& api) {
  cuda::Stream stream = nullptr;
  check_cuda(api, api.cudaStreamCreateWithFlags(&stream, cuda::kStreamNonBlocking),
             "cudaStreamCreateWithFlags", "cudaStreamNonBlocking");
  stream_ = CudaHandle<cuda::Stream, &cuda::RuntimeApi::cudaStreamDestroy>(api, stream);
}

CudaEvent::CudaEvent(const cuda::RuntimeApi& api) : api_(&api) {
  cuda::Event event = nullptr;
  check_cuda(api, api.cudaEventCreateWithFlags(&event, cuda::kEventDefault),
             "cudaEventCreateWithFlags", "cudaEventDefault");
  event_ = CudaHandle<cuda::Event, &cuda::RuntimeApi::cudaEventDestroy>(api, event);
}

void CudaEvent::record(cuda::Stream stream) {
  check_cuda(*api_, api_->cudaEventRecord(event_.get(), stream), "cudaEventRecord", "");
}

double CudaEvent::elapsed_s(const CudaEvent& start, const CudaEvent& stop) {
  float milliseconds = 0;
  check_cuda(*start.api_, start.api_->cudaEventElapsedTime(&milliseconds, start.get(), stop.get()),
             "cudaEventElapsedTime", "");
  return static_cast<double>(milliseconds) / 1e3;
}

int cuda_device_count(const cuda::RuntimeApi& api) {
  int count = 0;
  if (api.cudaGetDeviceCount(&count) != cuda::kSuccess) {
    api.cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return count;
}

std::optional<std::string> cuda_unavailable_reason(const cuda::RuntimeApi& api) {
  int count = 0;
  const cuda::Status result = api.cudaGetDeviceCount(&count);
  if (result != cuda::kSuccess) {
    api.cudaGetLastError();
    return fmt::format("no usable CUDA device ({})", describe_cuda_error(api, result));
  }
  if (count == 0) {
    return std::string("no CUDA device visible");
  }
  return std::nullopt;
}

std::string cuda_pci_bus_id(const cuda::RuntimeApi& api, int device) {
  std::array<char, 32> bus_id{};
  if (api.cudaDeviceGetPCIBusId(bus_id.data(), static_cast<int>(bus_id.size()), device) !=
      cuda::kSuccess) {
    return {};
  }
  return to_lower(bus_id.data());
}

int cuda_compute_capability(const cuda::RuntimeApi& api, int device) {
  int major = 0;
  int minor = 0;
  if (api.cudaDeviceGetAttribute(&major, cuda::kDeviceAttributeComputeCapabilityMajor, device) !=
          cuda::kSuccess ||
      api.cudaDeviceGetAttribute(&minor, cuda::kDeviceAttributeComputeCapabilityMinor, device) !=
          cuda::kSuccess) {
    return 0;
  }
  return major * 10 + minor;
}

std::string cuda_device_name(const cuda::RuntimeApi& api, int device) {
  const auto properties = std::make_unique<cuda::DeviceProperties>();
  if (api.cudaGetDeviceProperties(properties.get(), device) != cuda::kSuccess) {
    return {};
  }
  properties->name[sizeof(properties->name) - 1] = '\0';
  return properties->name;
}

}  // namespace preflight
