// The libfabric provider is chosen where the ranks run, not where the job was launched from: each
// rank looks at its own node (the EFA devices under its sysfs root, FI_PROVIDER in its
// environment), reports what it chose through the node-info exchange, and the run goes on only
// when every node agrees. A login or head node without EFA launching onto p5 nodes gets efa; a
// node that disagrees (no EFA device among EFA nodes) is a finding naming it; tcp is used only when
// asked for (--provider tcp), never as a silent fallback.
//
//   --provider auto   efa on a node with EFA devices; a node without is an error (P2P_NO_EFA when
//                     no node has one, P2P_PROVIDER_MISMATCH naming it when others do)
//   --provider any/"" libfabric's first choice: efa on a node with EFA devices, any elsewhere
//   --provider NAME   NAME everywhere (efa on a node without EFA devices disagrees)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sysfs.hpp"
#include "reports/report.hpp"

namespace preflight::p2p {

inline constexpr std::string_view kAutoProvider = "auto";

struct LocalProviderChoice {
  std::string requested;  // --provider as given
  std::string provider;   // what this rank asks libfabric for; empty: libfabric's first choice
  int efa_devices = 0;    // EFA devices under this node's root
  // What the nodes compare: the provider ("efa", "tcp", "any"), or why there is none usable:
  // "none (no EFA device)", "efa (no EFA device)", "efa (excluded by FI_PROVIDER)".
  std::string outcome;
  std::string problem;  // the reason in words, empty when the choice is usable
};

// `fi_provider_env`: FI_PROVIDER of this rank's environment (nullopt when unset).
[[nodiscard]] LocalProviderChoice choose_local_provider(
    std::string_view requested, const RootFs& root,
    std::optional<std::string_view> fi_provider_env);

// One line for the node-info exchange, and back (throws preflight::Error on a malformed line).
[[nodiscard]] std::string encode_choice(const LocalProviderChoice& choice);
[[nodiscard]] LocalProviderChoice decode_choice(std::string_view line);

// choose_local_provider for this rank (`root`: its sysfs root, "/" live; FI_PROVIDER from the
// environment), encoded.
[[nodiscard]] std::string local_provider_choice(std::string_view requested,
                                                const std::string& root);

struct ProviderAgreement {
  std::string provider;                   // for every rank's FabricRequest (when no finding)
  std::optional<reports::Check> finding;  // P2P_NO_EFA, P2P_PROVIDER_MISMATCH: measure nothing
  nlohmann::json details;                 // requested, chosen, per node: provider, EFA devices
};

// `rank_node`: each rank's node name; `rank_choice`: each rank's choice (same order).
[[nodiscard]] ProviderAgreement agree_on_provider(
    const std::vector<std::string>& rank_node, const std::vector<LocalProviderChoice>& rank_choice);
// The same from the node-info exchange's encoded choices.
[[nodiscard]] ProviderAgreement agree_on_provider(const std::vector<std::string>& rank_node,
                                                  const std::vector<std::string>& encoded_choices);

// Findings the endpoint's own description gives (details.transport): EFA_DEVICE_RDMA_OFF when
// the efa provider runs below API 1.18 on a device that keeps RDMA off there.
[[nodiscard]] std::vector<reports::Check> transport_findings(const nlohmann::json& transport);

}  // namespace preflight::p2p
