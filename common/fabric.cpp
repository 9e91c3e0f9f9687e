#include "common/fabric.hpp"

#include <fmt/format.h>
#include <rdma/fi_errno.h>

#include "common/error.hpp"

namespace preflight {

void check_fi(long long result, std::string_view call, std::string_view arguments) {
  if (result >= 0) {
    return;
  }
  throw Error("libfabric", call, arguments, fi_strerror(static_cast<int>(-result)), result);
}

std::string fabric_runtime_version() {
  return fabric_version_text(fi_version());
}

std::string fabric_version_text(std::uint32_t packed) {
  return fmt::format("{}.{}", FI_MAJOR(packed), FI_MINOR(packed));
}

std::uint32_t wanted_fabric_api(std::uint32_t library_version) {
  const std::uint32_t headers = FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION);
  const std::uint32_t both = FI_VERSION_LT(library_version, headers) ? library_version : headers;
  return FI_VERSION_LT(both, kMinimumFabricApi) ? kMinimumFabricApi : both;
}

int fabric_getinfo(const fi_info* hints, fi_info** found, FabricApi& api) {
  api.library = fi_version();
  api.requested = wanted_fabric_api(api.library);
  api.granted = api.requested;
  api.fallback.clear();
  int result = fi_getinfo(api.requested, nullptr, nullptr, 0, hints, found);
  if (result == -FI_ENOSYS && FI_VERSION_LT(api.library, api.requested)) {
    api.granted = api.library;
    api.fallback = fmt::format(
        "libfabric {} refused API {} (fi_getinfo: -FI_ENOSYS, {}): asked again for {}, the "
        "newest it offers",
        fabric_version_text(api.library), fabric_version_text(api.requested),
        fi_strerror(FI_ENOSYS), fabric_version_text(api.library));
    result = fi_getinfo(api.granted, nullptr, nullptr, 0, hints, found);
  }
  return result;
}

}  // namespace preflight
