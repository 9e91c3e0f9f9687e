#include "probes/judge_env.hpp"

#include <fmt/format.h>

#include "common/findings.hpp"
#include "common/text.hpp"
#include "probes/judge_drivers.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;
using reports::Check;

std::string op_text(VersionOp op) {
  switch (op) {
    case VersionOp::less:
      return "<";
    case VersionOp::greater:
      return ">";
    case VersionOp::at_least:
      return ">=";
  }
  return "?";
}

std::string version_text(const VersionFacts& versions, std::string_view component) {
  const ComponentFact* fact = versions.component(component);
  return fact != nullptr && fact->present ? fact->display : std::string("unknown");
}

std::string instance_family(std::string_view instance_type) {
  return std::string(instance_type.substr(0, instance_type.find('.')));
}

bool family_matches(std::string_view families, std::string_view instance_type) {
  if (families.empty()) {
    return true;
  }
  const std::string family = instance_family(instance_type);
  for (const auto prefix : split(families, ',')) {
    if (!prefix.empty() && starts_with(family, prefix)) {
      return true;
    }
  }
  return false;
}

// The finding message of a rule that fired, with the arguments its catalog template takes (the
// id comes from the rule table, so the template is checked when it runs: the unit tests fire
// every rule).
std::string fired_message(const EnvRule& rule, const MatchedVariable& variable,
                          const EnvFacts& facts, const PlatformContext& context) {
  const std::string id(rule.finding_id);
  const VersionFacts& versions = facts.versions;
  if (id == "ENV_RDMAV_FORK_SAFE_SET" || id == "ENV_NCCL_TUNING_OVERRIDE") {
    return finding_message_for(id, variable.name, variable.value);
  }
  if (id == "ENV_FI_PROVIDER_STALE" || id == "ENV_NCCL_PROTO_STALE") {
    return finding_message_for(id, variable.value,
                               "aws-ofi-nccl " + version_text(versions, "aws_ofi_nccl"));
  }
  if (id == "ENV_FI_EFA_SET_CUDA_SYNC_MEMOPS_NEEDED") {
    return finding_message_for(id, version_text(versions, "efa_installer"),
                               version_text(versions, "nccl"));
  }
  if (id == "ENV_FI_EFA_FORK_SAFE_UNNEEDED") {
    return finding_message_for(id, version_text(versions, "kernel"));
  }
  if (id == "ENV_NCCL_SHM_USE_CUDA_MEMCPY_RECOMMENDED") {
    return finding_message_for(id, variable.unset ? "unset" : variable.value,
                               context.instance_type);
  }
  return finding_message_for(id);  // templates without arguments
}

json rule_evidence(const EnvRule& rule, const MatchedVariable& variable, const EnvFacts& facts) {
  json evidence{{"variable", variable.name}, {"rule", rule.source}};
  if (!variable.unset) {
    evidence["value"] = variable.value;
  }
  if (const auto line = facts.environment.lines.find(variable.name);
      line != facts.environment.lines.end()) {
    evidence["line"] = line->second;
  }
  return evidence;
}

