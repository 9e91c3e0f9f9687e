// What each node tells the others about itself for a rails run: its instance type, whose catalog
// entry gives the line rate its NICs should reach (for judging a node's aggregate over its rails,
// p2p/judgement_report.hpp), and how it ordered its rails (p2p/rail_order.hpp).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bootstrap.hpp"
#include "common/sysfs.hpp"
#include "p2p/judgement_report.hpp"

namespace preflight::p2p {

// This node's instance type from the DMI product name under `fs` (Nitro instances publish it
// there); empty when it does not look like one. No IMDS: a benchmark makes no network calls of
// its own.
[[nodiscard]] std::string local_instance_type(const RootFs& fs);

struct NodeFacts {
  std::string instance_type;     // empty: unknown
  std::string rail_order_basis;  // empty: not a rails run
};

// Collective over `bootstrap`: every rank gives its own facts and learns those of each node (the
// facts of its lowest rank, `node_leader`).
[[nodiscard]] std::vector<NodeFacts> gather_node_facts(Bootstrap& bootstrap,
                                                       const std::vector<int>& node_leader,
                                                       const NodeFacts& mine);

// One line rate per node: what --nic-rate-gbps states, else the platform catalog's per-device EFA
// rate for the node's instance type (p5.48xlarge: 3200 Gb/s over 32 devices, 100 each), from each
// node's instance type (empty: unknown).
[[nodiscard]] std::vector<NicLineRate> nic_line_rates(std::span<const std::string> instance_types,
                                                      std::optional<double> stated_gbps);

}  // namespace preflight::p2p
