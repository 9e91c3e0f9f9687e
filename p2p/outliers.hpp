// The verdict on a set of link measurements between nodes: which links are slow, and whether a
// slow link is explained by a bad node (slow with every partner) or is a bad link (slow with one
// partner only). A plain function of (node count, measurements), shared by `preflight-p2p
// --pattern all-pairs|ring` and `preflight cluster`, and tested on simulated clusters.
//
// Method (robust, needs fewer than half of a node's partners to be bad):
//  - a link measured several times counts with its best value: a link is slow only when it is
//    slow every time (a transient blip is not a bad link);
//  - each node's typical value is the median of its links (the better middle value for an even
//    count); the reference, the healthy level, is the median of the nodes' typical values;
//  - the spread is 1.4826 x the median over nodes of each node's MAD of its links (link-to-link
//    noise, not inflated by a bad node's many slow links);
//  - a link is slow when it is worse than the reference by more than
//    max(mad_multiplier x spread, min_relative_deviation x reference);
//  - bad nodes are peeled off worst first: a node slow with at least node_slow_fraction of its
//    partners (not counting partners already found bad, and at least min_partners of them) is a
//    bad node; the slow links left, between two nodes that are not bad, are bad links.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "p2p/schedule.hpp"

namespace preflight::p2p {

enum class Better { higher, lower };  // bandwidth: higher; latency: lower
[[nodiscard]] std::string_view to_string(Better better);

struct LinkMeasurement {
  NodePair pair;
  double value = 0;
};

struct OutlierPolicy {
  double mad_multiplier = 5.0;
  double min_relative_deviation = 0.25;
  double node_slow_fraction = 0.75;
  int min_partners = 2;
};

struct LinkAssessment {
  NodePair pair;
  double value = 0;              // best of the link's measurements
  double worse_by_fraction = 0;  // (reference - value) / reference, sign so that > 0 is worse
  int measurements = 0;
  bool slow = false;
};

struct NodeAssessment {
  int node = 0;
  int partners = 0;       // partners not found bad
  int slow_partners = 0;  // of those, how many links are slow
  double typical_value = 0;
};

struct OutlierVerdict {
  double reference = 0;
  double spread = 0;
  double threshold = 0;  // absolute deviation from the reference beyond which a link is slow
  std::vector<LinkAssessment> links;      // every measured link, sorted by pair
  std::vector<NodeAssessment> bad_nodes;  // in the order found (worst first)
  std::vector<LinkAssessment> bad_links;  // slow links between two nodes that are not bad
  std::vector<int> suspects;              // bad nodes and ends of bad links, sorted
  std::vector<int> known_good;            // measured, not bad, not the end of a bad link
};

// Throws std::invalid_argument for a pair outside [0, node_count) or a non-finite value.
[[nodiscard]] OutlierVerdict find_outliers(int node_count,
                                           std::span<const LinkMeasurement> measurements,
                                           Better better, const OutlierPolicy& policy = {});

}  // namespace preflight::p2p