void judge_rule(std::vector<Check>& checks, const EnvRule& rule, const EnvFacts& facts,
                const PlatformContext& context, bool efa_expected) {
  if (rule.needs_efa && !efa_expected) {
    checks.push_back(
        skip_check(rule.finding_id,
                   fmt::format("{}: applies to EFA machines; no EFA device here", rule.variable)));
    return;
  }
  if (!family_matches(rule.instance_families, context.instance_type)) {
    return;  // a rule for other instance families: nothing to say
  }
  const auto matched = match_rule(rule, facts.environment.variables);
  if (matched.empty()) {
    std::string what;
    switch (rule.match) {
      case ValueMatch::prefix_is_set:
        what = fmt::format("no {}* variable set", rule.variable);
        break;
      case ValueMatch::is_set:
        what = fmt::format("{} not set", rule.variable);
        break;
      case ValueMatch::equals:
        what = fmt::format("{} not set to {}", rule.variable, rule.value);
        break;
      case ValueMatch::not_equal_or_unset:
        what = fmt::format("{}={}", rule.variable, rule.value);
        break;
    }
    checks.push_back(pass_check(rule.finding_id, what));
    return;
  }
  for (const MatchedVariable& variable : matched) {
    const std::string shown =
        variable.unset ? variable.name + " unset" : variable.name + "=" + variable.value;
    std::vector<std::string> unknown;
    std::vector<std::string> failed;
    for (const VersionCondition& condition : rule.conditions) {
      if (condition.component.empty()) {
        continue;
      }
      const auto holds = condition_holds(condition, facts.versions);
      const std::string text = fmt::format("{} {} {} {}", condition.component,
                                           version_text(facts.versions, condition.component),
                                           op_text(condition.op), condition.version);
      if (!holds) {
        const ComponentFact* fact = facts.versions.component(condition.component);
        unknown.push_back(fmt::format("{} version unknown ({})", condition.component,
                                      fact != nullptr ? fact->reason : "not gathered"));
      } else if (!*holds) {
        failed.push_back(fmt::format("not {}", text));
      }
    }
    json evidence = rule_evidence(rule, variable, facts);
    if (!failed.empty()) {
      checks.push_back(pass_check(
          rule.finding_id, fmt::format("{}: rule does not apply ({})", shown, join(failed, "; ")),
          evidence));
    } else if (!unknown.empty()) {
      checks.push_back(skip_check(rule.finding_id,
                                  fmt::format("{}: cannot judge, {}", shown, join(unknown, "; ")),
                                  evidence));
    } else {
      checks.push_back(
          fire_check(rule.finding_id, fired_message(rule, variable, facts, context), evidence));
    }
  }
}

void judge_socket_ifname(std::vector<Check>& checks, const EnvFacts& facts) {
  const auto it = facts.environment.variables.find("NCCL_SOCKET_IFNAME");
  if (it == facts.environment.variables.end()) {
    checks.push_back(pass_check("ENV_NCCL_SOCKET_IFNAME_NO_MATCH",
                                "NCCL_SOCKET_IFNAME not set (NCCL picks an interface)"));
    return;
  }
  if (!facts.interfaces_known) {
    checks.push_back(skip_check(
        "ENV_NCCL_SOCKET_IFNAME_NO_MATCH",
        "NCCL_SOCKET_IFNAME=" + it->second + ": network interfaces unknown (no /sys/class/net)"));
    return;
  }
  const auto selected = interfaces_selected(it->second, facts.interfaces);
  const json evidence{
      {"value", it->second}, {"interfaces", facts.interfaces}, {"selected", selected}};
  if (selected.empty()) {
    checks.push_back(fire_check("ENV_NCCL_SOCKET_IFNAME_NO_MATCH",
                                finding_message("ENV_NCCL_SOCKET_IFNAME_NO_MATCH", it->second,
                                                join(facts.interfaces, ", ")),
                                evidence));
  } else {
    checks.push_back(pass_check(
        "ENV_NCCL_SOCKET_IFNAME_NO_MATCH",
        fmt::format("NCCL_SOCKET_IFNAME={} selects {}", it->second, join(selected, ", ")),
        evidence));
  }
}

void judge_huge_pages(std::vector<Check>& checks, const EnvFacts& facts, bool efa_expected) {
  const auto setting = facts.environment.variables.find("FI_EFA_USE_HUGE_PAGE");
  if (setting != facts.environment.variables.end() && trim(setting->second) == "0") {
    checks.push_back(pass_check("HUGEPAGES_UNAVAILABLE",
                                "FI_EFA_USE_HUGE_PAGE=0: the EFA provider does not use huge "
                                "pages"));
    return;
  }
  if (!efa_expected) {
    checks.push_back(skip_check("HUGEPAGES_UNAVAILABLE",
                                "huge pages matter to the EFA provider; no EFA device here"));
    return;
  }
  if (!facts.huge_pages.known) {
    checks.push_back(skip_check("HUGEPAGES_UNAVAILABLE",
                                "huge pages unknown (no HugePages_Total in /proc/meminfo)"));
    return;
  }
  const json evidence{{"total", facts.huge_pages.total}, {"page_kib", facts.huge_pages.page_kib}};
  if (facts.huge_pages.total == 0) {
    checks.push_back(fire_check(
        "HUGEPAGES_UNAVAILABLE",
        finding_message("HUGEPAGES_UNAVAILABLE", "HugePages_Total is 0 in /proc/meminfo"),
        evidence));
  } else {
    checks.push_back(pass_check(
        "HUGEPAGES_UNAVAILABLE",
        fmt::format("{} huge pages of {} KiB", facts.huge_pages.total, facts.huge_pages.page_kib),
        evidence));
  }
}

}  // namespace

