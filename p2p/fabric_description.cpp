#include "p2p/fabric_description.hpp"

#include <fmt/format.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_errno.h>

#include <array>
#include <string_view>
#include <utility>

#include "p2p/fabric_transport.hpp"

namespace preflight::p2p {

std::string mr_mode_string(int mr_mode) {
  std::string text;
  const std::array<std::pair<int, std::string_view>, 9> bits = {{
      {FI_MR_LOCAL, "local"},
      {FI_MR_RAW, "raw"},
      {FI_MR_VIRT_ADDR, "virt_addr"},
      {FI_MR_ALLOCATED, "allocated"},
      {FI_MR_PROV_KEY, "prov_key"},
      {FI_MR_MMU_NOTIFY, "mmu_notify"},
      {FI_MR_RMA_EVENT, "rma_event"},
      {FI_MR_ENDPOINT, "endpoint"},
      {FI_MR_HMEM, "hmem"},
  }};
  for (const auto& [bit, name] : bits) {
    if ((mr_mode & bit) != 0) {
      text += text.empty() ? "" : "|";
      text += name;
    }
  }
  return text.empty() ? "none" : text;
}

std::string threading_string(fi_threading threading) {
  switch (threading) {
    case FI_THREAD_SAFE:
      return "safe";
    case FI_THREAD_FID:
      return "fid";
    case FI_THREAD_DOMAIN:
      return "domain";
    case FI_THREAD_COMPLETION:
      return "completion";
    case FI_THREAD_ENDPOINT:
      return "endpoint";
    default:
      return "unspec";
  }
}

std::string progress_string(fi_progress progress) {
  switch (progress) {
    case FI_PROGRESS_AUTO:
      return "auto";
    case FI_PROGRESS_MANUAL:
      return "manual";
    default:
      return "unspec";
  }
}

CompletionError::CompletionError(std::string_view operation, std::string_view peer,
                                 int error_number, int provider_error, std::string_view decoded)
    : Error("libfabric", "fi_cq_read", fmt::format("{} with {}", operation, peer),
            fmt::format("completion error: {} (provider error {}: {})", fi_strerror(error_number),
                        provider_error, decoded),
            -error_number),
      peer_(peer),
      error_number_(error_number),
      provider_error_(provider_error) {}

bool CompletionError::peer_unreachable() const {
  switch (error_number_) {
    case FI_ECONNRESET:
    case FI_ECONNREFUSED:
    case FI_ECONNABORTED:
    case FI_ENOTCONN:
    case FI_EHOSTUNREACH:
    case FI_ENETUNREACH:
    case FI_ETIMEDOUT:
    case FI_EIO:
    case FI_ESHUTDOWN:
      return true;
    default:
      return false;
  }
}

nlohmann::json describe_fabric(const FabricDescription& d) {
  const auto optional_bool = [](const std::optional<bool>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  nlohmann::json api{
      {"requested", d.api_requested}, {"granted", d.api_version}, {"library", d.library_version}};
  if (!d.api_fallback.empty()) {
    api["fallback"] = d.api_fallback;
  }
  return nlohmann::json{{"backend", "libfabric"},
                        {"provider", d.provider},
                        {"fabric", d.fabric},
                        {"domain", d.domain},
                        {"provider_version", d.provider_version},
                        {"libfabric_version", d.library_version},
                        {"api", api},
                        {"endpoint_type", "FI_EP_RDM"},
                        {"inject_size_bytes", d.inject_size},
                        {"max_msg_size_bytes", d.max_msg_size},
                        {"cq_data_size_bytes", d.cq_data_size},
                        {"mr_mode", d.mr_mode},
                        {"threading", d.threading},
                        {"data_progress", d.data_progress},
                        {"rma", d.rma},
                        {"hmem", d.hmem},
                        {"device_id", d.device_id},
                        {"device_rdma",
                         {{"read", optional_bool(d.device_rdma_read)},
                          {"write", optional_bool(d.device_rdma_write)},
                          {"source", d.device_rdma_source}}},
                        {"shared_memory", d.shared_memory}};
}

}  // namespace preflight::p2p
