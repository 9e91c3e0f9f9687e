// Helpers shared by the probe unit tests: fixture paths, temporary roots, option builders.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "probes/probe_support.hpp"

namespace preflight::probes::testing {

inline std::filesystem::path sysfs_fixture(const std::string& name) {
  return std::filesystem::path(PREFLIGHT_FIXTURES_DIR) / "sysfs" / name;
}

inline std::filesystem::path topology_fixture(const std::string& name) {
  return std::filesystem::path(PREFLIGHT_FIXTURES_DIR) / "topology" / name;
}

// A scratch directory removed on destruction.
class TempRoot {
 public:
  TempRoot() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("preflight-probes-" + std::to_string(::getpid()) + "-" + info->test_suite_name() +
             "-" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempRoot(const TempRoot&) = delete;
  TempRoot& operator=(const TempRoot&) = delete;
  ~TempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  void write(const std::string& relative, const std::string& content) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
  }
  void link(const std::string& relative, const std::string& target) const {
    const auto file = path_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::filesystem::create_directory_symlink(target, file);
  }

 private:
  std::filesystem::path path_;
};

// Options for a probe run on a root, never touching IMDS.
inline ProbeOptions options_for(const std::filesystem::path& root,
                                const std::string& instance_type = {}) {
  ProbeOptions options;
  options.root = root.string();
  options.instance_type = instance_type;
  options.no_imds = true;
  options.common.deterministic = true;
  options.argv = {"test"};
  return options;
}

inline std::vector<std::string> ids(std::initializer_list<const char*> list) {
  std::vector<std::string> out(list.begin(), list.end());
  std::sort(out.begin(), out.end());
  return out;
}

inline const reports::Check* find_check(const std::vector<reports::Check>& checks,
                                        const std::string& id, Status status) {
  for (const auto& check : checks) {
    if (check.id == id && check.status == status) {
      return &check;
    }
  }
  return nullptr;
}

}  // namespace preflight::probes::testing
