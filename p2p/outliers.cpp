#include "p2p/outliers.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "common/stats.hpp"

namespace preflight::p2p {

std::string_view to_string(Better better) {
  return better == Better::higher ? "higher_is_better" : "lower_is_better";
}

namespace {

constexpr double kMadToSigma = 1.4826;

// "Better" comparisons in one place: for latency the smaller value is the better one.
bool is_better(double left, double right, Better better) {
  return better == Better::higher ? left > right : left < right;
}

// Median of the values; for an even count the better of the two middle values, so a healthy node
// with as many bad partners as good ones still shows what a good partner gets.
double favourable_median(std::vector<double> values, Better better) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  if (n % 2 == 1) {
    return values[n / 2];
  }
  const double low = values[n / 2 - 1];
  const double high = values[n / 2];
  return better == Better::higher ? high : low;
}

}  // namespace

OutlierVerdict find_outliers(int node_count, std::span<const LinkMeasurement> measurements,
                             Better better, const OutlierPolicy& policy) {
  OutlierVerdict verdict;
  // Aggregate: best value per link.
  std::map<NodePair, LinkAssessment> links;
  for (const LinkMeasurement& measurement : measurements) {
    const NodePair& pair = measurement.pair;
    if (pair.a < 0 || pair.b < 0 || pair.a >= node_count || pair.b >= node_count ||
        pair.a == pair.b) {
      throw std::invalid_argument("link measurement names a node outside the cluster");
    }
    if (!std::isfinite(measurement.value)) {
      throw std::invalid_argument("link measurement is not finite");
    }
    const NodePair key = make_pair_of(pair.a, pair.b);
    auto [it, inserted] = links.try_emplace(key, LinkAssessment{key, measurement.value, 0, 0});
    if (!inserted && is_better(measurement.value, it->second.value, better)) {
      it->second.value = measurement.value;
    }
    ++it->second.measurements;
  }
  if (links.empty()) {
    return verdict;
  }

  // Per node: its links' values.
  std::vector<std::vector<double>> node_values(static_cast<std::size_t>(node_count));
  for (const auto& [pair, link] : links) {
    node_values[static_cast<std::size_t>(pair.a)].push_back(link.value);
    node_values[static_cast<std::size_t>(pair.b)].push_back(link.value);
  }
  std::vector<double> typical(static_cast<std::size_t>(node_count), 0.0);
  std::vector<double> typical_values;
  std::vector<double> node_mads;
  for (std::size_t node = 0; node < node_values.size(); ++node) {
    const auto& values = node_values[node];
    if (values.empty()) {
      continue;
    }
    typical[node] = favourable_median(values, better);
    typical_values.push_back(typical[node]);
    if (values.size() >= 3) {
      node_mads.push_back(median_absolute_deviation(values));
    }
  }
  verdict.reference = median(typical_values);
  verdict.spread = node_mads.empty() ? 0.0 : kMadToSigma * median(node_mads);
  verdict.threshold = std::max(policy.mad_multiplier * verdict.spread,
                               policy.min_relative_deviation * std::abs(verdict.reference));

  for (auto& [pair, link] : links) {
    const double worse_by =
        better == Better::higher ? verdict.reference - link.value : link.value - verdict.reference;
    link.worse_by_fraction = verdict.reference != 0 ? worse_by / std::abs(verdict.reference) : 0;
    link.slow = worse_by > verdict.threshold;
    verdict.links.push_back(link);
  }

  // Peel bad nodes off, worst first.
  std::vector<bool> bad(static_cast<std::size_t>(node_count), false);
  while (true) {
    std::vector<int> partners(static_cast<std::size_t>(node_count), 0);
    std::vector<int> slow(static_cast<std::size_t>(node_count), 0);
    for (const LinkAssessment& link : verdict.links) {
      const auto a = static_cast<std::size_t>(link.pair.a);
      const auto b = static_cast<std::size_t>(link.pair.b);
      if (!bad[b]) {
        ++partners[a];
        slow[a] += link.slow ? 1 : 0;
      }
      if (!bad[a]) {
        ++partners[b];
        slow[b] += link.slow ? 1 : 0;
      }
    }
    int worst = -1;
    double worst_fraction = 0;
    for (int node = 0; node < node_count; ++node) {
      const auto index = static_cast<std::size_t>(node);
      if (bad[index] || partners[index] < policy.min_partners) {
        continue;
      }
      const double fraction = static_cast<double>(slow[index]) / partners[index];
      if (fraction + 1e-12 >= policy.node_slow_fraction &&
          (worst < 0 || fraction > worst_fraction ||
           (fraction == worst_fraction && slow[index] > slow[static_cast<std::size_t>(worst)]))) {
        worst = node;
        worst_fraction = fraction;
      }
    }
    if (worst < 0) {
      break;
    }
    const auto index = static_cast<std::size_t>(worst);
    bad[index] = true;
    verdict.bad_nodes.push_back({worst, partners[index], slow[index], typical[index]});
  }

  std::vector<bool> suspect(static_cast<std::size_t>(node_count), false);
  for (const NodeAssessment& node : verdict.bad_nodes) {
    suspect[static_cast<std::size_t>(node.node)] = true;
  }
  for (const LinkAssessment& link : verdict.links) {
    if (link.slow && !bad[static_cast<std::size_t>(link.pair.a)] &&
        !bad[static_cast<std::size_t>(link.pair.b)]) {
      verdict.bad_links.push_back(link);
      suspect[static_cast<std::size_t>(link.pair.a)] = true;
      suspect[static_cast<std::size_t>(link.pair.b)] = true;
    }
  }
  for (int node = 0; node < node_count; ++node) {
    const auto index = static_cast<std::size_t>(node);
    if (suspect[index]) {
      verdict.suspects.push_back(node);
    } else if (!node_values[index].empty()) {
      verdict.known_good.push_back(node);
    }
  }
  return verdict;
}

}  // namespace preflight::p2p
