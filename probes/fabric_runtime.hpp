// libfabric loaded at run time. Linking it would cost every probe its load-time initialisation
// (on Debian, libfabric's PSM dependencies calibrate a clock for about 0.2 s before main), so
// only the probes that need it pay, and only when they call it. The API is the one the headers
// this binary was built with describe (PREFLIGHT_HAVE_LIBFABRIC).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/version.hpp"
#include "probes/library_search.hpp"

namespace preflight::probes {

struct FabricEntry {
  std::string provider;       // prov_name, e.g. "tcp;ofi_rxm" or "efa"
  std::string fabric;         // fabric_attr->name
  std::string domain;         // domain_attr->name
  std::string endpoint_type;  // "FI_EP_RDM", "FI_EP_MSG", "FI_EP_DGRAM"
  unsigned provider_version = 0;
};

struct FabricQuery {
  int result = 0;     // fi_getinfo's return (0 or a negative FI_E* code)
  std::string error;  // fi_strerror text when result != 0
  std::vector<FabricEntry> entries;
};

class FabricRuntime {
 public:
  // Loads libfabric.so.1 (the loader's choice first, then /opt/amazon/efa/lib*). Never throws.
  static FabricRuntime load();

  [[nodiscard]] bool loaded() const { return library_.library.loaded(); }
  // Why it is not loaded (built without libfabric headers, or every candidate failed).
  [[nodiscard]] std::string unavailable_reason() const;
  [[nodiscard]] const std::string& path() const { return library_.path; }

  [[nodiscard]] std::optional<Version> runtime_version() const;
  [[nodiscard]] static std::optional<Version> header_version();

  // fi_getinfo with permissive hints (as fi_info does): every usable provider entry.
  [[nodiscard]] FabricQuery list_all() const;
  // Providers registered with the core, usable or not (FI_PROV_ATTR_ONLY); nullopt when the
  // headers lack the flag.
  [[nodiscard]] std::optional<FabricQuery> list_registered() const;
  // Provider efa, endpoint type RDM.
  [[nodiscard]] FabricQuery list_efa_rdm() const;

 private:
  OpenedLibrary library_;
  std::string reason_;
  [[nodiscard]] FabricQuery query(const std::string& provider, bool rdm_only,
                                  unsigned long long flags) const;
};

}  // namespace preflight::probes
