// What every part of one rank's preflight-p2p run shares (p2p/runner.cpp drives it): the options,
// the bootstrap, the nodes the ranks belong to, and the benchmark harness it runs under
// (harness/guard.hpp: deadlines, checkpoints, the stop reports).
#pragma once

#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/bootstrap.hpp"
#include "common/gpu_libraries.hpp"
#include "harness/guard.hpp"
#include "harness/report.hpp"
#include "p2p/channel.hpp"
#include "p2p/options.hpp"
#include "reports/report.hpp"

namespace preflight::p2p {

inline constexpr std::string_view kTool = "preflight-p2p";

// Thrown during set-up when a prerequisite is absent: the run is skipped (exit 3), with reason.
class SkipRun : public std::runtime_error {
 public:
  SkipRun(std::string id, const std::string& reason)
      : std::runtime_error(reason), id_(std::move(id)) {}
  [[nodiscard]] const std::string& id() const { return id_; }

 private:
  std::string id_;
};

// Ranks and nodes. Ranks are grouped into nodes by node name (--node-name / PREFLIGHT_NODE_NAME,
// "{rank}" replaced by the rank; default the host name), exchanged through the bootstrap.
struct NodeMap {
  std::vector<std::string> rank_node;  // node name per rank
  std::vector<std::string> rank_host;  // host name per rank
  std::vector<std::string> nodes;      // distinct node names in order of their first rank
  std::vector<int> node_leader;        // lowest rank of each node
  std::vector<int> rank_node_index;
  int local_rank = 0;  // this rank's index among the ranks of its host (GPU choice)
  std::vector<std::string> rank_provider_choice;  // encoded LocalProviderChoice per rank
};

// Collective over `bootstrap`: every rank's node, host and provider choice.
[[nodiscard]] NodeMap map_nodes(Bootstrap& bootstrap, const std::string& node_name_template,
                                const std::string& provider_choice);

class StepBarrier;

struct RankContext {
  const P2pOptions& options;
  Bootstrap& bootstrap;
  PeerLivenessCheck liveness;
  bool mpi_initialised = false;
  // The harness's guard; null: this thread sets no deadlines and writes no report (loopback's
  // second side).
  harness::RunGuard* guard = nullptr;
  harness::LiveReport& live;
  std::mutex* setup_mutex = nullptr;  // loopback: two endpoints set up in one process
  std::string current_peer;           // for error messages
  StepBarrier* step_barrier = nullptr;
  const GpuLibraries* gpu = nullptr;  // --transport nccl / --mem cuda: the loaded libraries
  std::string fabric_provider = {};   // what every node agreed on (p2p/provider_choice.hpp)
  std::string rail_order_basis = {};  // --rails: how this node's rails were ordered
};

// Starts `phase` with its deadline, and tells the progress channel.
void arm(RankContext& context, const std::string& phase);

// The node's name in the report ("node3" in --deterministic reports).
[[nodiscard]] std::string display_node(const RankContext& context, const NodeMap& map,
                                       int node_index);
// "rank 1 (host)".
[[nodiscard]] std::string rank_label(const NodeMap& map, int rank);

void add_check(RankContext& context, reports::Check check);

}  // namespace preflight::p2p
