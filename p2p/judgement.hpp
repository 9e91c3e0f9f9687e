// The one judgement of a cluster's links: from every pair measurement taken so far, which nodes
// are bad, which links are bad, and what is still only suspected. A plain function of (node count,
// metrics, measurements, policy), so `preflight-p2p --pattern all-pairs|ring`, the re-test loop
// that confirms its suspects (p2p/survey.hpp), `preflight cluster` and the 1,024-node simulations
// all see the same verdict for the same measurements.
//
// Method, per metric (bandwidth: higher is better; latency: lower is better, judged as its rate
// 1/latency so that both read "higher is better" below):
//  - noise only lowers a rate: a link counts with its best measurement (best-of-k), and one fast
//    measurement clears it;
//  - a round most of whose control pairs (known-good links measured beside the re-tests) came out
//    slow, or a survey round of eight or more pairs in which most links came out slow, was a slow
//    spell of the whole machine, and a re-test round without a control (on four nodes or more)
//    cannot tell: the slow readings of those rounds are no evidence (their fast ones still are);
//  - each node's typical rate is the median over its partners of the links' best rates (the better
//    middle value for an even count); the reference, the healthy level, is the upper quartile of
//    the nodes' typical rates: noise only lowers a rate, so the healthy level is the top of what
//    is measured, and bad nodes (low) move it only when they are three in four;
//  - a link is slow when its best rate is below (1 - slow_fraction) x the reference;
//  - a node is a bad-node candidate when it is slow with more than node_slow_fraction of its
//    partners (at least min_partners of them); candidates are peeled off worst first, and a
//    partner already peeled does not count for the others;
//  - a slow link between two nodes that are not candidates, each of which is fast with another
//    partner, is a bad-link candidate; a slow link that neither explains is unattributed;
//  - confirm before blame: a candidate node becomes a bad node only when, in re-test rounds, it was
//    slow with enough distinct known-good partners, and with most of those it was re-tested
//    with (re-testing a healthy node until it happens to look slow blames nobody); a candidate link
//    becomes a bad link only when it was slow in enough valid measurements, one of them a re-test.
//    "Enough" is at least node_confirmations / link_confirmations, raised where the survey shows
//    that healthy links are often measured slow: with p the share of slow survey measurements among
//    links not explained by a candidate node, k confirmations are required so that (links measured)
//    x p^k (nodes: nodes measured x p^k) stays below false_blame, the expected count of healthy
//    links or nodes blamed by chance. Everything slow that is not confirmed stays a suspect (a
//    warning that names it).
//
// Rails: a measurement carries the rail (the NIC index on both ends) it was taken on. Every rail is
// judged on its own, so a third level (a bad NIC: one node, one rail) can be told from a bad node
// (all of its rails) and a bad link. A node bad on every rail it was measured on is a bad node; bad
// on some of them only, each of those is a bad NIC (node, rail), and a bad NIC none of whose links
// ever carried a byte (bandwidth 0: the rail could not connect) is an unreachable NIC. A link is a
// bad link when it is bad on any rail, and neither end is a bad node or a bad NIC on that rail.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "p2p/schedule.hpp"

