#include "common/nccl.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <utility>

#include "common/error.hpp"
#include "common/file_scan.hpp"
#include "common/library_search.hpp"

namespace preflight {
namespace {

// NCCL's result names, for messages (ncclGetErrorString gives the sentence).
std::string_view result_name(nccl::Result result) {
  switch (result) {
    case nccl::kSuccess:
      return "ncclSuccess";
    case nccl::kUnhandledCudaError:
      return "ncclUnhandledCudaError";
    case nccl::kSystemError:
      return "ncclSystemError";
    case nccl::kInternalError:
      return "ncclInternalError";
    case nccl::kInvalidArgument:
      return "ncclInvalidArgument";
    case nccl::kInvalidUsage:
      return "ncclInvalidUsage";
    case nccl::kRemoteError:
      return "ncclRemoteError";
    case nccl::kInProgress:
      return "ncclInProgress";
    default:
      return "ncclResult";
  }
}

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once, at report
  return value != nullptr ? std::string(value) : std::string();
}

}  // namespace

std::string describe_nccl_error(const nccl::Api& api, nccl::Result result, nccl::Comm comm) {
  const char* text = api.ncclGetErrorString != nullptr ? api.ncclGetErrorString(result) : nullptr;
  std::string decoded = fmt::format("{} ({}): {}", result_name(result), result,
                                    text != nullptr ? text : "unknown error");
  const char* last = api.ncclGetLastError != nullptr ? api.ncclGetLastError(comm) : nullptr;
  if (last != nullptr && *last != '\0') {
    decoded += fmt::format(" (last error: {})", last);
  }
  return decoded;
}

void check_nccl(const nccl::Api& api, nccl::Result result, std::string_view call,
                std::string_view arguments, nccl::Comm comm) {
  if (result == nccl::kSuccess || result == nccl::kInProgress) {
    return;
  }
  throw Error("NCCL", call, arguments, describe_nccl_error(api, result, comm),
              static_cast<long long>(result));
}

NcclCommunicator::NcclCommunicator(NcclCommunicator&& other) noexcept
    : api_(other.api_), comm_(std::exchange(other.comm_, nullptr)) {}

NcclCommunicator& NcclCommunicator::operator=(NcclCommunicator&& other) noexcept {
  if (this != &other) {
    abort();
    api_ = other.api_;
    comm_ = std::exchange(other.comm_, nullptr);
  }
  return *this;
}

NcclCommunicator::~NcclCommunicator() {
  abort();
}

void NcclCommunicator::finalize() {
  if (comm_ == nullptr) {
    return;
  }
  const nccl::Result finalized = api_->ncclCommFinalize(comm_);
  if (finalized != nccl::kSuccess) {
    const std::string decoded = describe_nccl_error(*api_, finalized, comm_);
    abort();
    throw Error("NCCL", "ncclCommFinalize", "", decoded, finalized);
  }
  const nccl::Result destroyed = api_->ncclCommDestroy(std::exchange(comm_, nullptr));
  check_nccl(*api_, destroyed, "ncclCommDestroy", "after ncclCommFinalize");
}

void NcclCommunicator::abort() noexcept {
  if (comm_ != nullptr) {
    api_->ncclCommAbort(std::exchange(comm_, nullptr));
  }
}

void NcclCommunicator::check_async_error() const {
  if (comm_ == nullptr) {
    return;
  }
  nccl::Result async = nccl::kSuccess;
  check_nccl(*api_, api_->ncclCommGetAsyncError(comm_, &async), "ncclCommGetAsyncError", "", comm_);
  check_nccl(*api_, async, "ncclCommGetAsyncError", "asynchronous error of the communicator",
             comm_);
}

nlohmann::json NetPluginFacts::to_json() const {
  nlohmann::json loaded = nlohmann::json::array();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    loaded.push_back(
        {{"path", paths[i]},
         {"version", i < versions.size() && !versions[i].empty() ? nlohmann::json(versions[i])
                                                                 : nlohmann::json()}});
  }
  nlohmann::json facts{{"loaded", loaded}};
  facts["NCCL_NET_PLUGIN"] = requested.empty() ? nlohmann::json() : nlohmann::json(requested);
  facts["NCCL_NET"] = network.empty() ? nlohmann::json() : nlohmann::json(network);
  return facts;
}

NetPluginFacts loaded_net_plugins() {
  NetPluginFacts facts;
  facts.requested = environment_value("NCCL_NET_PLUGIN");
  facts.network = environment_value("NCCL_NET");
  facts.paths = mapped_libraries("libnccl-net");
  for (const auto& path : facts.paths) {
    // aws-ofi-nccl logs "Initializing aws-ofi-nccl X" (>= 1.6) or "Using aws-ofi-nccl X": both
    // strings are in its text.
    std::optional<std::string> version;
    for (const char* marker : {"Initializing aws-ofi-nccl ", "Using aws-ofi-nccl "}) {
      version = find_version_after(path, marker);
      if (version) {
        break;
      }
    }
    facts.versions.push_back(version.value_or(""));
  }
  return facts;
}

}  // namespace preflight
