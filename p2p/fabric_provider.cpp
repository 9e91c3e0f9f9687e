#include "p2p/fabric_provider.hpp"

#include <fmt/format.h>
#include <rdma/fabric.h>
#include <rdma/fi_errno.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "common/text.hpp"

namespace preflight::p2p {
namespace {

bool wants_any_provider(const std::string& provider) {
  return provider.empty() || provider == "any";
}

FabricInfo make_hints(const FabricRequest& request, bool with_rma) {
  FabricInfo hints(fi_allocinfo());
  if (!hints) {
    throw std::bad_alloc();
  }
  fi_info* info = hints.get();
  info->ep_attr->type = FI_EP_RDM;
  info->caps = FI_TAGGED;
  if (with_rma) {
    info->caps |= FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
  }
  if (request.memory == MemoryKind::cuda) {
    info->caps |= FI_HMEM;
  }
  info->mode = FI_CONTEXT | FI_CONTEXT2;
  // Every registration mode this code honours; the provider keeps the ones it needs.
  info->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY |
                               FI_MR_ENDPOINT |
                               (request.memory == MemoryKind::cuda ? FI_MR_HMEM : 0);
  info->domain_attr->threading = request.thread_safe ? FI_THREAD_SAFE : FI_THREAD_DOMAIN;
  if (!wants_any_provider(request.provider)) {
    info->fabric_attr->prov_name = strdup(request.provider.c_str());  // freed by fi_freeinfo
  }
  if (!request.domain.empty()) {
    info->domain_attr->name = strdup(request.domain.c_str());
  }
  return hints;
}

std::string describe_request(const FabricRequest& request) {
  return fmt::format("provider '{}', domain '{}', FI_EP_RDM, FI_TAGGED{}{}",
                     wants_any_provider(request.provider) ? "any" : request.provider,
                     request.domain.empty() ? "any" : request.domain,
                     request.op == DataOp::send ? "" : " + FI_RMA",
                     request.memory == MemoryKind::cuda ? " + FI_HMEM" : "");
}

}  // namespace

FabricInfo select_provider(const FabricRequest& request, FabricApi& api) {
  const bool with_rma = request.op != DataOp::send;
  fi_info* found = nullptr;
  FabricInfo hints = make_hints(request, with_rma);
  const int result = fabric_getinfo(hints.get(), &found, api);
  if (result == 0 && found != nullptr) {
    FabricInfo all(found);
    if (request.domain.empty()) {
      return all;
    }
    // Layered providers may ignore the domain hint (libfabric 1.17's tcp;ofi_rxm answers -d lo
    // with eth0 first): pick the exact domain from the list ourselves.
    std::string offered;
    for (fi_info* entry = found; entry != nullptr; entry = entry->next) {
      const char* name = entry->domain_attr != nullptr ? entry->domain_attr->name : nullptr;
      if (name != nullptr && request.domain == name) {
        return FabricInfo(fi_dupinfo(entry));
      }
      if (name != nullptr && offered.find(name) == std::string::npos) {
        offered += (offered.empty() ? "" : ", ") + std::string(name);
      }
    }
    throw FabricUnavailable(fmt::format("libfabric offers no domain '{}' for {} (offered: {})",
                                        request.domain, describe_request(request), offered));
  }
  if (result != -FI_ENODATA) {
    check_fi(result, "fi_getinfo", describe_request(request));
  }
  // Tell "no such provider or domain" from "the provider lacks RMA / HMEM".
  FabricRequest plain = request;
  plain.op = DataOp::send;
  plain.memory = MemoryKind::host;
  FabricInfo plain_hints = make_hints(plain, false);
  fi_info* plain_found = nullptr;
  FabricApi plain_api;
  if (fabric_getinfo(plain_hints.get(), &plain_found, plain_api) == 0 && plain_found != nullptr) {
    const FabricInfo owned(plain_found);
    throw FabricUnavailable(fmt::format(
        "libfabric provider {} ({}) does not offer {}: fi_getinfo found no match for {}",
        owned.get()->fabric_attr->prov_name, owned.get()->domain_attr->name,
        with_rma ? "FI_RMA (needed by --op write|read)" : "FI_HMEM (needed by --mem cuda)",
        describe_request(request)));
  }
  throw FabricUnavailable(fmt::format(
      "libfabric {} has no RDM endpoint for {} (fi_info -l lists the providers; on Debian the tcp "
      "RDM provider is \"tcp;ofi_rxm\")",
      fabric_runtime_version(), describe_request(request)));
}

std::vector<std::string> list_efa_domains() {
  return list_rail_domains("efa");
}

std::vector<std::string> list_rail_domains(const std::string& provider) {
  FabricRequest request;
  request.provider = provider;
  FabricInfo hints = make_hints(request, false);
  fi_info* found = nullptr;
  std::set<std::string> domains;
  FabricApi api;
  if (fabric_getinfo(hints.get(), &found, api) == 0 && found != nullptr) {
    const FabricInfo owned(found);
    for (fi_info* info = found; info != nullptr; info = info->next) {
      if (info->domain_attr != nullptr && info->domain_attr->name != nullptr &&
          std::string_view(info->domain_attr->name) != "lo") {
        domains.insert(info->domain_attr->name);
      }
    }
  }
  std::vector<std::string> ordered(domains.begin(), domains.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  return ordered;
}

}  // namespace preflight::p2p
