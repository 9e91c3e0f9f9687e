#include "p2p/provider_choice.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/findings.hpp"
#include "common/text.hpp"
#include "common/version.hpp"

namespace preflight::p2p {
namespace {

using nlohmann::json;

constexpr std::string_view kEfa = "efa";

bool wants_any(std::string_view provider) {
  return provider.empty() || provider == "any";
}

// FI_PROVIDER is a comma list ("efa", "tcp;ofi_rxm,shm", "^tcp" to exclude): does it let
// `provider` through?
bool environment_allows(std::string_view fi_provider, std::string_view provider) {
  const std::string_view list = trim(fi_provider);
  const bool exclude = !list.empty() && list.front() == '^';
  bool named = false;
  for (const std::string_view item : split(exclude ? list.substr(1) : list, ',')) {
    for (const std::string_view layer : split(trim(item), ';')) {
      named = named || trim(layer) == provider;
    }
  }
  return exclude ? !named : named;
}

constexpr std::string_view kNoEfa = "none (no EFA device)";
constexpr std::string_view kExcluded = " (excluded by FI_PROVIDER)";

}  // namespace

LocalProviderChoice choose_local_provider(std::string_view requested, const RootFs& root,
                                          std::optional<std::string_view> fi_provider_env) {
  LocalProviderChoice choice;
  choice.requested = std::string(requested);
  choice.efa_devices = static_cast<int>(efa_device_names(root).size());
  if (requested == kAutoProvider) {
    if (choice.efa_devices == 0) {
      choice.outcome = std::string(kNoEfa);
      choice.problem = fmt::format(
          "--provider auto: no EFA device under {}/sys/class/infiniband (pass --provider tcp to "
          "measure over TCP on purpose)",
          root.is_live() ? std::string() : root.root().string());
      return choice;
    }
    choice.provider = std::string(kEfa);
  } else if (wants_any(requested)) {
    // libfabric's first choice on a node with EFA devices is efa.
    choice.provider = choice.efa_devices > 0 ? std::string(kEfa) : std::string();
  } else {
    choice.provider = std::string(requested);
  }
  choice.outcome = choice.provider.empty() ? std::string("any") : choice.provider;
  const std::string_view base = split(choice.provider, ';').front();
  if (base == kEfa && choice.efa_devices == 0) {
    choice.outcome = choice.provider + " (no EFA device)";
    choice.problem = "--provider efa: no EFA device on this node";
  } else if (!choice.provider.empty() && fi_provider_env &&
             !environment_allows(*fi_provider_env, base)) {
    choice.outcome = choice.provider + std::string(kExcluded);
    choice.problem = fmt::format(
        "FI_PROVIDER={} in this rank's environment excludes {} (a launch host's provider must not "
        "decide: unset FI_PROVIDER)",
        *fi_provider_env, choice.provider);
  }
  return choice;
}

std::string encode_choice(const LocalProviderChoice& choice) {
  return json{{"requested", choice.requested},
              {"provider", choice.provider},
              {"efa_devices", choice.efa_devices},
              {"outcome", choice.outcome},
              {"problem", choice.problem}}
      .dump();
}

LocalProviderChoice decode_choice(std::string_view line) {
  try {
    const json parsed = json::parse(line);
    LocalProviderChoice choice;
    choice.requested = parsed.at("requested").get<std::string>();
    choice.provider = parsed.at("provider").get<std::string>();
    choice.efa_devices = parsed.at("efa_devices").get<int>();
    choice.outcome = parsed.at("outcome").get<std::string>();
    choice.problem = parsed.at("problem").get<std::string>();
    return choice;
  } catch (const json::exception& e) {
    throw Error("preflight", "node-info exchange", "provider choice",
                fmt::format("malformed choice '{}': {}", line, e.what()), 0);
  }
}

ProviderAgreement agree_on_provider(const std::vector<std::string>& rank_node,
                                    const std::vector<LocalProviderChoice>& rank_choice) {
  ProviderAgreement agreement;
  // Per node (the first rank of each node speaks for it), in order of first appearance.
  std::vector<std::string> nodes;
  std::map<std::string, const LocalProviderChoice*> node_choice;
  for (std::size_t rank = 0; rank < rank_node.size() && rank < rank_choice.size(); ++rank) {
    if (node_choice.emplace(rank_node[rank], &rank_choice[rank]).second) {
      nodes.push_back(rank_node[rank]);
    }
  }
  if (nodes.empty()) {
    return agreement;
  }
  const std::string& requested = rank_choice.front().requested;
  json per_node = json::object();
  std::map<std::string, std::vector<std::string>> by_outcome;  // outcome -> nodes
  for (const std::string& node : nodes) {
    const LocalProviderChoice& choice = *node_choice.at(node);
    by_outcome[choice.outcome].push_back(node);
    json entry{{"provider", choice.outcome}, {"efa_devices", choice.efa_devices}};
    if (!choice.problem.empty()) {
      entry["problem"] = choice.problem;
    }
    per_node[node] = entry;
  }
  agreement.details =
      json{{"requested", requested.empty() ? std::string("any") : requested}, {"nodes", per_node}};

  if (by_outcome.size() == 1) {
    const LocalProviderChoice& common = *node_choice.at(nodes.front());
    if (common.outcome == kNoEfa) {
      agreement.finding = reports::judged_check(
          "P2P_NO_EFA", Status::error,
          finding_message("P2P_NO_EFA", join(nodes, ", "),
                          "tcp is used only when asked for: pass --provider tcp"),
          agreement.details);
    } else if (common.outcome.ends_with(kExcluded)) {
      // The launch environment overrides the choice on every node: the harness is set up wrong.
      agreement.finding = reports::judged_check(
          "P2P_PROVIDER_MISMATCH", Status::error,
          finding_message("P2P_PROVIDER_MISMATCH", fmt::format("every node chose {} but {}",
                                                               common.provider, common.problem)),
          agreement.details);
    } else {
      // Agreed (an explicit efa without devices anywhere is left to fi_getinfo: a skip).
      agreement.provider = common.provider;
      agreement.details["chosen"] = common.outcome;
    }
    return agreement;
  }

  // The nodes disagree. The expected outcome is the most common one, efa winning a tie: the odd
  // node is the one without EFA. Every other node is named with its reason.
  std::string expected;
  std::size_t most = 0;
  for (const auto& [outcome, members] : by_outcome) {
    if (members.size() > most || (members.size() == most && outcome == kEfa)) {
      expected = outcome;
      most = members.size();
    }
  }
  std::vector<std::string> odd;
  std::vector<std::string> reasons;
  for (const std::string& node : nodes) {
    const LocalProviderChoice& choice = *node_choice.at(node);
    if (choice.outcome != expected) {
      odd.push_back(node);
      reasons.push_back(fmt::format("{} chose {}{}", node, choice.outcome,
                                    choice.problem.empty() ? "" : " (" + choice.problem + ")"));
    }
  }
  agreement.details["odd_nodes"] = odd;
  agreement.details["expected"] = expected;
  agreement.finding = reports::fire_check(
      "P2P_PROVIDER_MISMATCH",
      finding_message("P2P_PROVIDER_MISMATCH",
                      fmt::format("{}; the other {} node{} chose {}", join(reasons, "; "), most,
                                  most == 1 ? "" : "s", expected)),
      agreement.details);
  return agreement;
}

std::string local_provider_choice(std::string_view requested, const std::string& root) {
  const char* fi_provider = std::getenv("FI_PROVIDER");  // NOLINT(concurrency-mt-unsafe)
  return encode_choice(choose_local_provider(
      requested, RootFs(root.empty() ? std::string("/") : root),
      fi_provider != nullptr ? std::optional<std::string_view>(fi_provider) : std::nullopt));
}

ProviderAgreement agree_on_provider(const std::vector<std::string>& rank_node,
                                    const std::vector<std::string>& encoded_choices) {
  std::vector<LocalProviderChoice> choices;
  choices.reserve(encoded_choices.size());
  for (const std::string& line : encoded_choices) {
    choices.push_back(decode_choice(line));
  }
  return agree_on_provider(rank_node, choices);
}

std::vector<reports::Check> transport_findings(const nlohmann::json& transport) {
  std::vector<reports::Check> checks;
  const std::string provider = transport.is_object() ? transport.value("provider", "") : "";
  if (split(provider, ';').front() != kEfa) {
    return checks;
  }
  const auto granted = parse_version(transport.value("api", json::object()).value("granted", ""));
  const auto device_id = parse_integer(transport.value("device_id", ""));
  const auto known = device_id ? find_efa_device_id(*device_id) : std::nullopt;
  if (!granted || !known || !known->device_rdma_off_below_api_1_18) {
    return checks;
  }
  const int major = granted->parts.at(0);
  const int minor = granted->parts.size() > 1 ? granted->parts[1] : 0;
  const EfaDeviceRdmaDecision decision =
      efa_device_rdma_default(major, minor, *device_id, std::nullopt);
  const json rdma = transport.value("device_rdma", json::object());
  const bool off =
      rdma.value("read", json()).is_boolean() ? !rdma.at("read").get<bool>() : !decision.enabled;
  if (!off) {
    return checks;
  }
  checks.push_back(reports::fire_check(
      "EFA_DEVICE_RDMA_OFF",
      finding_message("EFA_DEVICE_RDMA_OFF",
                      fmt::format("preflight-p2p on {}", transport.value("domain", "")),
                      fmt::format("{}.{} (libfabric {})", major, minor,
                                  transport.value("libfabric_version", "")),
                      fmt::format("0x{:04x}", *device_id),
                      decision.why + ": --op write|read measure emulated RMA, large sends lose "
                                     "the RDMA-read protocol, --mem cuda gets no FI_HMEM"),
      json{{"api", transport.value("api", json::object())}, {"device_rdma", rdma}}));
  return checks;
}

}  // namespace preflight::p2p
