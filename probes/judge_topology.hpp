// Judge for preflight-topology: distances between GPUs and EFA devices (the classes nvidia-smi
// topo -m and NCCL use), the GPU -> EFA assignment a platform implies, and the checks against the
// platform. Pure functions of the facts.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "domain/platform.hpp"
#include "probes/gather_topology.hpp"
#include "reports/report.hpp"

namespace preflight::probes {

// Closest first. PIX: through at most one PCIe switch (its upstream port and one downstream port
// per side); PXB: through several bridges without the host bridge; PHB: through a PCIe host
// bridge; NODE: between host bridges of one NUMA node; SYS: across NUMA nodes.
enum class Distance { pix, pxb, phb, node, sys };

[[nodiscard]] std::string_view to_string(Distance distance);
[[nodiscard]] Distance classify_distance(const TopoDevice& a, const TopoDevice& b);
// PIX or PXB: behind the same switch.
[[nodiscard]] bool is_local(Distance distance);

struct EfaLink {
  std::size_t efa = 0;  // index into TopologyFacts::efa
  Distance distance = Distance::sys;
};

struct GpuPlacement {
  std::vector<EfaLink> local;     // PIX/PXB, closest first
  std::vector<EfaLink> assigned;  // what the platform's grouping gives this GPU
  std::vector<EfaLink> nearest;   // every EFA at the smallest distance
};

struct TopologyAnalysis {
  std::vector<std::vector<Distance>> matrix;  // [gpu][efa]
  std::vector<GpuPlacement> gpus;
  int efa_needed_per_gpu = 1;
  int gpus_per_efa = 1;
};

// The assignment: each GPU takes `efa_needed_per_gpu` EFA devices, its local ones first, then
// the closest with capacity left (an EFA serves `gpus_per_efa` GPUs). Without a platform the
// ratio follows from the counts.
[[nodiscard]] TopologyAnalysis analyse_topology(const TopologyFacts& facts,
                                                const Platform* platform);

// The rail order of a node: its EFA devices grouped by the GPU they serve, GPU 0's first, each
// GPU's in the order it uses them (its local devices first), then any device no GPU uses, by PCI
// address. Rail r of every node of one platform is then the same position under the same GPU, as
// NCCL pairs them (rail-aligned), and "rail 5" reads as "GPU 1's second NIC" on a p5.
struct RailSlot {
  std::size_t efa = 0;    // index into TopologyFacts::efa
  std::vector<int> gpus;  // the GPUs that use it (two on p4d); empty: no GPU does
};
[[nodiscard]] std::vector<RailSlot> rail_order(const TopologyFacts& facts,
                                               const TopologyAnalysis& analysis);

[[nodiscard]] std::vector<reports::Check> judge_topology(const TopologyFacts& facts,
                                                         const TopologyAnalysis& analysis,
                                                         const Platform* platform);

// details{} of the report: the map, the matrix and the suggested NIC per local rank.
[[nodiscard]] nlohmann::json topology_details(const TopologyFacts& facts,
                                              const TopologyAnalysis& analysis);

// Text renderings: one line per GPU, and the nvidia-smi-like GPU x EFA matrix with a legend.
[[nodiscard]] std::string render_topology_summary(const TopologyFacts& facts,
                                                  const TopologyAnalysis& analysis);
[[nodiscard]] std::string render_topology_matrix(const TopologyFacts& facts,
                                                 const TopologyAnalysis& analysis);

}  // namespace preflight::probes
