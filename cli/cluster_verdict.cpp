#include "cli/cluster_verdict.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <tuple>

namespace preflight::cli {
namespace {

constexpr std::string_view kBandwidth = "bandwidth_Bps";
constexpr std::string_view kLatency = "latency_s";

std::vector<std::string> host_names_of(const nlohmann::json& report) {
  std::vector<std::string> hosts;
  const auto details = report.value("details", nlohmann::json::object());
  for (const auto* key : {"hosts", "nodes"}) {
    if (details.is_object() && details.contains(key) && details.at(key).is_array()) {
      for (const auto& host : details.at(key)) {
        if (host.is_string()) {
          hosts.push_back(host.get<std::string>());
        }
      }
      if (!hosts.empty()) {
        return hosts;
      }
    }
  }
  const auto run = report.value("run", nlohmann::json::object());
  for (const auto& host :
       run.is_object() ? run.value("hosts", nlohmann::json::array()) : nlohmann::json::array()) {
    if (host.is_string()) {
      hosts.push_back(host.get<std::string>());
    }
  }
  return hosts;
}

// A label value that names a host: the name itself, or a rank index into `hosts`.
std::optional<std::string> host_of(const nlohmann::json& value,
                                   const std::vector<std::string>& hosts) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_number_integer()) {
    text = std::to_string(value.get<long long>());
  } else {
    return std::nullopt;
  }
  if (!text.empty() &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const auto index = std::stoul(text);
    if (index < hosts.size()) {
      return hosts[index];
    }
  }
  return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

std::optional<std::string> metric_of_key(std::string_view key) {
  if (key.find("latency") != std::string_view::npos) {
    return std::string(kLatency);
  }
  if (key.find("bw") != std::string_view::npos || key.find("bandwidth") != std::string_view::npos) {
    return std::string(kBandwidth);
  }
  return std::nullopt;
}

}  // namespace

namespace {

std::vector<HostPairMeasurement> read_pairs(const nlohmann::json& report) {
  if (!report.is_object()) {
    return {};
  }
  const auto hosts = host_names_of(report);
  // (a, b, metric) -> (size, value): the size that counts for the metric wins.
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<double, double>> best;
  const auto record = [&](std::string a, std::string b, const std::string& metric, double size,
                          double value) {
    if (a == b || !std::isfinite(value) || value <= 0) {
      return;
    }
    if (b < a) {
      std::swap(a, b);
    }
    const auto key = std::make_tuple(a, b, metric);
    const auto it = best.find(key);
    const bool larger_counts = metric == kBandwidth;
    if (it == best.end() || (larger_counts ? size > it->second.first : size < it->second.first) ||
        (size == it->second.first &&
         (larger_counts ? value > it->second.second : value < it->second.second))) {
      best[key] = {size, value};
    }
  };

  static constexpr std::array<std::pair<const char*, const char*>, 5> kEndLabels{{
      {"src_host", "dst_host"},
      {"host_a", "host_b"},
      {"node_a", "node_b"},
      {"src", "dst"},
      {"a", "b"},
  }};
  for (const auto& row : report.value("results", nlohmann::json::array())) {
    if (!row.is_object()) {
      continue;
    }
    const auto labels = row.value("labels", nlohmann::json::object());
    if (!labels.is_object()) {
      continue;
    }
    std::optional<std::string> a;
    std::optional<std::string> b;
    for (const auto& [first, second] : kEndLabels) {
      if (labels.contains(first) && labels.contains(second)) {
        a = host_of(labels.at(first), hosts);
        b = host_of(labels.at(second), hosts);
        break;
      }
    }
    if (!a || !b) {
      continue;
    }
    const auto benchmark = row.value("benchmark", std::string());
    const double size = row.value("size_bytes", 0.0);
    if (benchmark == "latency") {
      const auto time = row.value("time_s", nlohmann::json::object());
      if (time.is_object()) {
        record(*a, *b, std::string(kLatency), size, time.value("median", 0.0));
      }
    } else if (benchmark == "bw" || benchmark == "bibw") {
      record(*a, *b, std::string(kBandwidth), size, row.value("algbw_Bps", 0.0));
    }
  }

  const auto details = report.value("details", nlohmann::json::object());
  const auto matrix = details.is_object() ? details.value("matrix", nlohmann::json::object())
                                          : nlohmann::json::object();
  if (matrix.is_object()) {
    std::vector<std::string> matrix_hosts;
    for (const auto* key : {"hosts", "nodes"}) {
      for (const auto& host : matrix.value(key, nlohmann::json::array())) {
        if (host.is_string()) {
          matrix_hosts.push_back(host.get<std::string>());
        }
      }
    }
    if (matrix_hosts.empty()) {
      matrix_hosts = hosts;
    }
    for (const auto& [key, rows] : matrix.items()) {
      const auto metric = metric_of_key(key);
      if (!metric || !rows.is_array()) {
        continue;
      }
      for (std::size_t i = 0; i < rows.size() && i < matrix_hosts.size(); ++i) {
        if (!rows[i].is_array()) {
          continue;
        }
        for (std::size_t j = 0; j < rows[i].size() && j < matrix_hosts.size(); ++j) {
          if (i != j && rows[i][j].is_number()) {
            // A matrix holds one size: every entry counts the same.
            record(matrix_hosts[i], matrix_hosts[j], *metric, 0, rows[i][j].get<double>());
          }
        }
      }
    }
  }

  std::vector<HostPairMeasurement> pairs;
  for (const auto& [key, size_value] : best) {
    pairs.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), size_value.second});
  }
  return pairs;
}

}  // namespace

