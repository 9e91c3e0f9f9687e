#include "common/library_search.hpp"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "common/text.hpp"

namespace preflight {
namespace {

void free_glob(glob_t* matches) {
  ::globfree(matches);
}

}  // namespace

OpenedLibrary open_first_library(const std::vector<std::string>& candidates, int flags) {
  OpenedLibrary opened;
  for (const auto& candidate : candidates) {
    if (candidate.front() == '/') {
      std::error_code ec;
      if (!std::filesystem::exists(candidate, ec)) {
        opened.attempts.push_back(candidate + ": no such file");
        continue;
      }
    }
    DynamicLibrary library = DynamicLibrary::open(candidate, flags);
    if (library.loaded()) {
      opened.path = library.resolved_path();
      if (opened.path.empty()) {
        opened.path = candidate;
      }
      std::error_code ec;
      opened.canonical = std::filesystem::canonical(opened.path, ec).string();
      if (ec) {
        opened.canonical = opened.path;
      }
      opened.library = std::move(library);
      return opened;
    }
    // dlerror() usually starts with the name already.
    opened.attempts.push_back(starts_with(library.error(), candidate)
                                  ? library.error()
                                  : candidate + ": " + library.error());
  }
  return opened;
}

std::string describe_location(const OpenedLibrary& opened) {
  if (opened.canonical.empty() || opened.canonical == opened.path) {
    return opened.path;
  }
  return opened.path + " -> " + opened.canonical;
}

std::vector<std::string> matching_directories(const std::string& pattern) {
  glob_t matches{};
  std::vector<std::string> directories;
  if (::glob(pattern.c_str(), GLOB_ONLYDIR | GLOB_NOSORT, nullptr, &matches) == 0) {
    const UniqueHandle<glob_t*, free_glob, nullptr> guard(&matches);
    for (std::size_t i = 0; i < matches.gl_pathc; ++i) {
      directories.emplace_back(matches.gl_pathv[i]);  // NOLINT: C array from glob(3)
    }
  } else {
    ::globfree(&matches);
  }
  std::sort(directories.rbegin(), directories.rend());
  return directories;
}

std::vector<std::string> library_candidates(const std::vector<std::string>& sonames,
                                            const std::vector<std::string>& directories) {
  std::vector<std::string> candidates;
  std::set<std::string> seen;
  const auto add = [&](std::string candidate) {
    if (seen.insert(candidate).second) {
      candidates.push_back(std::move(candidate));
    }
  };
  for (const auto& soname : sonames) {
    add(soname);
  }
  for (const auto& directory : directories) {
    if (directory.empty()) {
      continue;
    }
    for (const auto& soname : sonames) {
      add((std::filesystem::path(directory) / soname).string());
    }
  }
  return candidates;
}

std::string library_path_of(const void* address) {
  Dl_info info{};
  if (::dladdr(address, &info) == 0 || info.dli_fname == nullptr) {
    return {};
  }
  return info.dli_fname;
}

std::vector<std::string> mapped_libraries_in(std::string_view maps_text,
                                             std::string_view name_prefix) {
  std::vector<std::string> found;
  for (const std::string_view line : split_lines(maps_text)) {
    // "address perms offset dev inode   /path": the path is the sixth field and may hold spaces.
    const auto slash = line.find('/');
    if (slash == std::string_view::npos) {
      continue;
    }
    std::string_view path = trim(line.substr(slash));
    if (path.ends_with(" (deleted)")) {
      path.remove_suffix(10);
    }
    const std::string_view base = path.substr(path.rfind('/') + 1);
    if (starts_with(base, name_prefix) &&
        std::find(found.begin(), found.end(), path) == found.end()) {
      found.emplace_back(path);
    }
  }
  return found;
}

std::vector<std::string> mapped_libraries(std::string_view name_prefix) {
  std::ifstream maps("/proc/self/maps");
  const std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  return mapped_libraries_in(text, name_prefix);
}

}  // namespace preflight
