// Generic owning handles. Library-specific wrappers (fid, MR, CUDA, NCCL, MPI, ibverbs) live in
// their own headers and build on these.
#pragma once

#include <dlfcn.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>

namespace preflight {

// Owns a pointer-like handle released by `Release`. Move-only; empty when `get() == Empty`.
template <typename Handle, auto Release, Handle Empty = Handle{}>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle handle) : handle_(handle) {}
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, Empty)) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      reset(std::exchange(other.handle_, Empty));
    }
    return *this;
  }
  ~UniqueHandle() { reset(); }

  [[nodiscard]] Handle get() const { return handle_; }
  [[nodiscard]] explicit operator bool() const { return handle_ != Empty; }
  Handle release() { return std::exchange(handle_, Empty); }
  void reset(Handle handle = Empty) {
    Handle old = std::exchange(handle_, handle);
    if (old != Empty) {
      Release(old);
    }
  }

 private:
  Handle handle_ = Empty;
};

namespace detail {
inline void close_fd(int fd) {
  ::close(fd);
}
inline void close_library(void* library) {
  ::dlclose(library);
}
}  // namespace detail

using FileDescriptor = UniqueHandle<int, detail::close_fd, -1>;

// A shared library opened at run time: the probes load NCCL, CUDA and NVML this way so the
// binaries run (and report `skip`) on machines without them.
class DynamicLibrary {
 public:
  // Empty when the library cannot be loaded; `error()` then says why (dlerror).
  static DynamicLibrary open(const std::string& name, int flags = RTLD_NOW | RTLD_LOCAL);

  [[nodiscard]] bool loaded() const { return static_cast<bool>(handle_); }
  [[nodiscard]] const std::string& error() const { return error_; }
  // The file the dynamic loader actually mapped (dlinfo / dladdr), empty if unknown.
  [[nodiscard]] std::string resolved_path() const;

  template <typename Function>
  [[nodiscard]] Function* symbol(const char* name) const {
    if (!handle_) {
      return nullptr;
    }
    // POSIX guarantees object and function pointers convert both ways for dlsym.
    return reinterpret_cast<Function*>(::dlsym(handle_.get(), name));  // NOLINT
  }

 private:
  UniqueHandle<void*, detail::close_library, nullptr> handle_;
  std::string error_;
};

}  // namespace preflight
