// A simulated cluster for the survey (p2p/survey.hpp): planted bad nodes and links, per-measurement
// noise, and slow spells of the whole machine. The unit tests and the accuracy benchmark
// (bench/cluster/) run the real survey and judgement against it, at any size.
//
// Noise model, per measurement of a link in a round:
//  - a healthy link's bandwidth is `healthy_bandwidth_Bps`, its latency `healthy_latency_s`; a bad
//    node's links and a bad link run at `fault_rate` of that (latency divided by it);
//  - noise only lowers a bandwidth and only raises a latency: the value is multiplied (latency:
//    divided) by exp(-noise_sigma |z|), z standard normal, drawn afresh for every measurement
//    (lognormal noise of size noise_sigma);
//  - each round is, with probability spell_probability, a slow spell: every link measured in it
//    runs at spell_rate of its rate.
// Reproducible for a seed on every platform (own generator and normal deviates).
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "p2p/survey.hpp"

namespace preflight::p2p {

struct SimulationSpec {
  int nodes = 1024;
  std::set<int> bad_nodes;
  std::set<NodePair> bad_links;
  double fault_rate = 0.5;
  double noise_sigma = 0.2;
  double spell_probability = 0.0;
  double spell_rate = 0.4;
  double healthy_bandwidth_Bps = 12e9;
  double healthy_latency_s = 4e-6;
  std::uint64_t seed = 1;
};

// Metric 0 is bandwidth (bandwidth_Bps), metric 1 latency (latency_s).
[[nodiscard]] std::vector<SurveyMetric> simulated_metrics();

class SimulatedCluster {
 public:
  explicit SimulatedCluster(SimulationSpec spec);

  // Measures every pair of the round (both metrics). Checks that no node is in two pairs.
  [[nodiscard]] std::vector<Measurement> measure(const PlannedRound& round, int round_index);
  [[nodiscard]] int rounds() const { return rounds_; }
  [[nodiscard]] const std::vector<int>& spell_rounds() const { return spell_rounds_; }
  [[nodiscard]] const SimulationSpec& spec() const { return spec_; }

 private:
  double uniform();  // [0, 1)
  double standard_normal();

  SimulationSpec spec_;
  std::uint64_t state_;
  int rounds_ = 0;
  std::vector<int> spell_rounds_;
};

// Plants `node_count` bad nodes anywhere and `link_count` bad links where the survey's initial
// rounds will measure them (in the scale mode no other link can be found), away from the bad
// nodes; reproducible for `seed`.
void plant_faults(SimulationSpec& spec, const SurveyPolicy& policy, int node_count, int link_count,
                  std::uint64_t seed);

}  // namespace preflight::p2p
