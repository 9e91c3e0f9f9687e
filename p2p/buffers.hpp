// Message buffers (host or CUDA memory) and the verification payload. The payload is a
// pseudo-random pattern that depends on the message size, the iteration and the direction, so a
// message of the wrong size, an old message or one from the other direction never verifies. A
// receive buffer is "poisoned" with the bitwise complement of the expected payload first: every
// byte that did not arrive is then wrong, not right by chance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/cuda.hpp"

namespace preflight::p2p {

enum class MemoryKind { host, cuda };
[[nodiscard]] std::string_view to_string(MemoryKind kind);

// Seed of the payload of the `iteration`-th verified message of `size_bytes` sent by the
// initiator (direction 0) or the responder (direction 1).
[[nodiscard]] std::uint64_t payload_seed(std::uint64_t size_bytes, std::uint64_t iteration,
                                         int direction);

void fill_payload(std::span<std::byte> bytes, std::uint64_t seed);
void fill_poison(std::span<std::byte> bytes, std::uint64_t seed);
// Number of bytes that differ from the payload of `seed`.
[[nodiscard]] std::uint64_t count_payload_mismatches(std::span<const std::byte> bytes,
                                                     std::uint64_t seed);

class MessageBuffer {
 public:
  // `cuda_device` and `cuda` (the CUDA runtime's table, common/gpu_libraries.hpp) are used only
  // for MemoryKind::cuda, which throws without a runtime. Host memory is page-aligned and touched
  // here, so no page fault lands in a timed iteration.
  MessageBuffer(MemoryKind kind, std::size_t bytes, int cuda_device = 0,
                const cuda::RuntimeApi* cuda = nullptr);

  [[nodiscard]] void* data() const;
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  [[nodiscard]] MemoryKind kind() const { return kind_; }
  [[nodiscard]] int cuda_device() const { return cuda_device_; }

  // The first `length` bytes; these copy through a host staging buffer for CUDA memory, on the
  // buffer's own stream, and return only once the bytes have arrived (a plain cudaMemcpy from
  // pageable memory may return before its DMA lands, and a send on another stream would read
  // the old bytes).
  void fill_payload(std::size_t length, std::uint64_t seed);
  void fill_poison(std::size_t length, std::uint64_t seed);
  [[nodiscard]] std::uint64_t count_mismatches(std::size_t length, std::uint64_t seed);

 private:
  struct FreeHost {
    void operator()(std::byte* pointer) const;
  };
  MemoryKind kind_;
  std::size_t bytes_;
  int cuda_device_;
  std::unique_ptr<std::byte, FreeHost> host_;
  const cuda::RuntimeApi* cuda_ = nullptr;
  CudaStream copy_stream_;
  DeviceBuffer device_;
  std::vector<std::byte> staging_;
  void copy(void* destination, const void* source, std::size_t length, int direction);
};

}  // namespace preflight::p2p
