#include "common/ibverbs.hpp"

#include <cerrno>

#include "common/error.hpp"

namespace preflight {

void check_ibv(int result, std::string_view call, std::string_view arguments) {
  if (result == 0) {
    return;
  }
  const int error_number = result > 0 ? result : errno;
  throw Error("ibverbs", call, arguments, errno_message(error_number), error_number);
}

IbvDeviceList::IbvDeviceList() {
  list_ = ibv_get_device_list(&count_);
  if (list_ == nullptr) {
    count_ = 0;
  }
}

IbvDeviceList::~IbvDeviceList() {
  if (list_ != nullptr) {
    ibv_free_device_list(list_);
  }
}

std::span<ibv_device* const> IbvDeviceList::devices() const {
  return {list_, static_cast<std::size_t>(count_)};
}

}  // namespace preflight
