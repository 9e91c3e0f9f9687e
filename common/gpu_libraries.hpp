// The CUDA runtime and NCCL a run needs, loaded once in main and kept for the whole run: the
// binaries' one place that turns "library absent / wrong / too old" into the exit codes.
//   --nccl-lib PATH (PREFLIGHT_NCCL_LIB) that does not exist, or is not NCCL  -> UsageError (2)
//   that NCCL older than the minimum, or no NCCL / CUDA runtime found at all  -> a skip reason (3)
// The code that runs on them sees only the function tables, which the tests fill with a
// host-memory double instead (with_tables).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/cuda_api.hpp"
#include "common/nccl_api.hpp"

namespace preflight {

class GpuLibraries {
 public:
  GpuLibraries() = default;
  // The tables point into the libraries this object owns: it stays where it was made.
  GpuLibraries(const GpuLibraries&) = delete;
  GpuLibraries& operator=(const GpuLibraries&) = delete;
  GpuLibraries(GpuLibraries&&) = delete;
  GpuLibraries& operator=(GpuLibraries&&) = delete;
  ~GpuLibraries() = default;

  // Loads the CUDA runtime, and NCCL when `need_nccl` (from `nccl_path` when not empty). Throws
  // UsageError, naming `flag`, the path and the reason, for a requested file that is missing or
  // is not NCCL; anything else that is absent becomes missing().
  void load(bool need_nccl, const std::string& nccl_path, std::string_view flag = "--nccl-lib");
  // Tables from elsewhere (the tests' double); either may be null.
  void use_tables(const cuda::RuntimeApi* cuda, const nccl::Api* nccl);

  [[nodiscard]] const cuda::RuntimeApi* cuda() const;  // null when absent
  [[nodiscard]] const nccl::Api* nccl() const;
  // What a run that needs the runtime (and NCCL when `need_nccl`) lacks, for its skip message;
  // empty when nothing.
  [[nodiscard]] std::string missing(bool need_nccl) const;
  // {"cuda_runtime": {path, version, driver_cuda_version}, "nccl": {path, version, requested}}.
  [[nodiscard]] nlohmann::json facts() const;
  [[nodiscard]] const std::optional<nccl::Library>& nccl_library() const { return nccl_library_; }
  [[nodiscard]] const std::optional<cuda::RuntimeLibrary>& cuda_library() const {
    return cuda_library_;
  }

 private:
  std::optional<cuda::RuntimeLibrary> cuda_library_;
  std::optional<nccl::Library> nccl_library_;
  const cuda::RuntimeApi* cuda_table_ = nullptr;
  const nccl::Api* nccl_table_ = nullptr;
  std::string cuda_missing_ = "the CUDA runtime was not loaded";
  std::string nccl_missing_ = "NCCL was not loaded";
};

}  // namespace preflight
