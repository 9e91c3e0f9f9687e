// Gather for preflight-env: the environment to lint (the probe's own, or a job's from
// --env-file), the versions the rules depend on (only the components a set variable needs:
// loading libfabric costs time), network interfaces, memlock and huge pages.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/sysfs.hpp"
#include "probes/gather_drivers.hpp"
#include "probes/gather_versions.hpp"

namespace preflight::probes {

struct EnvSource {
  std::map<std::string, std::string> variables;
  std::map<std::string, int> lines;  // variable -> line number, for --env-file
  std::string origin;                // "process environment" or the file's path
};

struct HugePages {
  bool known = false;
  std::uint64_t total = 0;
  std::uint64_t page_kib = 0;
  std::string source;
};

struct EnvFacts {
  EnvSource environment;
  VersionFacts versions;
  std::vector<std::string> interfaces;  // /sys/class/net
  bool interfaces_known = false;
  MemlockLimit memlock;
  HugePages huge_pages;
  int efa_device_count = 0;
};

// Reads KEY=VALUE lines ("export KEY=VALUE", '#' comments, blank lines, single- or double-quoted
// values); throws UsageError "FILE:LINE: ..." on a malformed line.
[[nodiscard]] EnvSource parse_env_file(const std::filesystem::path& path);
[[nodiscard]] EnvSource parse_env_text(std::string_view text, std::string_view origin);

// The version components the rules need for this environment (see judge_env.cpp's table).
[[nodiscard]] std::set<VersionComponent> env_version_needs(const EnvSource& environment,
                                                           const VersionFacts& file_facts);

[[nodiscard]] EnvFacts gather_env(const RootFs& fs, EnvSource environment,
                                  const std::map<std::string, std::string>& process_environment,
                                  bool query_libraries = true);

[[nodiscard]] HugePages parse_meminfo_huge_pages(std::string_view meminfo, std::string source);

}  // namespace preflight::probes
