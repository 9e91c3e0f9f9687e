// The shared corpus of real third-party outputs, for unit tests: found through
// $PREFLIGHT_SHARED_DIR, else the build's PREFLIGHT_SHARED_DIR (../shared beside the repository).
// Tests that read it skip when it is absent.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace preflight::testing {

inline std::filesystem::path shared_corpus_dir() {
  const char* from_environment = std::getenv("PREFLIGHT_SHARED_DIR");  // NOLINT
  const std::filesystem::path shared = from_environment != nullptr
                                           ? std::filesystem::path(from_environment)
                                           : std::filesystem::path(PREFLIGHT_SHARED_DIR);
  return shared / "corpus";
}

// The lines of corpus/<category>/<name> (the first is its "# source:" line); empty when absent.
inline std::vector<std::string> corpus_lines(const std::string& category, const std::string& name) {
  std::ifstream stream(shared_corpus_dir() / category / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  return lines;
}

}  // namespace preflight::testing