std::vector<MatchedVariable> match_rule(const EnvRule& rule,
                                        const std::map<std::string, std::string>& variables) {
  std::vector<MatchedVariable> matched;
  if (rule.match == ValueMatch::prefix_is_set) {
    for (const auto& [name, value] : variables) {
      if (starts_with(name, rule.variable)) {
        matched.push_back({name, value, false});
      }
    }
    return matched;
  }
  const auto it = variables.find(std::string(rule.variable));
  const bool set = it != variables.end();
  const std::string value = set ? std::string(trim(it->second)) : std::string();
  const bool equal = set && to_lower(value) == to_lower(rule.value);
  switch (rule.match) {
    case ValueMatch::is_set:
      if (set) {
        matched.push_back({std::string(rule.variable), value, false});
      }
      break;
    case ValueMatch::equals:
      if (equal) {
        matched.push_back({std::string(rule.variable), value, false});
      }
      break;
    case ValueMatch::not_equal_or_unset:
      if (!equal) {
        matched.push_back({std::string(rule.variable), value, !set});
      }
      break;
    case ValueMatch::prefix_is_set:
      break;
  }
  return matched;
}

std::optional<bool> condition_holds(const VersionCondition& condition,
                                    const VersionFacts& versions) {
  const ComponentFact* fact = versions.component(condition.component);
  const auto threshold = parse_version(condition.version);
  if (fact == nullptr || !fact->version || !threshold) {
    return std::nullopt;
  }
  switch (condition.op) {
    case VersionOp::less:
      return *fact->version < *threshold;
    case VersionOp::greater:
      return *fact->version > *threshold;
    case VersionOp::at_least:
      return *fact->version >= *threshold;
  }
  return std::nullopt;
}

std::vector<std::string> interfaces_selected(std::string_view ifname,
                                             const std::vector<std::string>& interfaces) {
  std::string_view spec = trim(ifname);
  const bool exclude = !spec.empty() && spec.front() == '^';
  if (exclude) {
    spec.remove_prefix(1);
  }
  const bool exact = !spec.empty() && spec.front() == '=';
  if (exact) {
    spec.remove_prefix(1);
  }
  const auto patterns = split(spec, ',');
  std::vector<std::string> selected;
  for (const auto& interface : interfaces) {
    bool hit = false;
    for (const auto pattern : patterns) {
      const auto trimmed = trim(pattern);
      if (!trimmed.empty() && (exact ? interface == trimmed : starts_with(interface, trimmed))) {
        hit = true;
      }
    }
    // NCCL never picks loopback unless asked for by name.
    if (hit != exclude && (interface != "lo" || !exclude)) {
      selected.push_back(interface);
    }
  }
  return selected;
}

std::vector<Check> judge_env(const EnvFacts& facts, const PlatformContext& context) {
  std::vector<Check> checks;
  const bool efa_expected = facts.efa_device_count > 0 ||
                            (context.platform != nullptr && context.platform->efa_count > 0);
  for (const EnvRule& rule : kEnvRules) {
    judge_rule(checks, rule, facts, context, efa_expected);
  }
  judge_socket_ifname(checks, facts);
  checks.push_back(judge_memlock(facts.memlock, efa_expected));
  judge_huge_pages(checks, facts, efa_expected);
  return checks;
}

}  // namespace preflight::probes
