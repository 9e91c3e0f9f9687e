// Loading optional libraries at run time (NCCL, CUDA runtime and driver, NVML, MPI, libfabric):
// each is tried by soname first (what a job's dynamic loader would find through LD_LIBRARY_PATH
// and the ld.so cache) and then in the directories the AWS and NVIDIA layouts use, so a probe
// reports the file actually loaded, or every place it looked.
#pragma once

#include <dlfcn.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/raii.hpp"

namespace preflight::probes {

struct OpenedLibrary {
  DynamicLibrary library;             // not loaded() when every candidate failed
  std::string path;                   // the file the loader mapped
  std::string canonical;              // `path` with symbolic links resolved
  std::vector<std::string> attempts;  // "candidate: error" for each failed try
};

// Tries each candidate (a soname or an absolute path) in order; the first that loads wins.
[[nodiscard]] OpenedLibrary open_first_library(const std::vector<std::string>& candidates,
                                               int flags = RTLD_LAZY | RTLD_LOCAL);

// "path" or "path -> canonical" when a symbolic link led elsewhere.
[[nodiscard]] std::string describe_location(const OpenedLibrary& opened);

// Directories matching a shell pattern ("/usr/local/cuda-*/lib*"), newest-looking first
// (reverse lexical order, so cuda-13.0 comes before cuda-12.4). Empty when nothing matches.
[[nodiscard]] std::vector<std::string> matching_directories(const std::string& pattern);

// Candidate list: `sonames` first, then each of `directories` joined with each soname.
// Duplicates are dropped, order is kept.
[[nodiscard]] std::vector<std::string> library_candidates(
    const std::vector<std::string>& sonames, const std::vector<std::string>& directories);

// Value of an environment variable in `environment`, empty when unset.
[[nodiscard]] std::string env_value(const std::map<std::string, std::string>& environment,
                                    std::string_view name);

// The file behind an address inside a loaded library (dladdr), empty when unknown.
[[nodiscard]] std::string library_path_of(const void* address);

}  // namespace preflight::probes
