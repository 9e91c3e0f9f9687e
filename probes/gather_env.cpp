#include "probes/gather_env.hpp"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "common/text.hpp"
#include "probes/judge_env.hpp"

namespace preflight::probes {
namespace {

constexpr std::size_t kMaxEnvFileBytes = 4U << 20U;

bool valid_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])) != 0) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

bool is_library_component(std::string_view component) {
  return component == "libfabric" || component == "nccl" || component == "cuda_runtime" ||
         component == "cuda_driver" || component == "mpi" || component == "hwloc";
}

std::optional<VersionComponent> component_of(std::string_view key) {
  if (key == "libfabric") {
    return VersionComponent::libfabric;
  }
  if (key == "nccl") {
    return VersionComponent::nccl;
  }
  if (key == "aws_ofi_nccl") {
    return VersionComponent::aws_ofi_nccl;
  }
  if (key == "efa_installer") {
    return VersionComponent::efa_installer;
  }
  if (key == "kernel") {
    return VersionComponent::os;
  }
  return std::nullopt;
}

std::vector<std::string> network_interfaces(const RootFs& fs, bool& known) {
  known = fs.exists("/sys/class/net");
  return fs.list("/sys/class/net");
}

}  // namespace

EnvSource parse_env_text(std::string_view text, std::string_view origin) {
  EnvSource source;
  source.origin = std::string(origin);
  int number = 0;
  for (const auto raw_line : split(text, '\n')) {
    ++number;
    std::string_view line = trim(raw_line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (starts_with(line, "export ") || starts_with(line, "export\t")) {
      line = trim(line.substr(7));
    }
    const auto equals = line.find('=');
    const auto name = equals == std::string_view::npos ? line : trim(line.substr(0, equals));
    if (equals == std::string_view::npos || !valid_name(name)) {
      throw UsageError(fmt::format("{}:{}: expected KEY=VALUE, got '{}'", origin, number,
                                   std::string(line.substr(0, 80))));
    }
    std::string_view value = trim(line.substr(equals + 1));
    if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
      if (value.size() < 2 || value.back() != value.front()) {
        throw UsageError(fmt::format("{}:{}: unterminated quote in the value of {}", origin, number,
                                     std::string(name)));
      }
      value = value.substr(1, value.size() - 2);
    }
    source.variables[std::string(name)] = std::string(value);
    source.lines[std::string(name)] = number;
  }
  return source;
}

EnvSource parse_env_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError(fmt::format("--env-file {}: no such file", path.string()));
  }
  if (std::filesystem::file_size(path, ec) > kMaxEnvFileBytes) {
    throw UsageError(
        fmt::format("--env-file {}: larger than {} bytes", path.string(), kMaxEnvFileBytes));
  }
  std::ifstream stream(path, std::ios::binary);
  std::ostringstream text;
  text << stream.rdbuf();
  return parse_env_text(text.str(), path.string());
}

HugePages parse_meminfo_huge_pages(std::string_view meminfo, std::string source) {
  HugePages pages;
  pages.source = std::move(source);
  bool total_seen = false;
  for (const auto line : split_lines(meminfo)) {
    const auto fields = split_whitespace(line);
    if (fields.size() < 2) {
      continue;
    }
    if (fields[0] == "HugePages_Total:") {
      if (const auto value = parse_integer(fields[1]); value && *value >= 0) {
        pages.total = static_cast<std::uint64_t>(*value);
        total_seen = true;
      }
    } else if (fields[0] == "Hugepagesize:") {
      if (const auto value = parse_integer(fields[1]); value && *value >= 0) {
        pages.page_kib = static_cast<std::uint64_t>(*value);
      }
    }
  }
  pages.known = total_seen;
  return pages;
}

std::set<VersionComponent> env_version_needs(const EnvSource& environment,
                                             const VersionFacts& file_facts) {
  std::set<VersionComponent> needs;
  for (const EnvRule& rule : kEnvRules) {
    if (match_rule(rule, environment.variables).empty()) {
      continue;
    }
    // A rule needs its library versions only if its file-based conditions hold (or cannot be
    // told): there is no point loading NCCL when the installer is new enough anyway.
    bool possible = true;
    for (const VersionCondition& condition : rule.conditions) {
      if (!condition.component.empty() && !is_library_component(condition.component)) {
        possible = possible && condition_holds(condition, file_facts).value_or(true);
      }
    }
    if (!possible) {
      continue;
    }
    for (const VersionCondition& condition : rule.conditions) {
      if (is_library_component(condition.component)) {
        if (const auto component = component_of(condition.component)) {
          needs.insert(*component);
        }
      }
    }
  }
  return needs;
}

EnvFacts gather_env(const RootFs& fs, EnvSource environment,
                    const std::map<std::string, std::string>& process_environment,
                    bool query_libraries) {
  EnvFacts facts;
  VersionGatherOptions options;
  options.environment = process_environment;
  options.query_libraries = query_libraries;
  options.components = {VersionComponent::efa_installer, VersionComponent::aws_ofi_nccl,
                        VersionComponent::os};
  facts.versions = gather_versions(fs, options);
  const auto needs = env_version_needs(environment, facts.versions);
  if (!needs.empty()) {
    options.components.insert(needs.begin(), needs.end());
    facts.versions = gather_versions(fs, options);
  }
  facts.environment = std::move(environment);
  facts.interfaces = network_interfaces(fs, facts.interfaces_known);
  facts.efa_device_count = facts.versions.efa_device_count;
  if (fs.is_live()) {
    facts.memlock = gather_drivers_memlock_live();
  } else if (const auto limits = fs.read("/proc/self/limits")) {
    facts.memlock = parse_memlock_limits(*limits, "/proc/self/limits");
  } else {
    facts.memlock.reason = "no /proc/self/limits under " + fs.root().string();
  }
  if (const auto meminfo = fs.read("/proc/meminfo")) {
    facts.huge_pages = parse_meminfo_huge_pages(*meminfo, "/proc/meminfo");
  }
  return facts;
}

}  // namespace preflight::probes