namespace preflight::p2p {

enum class Better { higher, lower };  // bandwidth: higher; latency: lower
[[nodiscard]] std::string_view to_string(Better better);

struct SurveyMetric {
  std::string name;  // e.g. "latency_s", "bandwidth_Bps"
  Better better = Better::higher;
};

// The rail of a pair test that drives every NIC of both nodes at once.
inline constexpr int kAllRails = -1;

// Why a pair was measured: the survey's initial rounds, a re-test of a suspect, or the control
// pair of a re-test round (a known-good link that shows whether the whole machine slowed).
enum class MeasurementRole { survey, retest, control };
[[nodiscard]] std::string_view to_string(MeasurementRole role);
[[nodiscard]] std::optional<MeasurementRole> parse_measurement_role(std::string_view text);

struct Measurement {
  NodePair pair;
  std::size_t metric = 0;  // index into the metrics
  double value = 0;        // in the metric's unit (bytes/s, seconds)
  int round = 0;           // rounds are numbered in the order they ran, across all phases
  MeasurementRole role = MeasurementRole::survey;
  int rail = kAllRails;
};

struct JudgementPolicy {
  double slow_fraction = 0.3;       // slow: rate below (1 - this) x the reference
  double node_slow_fraction = 0.5;  // bad node: slow with more than this fraction of partners
  int min_partners = 2;             // partners a node needs before it can be called bad
  int link_confirmations = 3;       // valid slow measurements before a link is blamed (minimum)
  int node_confirmations = 2;       // known-good partners slow in re-tests before a node is
  double false_blame = 0.01;        // expected healthy links (nodes) blamed by chance, at most
};

// Throws std::invalid_argument naming the field when the policy cannot work.
void validate_policy(const JudgementPolicy& policy);

struct LinkEvidence {
  NodePair pair;
  int rail = kAllRails;
  double best = 0;        // best valid value, in the metric's unit; 0 when none is valid
  double best_rate = 0;   // the same as a rate (higher is better)
  double rate_ratio = 0;  // best_rate / reference rate
  int measurements = 0;   // every measurement of the link
  int valid = 0;          // not taken during a slow spell
  int retests = 0;        // valid re-test measurements (controls are not counted)
  bool slow = false;      // every valid measurement below the threshold
};

struct NodeEvidence {
  int node = 0;
  int rail = kAllRails;
  int partners = 0;            // partners with a valid measurement, not peeled as bad before it
  int slow_partners = 0;       // of those, how many links are slow
  int retested_partners = 0;   // known-good partners it was measured with in re-test rounds
  int confirmed_partners = 0;  // of those, the ones it was slow with
  int supporting_measurements = 0;  // valid slow measurements of its slow links
  double typical = 0;               // median of its links' best values (metric unit)
  double rate_ratio = 0;            // its typical rate / reference rate
};

struct MetricJudgement {
  std::string metric;
  Better better = Better::higher;
  int rail = kAllRails;
  double reference = 0;        // the healthy level, in the metric's unit
  double threshold = 0;        // worse than this (metric unit) is slow
  double slow_share = 0;       // p: slow survey measurements among links no candidate node explains
  int link_confirmations = 0;  // required here (policy minimum, raised by slow_share)
  int node_confirmations = 0;
  std::vector<int> spell_rounds;            // rounds taken as slow spells of the whole machine
  std::vector<LinkEvidence> links;          // every measured link, sorted by pair
  std::vector<NodeEvidence> nodes;          // every measured node, by index
  std::vector<NodeEvidence> bad_nodes;      // confirmed, worst first
  std::vector<LinkEvidence> bad_links;      // confirmed
  std::vector<NodeEvidence> suspect_nodes;  // bad-node candidates not yet confirmed
  std::vector<LinkEvidence> suspect_links;  // slow links not confirmed or not attributable
  std::vector<int> known_good;  // measured, not a candidate, every slow link explained by one
};

// One NIC: a node's device on one rail.
struct NicRef {
  int node = 0;
  int rail = 0;
  // clang-tidy 14 reads a defaulted <=> as comparing with a literal 0.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  auto operator<=>(const NicRef&) const = default;
};

// What a node carries over all of its rails at once, for a higher-is-better metric (bandwidth) of
// a rails run. Survey rounds and control pairs drive every rail of a pair at once; the sum over the
// rails of one such pair test is what the node moved, and noise only lowers it, so a node's
// aggregate is the best such sum over its partners and rounds (a partner's own bad NIC lowers it
// only with that partner). Re-tests run rails alone and do not count.
struct NodeAggregate {
  int node = 0;
  std::size_t metric = 0;          // index into the metrics
  std::vector<int> rails;          // the rails it was measured on
  std::vector<int> healthy_rails;  // of those, the ones not named a bad NIC (none on a bad node)
  double aggregate = 0;            // best sum over all of its rails (metric unit, e.g. bytes/s)
  double healthy_aggregate = 0;    // best sum over its healthy rails only
  double cluster_expected = 0;     // sum over its healthy rails of each rail's reference
};

// The verdict over every metric: a node is bad when any metric confirms it; a link when any metric
// confirms it and neither end is a bad node; suspects are what is slow in some metric and not
// explained by a confirmed fault.

struct Judgement {
  JudgementPolicy policy;
  std::vector<MetricJudgement> metrics;  // one per (metric, rail) with measurements
  std::vector<int> bad_nodes;
  std::vector<NodePair> bad_links;
  std::vector<int> suspect_nodes;
  std::vector<NodePair> suspect_links;
  std::vector<int> known_good;            // known good in every metric
  std::vector<int> measured;              // nodes with at least one valid measurement
  std::vector<NicRef> bad_nics;           // bad on these rails, not on all of the node's rails
  std::vector<NicRef> unreachable_nics;   // bad NICs whose links never carried a byte
  std::vector<NodeAggregate> aggregates;  // rails runs: per node and higher-is-better metric

  // Nothing is left that more measurements could settle.
  [[nodiscard]] bool settled() const { return suspect_nodes.empty() && suspect_links.empty(); }
  [[nodiscard]] bool is_bad_node(int node) const;
  [[nodiscard]] bool is_bad_nic(int node, int rail) const;
};

// Throws std::invalid_argument for a pair outside [0, node_count), a metric index outside the
// metrics, or a value that is not finite and positive (a bandwidth of 0 is allowed: nothing
// arrived).
[[nodiscard]] Judgement judge(int node_count, std::span<const SurveyMetric> metrics,
                              std::span<const Measurement> measurements,
                              const JudgementPolicy& policy = {});

// Every node's aggregate over its rails (NodeAggregate), from the measurements and the verdict that
// names its bad NICs (p2p/node_aggregate.cpp). Empty without rails. judge() fills
// Judgement::aggregates with it.
[[nodiscard]] std::vector<NodeAggregate> node_aggregates(std::span<const SurveyMetric> metrics,
                                                         std::span<const Measurement> measurements,
                                                         const Judgement& judgement);

}  // namespace preflight::p2p
