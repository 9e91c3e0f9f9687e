#include "probes/fabric_runtime.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "preflight/build_config.hpp"

#if PREFLIGHT_HAVE_LIBFABRIC
#include <rdma/fabric.h>
#include <rdma/fi_errno.h>
#endif

namespace preflight::probes {

#if PREFLIGHT_HAVE_LIBFABRIC
namespace {

using GetInfoFn = int(std::uint32_t, const char*, const char*, std::uint64_t, const fi_info*,
                      fi_info**);
using FreeInfoFn = void(fi_info*);
using DupInfoFn = fi_info*(const fi_info*);
using VersionFn = std::uint32_t();
using StrErrorFn = const char*(int);

// FI_MR_BASIC | FI_MR_SCALABLE by value: libfabric >= 2.0 headers turn both names into a
// "deprecated" #pragma warning (an error under -Werror), and fi_info(1) of 2.x spells ~3 too.
// Every other mode bit is accepted, as fi_info does, so providers that want modes are listed.
constexpr int kLegacyMrModes = 0x3;

std::string endpoint_type_name(fi_ep_type type) {
  switch (type) {
    case FI_EP_RDM:
      return "FI_EP_RDM";
    case FI_EP_MSG:
      return "FI_EP_MSG";
    case FI_EP_DGRAM:
      return "FI_EP_DGRAM";
    default:
      return "FI_EP_" + std::to_string(static_cast<int>(type));
  }
}

}  // namespace

FabricRuntime FabricRuntime::load() {
  FabricRuntime runtime;
  runtime.library_ = open_first_library(
      library_candidates({"libfabric.so.1"}, {"/opt/amazon/efa/lib64", "/opt/amazon/efa/lib"}));
  if (!runtime.loaded()) {
    runtime.reason_ = "libfabric.so.1 not loadable (" + runtime.library_.attempts.front() + ")";
  } else if (runtime.library_.library.symbol<GetInfoFn>("fi_getinfo") == nullptr ||
             runtime.library_.library.symbol<FreeInfoFn>("fi_freeinfo") == nullptr ||
             runtime.library_.library.symbol<DupInfoFn>("fi_dupinfo") == nullptr ||
             runtime.library_.library.symbol<VersionFn>("fi_version") == nullptr) {
    runtime.reason_ = runtime.library_.path + " lacks the fi_getinfo/fi_version API";
    runtime.library_.library = DynamicLibrary();
  }
  return runtime;
}

std::optional<Version> FabricRuntime::header_version() {
  return Version{{FI_MAJOR_VERSION, FI_MINOR_VERSION},
                 std::to_string(FI_MAJOR_VERSION) + "." + std::to_string(FI_MINOR_VERSION)};
}

std::optional<Version> FabricRuntime::runtime_version() const {
  if (!loaded()) {
    return std::nullopt;
  }
  return version_from_fi(library_.library.symbol<VersionFn>("fi_version")());
}

FabricQuery FabricRuntime::query(const std::string& provider, bool rdm_only,
                                 unsigned long long flags) const {
  FabricQuery result;
  if (!loaded()) {
    result.result = -1;
    result.error = unavailable_reason();
    return result;
  }
  auto* getinfo = library_.library.symbol<GetInfoFn>("fi_getinfo");
  auto* freeinfo = library_.library.symbol<FreeInfoFn>("fi_freeinfo");
  auto* dupinfo = library_.library.symbol<DupInfoFn>("fi_dupinfo");
  auto* strerror_fn = library_.library.symbol<StrErrorFn>("fi_strerror");
  const auto release = [freeinfo](fi_info* info) {
    if (info != nullptr) {
      freeinfo(info);
    }
  };
  // Hints as fi_info(1) sets them: accept every mode, so providers are listed even when they
  // ask for modes a real application would have to support.
  std::unique_ptr<fi_info, decltype(release)> hints(dupinfo(nullptr), release);
  if (!hints) {
    result.result = -FI_ENOMEM;
    result.error = "fi_dupinfo(NULL) failed";
    return result;
  }
  hints->mode = ~0ULL;
  hints->domain_attr->mode = ~0ULL;
  hints->domain_attr->mr_mode = ~kLegacyMrModes;
  if (!provider.empty()) {
    hints->fabric_attr->prov_name = ::strdup(provider.c_str());  // freed by fi_freeinfo
  }
  if (rdm_only) {
    hints->ep_attr->type = FI_EP_RDM;
  }
  // Ask for the API of the older of headers and runtime: a newer request fails with ENOSYS.
  const std::uint32_t runtime = library_.library.symbol<VersionFn>("fi_version")();
  const std::uint32_t requested =
      std::min<std::uint32_t>(runtime, FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION));
  fi_info* raw = nullptr;
  result.result = getinfo(requested, nullptr, nullptr, flags, hints.get(), &raw);
  std::unique_ptr<fi_info, decltype(release)> list(raw, release);
  if (result.result != 0) {
    result.error = strerror_fn != nullptr ? strerror_fn(-result.result) : "fi_getinfo failed";
    return result;
  }
  for (const fi_info* info = list.get(); info != nullptr; info = info->next) {
    FabricEntry entry;
    if (info->fabric_attr != nullptr) {
      entry.provider = info->fabric_attr->prov_name != nullptr ? info->fabric_attr->prov_name : "";
      entry.fabric = info->fabric_attr->name != nullptr ? info->fabric_attr->name : "";
      entry.provider_version = info->fabric_attr->prov_version;
    }
    if (info->domain_attr != nullptr && info->domain_attr->name != nullptr) {
      entry.domain = info->domain_attr->name;
    }
    if (info->ep_attr != nullptr) {
      entry.endpoint_type = endpoint_type_name(info->ep_attr->type);
    }
    result.entries.push_back(std::move(entry));
  }
  return result;
}

FabricQuery FabricRuntime::list_all() const {
  return query({}, false, 0);
}

std::optional<FabricQuery> FabricRuntime::list_registered() const {
#ifdef FI_PROV_ATTR_ONLY
  return query({}, false, FI_PROV_ATTR_ONLY);
#else
  return std::nullopt;
#endif
}

FabricQuery FabricRuntime::list_efa_rdm() const {
  return query("efa", true, 0);
}

#else  // !PREFLIGHT_HAVE_LIBFABRIC

FabricRuntime FabricRuntime::load() {
  FabricRuntime runtime;
  runtime.reason_ = "built without libfabric headers (turn on PREFLIGHT_WITH_LIBFABRIC)";
  return runtime;
}
std::optional<Version> FabricRuntime::header_version() {
  return std::nullopt;
}
std::optional<Version> FabricRuntime::runtime_version() const {
  return std::nullopt;
}
FabricQuery FabricRuntime::query(const std::string&, bool, unsigned long long) const {
  return {-1, reason_, {}};
}
FabricQuery FabricRuntime::list_all() const {
  return query({}, false, 0);
}
std::optional<FabricQuery> FabricRuntime::list_registered() const {
  return std::nullopt;
}
FabricQuery FabricRuntime::list_efa_rdm() const {
  return query({}, true, 0);
}

#endif

std::string FabricRuntime::unavailable_reason() const {
  return reason_;
}

}  // namespace preflight::probes
