// Judge for preflight-env: the environment x versions x platform -> checks. Pure.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "probes/env_rules.hpp"
#include "probes/gather_env.hpp"
#include "probes/instance_type.hpp"
#include "reports/report.hpp"

namespace preflight::probes {

// The variables a rule's variable/match selects: (name, value) pairs; for not_equal_or_unset an
// unset variable yields one pair with an empty value and `unset` true.
struct MatchedVariable {
  std::string name;
  std::string value;
  bool unset = false;
};
[[nodiscard]] std::vector<MatchedVariable> match_rule(
    const EnvRule& rule, const std::map<std::string, std::string>& variables);

// Whether a version condition holds; nullopt when the component's version is unknown.
[[nodiscard]] std::optional<bool> condition_holds(const VersionCondition& condition,
                                                  const VersionFacts& versions);

// NCCL_SOCKET_IFNAME semantics: comma-separated prefixes; '^' excludes, '=' matches exactly.
[[nodiscard]] std::vector<std::string> interfaces_selected(
    std::string_view ifname, const std::vector<std::string>& interfaces);

[[nodiscard]] std::vector<reports::Check> judge_env(const EnvFacts& facts,
                                                    const PlatformContext& context);

}  // namespace preflight::probes
