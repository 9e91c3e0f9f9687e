// Page-aligned host memory for benchmark buffers, touched on allocation so that first-touch page
// faults never land in a timed iteration.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace preflight::collectives {

class HostBuffer {
 public:
  HostBuffer() = default;

  // Grows to at least `bytes` (contents are not kept); never shrinks.
  void reserve(std::size_t bytes) {
    if (bytes <= bytes_ && memory_) {
      return;
    }
    constexpr std::size_t kPage = 4096;
    const std::size_t rounded = (bytes + kPage - 1) / kPage * kPage + kPage;
    memory_.reset(static_cast<std::byte*>(std::aligned_alloc(kPage, rounded)));
    if (!memory_) {
      throw std::bad_alloc();
    }
    std::memset(memory_.get(), 0, rounded);
    bytes_ = rounded;
  }

  [[nodiscard]] std::byte* data() const { return memory_.get(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  [[nodiscard]] std::span<std::byte> span(std::size_t offset, std::size_t length) const {
    return {memory_.get() + offset, length};
  }

 private:
  struct Free {
    void operator()(std::byte* pointer) const { std::free(pointer); }  // NOLINT
  };
  std::unique_ptr<std::byte, Free> memory_;
  std::size_t bytes_ = 0;
};

}  // namespace preflight::collectives
