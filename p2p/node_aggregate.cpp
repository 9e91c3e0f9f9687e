// Every node's aggregate over its rails (p2p/judgement.hpp, NodeAggregate).
#include <algorithm>
#include <map>
#include <set>

#include "p2p/judgement.hpp"

namespace preflight::p2p {
namespace {

// The rails a pair drove at once in one round: (pair, round) -> rail -> value.
using RailSums = std::map<std::pair<NodePair, int>, std::map<int, double>>;

RailSums all_rail_tests(std::size_t metric, std::span<const Measurement> measurements) {
  RailSums tests;
  for (const Measurement& m : measurements) {
    // Re-tests measure a suspect's rails one at a time: not what the node carries at once.
    if (m.metric != metric || m.rail == kAllRails || m.role == MeasurementRole::retest) {
      continue;
    }
    tests[{m.pair, m.round}][m.rail] = m.value;
  }
  return tests;
}

// The healthy level of each rail for this metric.
std::map<int, double> rail_references(const SurveyMetric& metric, const Judgement& judgement) {
  std::map<int, double> references;
  for (const MetricJudgement& group : judgement.metrics) {
    if (group.metric == metric.name && group.rail != kAllRails) {
      references[group.rail] = group.reference;
    }
  }
  return references;
}

}  // namespace

std::vector<NodeAggregate> node_aggregates(std::span<const SurveyMetric> metrics,
                                           std::span<const Measurement> measurements,
                                           const Judgement& judgement) {
  const std::set<int> bad_nodes(judgement.bad_nodes.begin(), judgement.bad_nodes.end());
  const std::set<NicRef> bad_nics(judgement.bad_nics.begin(), judgement.bad_nics.end());
  std::vector<NodeAggregate> aggregates;
  for (std::size_t metric = 0; metric < metrics.size(); ++metric) {
    if (metrics[metric].better != Better::higher) {
      continue;  // a latency does not add up over rails
    }
    const RailSums tests = all_rail_tests(metric, measurements);
    std::map<int, NodeAggregate> by_node;
    for (const auto& [key, values] : tests) {
      for (const int node : {key.first.a, key.first.b}) {
        NodeAggregate& aggregate = by_node[node];
        aggregate.node = node;
        aggregate.metric = metric;
        double sum = 0;
        double healthy_sum = 0;
        for (const auto& [rail, value] : values) {
          sum += value;
          const bool healthy = !bad_nodes.contains(node) && !bad_nics.contains({node, rail});
          healthy_sum += healthy ? value : 0;
          if (std::find(aggregate.rails.begin(), aggregate.rails.end(), rail) ==
              aggregate.rails.end()) {
            aggregate.rails.push_back(rail);
          }
        }
        aggregate.aggregate = std::max(aggregate.aggregate, sum);
        aggregate.healthy_aggregate = std::max(aggregate.healthy_aggregate, healthy_sum);
      }
    }
    const std::map<int, double> references = rail_references(metrics[metric], judgement);
    for (auto& [node, aggregate] : by_node) {
      std::sort(aggregate.rails.begin(), aggregate.rails.end());
      for (const int rail : aggregate.rails) {
        if (bad_nodes.contains(node) || bad_nics.contains({node, rail})) {
          continue;
        }
        aggregate.healthy_rails.push_back(rail);
        const auto reference = references.find(rail);
        aggregate.cluster_expected += reference == references.end() ? 0 : reference->second;
      }
      aggregates.push_back(std::move(aggregate));
    }
  }
  return aggregates;
}

}  // namespace preflight::p2p
