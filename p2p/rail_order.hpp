// The order of a node's rails (preflight-p2p --rails): on GPU nodes the GPU <-> NIC map of
// preflight-topology decides it, so that rail r is the same NIC position under the same GPU on
// every node (NCCL's rail-aligned pairing) and the GPU-local NIC comes first; elsewhere (tcp
// interfaces, EFA without GPUs) the devices' names, in natural order.
#pragma once

#include <string>
#include <vector>

#include "common/sysfs.hpp"
#include "probes/gather_topology.hpp"
#include "probes/judge_topology.hpp"

namespace preflight::p2p {

struct RailOrder {
  std::vector<std::string> domains;    // rail r's libfabric domain
  std::vector<std::vector<int>> gpus;  // rail r's GPUs (empty: none known)
  std::string basis;                   // how the order was decided, for the report
};

// The device a libfabric domain drives: "rdmap16s27" for EFA's "rdmap16s27-rdm" (and -dgrm);
// other domains are their own device (tcp: the interface).
[[nodiscard]] std::string domain_device(const std::string& domain);

// `domains` (any order) in the rail order a topology gives: the devices it places first, in its
// order (probes::rail_order), then the rest by name. A pure function, for the fixtures' sake.
[[nodiscard]] RailOrder order_rails(std::vector<std::string> domains,
                                    const probes::TopologyFacts& facts,
                                    const probes::TopologyAnalysis& analysis);

// The live node's order: the topology is read (hwloc) only when a domain is an RDMA device under
// /sys/class/infiniband of `fs`; otherwise, or when the topology has no GPU, by name.
[[nodiscard]] RailOrder order_rails_on_this_node(std::vector<std::string> domains,
                                                 const RootFs& fs);

}  // namespace preflight::p2p
