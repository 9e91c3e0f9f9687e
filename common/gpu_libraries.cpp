#include "common/gpu_libraries.hpp"

#include <fmt/format.h>

#include "common/error.hpp"

namespace preflight {

void GpuLibraries::load(bool need_nccl, const std::string& nccl_path, std::string_view flag) {
  if (need_nccl) {
    nccl::LoadFailure failure;
    nccl_library_ = nccl::Library::load(nccl_path, failure);
    if (nccl_library_) {
      nccl_table_ = &nccl_library_->api();
    } else {
      const bool requested = !nccl_path.empty();
      if (requested && (failure.kind == nccl::LoadFailure::Kind::missing ||
                        failure.kind == nccl::LoadFailure::Kind::not_nccl)) {
        throw UsageError(
            fmt::format("{} {}", flag, failure.message));  // the message names the file
      }
      nccl_missing_ = requested ? fmt::format("{} {}", flag, failure.message) : failure.message;
    }
  }
  std::string why_not;
  cuda_library_ = cuda::RuntimeLibrary::load(cuda::runtime_candidates(), why_not);
  if (cuda_library_) {
    cuda_table_ = &cuda_library_->api();
  } else {
    cuda_missing_ = why_not;
  }
}

void GpuLibraries::use_tables(const cuda::RuntimeApi* cuda, const nccl::Api* nccl) {
  cuda_table_ = cuda;
  nccl_table_ = nccl;
}

const cuda::RuntimeApi* GpuLibraries::cuda() const {
  return cuda_table_;
}

const nccl::Api* GpuLibraries::nccl() const {
  return nccl_table_;
}

std::string GpuLibraries::missing(bool need_nccl) const {
  if (need_nccl && nccl_table_ == nullptr) {
    return nccl_missing_;
  }
  if (cuda_table_ == nullptr) {
    return cuda_missing_;
  }
  return {};
}

nlohmann::json GpuLibraries::facts() const {
  nlohmann::json facts = nlohmann::json::object();
  if (cuda_library_) {
    facts["cuda_runtime"] = {{"path", cuda_library_->path()},
                             {"version", cuda_library_->version().text}};
    if (cuda_library_->driver_version()) {
      facts["cuda_runtime"]["driver_cuda_version"] = cuda_library_->driver_version()->text;
    }
  } else if (cuda_table_ != nullptr) {
    facts["cuda_runtime"] = {{"path", "(function table given by the caller)"}};
  }
  if (nccl_library_) {
    facts["nccl"] = {{"path", nccl_library_->path()},
                     {"version", nccl_library_->version().text},
                     {"requested", nccl_library_->requested()}};
  } else if (nccl_table_ != nullptr) {
    facts["nccl"] = {{"path", "(function table given by the caller)"},
                     {"version", version_from_nccl_code(nccl_table_->version_code).text}};
  }
  return facts;
}

}  // namespace preflight
