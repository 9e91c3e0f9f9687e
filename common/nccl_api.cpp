#include "common/nccl_api.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <type_traits>

#include "common/library_search.hpp"
#include "common/text.hpp"

namespace preflight::nccl {
namespace {

template <typename Field>
bool bind_one(const DynamicLibrary& library, Field& field, const char* name) {
  field = library.symbol<std::remove_pointer_t<Field>>(name);
  return field != nullptr;
}

}  // namespace

std::vector<std::string> default_candidates() {
  std::vector<std::string> directories;
  if (const char* home = std::getenv("NCCL_HOME"); home != nullptr && *home != '\0') {  // NOLINT
    for (const char* suffix : {"/lib", "/lib64", "/build/lib", ""}) {
      directories.push_back(std::string(home) + suffix);
    }
  }
  directories.emplace_back("/opt/nccl/build/lib");
  directories.emplace_back("/usr/local/cuda/lib64");
  directories.emplace_back("/usr/local/cuda/lib");
  for (const auto& directory : matching_directories("/usr/local/cuda-*/lib*")) {
    directories.push_back(directory);
  }
  return library_candidates({"libnccl.so.2"}, directories);
}

std::vector<std::string> bind(const DynamicLibrary& library, Api& api) {
  std::vector<std::string> missing;
#define PREFLIGHT_NCCL_BIND(name, result, parameters) \
  if (!bind_one(library, api.name, #name)) {          \
    missing.emplace_back(#name);                      \
  }
  PREFLIGHT_NCCL_FUNCTIONS(PREFLIGHT_NCCL_BIND)
#undef PREFLIGHT_NCCL_BIND
#define PREFLIGHT_NCCL_BIND_OPTIONAL(name, result, parameters) \
  (void)bind_one(library, api.name, #name);
  PREFLIGHT_NCCL_OPTIONAL_FUNCTIONS(PREFLIGHT_NCCL_BIND_OPTIONAL)
#undef PREFLIGHT_NCCL_BIND_OPTIONAL
  return missing;
}

std::optional<Library> Library::load(const std::string& path, LoadFailure& failure) {
  if (path.empty()) {
    return load_first(default_candidates(), failure);
  }
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    failure = {LoadFailure::Kind::missing, fmt::format("{}: no such file", path)};
    return std::nullopt;
  }
  if (std::filesystem::is_directory(path, error)) {
    failure = {
        LoadFailure::Kind::not_nccl,
        fmt::format("{}: a directory, not a library (give the libnccl.so.2 file in it)", path)};
    return std::nullopt;
  }
  // A relative path is taken as the user meant it (relative to the working directory), never
  // as a soname for the loader to search.
  const std::string absolute = std::filesystem::absolute(path, error).string();
  auto loaded = load_first({absolute}, failure);
  if (!loaded && failure.kind == LoadFailure::Kind::not_found) {
    failure.kind = LoadFailure::Kind::not_nccl;  // it exists, so it failed to load as a library
  }
  if (loaded) {
    loaded->requested_ = true;
  }
  return loaded;
}

std::optional<Library> Library::load_first(const std::vector<std::string>& candidates,
                                           LoadFailure& failure) {
  // The first that loads is the one the job would get: a broken one there is reported, not
  // passed over.
  OpenedLibrary opened = open_first_library(candidates, RTLD_NOW | RTLD_LOCAL);
  if (!opened.library.loaded()) {
    failure = {LoadFailure::Kind::not_found,
               opened.attempts.empty()
                   ? std::string("no NCCL candidate to load")
                   : fmt::format("NCCL (libnccl.so.2) not found: {}", join(opened.attempts, "; "))};
    return std::nullopt;
  }
  Library library;
  const auto missing = bind(opened.library, library.api_);
  int code = 0;
  if (!missing.empty() || library.api_.ncclGetVersion(&code) != kSuccess) {
    std::string reason;
    if (missing.empty()) {
      reason = "ncclGetVersion failed";
    } else if (missing.front() == "ncclGetVersion") {
      reason = "not an NCCL library (no ncclGetVersion)";
    } else {
      reason =
          fmt::format("an NCCL without {} (damaged, or not a release build)", join(missing, ", "));
    }
    failure = {LoadFailure::Kind::not_nccl, fmt::format("{}: {}", opened.path, reason)};
    return std::nullopt;
  }
  library.api_.version_code = code;
  library.version_ = version_from_nccl_code(code);
  if (code < kMinimumVersionCode) {
    failure = {
        LoadFailure::Kind::too_old,
        fmt::format("{}: NCCL {} is older than the minimum {}", opened.path, library.version_.text,
                    version_from_nccl_code(kMinimumVersionCode).text)};
    return std::nullopt;
  }
  library.path_ = describe_location(opened);
  library.library_ = std::move(opened.library);
  return library;
}

}  // namespace preflight::nccl
