// libfabric support (built with PREFLIGHT_WITH_LIBFABRIC): error checks and owning handles for
// every fid kind. fi_close is the single release path for all of them.
#pragma once

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_errno.h>

#include <cstdint>
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
  // Closes now and returns fi_close's result (0 when there was nothing to close), for teardown
  // that must happen in a given order and report failures.
  int close() {
    Fid* handle = handle_.release();
    return handle != nullptr ? fi_close(&handle->fid) : 0;
  }

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
// "1.18" for FI_VERSION(1, 18).
[[nodiscard]] std::string fabric_version_text(std::uint32_t packed);

// The API version preflight speaks to libfabric. At least 1.18: below it the efa provider keeps
// device RDMA off by default on 0xefa0/0xefa1 (p4d, p5; fi_efa(7)), so RMA is emulated, large
// sends lose the RDMA-read protocol and FI_HMEM with CUDA is refused. Newer when both the headers
// of the build and the library are: max(1.18, min(headers, library)).
inline constexpr std::uint32_t kMinimumFabricApi = FI_VERSION(1, 18);
[[nodiscard]] std::uint32_t wanted_fabric_api(std::uint32_t library_version);

// What was asked and what libfabric agreed to.
struct FabricApi {
  std::uint32_t requested = 0;  // the first fi_getinfo's version
  std::uint32_t granted = 0;    // the version of the call that answered (fabric_attr->api_version)
  std::uint32_t library = 0;    // fi_version()
  std::string fallback;         // why granted < requested; empty when it is not
};

// fi_getinfo at wanted_fabric_api(). A library older than that answers -FI_ENOSYS ("Function not
// implemented": libfabric 1.17 asked for 1.18); then it is asked again at its own version and
// `api.fallback` says so. Returns fi_getinfo's result; `api` is filled either way.
[[nodiscard]] int fabric_getinfo(const fi_info* hints, fi_info** found, FabricApi& api);

}  // namespace preflight
