#include "common/cuda_api.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "common/library_search.hpp"
#include "common/text.hpp"

namespace preflight::cuda {

std::vector<std::string> runtime_candidates() {
  std::vector<std::string> directories;
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"}) {
    if (const char* home = std::getenv(variable); home != nullptr && *home != '\0') {  // NOLINT
      directories.push_back(std::string(home) + "/lib64");
      directories.push_back(std::string(home) + "/lib");
    }
  }
  directories.emplace_back("/usr/local/cuda/lib64");
  for (const auto& directory : matching_directories("/usr/local/cuda-*/lib64")) {
    directories.push_back(directory);
  }
  return library_candidates({"libcudart.so.13", "libcudart.so.12"}, directories);
}

std::vector<std::string> bind_runtime(const DynamicLibrary& library, RuntimeApi& api) {
  std::vector<std::string> missing;
  const auto bind = [&](auto& field, const char* name) {
    field = library.symbol<std::remove_pointer_t<std::remove_reference_t<decltype(field)>>>(name);
    if (field == nullptr) {
      missing.emplace_back(name);
    }
  };
#define PREFLIGHT_CUDA_BIND(name, result, parameters) bind(api.name, #name);
  PREFLIGHT_CUDA_RUNTIME_FUNCTIONS(PREFLIGHT_CUDA_BIND)
#undef PREFLIGHT_CUDA_BIND
  // CUDA 12 exports the current cudaDeviceProp layout as ..._v2 and keeps the old name for the
  // CUDA 11 layout; CUDA 13 has only the plain name. `name` is the first member in all of them.
  if (auto* current =
          library.symbol<std::remove_pointer_t<signatures::cudaGetDeviceProperties_type>>(
              "cudaGetDeviceProperties_v2")) {
    api.cudaGetDeviceProperties = current;
  }
  return missing;
}

std::optional<RuntimeLibrary> RuntimeLibrary::load(const std::vector<std::string>& candidates,
                                                   std::string& why_not) {
  std::vector<std::string> attempts;
  for (const auto& candidate : candidates) {
    OpenedLibrary opened = open_first_library({candidate}, RTLD_NOW | RTLD_LOCAL);
    if (!opened.library.loaded()) {
      attempts.insert(attempts.end(), opened.attempts.begin(), opened.attempts.end());
      continue;
    }
    RuntimeLibrary runtime;
    const auto missing = bind_runtime(opened.library, runtime.api_);
    if (!missing.empty()) {
      attempts.push_back(fmt::format("{}: not a usable CUDA runtime (lacks {})", opened.path,
                                     join(missing, ", ")));
      continue;
    }
    int code = 0;
    if (runtime.api_.cudaRuntimeGetVersion(&code) != kSuccess) {
      attempts.push_back(fmt::format("{}: cudaRuntimeGetVersion failed", opened.path));
      continue;
    }
    runtime.version_ = version_from_cuda_code(code);
    if (code < kMinimumRuntimeCode) {
      attempts.push_back(fmt::format("{}: CUDA runtime {} is older than the minimum {}",
                                     opened.path, runtime.version_.text,
                                     version_from_cuda_code(kMinimumRuntimeCode).text));
      continue;
    }
    int driver = 0;
    if (runtime.api_.cudaDriverGetVersion(&driver) == kSuccess && driver > 0) {
      runtime.driver_version_ = version_from_cuda_code(driver);
      if (driver < code) {
        attempts.push_back(fmt::format(
            "{}: CUDA runtime {} is newer than the driver's CUDA {} (it would fail every call)",
            opened.path, runtime.version_.text, runtime.driver_version_->text));
        continue;
      }
    }
    runtime.path_ = describe_location(opened);
    runtime.library_ = std::move(opened.library);
    return runtime;
  }
  why_not = attempts.empty() ? std::string("no candidate to load")
                             : fmt::format("no usable CUDA runtime: {}", join(attempts, "; "));
  return std::nullopt;
}

}  // namespace preflight::cuda
