#include "common/fabric.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace preflight {

void check_fi(long long result, std::string_view call, std::string_view arguments) {
  if (result >= 0) {
    return;
  }
  throw Error("libfabric", call, arguments, fi_strerror(static_cast<int>(-result)), result);
}

std::string fabric_runtime_version() {
  const std::uint32_t packed = fi_version();
  return fmt::format("{}.{}", FI_MAJOR(packed), FI_MINOR(packed));
}

}  // namespace preflight
