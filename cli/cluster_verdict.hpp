// The cluster plan's verdict: link measurements between named hosts (read from preflight-p2p
// all-pairs reports) judged by p2p's outlier method (p2p/outliers.hpp), so a bad node (slow with
// every partner) is told from a bad link (slow with one partner). Plain functions of (hosts,
// measurements), tested without a network.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "p2p/outliers.hpp"

namespace preflight::cli {

struct HostPairMeasurement {
  std::string host_a;
  std::string host_b;
  std::string metric;  // "bandwidth_Bps" (higher is better) or "latency_s" (lower is better)
  double value = 0;
};

// The pair measurements in a preflight-p2p report: result rows whose labels name both ends
// (src/dst, src_host/dst_host, host_a/host_b, node_a/node_b; host names, or rank numbers mapped
// through details.hosts or run.hosts), and details.matrix {hosts, <metric>: [[...]]}. For each pair
// and metric the largest message size counts (bandwidth), or the smallest (latency).
[[nodiscard]] std::vector<HostPairMeasurement> pairs_from_p2p_report(const nlohmann::json& report);

struct ClusterVerdict {
  std::string metric;  // the metric judged
  double reference = 0;
  std::vector<std::string> bad_nodes;
  std::vector<std::pair<std::string, std::string>> bad_links;
  // Slow pairs whose cause cannot be told (a node with fewer partners than the policy needs).
  std::vector<std::pair<std::string, std::string>> suspect_pairs;
  std::vector<std::string> suspects;    // bad nodes and ends of bad links
  std::vector<std::string> known_good;  // measured, not suspect
  std::size_t pairs_measured = 0;
  nlohmann::json evidence = nlohmann::json::object();  // per bad node/link values vs reference
};

// Judges `measurements` among `hosts` (bandwidth when there is any, else latency). Hosts without
// any measurement are neither suspect nor known good.
[[nodiscard]] ClusterVerdict judge_cluster(const std::vector<std::string>& hosts,
                                           const std::vector<HostPairMeasurement>& measurements,
                                           const p2p::OutlierPolicy& policy = {});

// Up to `count` known-good partners, in host order, for a second pass of the suspects.
[[nodiscard]] std::vector<std::string> second_pass_hosts(const ClusterVerdict& verdict,
                                                         const std::vector<std::string>& hosts,
                                                         std::size_t partners_per_suspect);

}  // namespace preflight::cli
