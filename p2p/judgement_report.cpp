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
      checks.push_back(reports::make_check(
          id, Status::fail,
          finding_message(id, name_of(context, nic.node), nic.rail, device_of(context, nic), what),
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
      checks.push_back(reports::make_check(
          "P2P_NODE_OUTLIER", Status::fail,
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
      checks.push_back(reports::make_check(
          "P2P_LINK_OUTLIER", Status::fail,
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
      checks.push_back(reports::make_check(
          "P2P_NODE_SUSPECT", Status::warn,
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
          reports::make_check("P2P_LINK_SUSPECT", Status::warn,
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
    checks.push_back(reports::make_check(
        "P2P_NOTHING_CARRIED", Status::fail,
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
      levels.push_back(
          fmt::format("{} around {}", metric_label(metric), display(metric, group.reference)));
      pairs = std::max(pairs, group.links.size());
    }
    checks.push_back(reports::make_check(
        "CLUSTER_PAIRS_HEALTHY", Status::pass,
        finding_message("CLUSTER_PAIRS_HEALTHY", pairs,
                        fmt::format("{} (slow: below {:.0f}% of it)", join(levels, "; "),
                                    100 * (1 - judgement.policy.slow_fraction))),
        json{{"pairs", pairs}}));
  }
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
  const JudgementPolicy& policy = judgement.policy;
  return json{{"bad_nodes", names(judgement.bad_nodes)},
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
