// The judgement (p2p/judgement.hpp) as people and programs read it: the findings, the JSON of the
// verdict with the evidence behind it and every measurement, and one summary line. preflight-p2p
// writes these into its report; `preflight cluster` takes the verdict from that report as it is,
// so the pair step's findings, the plan's summary line, details.cluster and the exit code all come
// from the same judgement.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "p2p/survey.hpp"
#include "reports/report.hpp"

namespace preflight::p2p {

struct JudgedMetric {
  SurveyMetric metric;
  std::string test;              // "latency", "bw", "bibw"
  std::uint64_t size_bytes = 0;  // the message size the metric is taken at
};

// The rate one NIC of a node should carry: its platform's per-device EFA rate (the catalog entry of
// its instance type) or what --nic-rate-gbps states.
struct NicLineRate {
  double rate_Bps = 0;  // bytes/s per NIC; 0: unknown
  std::string source;   // "p5.48xlarge: 3200 Gb/s over 32 EFA devices", "--nic-rate-gbps 100"
  bool stated = false;  // given on the command line: judged at any size, not only from 1 MiB
};

// Below this a pair test does not reach an EFA NIC's line rate, so a catalog rate is not judged
// there (a stated rate is: the user says what the size should reach).
inline constexpr std::uint64_t kLineRateMinBytes = 1U << 20U;

struct JudgementContext {
  std::vector<std::string> node_names;  // index -> name as the report shows it
  std::vector<JudgedMetric> metrics;    // parallel to the judgement's metric indices
  // node -> rail -> device (e.g. "rdmap79s0-rdm", "eth1"), for runs over rails; may be empty.
  std::vector<std::vector<std::string>> rail_devices;
  // node -> its NICs' line rate, for judging each node's aggregate over rails; may be empty.
  std::vector<NicLineRate> nic_line_rates;
  // A node whose healthy NICs together carry less than this share of their line rate is named.
  double min_line_rate_fraction = 0.8;
};

// The findings: P2P_NODE_OUTLIER / P2P_LINK_OUTLIER (fail) for every confirmed bad node and link,
// P2P_NODE_SUSPECT / P2P_LINK_SUSPECT (warn) for what is slow but unconfirmed or cannot be
// attributed, CLUSTER_PAIRS_HEALTHY (pass) when nothing is slow. Each names how many measurements
// support it. Rails runs add P2P_NODE_AGGREGATE_LOW (fail) for every node whose healthy NICs carry
// less than min_line_rate_fraction of their line rate, and P2P_RAILS_AGGREGATE (pass) saying how
// the nodes' aggregates were judged (or why not).
[[nodiscard]] std::vector<reports::Check> judgement_checks(const Judgement& judgement,
                                                           const JudgementContext& context);

// {"bad_nodes": [name], "bad_links": [[a, b]], "suspect_nodes": [name], "suspect_links": [[a, b]],
//  "suspects": [name] (suspect nodes and the ends of suspect links), "known_good": [name],
//  "bad_nics": [{"node", "rail", "device"}], "unreachable_nics": [{"node", "rail", "device"}]
//  (rails runs only), "node_aggregates": [{"node", "metric", "rails", "healthy_rails", "aggregate",
//  "healthy_aggregate", "cluster_expected", "cluster_fraction", "line_rate_per_nic",
//  "line_rate_source", "expected", "line_rate_fraction", "low", "not_judged"}] and
//  "aggregate_low": [name] (rails runs only), "settled": bool, "policy": {...}, "evidence":
//  {<metric>: {reference, threshold, spell_rounds, bad_nodes, bad_links, suspect_nodes,
//  suspect_links}}}
[[nodiscard]] nlohmann::json judgement_json(const Judgement& judgement,
                                            const JudgementContext& context);

// Every measurement: [{"a", "b", "metric", "value", "round", "role", "rail"?}].
[[nodiscard]] nlohmann::json measurements_json(std::span<const Measurement> measurements,
                                               const JudgementContext& context);

// "bad nodes: vc3; bad links: none; suspects: none" from a judgement_json() verdict.
[[nodiscard]] std::string verdict_summary(const nlohmann::json& verdict);

}  // namespace preflight::p2p
