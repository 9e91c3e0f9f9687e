// ibverbs support (built with PREFLIGHT_WITH_IBVERBS): error checks and owning handles for the
// device list and device contexts used by preflight-efa.
#pragma once

#include <infiniband/verbs.h>

#include <span>
#include <string_view>

#include "common/raii.hpp"

namespace preflight {

// ibverbs query calls return 0 or a positive errno (some return -1 and set errno).
void check_ibv(int result, std::string_view call, std::string_view arguments);

namespace detail {
inline void close_device(ibv_context* context) {
  ibv_close_device(context);
}
}  // namespace detail

using IbvContext = UniqueHandle<ibv_context*, detail::close_device, nullptr>;

class IbvDeviceList {
 public:
  IbvDeviceList();  // an empty list when no device or no driver (never throws)
  IbvDeviceList(const IbvDeviceList&) = delete;
  IbvDeviceList& operator=(const IbvDeviceList&) = delete;
  IbvDeviceList(IbvDeviceList&&) = delete;
  IbvDeviceList& operator=(IbvDeviceList&&) = delete;
  ~IbvDeviceList();
  [[nodiscard]] std::span<ibv_device* const> devices() const;

 private:
  ibv_device** list_ = nullptr;
  int count_ = 0;
};

}  // namespace preflight
