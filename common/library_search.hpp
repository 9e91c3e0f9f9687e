// Loading optional libraries at run time (NCCL, the CUDA runtime and driver, NVML, MPI,
// libfabric): each is tried by soname first (what a job's dynamic loader finds through
// LD_LIBRARY_PATH and the ld.so cache) and then in the directories the AWS and NVIDIA layouts
// use, so a caller reports the file actually loaded, or every place it looked.
#pragma once

#include <dlfcn.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/raii.hpp"

namespace preflight {

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

// The file behind an address inside a loaded library (dladdr), empty when unknown.
[[nodiscard]] std::string library_path_of(const void* address);

// Files mapped into this process (from `maps_text`, /proc/self/maps by default) whose base name
// starts with `name_prefix` ("libnccl-net"), each once, in the order first mapped: what a
// library really loaded at run time, e.g. the network plugin NCCL picked.
[[nodiscard]] std::vector<std::string> mapped_libraries(std::string_view name_prefix);
[[nodiscard]] std::vector<std::string> mapped_libraries_in(std::string_view maps_text,
                                                           std::string_view name_prefix);

}  // namespace preflight
