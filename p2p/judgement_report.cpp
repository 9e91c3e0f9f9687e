#include "p2p/judgement_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/findings.hpp"
#include "common/size_spec.hpp"
#include "common/text.hpp"

namespace preflight::p2p {
namespace {

using nlohmann::json;

const std::string& name_of(const JudgementContext& context, int node) {
  return context.node_names.at(static_cast<std::size_t>(node));
}

json pair_json(const JudgementContext& context, const NodePair& pair) {
  return json::array({name_of(context, pair.a), name_of(context, pair.b)});
}

std::string display(const JudgedMetric& metric, double value) {
  if (metric.metric.better == Better::lower) {
    return fmt::format("{:.2f} us", value * 1e6);
  }
  return fmt::format("{:.3f} GB/s", value / 1e9);
}

std::string metric_label(const JudgedMetric& metric) {
  return metric.size_bytes > 0
             ? fmt::format("{} at {}", metric.metric.name, format_size(metric.size_bytes))
             : metric.metric.name;
}

const JudgedMetric& metric_of(const JudgementContext& context, const MetricJudgement& group) {
  for (const JudgedMetric& metric : context.metrics) {
    if (metric.metric.name == group.metric) {
      return metric;
    }
  }
  throw std::invalid_argument("judgement of a metric the context does not name: " + group.metric);
}

// How far from the reference, as people say it: "49% of the reference".
std::string share(double rate_ratio) {
  return fmt::format("{:.0f}% of the reference", 100 * rate_ratio);
}

json node_evidence_json(const JudgementContext& context, const NodeEvidence& node) {
  return json{{"node", name_of(context, node.node)},
              {"partners", node.partners},
              {"slow_partners", node.slow_partners},
              {"retested_partners", node.retested_partners},
              {"confirmed_partners", node.confirmed_partners},
              {"supporting_measurements", node.supporting_measurements},
              {"typical", node.typical},
              {"rate_ratio", node.rate_ratio}};
}

json link_evidence_json(const JudgementContext& context, const LinkEvidence& link) {
  return json{{"a", name_of(context, link.pair.a)},
              {"b", name_of(context, link.pair.b)},
              {"best", link.best},
              {"rate_ratio", link.rate_ratio},
              {"measurements", link.measurements},
              {"valid", link.valid},
              {"retests", link.retests},
              {"slow", link.slow}};
}

std::string device_of(const JudgementContext& context, const NicRef& nic) {
  const auto node = static_cast<std::size_t>(nic.node);
  const auto rail = static_cast<std::size_t>(nic.rail);
  if (node < context.rail_devices.size() && rail < context.rail_devices[node].size()) {
    return context.rail_devices[node][rail];
  }
  return "?";
}

json nics_json(const JudgementContext& context, const std::vector<NicRef>& nics) {
  json list = json::array();
  for (const NicRef& nic : nics) {
    list.push_back(json{{"node", name_of(context, nic.node)},
                        {"rail", nic.rail},
                        {"device", device_of(context, nic)}});
  }
  return list;
}

json rail_of(int rail) {
  return rail == kAllRails ? json("all") : json(rail);
}

// What every finding about a metric's verdict carries.
json group_evidence(const MetricJudgement& group, const JudgedMetric& metric,
                    const JudgementPolicy& policy) {
  return json{{"metric", group.metric},       {"size_bytes", metric.size_bytes},
              {"rail", rail_of(group.rail)},  {"reference", group.reference},
              {"threshold", group.threshold}, {"slow_fraction", policy.slow_fraction}};
}

// "bandwidth_Bps at 256K: typical 0.050 GB/s vs 0.110 GB/s reference (45% of the reference), slow
// with 5 of 5 partners"
std::string node_summary(const JudgedMetric& metric, const MetricJudgement& group,
                         const NodeEvidence& node) {
  return fmt::format("{}: typical {} vs {} reference ({}), slow with {} of {} partners",
                     metric_label(metric), display(metric, node.typical),
                     display(metric, group.reference), share(node.rate_ratio), node.slow_partners,
                     node.partners);
}

// P2P_NIC_OUTLIER / P2P_NIC_UNREACHABLE for every bad NIC, with the evidence of the first metric
// that found it.
void append_nic_checks(const Judgement& judgement, const JudgementContext& context,
                       std::vector<reports::Check>& checks) {
  const std::set<NicRef> unreachable(judgement.unreachable_nics.begin(),
                                     judgement.unreachable_nics.end());
  std::set<NicRef> named;
  for (const MetricJudgement& group : judgement.metrics) {
    const JudgedMetric& metric = metric_of(context, group);
    for (const NodeEvidence& node : group.bad_nodes) {
      const NicRef nic{node.node, group.rail};
      if (!judgement.is_bad_nic(nic.node, nic.rail) || !named.insert(nic).second) {
        continue;
      }
      json evidence = group_evidence(group, metric, judgement.policy);
      evidence.update(node_evidence_json(context, node));
      evidence["device"] = device_of(context, nic);
      const bool lost = unreachable.contains(nic);
      const std::string id = lost ? "P2P_NIC_UNREACHABLE" : "P2P_NIC_OUTLIER";
      const std::string what =
          lost ? fmt::format(
                     "no byte arrived over it with any of {} partners on rail {}, while "
                     "the node's other rails carry traffic; {} measurements support it",
                     node.partners, nic.rail, node.supporting_measurements)
               : fmt::format(
                     "{}, and with {} of {} known-good partners in re-tests, while the "
                     "node's other rails are not slow; {} measurements support it",
                     node_summary(metric, group, node), node.confirmed_partners,
                     node.retested_partners, node.supporting_measurements);
      const std::string node_name = name_of(context, nic.node);
      const std::string device = device_of(context, nic);
      checks.push_back(reports::judged_check(
          id, Status::fail,
          lost ? finding_message("P2P_NIC_UNREACHABLE", node_name, nic.rail, device, what)
               : finding_message("P2P_NIC_OUTLIER", node_name, nic.rail, device, what),
          std::move(evidence)));
    }
  }
}

// A higher-is-better metric whose healthy level is 0: nothing arrived with most partners of
// every node, so there is nothing to judge slowness by.
bool carried_nothing(const MetricJudgement& group) {
  return group.better == Better::higher && group.reference <= 0 && !group.links.empty();
}

// Where a metric was measured: "rail 1", or "every pair" without rails.
std::string where_measured(const MetricJudgement& group) {
  return group.rail == kAllRails ? std::string("every pair") : fmt::format("rail {}", group.rail);
}

// The places (by rail) on which no pair carried data.
json nothing_carried(const Judgement& judgement) {
  json where = json::array();
  for (const MetricJudgement& group : judgement.metrics) {
    const std::string name = where_measured(group);
    if (carried_nothing(group) && std::find(where.begin(), where.end(), name) == where.end()) {
      where.push_back(name);
    }
  }
  return where;
}

// A node's aggregate as judged against its NICs' line rate.
struct AggregateReading {
  const NodeAggregate* aggregate = nullptr;
  const JudgedMetric* metric = nullptr;
  double cluster_fraction = 0;  // healthy aggregate / the cluster's level for its healthy rails
  NicLineRate line_rate;        // per NIC; rate 0 when unknown
  double expected = 0;          // healthy rails x line rate
  double line_rate_fraction = 0;
  bool judged = false;
  bool low = false;
  std::string not_judged;  // why not, when not judged
};

std::vector<AggregateReading> read_aggregates(const Judgement& judgement,
                                              const JudgementContext& context) {
  std::vector<AggregateReading> readings;
  for (const NodeAggregate& aggregate : judgement.aggregates) {
    AggregateReading reading;
    reading.aggregate = &aggregate;
    reading.metric = &context.metrics.at(aggregate.metric);
    reading.cluster_fraction = aggregate.cluster_expected > 0
                                   ? aggregate.healthy_aggregate / aggregate.cluster_expected
                                   : 0;
    const auto node = static_cast<std::size_t>(aggregate.node);
    if (node < context.nic_line_rates.size()) {
      reading.line_rate = context.nic_line_rates[node];
    }
    reading.expected =
        static_cast<double>(aggregate.healthy_rails.size()) * reading.line_rate.rate_Bps;
    if (judgement.is_bad_node(aggregate.node) || aggregate.healthy_rails.empty()) {
      reading.not_judged = "a bad node: every rail named already";
    } else if (reading.line_rate.rate_Bps <= 0) {
      reading.not_judged =
          reading.line_rate.source.empty()
              ? "no line rate: the node's instance type is not in the platform catalog (state "
                "one with --nic-rate-gbps)"
              : reading.line_rate.source;
    } else if (!reading.line_rate.stated && reading.metric->size_bytes < kLineRateMinBytes) {
      reading.not_judged = fmt::format(
          "measured at {}, below the {} a NIC needs to reach its line rate (or state the rate "
          "this size should reach with --nic-rate-gbps)",
          format_size(reading.metric->size_bytes), format_size(kLineRateMinBytes));
    } else {
      reading.judged = true;
      reading.line_rate_fraction = aggregate.healthy_aggregate / reading.expected;
      reading.low = reading.line_rate_fraction < context.min_line_rate_fraction;
    }
    readings.push_back(std::move(reading));
  }
  return readings;
}

std::string gbits(double bytes_per_s) {
  return fmt::format("{:.3g} Gb/s", bytes_per_s * 8 / 1e9);
}

// P2P_NODE_AGGREGATE_LOW for every node whose healthy NICs fall short of their line rate, and one
// P2P_RAILS_AGGREGATE that says how the aggregates were judged (or why not).
void append_aggregate_checks(const Judgement& judgement, const JudgementContext& context,
                             std::vector<reports::Check>& checks) {
  const std::vector<AggregateReading> readings = read_aggregates(judgement, context);
  if (readings.empty()) {
    return;
  }
  const AggregateReading* lowest = nullptr;
  std::size_t judged = 0;
  for (const AggregateReading& reading : readings) {
    const NodeAggregate& aggregate = *reading.aggregate;
    if (!reading.judged) {
      continue;
    }
    ++judged;
    if (lowest == nullptr || reading.line_rate_fraction < lowest->line_rate_fraction) {
      lowest = &reading;
    }
    if (!reading.low) {
      continue;
    }
    checks.push_back(reports::fire_check(
        "P2P_NODE_AGGREGATE_LOW",
        finding_message(
            "P2P_NODE_AGGREGATE_LOW", name_of(context, aggregate.node),
            fmt::format("{}: {} over its {} healthy NIC(s) at once, {:.0f}% of their {} line rate "
                        "({}; at least {:.0f}% expected)",
                        metric_label(*reading.metric), gbits(aggregate.healthy_aggregate),
                        aggregate.healthy_rails.size(), 100 * reading.line_rate_fraction,
                        gbits(reading.expected), reading.line_rate.source,
                        100 * context.min_line_rate_fraction)),
        json{{"node", name_of(context, aggregate.node)},
             {"metric", reading.metric->metric.name},
             {"size_bytes", reading.metric->size_bytes},
             {"healthy_rails", aggregate.healthy_rails},
             {"healthy_aggregate", aggregate.healthy_aggregate},
             {"expected", reading.expected},
             {"line_rate_fraction", reading.line_rate_fraction},
             {"min_line_rate_fraction", context.min_line_rate_fraction}}));
  }
  std::string how;
  if (lowest != nullptr) {
    how = fmt::format(
        "{} of {} node(s) judged against their NICs' line rate (at least {:.0f}%); "
        "lowest {} at {:.0f}% of {} ({})",
        judged, readings.size(), 100 * context.min_line_rate_fraction,
        name_of(context, lowest->aggregate->node), 100 * lowest->line_rate_fraction,
        gbits(lowest->expected), lowest->line_rate.source);
  } else {
    how = fmt::format("{} node(s) measured, not judged against a line rate: {}", readings.size(),
                      readings.front().not_judged);
  }
  checks.push_back(reports::pass_check(
      "P2P_RAILS_AGGREGATE",
      finding_message("P2P_RAILS_AGGREGATE", metric_label(*readings.front().metric), how),
      json{{"judged", judged}, {"nodes", readings.size()}}));
}

json aggregates_json(const Judgement& judgement, const JudgementContext& context) {
  json list = json::array();
  for (const AggregateReading& reading : read_aggregates(judgement, context)) {
    const NodeAggregate& aggregate = *reading.aggregate;
    json entry{{"node", name_of(context, aggregate.node)},
               {"metric", reading.metric->metric.name},
               {"rails", aggregate.rails},
               {"healthy_rails", aggregate.healthy_rails},
               {"aggregate", aggregate.aggregate},
               {"healthy_aggregate", aggregate.healthy_aggregate},
               {"cluster_expected", aggregate.cluster_expected},
               {"cluster_fraction", reading.cluster_fraction},
               {"low", reading.low}};
    if (reading.line_rate.rate_Bps > 0) {
      entry["line_rate_per_nic"] = reading.line_rate.rate_Bps;
      entry["line_rate_source"] = reading.line_rate.source;
      entry["expected"] = reading.expected;
    }
    if (reading.judged) {
      entry["line_rate_fraction"] = reading.line_rate_fraction;
    } else {
      entry["not_judged"] = reading.not_judged;
    }
    list.push_back(std::move(entry));
  }
  return list;
}

}  // namespace

std::vector<reports::Check> judgement_checks(const Judgement& judgement,
                                             const JudgementContext& context) {
  std::vector<reports::Check> checks;
  const std::set<int> bad_nodes(judgement.bad_nodes.begin(), judgement.bad_nodes.end());
  const std::set<NodePair> bad_links(judgement.bad_links.begin(), judgement.bad_links.end());
  const std::set<int> suspect_nodes(judgement.suspect_nodes.begin(), judgement.suspect_nodes.end());
  const std::set<NodePair> suspect_links(judgement.suspect_links.begin(),
                                         judgement.suspect_links.end());
  std::set<int> named_nodes;
  std::set<NodePair> named_links;
  for (const MetricJudgement& group : judgement.metrics) {
    const JudgedMetric& metric = metric_of(context, group);
    for (const NodeEvidence& node : group.bad_nodes) {
      if (!bad_nodes.contains(node.node) || !named_nodes.insert(node.node).second) {
        continue;
      }
      json evidence = group_evidence(group, metric, judgement.policy);
      evidence.update(node_evidence_json(context, node));
      checks.push_back(reports::fire_check(
          "P2P_NODE_OUTLIER",
          finding_message("P2P_NODE_OUTLIER", name_of(context, node.node),
                          fmt::format("{}, and with {} of {} known-good partners in re-tests; {} "
                                      "measurements support it",
                                      node_summary(metric, group, node), node.confirmed_partners,
                                      node.retested_partners, node.supporting_measurements)),
          std::move(evidence)));
    }
    for (const LinkEvidence& link : group.bad_links) {
      if (!bad_links.contains(link.pair) || !named_links.insert(link.pair).second) {
        continue;
      }
      json evidence = group_evidence(group, metric, judgement.policy);
      evidence.update(link_evidence_json(context, link));
      evidence["nodes"] = pair_json(context, link.pair);
      checks.push_back(reports::fire_check(
          "P2P_LINK_OUTLIER",
          finding_message(
              "P2P_LINK_OUTLIER", name_of(context, link.pair.a), name_of(context, link.pair.b),
              fmt::format("{}: best {} of {} measurements ({} re-tests) vs {} reference ({}); "
                          "both ends are fast with other partners",
                          metric_label(metric), display(metric, link.best), link.valid,
                          link.retests, display(metric, group.reference), share(link.rate_ratio))),
          std::move(evidence)));
    }
  }
  append_nic_checks(judgement, context, checks);
  for (const MetricJudgement& group : judgement.metrics) {
    const JudgedMetric& metric = metric_of(context, group);
    for (const NodeEvidence& node : group.suspect_nodes) {
      if (!suspect_nodes.contains(node.node) || !named_nodes.insert(node.node).second) {
        continue;
      }
      json evidence = group_evidence(group, metric, judgement.policy);
      evidence.update(node_evidence_json(context, node));
      checks.push_back(reports::fire_check(
          "P2P_NODE_SUSPECT",
          finding_message("P2P_NODE_SUSPECT", name_of(context, node.node),
                          fmt::format("{}; in re-tests slow with {} of {} known-good partners ({} "
                                      "needed, and most of them)",
                                      node_summary(metric, group, node), node.confirmed_partners,
                                      node.retested_partners, group.node_confirmations)),
          std::move(evidence)));
    }
    for (const LinkEvidence& link : group.suspect_links) {
      if (!suspect_links.contains(link.pair) || !named_links.insert(link.pair).second) {
        continue;
      }
      json evidence = group_evidence(group, metric, judgement.policy);
      evidence.update(link_evidence_json(context, link));
      evidence["nodes"] = pair_json(context, link.pair);
      const std::string why =
          link.valid == 0
              ? fmt::format("measured {} time(s), each during a slow spell of the whole machine",
                            link.measurements)
          : link.valid < group.link_confirmations || link.retests == 0
              ? fmt::format("best {} ({}) in {} measurement(s); {} needed, one a re-test",
                            display(metric, link.best), share(link.rate_ratio), link.valid,
                            group.link_confirmations)
              : fmt::format(
                    "best {} ({}) in {} measurements, but an end has no fast partner, "
                    "so a bad node cannot be ruled out",
                    display(metric, link.best), share(link.rate_ratio), link.valid);
      checks.push_back(
          reports::fire_check("P2P_LINK_SUSPECT",
                              finding_message("P2P_LINK_SUSPECT", name_of(context, link.pair.a),
                                              name_of(context, link.pair.b),
                                              fmt::format("{}: {}", metric_label(metric), why)),
                              std::move(evidence)));
    }
  }
  // A metric whose healthy level is 0 (nothing arrived with most partners of every node) has
  // nothing to judge slowness by; it is a failure of its own, never "none slow".
  for (const MetricJudgement& group : judgement.metrics) {
    if (!carried_nothing(group)) {
      continue;
    }
    const JudgedMetric& metric = metric_of(context, group);
    const std::size_t carried = static_cast<std::size_t>(std::count_if(
        group.links.begin(), group.links.end(),
        [](const LinkEvidence& link) { return link.valid > 0 && link.best_rate > 0; }));
    const std::string where = where_measured(group);
    json evidence = group_evidence(group, metric, judgement.policy);
    evidence["links"] = group.links.size();
    evidence["links_that_carried_data"] = carried;
    checks.push_back(reports::fire_check(
        "P2P_NOTHING_CARRIED",
        finding_message("P2P_NOTHING_CARRIED", where,
                        fmt::format("{}: {} of {} links carried any data; every node's typical "
                                    "value is 0",
                                    metric_label(metric), carried, group.links.size())),
        std::move(evidence)));
  }
  if (checks.empty() && !judgement.metrics.empty()) {
    std::vector<std::string> levels;
    std::size_t pairs = 0;
    for (const MetricJudgement& group : judgement.metrics) {
      const JudgedMetric& metric = metric_of(context, group);
      levels.push_back(fmt::format("{}{} around {}", metric_label(metric),
                                   group.rail == kAllRails ? "" : " on " + where_measured(group),
                                   display(metric, group.reference)));
      pairs = std::max(pairs, group.links.size());
    }
    checks.push_back(reports::pass_check(
        "CLUSTER_PAIRS_HEALTHY",
        finding_message("CLUSTER_PAIRS_HEALTHY", pairs,
                        fmt::format("{} (slow: below {:.0f}% of it)", join(levels, "; "),
                                    100 * (1 - judgement.policy.slow_fraction))),
        json{{"pairs", pairs}}));
  }
  append_aggregate_checks(judgement, context, checks);
  return checks;
}

json judgement_json(const Judgement& judgement, const JudgementContext& context) {
  const auto names = [&](const std::vector<int>& nodes) {
    json list = json::array();
    for (const int node : nodes) {
      list.push_back(name_of(context, node));
    }
    return list;
  };
  const auto pairs = [&](const std::vector<NodePair>& links) {
    json list = json::array();
    for (const NodePair& pair : links) {
      list.push_back(pair_json(context, pair));
    }
    return list;
  };
  std::set<int> suspects(judgement.suspect_nodes.begin(), judgement.suspect_nodes.end());
  for (const NodePair& pair : judgement.suspect_links) {
    suspects.insert(pair.a);
    suspects.insert(pair.b);
  }
  json evidence = json::object();
  for (const MetricJudgement& group : judgement.metrics) {
    json entry{{"better", to_string(group.better)},
               {"rail", rail_of(group.rail)},
               {"reference", group.reference},
               {"threshold", group.threshold},
               {"slow_share", group.slow_share},
               {"link_confirmations", group.link_confirmations},
               {"node_confirmations", group.node_confirmations},
               {"spell_rounds", group.spell_rounds},
               {"bad_nodes", json::array()},
               {"bad_links", json::array()},
               {"suspect_nodes", json::array()},
               {"suspect_links", json::array()}};
    for (const NodeEvidence& node : group.bad_nodes) {
      entry["bad_nodes"].push_back(node_evidence_json(context, node));
    }
    for (const LinkEvidence& link : group.bad_links) {
      entry["bad_links"].push_back(link_evidence_json(context, link));
    }
    for (const NodeEvidence& node : group.suspect_nodes) {
      entry["suspect_nodes"].push_back(node_evidence_json(context, node));
    }
    for (const LinkEvidence& link : group.suspect_links) {
      entry["suspect_links"].push_back(link_evidence_json(context, link));
    }
    const std::string key =
        group.rail == kAllRails ? group.metric : fmt::format("{}/rail{}", group.metric, group.rail);
    evidence[key] = entry;
  }
  const json node_aggregates = aggregates_json(judgement, context);
  json aggregate_low = json::array();
  for (const json& aggregate : node_aggregates) {
    if (aggregate.at("low").get<bool>() && std::find(aggregate_low.begin(), aggregate_low.end(),
                                                     aggregate.at("node")) == aggregate_low.end()) {
      aggregate_low.push_back(aggregate.at("node"));
    }
  }
  const JudgementPolicy& policy = judgement.policy;
  json verdict{{"bad_nodes", names(judgement.bad_nodes)},
               {"bad_links", pairs(judgement.bad_links)},
               {"suspect_nodes", names(judgement.suspect_nodes)},
               {"suspect_links", pairs(judgement.suspect_links)},
               {"suspects", names(std::vector<int>(suspects.begin(), suspects.end()))},
               {"known_good", names(judgement.known_good)},
               {"bad_nics", nics_json(context, judgement.bad_nics)},
               {"unreachable_nics", nics_json(context, judgement.unreachable_nics)},
               {"nothing_carried", nothing_carried(judgement)},

               {"settled", judgement.settled()},
               {"policy",
                {{"slow_fraction", policy.slow_fraction},
                 {"node_slow_fraction", policy.node_slow_fraction},
                 {"min_partners", policy.min_partners},
                 {"link_confirmations", policy.link_confirmations},
                 {"node_confirmations", policy.node_confirmations},
                 {"false_blame", policy.false_blame}}},
               {"evidence", evidence}};
  if (!node_aggregates.empty()) {  // rails runs
    verdict["node_aggregates"] = node_aggregates;
    verdict["aggregate_low"] = aggregate_low;
  }
  return verdict;
}

json measurements_json(std::span<const Measurement> measurements, const JudgementContext& context) {
  json list = json::array();
  for (const Measurement& m : measurements) {
    json entry{{"a", name_of(context, m.pair.a)},
               {"b", name_of(context, m.pair.b)},
               {"metric", context.metrics.at(m.metric).metric.name},
               {"value", m.value},
               {"round", m.round},
               {"role", to_string(m.role)}};
    if (m.rail != kAllRails) {
      entry["rail"] = m.rail;
    }
    list.push_back(std::move(entry));
  }
  return list;
}

std::string verdict_summary(const json& verdict) {
  const auto list = [&](const char* key) {
    std::vector<std::string> names;
    for (const auto& item : verdict.value(key, json::array())) {
      names.push_back(item.is_array()
                          ? item.at(0).get<std::string>() + "<->" + item.at(1).get<std::string>()
                          : item.get<std::string>());
    }
    return names.empty() ? std::string("none") : join(names, ", ");
  };
  std::string summary =
      fmt::format("bad nodes: {}; bad links: {}", list("bad_nodes"), list("bad_links"));
  if (!verdict.value("nothing_carried", json::array()).empty()) {
    // First: without a healthy level, "none" above means "not judged" on these.
    summary = fmt::format("nothing carried on {}: not judged there; {}", list("nothing_carried"),
                          summary);
  }
  const auto nics = [&](const char* key) {
    std::vector<std::string> named;
    for (const auto& nic : verdict.value(key, json::array())) {
      named.push_back(fmt::format("{} rail {} ({})", nic.value("node", "?"), nic.value("rail", -1),
                                  nic.value("device", "?")));
    }
    return named.empty() ? std::string("none") : join(named, ", ");
  };
  if (!verdict.value("bad_nics", json::array()).empty()) {
    summary += fmt::format("; bad NICs: {}", nics("bad_nics"));
  }
  if (verdict.contains("unreachable")) {
    summary += fmt::format("; unreachable: {}", list("unreachable"));
  }
  if (!verdict.value("unreachable_nics", json::array()).empty()) {
    summary += fmt::format("; unreachable NICs: {}", nics("unreachable_nics"));
  }
  if (!verdict.value("aggregate_low", json::array()).empty()) {
    summary += fmt::format("; below line rate: {}", list("aggregate_low"));
  }
  std::vector<std::string> suspects;
  for (const char* key : {"suspect_nodes", "suspect_links"}) {
    const std::string named = list(key);
    if (named != "none") {
      suspects.push_back(named);
    }
  }
  summary += fmt::format("; suspects: {}", suspects.empty() ? "none" : join(suspects, ", "));
  return summary;
}

}  // namespace preflight::p2p
