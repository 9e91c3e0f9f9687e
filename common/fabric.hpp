// libfabric support (built with PREFLIGHT_WITH_LIBFABRIC): error checks and owning handles for
// every fid kind. fi_close is the single release path for all of them.
#pragma once

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_errno.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/raii.hpp"

namespace preflight {

// Throws preflight::Error with fi_strerror's text when `result` is negative.
void check_fi(long long result, std::string_view call, std::string_view arguments);

namespace detail {
inline void close_fid(fid* handle) {
  fi_close(handle);
}
inline void free_info(fi_info* info) {
  fi_freeinfo(info);
}
}  // namespace detail

// An owned fid of a concrete kind (fid_fabric, fid_domain, fid_ep, fid_cq, fid_av, fid_mr, ...).
template <typename Fid>
class FabricHandle {
 public:
  FabricHandle() = default;
  explicit FabricHandle(Fid* handle) : handle_(handle) {}
  [[nodiscard]] Fid* get() const { return handle_.get(); }
  [[nodiscard]] explicit operator bool() const { return static_cast<bool>(handle_); }
  // For APIs that fill in a `Fid**` (fi_domain, fi_endpoint, ...): resets, then hands out the
  // slot. Use as `check_fi(fi_domain(f, info, handle.out(), nullptr), ...)`.
  Fid** out() {
    handle_.reset();
    return &raw_;
  }
  // Adopts what `out()` received.
  void adopt() { handle_.reset(raw_); }

 private:
  struct Release {
    void operator()(Fid* handle) const {
      if (handle != nullptr) {
        detail::close_fid(&handle->fid);
      }
    }
  };
  std::unique_ptr<Fid, Release> handle_;
  Fid* raw_ = nullptr;
};

using FabricInfo = UniqueHandle<fi_info*, detail::free_info, nullptr>;

// "1.17" style runtime version of the loaded libfabric.
[[nodiscard]] std::string fabric_runtime_version();

}  // namespace preflight
