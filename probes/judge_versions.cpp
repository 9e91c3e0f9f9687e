#include "probes/judge_versions.hpp"

#include <fmt/format.h>

#include "common/findings.hpp"
#include "common/text.hpp"
#include "probes/probe_support.hpp"
#include "probes/version_rules.hpp"

namespace preflight::probes {
namespace {

using nlohmann::json;
using reports::Check;

json evidence_of(const ComponentFact& fact) {
  json evidence = fact.evidence;
  if (!fact.location.empty()) {
    evidence["path"] = fact.location;
  }
  return evidence;
}

// One informational row: pass with the catalog message when present, skip with the reason.
template <typename... Args>
Check row(FindingText<std::type_identity_t<Args>...> text, const ComponentFact& fact,
          Args&&... args) {
  if (!fact.present) {
    return skip_check(text.id(), fact.reason, evidence_of(fact));
  }
  return pass_check(text.id(), finding_message(text, std::forward<Args>(args)...),
                    evidence_of(fact));
}

// "path" or "path -> resolved target".
std::string where(const ComponentFact& fact) {
  if (fact.evidence.contains("resolved")) {
    return fact.location + " -> " + fact.evidence.at("resolved").get<std::string>();
  }
  return fact.location;
}

bool efa_expected(const VersionFacts& facts, const Platform* platform) {
  return facts.efa_device_count > 0 || (platform != nullptr && platform->efa_count > 0);
}

std::string efa_provider_summary(const FabricProviders& providers) {
  if (providers.efa_usable) {
    return fmt::format("efa usable (fabric {})", join(providers.efa_fabrics, ", "));
  }
  if (providers.efa_compiled_in.value_or(false)) {
    return "efa built in, not initialised (no usable EFA device)";
  }
  return "efa not built into this libfabric";
}

void judge_provider(std::vector<Check>& checks, const VersionFacts& facts,
                    const Platform* platform) {
  const FabricProviders& providers = facts.providers;
  if (!providers.queried) {
    checks.push_back(skip_check("VERSION_LIBFABRIC_PROVIDERS", providers.reason));
    return;
  }
  json evidence{{"usable", providers.usable},
                {"registered", providers.registered},
                {"efa_usable", providers.efa_usable},
                {"efa_fabrics", providers.efa_fabrics}};
  if (providers.efa_compiled_in) {
    evidence["efa_built_in"] = *providers.efa_compiled_in;
  }
  checks.push_back(pass_check("VERSION_LIBFABRIC_PROVIDERS",
                              finding_message("VERSION_LIBFABRIC_PROVIDERS",
                                              fmt::format("{}; {}", join(providers.usable, ", "),
                                                          efa_provider_summary(providers))),
                              evidence));
  if (!efa_expected(facts, platform)) {
    return;  // no EFA device and no EFA platform: the efa provider is not required here
  }
  const bool built_in = providers.efa_compiled_in.value_or(false);
  const std::string list = join(providers.usable, ", ");
  if (providers.efa_usable) {
    checks.push_back(pass_check("EFA_PROVIDER_MISSING",
                                "libfabric " + facts.libfabric.display +
                                    " lists provider efa (fabric " +
                                    join(providers.efa_fabrics, ", ") + ")",
                                evidence));
  } else if (!facts.live && built_in) {
    // Under --root the devices are the fixture's and the provider is this machine's: only
    // whether efa is built in can be judged.
    checks.push_back(pass_check("EFA_PROVIDER_MISSING",
                                "libfabric " + facts.libfabric.display +
                                    " has the efa provider built in (usability not judged "
                                    "under --root)",
                                evidence));
  } else {
    std::string message = finding_message("EFA_PROVIDER_MISSING", facts.libfabric.display, list);
    if (built_in) {
      message += fmt::format(": efa is built in but found none of the {} EFA devices",
                             facts.efa_device_count);
    }
    checks.push_back(fire_check("EFA_PROVIDER_MISSING", message, evidence));
  }
}

void judge_rules(std::vector<Check>& checks, const VersionFacts& facts, const Platform* platform) {
  for (const VersionRule& rule : kVersionRules) {
    const ComponentFact* fact = facts.component(rule.component);
    if (fact == nullptr || !fact->version) {
      continue;  // its row already says why it is unknown
    }
    json evidence{{"rule", rule.source}, {"component", rule.component}};
    switch (rule.kind) {
      case VersionRuleKind::minimum: {
        Version minimum = *parse_version(rule.threshold);
        std::string source(rule.source);
        if (platform != nullptr) {
          const auto it = platform->min_versions.find(std::string(rule.component));
          if (it != platform->min_versions.end()) {
            minimum = it->second;
            source = platform->instance_type + " minimum, platform catalog";
          }
        }
        evidence["minimum"] = minimum.text;
        if (*fact->version < minimum) {
          checks.push_back(fire_check(
              rule.finding_id,
              finding_message_for(rule.finding_id, fact->display, minimum.text, source), evidence));
        } else {
          checks.push_back(pass_check(rule.finding_id,
                                      fmt::format("{} {} >= minimum {} ({})", rule.component,
                                                  fact->display, minimum.text, source),
                                      evidence));
        }
        break;
      }
      case VersionRuleKind::requires_other: {
        const Version from = *parse_version(rule.threshold);
        if (*fact->version < from) {
          break;  // the requirement starts at `from`
        }
        const Version needed = *parse_version(rule.other_threshold);
        const ComponentFact* other = facts.component(rule.other_component);
        if (other == nullptr || !other->version) {
          checks.push_back(skip_check(
              rule.finding_id,
              fmt::format("{} {} needs {} >= {}, whose version is unknown: {}", rule.component,
                          fact->display, rule.other_component, needed.text,
                          other != nullptr ? other->reason : "not gathered"),
              evidence));
        } else if (*other->version < needed) {
          checks.push_back(fire_check(
              rule.finding_id,
              finding_message_for(rule.finding_id, fact->display, needed.text, other->display),
              evidence));
        } else {
          checks.push_back(pass_check(
              rule.finding_id,
              fmt::format("{} {} needs {} >= {}: found {}", rule.component, fact->display,
                          rule.other_component, needed.text, other->display),
              evidence));
        }
        break;
      }
      case VersionRuleKind::not_older_than: {
        const ComponentFact* other = facts.component(rule.other_component);
        if (other == nullptr || !other->version) {
          break;
        }
        if (*fact->version < *other->version) {
          checks.push_back(fire_check(
              rule.finding_id, finding_message_for(rule.finding_id, fact->display, other->display),
              evidence));
        } else {
          checks.push_back(
              pass_check(rule.finding_id,
                         fmt::format("{} {} is not older than {} {}", rule.component, fact->display,
                                     rule.other_component, other->display),
                         evidence));
        }
        break;
      }
    }
  }
}

}  // namespace

std::vector<Check> judge_versions(const VersionFacts& facts, const Platform* platform) {
  std::vector<Check> checks;
  checks.push_back(row(
      "VERSION_LIBFABRIC", facts.libfabric,
      facts.libfabric.display + " from " + facts.libfabric.location,
      facts.libfabric_header.present ? facts.libfabric_header.display : std::string("no headers")));
  judge_provider(checks, facts, platform);
  checks.push_back(row("VERSION_RDMA_CORE", facts.rdma_core,
                       facts.rdma_core.display + " (" + facts.rdma_core.location + ")"));
  checks.push_back(row("VERSION_NCCL", facts.nccl, facts.nccl.display, where(facts.nccl)));
  if (facts.aws_ofi_nccl.present) {
    checks.push_back(row("VERSION_OFI_NCCL", facts.aws_ofi_nccl, facts.aws_ofi_nccl.display,
                         facts.aws_ofi_nccl.location));
  } else if (efa_expected(facts, platform)) {
    checks.push_back(
        fire_check("OFI_NCCL_NOT_FOUND",
                   finding_message("OFI_NCCL_NOT_FOUND", join(facts.aws_ofi_nccl_searched, ", ")),
                   evidence_of(facts.aws_ofi_nccl)));
  } else {
    checks.push_back(skip_check("VERSION_OFI_NCCL",
                                facts.aws_ofi_nccl.reason + "; not needed without EFA devices",
                                evidence_of(facts.aws_ofi_nccl)));
  }
  checks.push_back(row("VERSION_MPI", facts.mpi, facts.mpi.display + " from " + where(facts.mpi)));
  checks.push_back(row("VERSION_CUDA_RUNTIME", facts.cuda_runtime, facts.cuda_runtime.display,
                       where(facts.cuda_runtime)));
  checks.push_back(row("VERSION_CUDA_DRIVER", facts.cuda_driver,
                       facts.cuda_driver.display + " from " + where(facts.cuda_driver)));
  checks.push_back(row("NVIDIA_DRIVER_VERSION", facts.nvidia_driver,
                       facts.nvidia_driver.display + " (" + facts.nvidia_driver.location + ")"));
  checks.push_back(row("VERSION_HWLOC", facts.hwloc, facts.hwloc.display,
                       facts.hwloc_header.present ? "hwloc " + facts.hwloc_header.display
                                                  : std::string("no headers")));
  checks.push_back(row("VERSION_EFA_INSTALLER", facts.efa_installer, facts.efa_installer.display));
  checks.push_back(row("VERSION_EFA_KMOD", facts.efa_kmod, facts.efa_kmod.display));
  ComponentFact os = facts.os;
  if (!os.present && facts.kernel.present) {
    os = facts.kernel;  // a kernel without an os-release is still worth reporting
    os.display = "unknown OS";
  }
  checks.push_back(row("VERSION_OS", os, os.display,
                       facts.kernel.present ? facts.kernel.display : facts.kernel.reason));
  judge_rules(checks, facts, platform);
  return checks;
}

std::map<std::string, std::string> versions_inventory(const VersionFacts& facts) {
  std::map<std::string, std::string> versions;
  const auto put = [&](const std::string& key, const ComponentFact& fact) {
    if (fact.present) {
      versions[key] = fact.display;
    }
  };
  put("libfabric", facts.libfabric);
  put("libfabric_header", facts.libfabric_header);
  if (facts.providers.queried) {
    versions["libfabric_providers"] = join(facts.providers.usable, ",");
    versions["libfabric_efa_provider"] =
        facts.providers.efa_usable
            ? "usable"
            : (facts.providers.efa_compiled_in.value_or(false) ? "built in" : "absent");
  }
  put("rdma_core", facts.rdma_core);
  put("nccl", facts.nccl);
  if (facts.nccl.present) {
    versions["nccl_path"] = facts.nccl.location;
  }
  put("aws_ofi_nccl", facts.aws_ofi_nccl);
  if (facts.aws_ofi_nccl.present) {
    versions["aws_ofi_nccl_path"] = facts.aws_ofi_nccl.location;
  }
  put("mpi", facts.mpi);
  put("cuda_runtime", facts.cuda_runtime);
  put("cuda_driver", facts.cuda_driver);
  put("hwloc", facts.hwloc);
  put("efa_installer", facts.efa_installer);
  put("efa_kmod", facts.efa_kmod);
  put("nvidia_driver", facts.nvidia_driver);
  put("os", facts.os);
  put("kernel", facts.kernel);
  return versions;
}

}  // namespace preflight::probes