std::vector<HostPairMeasurement> pairs_from_p2p_report(const nlohmann::json& report) {
  try {
    return read_pairs(report);
  } catch (const nlohmann::json::exception&) {
    return {};  // a report of another shape holds no pairs we can read
  }
}

ClusterVerdict judge_cluster(const std::vector<std::string>& hosts,
                             const std::vector<HostPairMeasurement>& measurements,
                             const p2p::OutlierPolicy& policy) {
  ClusterVerdict verdict;
  const bool have_bandwidth =
      std::any_of(measurements.begin(), measurements.end(),
                  [](const HostPairMeasurement& m) { return m.metric == kBandwidth; });
  verdict.metric = std::string(have_bandwidth ? kBandwidth : kLatency);
  // The ranks name their nodes by their own host names, which may differ from the names the
  // launcher was given (FQDN vs short name, an address): judge every node the measurements
  // name, listed hosts first.
  std::vector<std::string> nodes = hosts;
  std::map<std::string, int> index_of;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    index_of.emplace(nodes[i], static_cast<int>(i));
  }
  for (const auto& m : measurements) {
    for (const auto* host : {&m.host_a, &m.host_b}) {
      if (m.metric == verdict.metric && !index_of.contains(*host)) {
        index_of.emplace(*host, static_cast<int>(nodes.size()));
        nodes.push_back(*host);
      }
    }
  }
  std::vector<p2p::LinkMeasurement> links;
  std::vector<bool> measured(nodes.size(), false);
  for (const auto& m : measurements) {
    if (m.metric != verdict.metric) {
      continue;
    }
    const auto a = index_of.find(m.host_a);
    const auto b = index_of.find(m.host_b);
    if (a == index_of.end() || b == index_of.end() || a->second == b->second) {
      continue;
    }
    links.push_back({p2p::make_pair_of(a->second, b->second), m.value});
    measured[static_cast<std::size_t>(a->second)] = true;
    measured[static_cast<std::size_t>(b->second)] = true;
  }
  if (links.empty()) {
    return verdict;
  }
  const auto better = have_bandwidth ? p2p::Better::higher : p2p::Better::lower;
  const auto outliers = p2p::find_outliers(static_cast<int>(nodes.size()), links, better, policy);
  verdict.reference = outliers.reference;
  std::map<p2p::NodePair, bool> seen;
  for (const auto& link : outliers.links) {
    seen[link.pair] = true;
  }
  verdict.pairs_measured = seen.size();
  const auto name = [&](int index) { return nodes[static_cast<std::size_t>(index)]; };
  std::vector<bool> suspect(nodes.size(), false);
  for (const auto& node : outliers.bad_nodes) {
    verdict.bad_nodes.push_back(name(node.node));
    suspect[static_cast<std::size_t>(node.node)] = true;
    verdict.evidence["nodes"][name(node.node)] = {{"typical", node.typical_value},
                                                  {"slow_partners", node.slow_partners},
                                                  {"partners", node.partners}};
  }
  for (const auto& link : outliers.bad_links) {
    verdict.bad_links.emplace_back(name(link.pair.a), name(link.pair.b));
    suspect[static_cast<std::size_t>(link.pair.a)] = true;
    suspect[static_cast<std::size_t>(link.pair.b)] = true;
    verdict.evidence["links"][name(link.pair.a) + "<->" + name(link.pair.b)] = {
        {"value", link.value}, {"worse_by_fraction", link.worse_by_fraction}};
  }
  // Slow links the method could attribute to neither a node nor a link (too few partners).
  for (const auto& link : outliers.links) {
    if (!link.slow) {
      continue;
    }
    const bool explained_by_node = std::any_of(
        outliers.bad_nodes.begin(), outliers.bad_nodes.end(), [&](const p2p::NodeAssessment& n) {
          return n.node == link.pair.a || n.node == link.pair.b;
        });
    const bool is_bad_link =
        std::any_of(outliers.bad_links.begin(), outliers.bad_links.end(),
                    [&](const p2p::LinkAssessment& l) { return l.pair == link.pair; });
    if (!explained_by_node && !is_bad_link) {
      verdict.suspect_pairs.emplace_back(name(link.pair.a), name(link.pair.b));
      suspect[static_cast<std::size_t>(link.pair.a)] = true;
      suspect[static_cast<std::size_t>(link.pair.b)] = true;
    }
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (suspect[i]) {
      verdict.suspects.push_back(nodes[i]);
    } else if (measured[i]) {
      verdict.known_good.push_back(nodes[i]);
    }
  }
  verdict.evidence["reference"] = outliers.reference;
  verdict.evidence["threshold"] = outliers.threshold;
  verdict.evidence["metric"] = verdict.metric;
  return verdict;
}

std::vector<std::string> second_pass_hosts(const ClusterVerdict& verdict,
                                           const std::vector<std::string>& hosts,
                                           std::size_t partners_per_suspect) {
  if (verdict.suspects.empty() || verdict.known_good.empty()) {
    return {};
  }
  std::vector<std::string> chosen;
  for (const auto& host : hosts) {
    const bool is_suspect =
        std::find(verdict.suspects.begin(), verdict.suspects.end(), host) != verdict.suspects.end();
    const bool is_partner = std::find(verdict.known_good.begin(), verdict.known_good.end(), host) !=
                                verdict.known_good.end() &&
                            std::count_if(chosen.begin(), chosen.end(), [&](const std::string& h) {
                              return std::find(verdict.known_good.begin(), verdict.known_good.end(),
                                               h) != verdict.known_good.end();
                            }) < static_cast<std::ptrdiff_t>(partners_per_suspect);
    if (is_suspect || is_partner) {
      chosen.push_back(host);
    }
  }
  return chosen.size() >= 2 ? chosen : std::vector<std::string>{};
}

}  // namespace preflight::cli
