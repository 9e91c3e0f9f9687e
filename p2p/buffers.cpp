#include "p2p/buffers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "common/error.hpp"

namespace preflight::p2p {
namespace {

constexpr std::size_t kPageBytes = 4096;

std::uint64_t splitmix64(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27U)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31U);
}

// Calls `visit(offset, word)` for each 8-byte word of the payload (the last one may be partial).
template <typename Visit>
void for_each_payload_word(std::size_t length, std::uint64_t seed, Visit&& visit) {
  const std::uint64_t base = splitmix64(seed);
  for (std::size_t offset = 0, index = 0; offset < length; offset += 8, ++index) {
    visit(offset, splitmix64(base + index));
  }
}

}  // namespace

std::string_view to_string(MemoryKind kind) {
  return kind == MemoryKind::host ? "host" : "cuda";
}

std::uint64_t payload_seed(std::uint64_t size_bytes, std::uint64_t iteration, int direction) {
  return splitmix64(splitmix64(size_bytes) ^ (iteration << 1U) ^
                    static_cast<std::uint64_t>(direction & 1));
}

void fill_payload(std::span<std::byte> bytes, std::uint64_t seed) {
  for_each_payload_word(bytes.size(), seed, [&](std::size_t offset, std::uint64_t word) {
    std::memcpy(bytes.data() + offset, &word, std::min<std::size_t>(8, bytes.size() - offset));
  });
}

void fill_poison(std::span<std::byte> bytes, std::uint64_t seed) {
  for_each_payload_word(bytes.size(), seed, [&](std::size_t offset, std::uint64_t word) {
    const std::uint64_t complement = ~word;
    std::memcpy(bytes.data() + offset, &complement,
                std::min<std::size_t>(8, bytes.size() - offset));
  });
}

std::uint64_t count_payload_mismatches(std::span<const std::byte> bytes, std::uint64_t seed) {
  std::uint64_t wrong = 0;
  for_each_payload_word(bytes.size(), seed, [&](std::size_t offset, std::uint64_t word) {
    const std::size_t length = std::min<std::size_t>(8, bytes.size() - offset);
    std::uint64_t actual = word;
    std::memcpy(&actual, bytes.data() + offset, length);
    if (actual != word) {
      for (std::size_t i = 0; i < length; ++i) {
        wrong += ((actual >> (8 * i)) & 0xFFU) != ((word >> (8 * i)) & 0xFFU) ? 1 : 0;
      }
    }
  });
  return wrong;
}

void MessageBuffer::FreeHost::operator()(std::byte* pointer) const {
  std::free(pointer);  // NOLINT(cppcoreguidelines-owning-memory): aligned_alloc's memory
}

MessageBuffer::MessageBuffer(MemoryKind kind, std::size_t bytes, int cuda_device,
                             const cuda::RuntimeApi* cuda)
    : kind_(kind), bytes_(std::max<std::size_t>(bytes, 1)), cuda_device_(cuda_device), cuda_(cuda) {
  if (kind_ == MemoryKind::host) {
    const std::size_t rounded = (bytes_ + kPageBytes - 1) / kPageBytes * kPageBytes;
    auto* memory = static_cast<std::byte*>(std::aligned_alloc(kPageBytes, rounded));  // NOLINT
    if (memory == nullptr) {
      throw std::bad_alloc();
    }
    host_.reset(memory);
    std::memset(memory, 0, rounded);  // fault every page in now
    return;
  }
  if (cuda_ == nullptr) {
    throw std::invalid_argument("MessageBuffer: CUDA memory without a CUDA runtime");
  }
  check_cuda(*cuda_, cuda_->cudaSetDevice(cuda_device_), "cudaSetDevice",
             std::to_string(cuda_device_));
  copy_stream_ = CudaStream(*cuda_);
  device_ = DeviceBuffer(*cuda_, bytes_);
  check_cuda(*cuda_, cuda_->cudaMemsetAsync(device_.data(), 0, bytes_, copy_stream_.get()),
             "cudaMemsetAsync", std::to_string(bytes_));
  check_cuda(*cuda_, cuda_->cudaStreamSynchronize(copy_stream_.get()), "cudaStreamSynchronize",
             "message buffer");
  staging_.resize(bytes_);
}

void* MessageBuffer::data() const {
  if (kind_ == MemoryKind::cuda) {
    return device_.data();
  }
  return host_.get();
}

void MessageBuffer::copy(void* destination, const void* source, std::size_t length, int direction) {
  check_cuda(*cuda_,
             cuda_->cudaMemcpyAsync(destination, source, length, direction, copy_stream_.get()),
             "cudaMemcpyAsync",
             fmt::format("{} B {}", length,
                         direction == cuda::kMemcpyHostToDevice ? "to the device" : "to the host"));
  check_cuda(*cuda_, cuda_->cudaStreamSynchronize(copy_stream_.get()), "cudaStreamSynchronize",
             "message buffer copy");
}

void MessageBuffer::fill_payload(std::size_t length, std::uint64_t seed) {
  length = std::min(length, bytes_);
  if (kind_ == MemoryKind::host) {
    p2p::fill_payload(std::span(host_.get(), length), seed);
    return;
  }
  p2p::fill_payload(std::span(staging_.data(), length), seed);
  copy(device_.data(), staging_.data(), length, cuda::kMemcpyHostToDevice);
}

void MessageBuffer::fill_poison(std::size_t length, std::uint64_t seed) {
  length = std::min(length, bytes_);
  if (kind_ == MemoryKind::host) {
    p2p::fill_poison(std::span(host_.get(), length), seed);
    return;
  }
  p2p::fill_poison(std::span(staging_.data(), length), seed);
  copy(device_.data(), staging_.data(), length, cuda::kMemcpyHostToDevice);
}

std::uint64_t MessageBuffer::count_mismatches(std::size_t length, std::uint64_t seed) {
  length = std::min(length, bytes_);
  if (kind_ == MemoryKind::host) {
    return count_payload_mismatches(std::span<const std::byte>(host_.get(), length), seed);
  }
  copy(staging_.data(), device_.data(), length, cuda::kMemcpyDeviceToHost);
  return count_payload_mismatches(std::span<const std::byte>(staging_.data(), length), seed);
}

}  // namespace preflight::p2p
