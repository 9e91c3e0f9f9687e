#include "p2p/run_context.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/error.hpp"
#include "common/text.hpp"

namespace preflight::p2p {
namespace {

std::string expand_node_name(const std::string& name_template, int rank) {
  if (name_template.empty()) {
    return host_name();
  }
  std::string name = name_template;
  for (auto at = name.find("{rank}"); at != std::string::npos; at = name.find("{rank}")) {
    name.replace(at, 6, std::to_string(rank));
  }
  return name;
}

}  // namespace

NodeMap map_nodes(Bootstrap& bootstrap, const std::string& node_name_template,
                  const std::string& provider_choice) {
  NodeMap map;
  const std::string mine = expand_node_name(node_name_template, bootstrap.rank()) + "\n" +
                           host_name() + "\n" + provider_choice;
  for (const std::string& entry : bootstrap.allgather_strings(mine)) {
    const auto split = entry.find('\n');
    const auto second = split == std::string::npos ? split : entry.find('\n', split + 1);
    map.rank_node.push_back(entry.substr(0, split));
    map.rank_host.push_back(
        split == std::string::npos ? "" : entry.substr(split + 1, second - split - 1));
    map.rank_provider_choice.push_back(second == std::string::npos ? "" : entry.substr(second + 1));
  }
  for (std::size_t rank = 0; rank < map.rank_node.size(); ++rank) {
    const auto found = std::find(map.nodes.begin(), map.nodes.end(), map.rank_node[rank]);
    if (found == map.nodes.end()) {
      map.nodes.push_back(map.rank_node[rank]);
      map.node_leader.push_back(static_cast<int>(rank));
      map.rank_node_index.push_back(static_cast<int>(map.nodes.size()) - 1);
    } else {
      map.rank_node_index.push_back(static_cast<int>(found - map.nodes.begin()));
    }
  }
  const auto me = static_cast<std::size_t>(bootstrap.rank());
  for (std::size_t rank = 0; rank < me; ++rank) {
    map.local_rank += map.rank_host[rank] == map.rank_host[me] ? 1 : 0;
  }
  return map;
}

void arm(RankContext& context, const std::string& phase) {
  if (context.guard != nullptr) {
    context.guard->begin(phase);
  }
}

std::string display_node(const RankContext& context, const NodeMap& map, int node_index) {
  return context.options.common.deterministic ? fmt::format("node{}", node_index)
                                              : map.nodes.at(static_cast<std::size_t>(node_index));
}

std::string rank_label(const NodeMap& map, int rank) {
  return fmt::format("rank {} ({})", rank, map.rank_host.at(static_cast<std::size_t>(rank)));
}

void add_check(RankContext& context, reports::Check check) {
  context.live.add_check(std::move(check));
}

}  // namespace preflight::p2p
