#include "p2p/node_facts.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "domain/platform.hpp"
#include "probes/instance_type.hpp"

namespace preflight::p2p {
namespace {

constexpr double kBytesPerGbit = 1e9 / 8;

}  // namespace

std::string local_instance_type(const RootFs& fs) {
  probes::InstanceTypeQuery query;
  query.allow_imds = false;
  return probes::resolve_platform(fs, query).instance_type;
}

std::vector<NodeFacts> gather_node_facts(Bootstrap& bootstrap, const std::vector<int>& node_leader,
                                         const NodeFacts& mine) {
  const std::vector<std::string> all = bootstrap.allgather_strings(nlohmann::json{
      {"instance_type", mine.instance_type},
      {"rail_order", mine.rail_order_basis}}.dump());
  std::vector<NodeFacts> nodes;
  for (const int leader : node_leader) {
    const auto facts = nlohmann::json::parse(all.at(static_cast<std::size_t>(leader)));
    nodes.push_back(
        {facts.at("instance_type").get<std::string>(), facts.at("rail_order").get<std::string>()});
  }
  return nodes;
}

std::vector<NicLineRate> nic_line_rates(std::span<const std::string> instance_types,
                                        std::optional<double> stated_gbps) {
  std::vector<NicLineRate> rates;
  for (const std::string& type : instance_types) {
    NicLineRate rate;
    if (stated_gbps) {
      rate = {*stated_gbps * kBytesPerGbit, fmt::format("--nic-rate-gbps {:g}", *stated_gbps),
              true};
    } else if (type.empty()) {
      rate.source =
          "no line rate: the node's instance type is unknown (state one with --nic-rate-gbps)";
    } else if (const Platform* platform = find_platform(type); platform == nullptr) {
      rate.source = fmt::format(
          "no line rate: {} is not in the platform catalog (state one with --nic-rate-gbps)", type);
    } else if (const auto per_device = platform->efa_rate_per_device_gbps(); !per_device) {
      rate.source = fmt::format(
          "no line rate: the catalog publishes no EFA aggregate for {} (state one with "
          "--nic-rate-gbps)",
          type);
    } else {
      rate = {*per_device * kBytesPerGbit,
              fmt::format("{}: {} Gb/s over {} EFA devices", type, *platform->efa_aggregate_gbps,
                          platform->efa_count),
              false};
    }
    rates.push_back(std::move(rate));
  }
  return rates;
}

}  // namespace preflight::p2p
