#include "p2p/simulation.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace preflight::p2p {
namespace {

// splitmix64: a specified generator, the same on every platform.
std::uint64_t next_state(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}

double unit_interval(std::uint64_t& state) {
  return static_cast<double>(next_state(state) >> 11U) / static_cast<double>(1ULL << 53U);
}

}  // namespace

std::vector<SurveyMetric> simulated_metrics() {
  return {{"bandwidth_Bps", Better::higher}, {"latency_s", Better::lower}};
}

SimulatedCluster::SimulatedCluster(SimulationSpec spec)
    : spec_(std::move(spec)), state_(spec_.seed) {}

double SimulatedCluster::uniform() {
  return unit_interval(state_);
}

double SimulatedCluster::standard_normal() {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const double u = 1.0 - uniform();
  const double v = uniform();
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
}

std::vector<Measurement> SimulatedCluster::measure(const PlannedRound& round, int round_index) {
  if (!rounds_are_valid(std::vector<Round>{round.pairs}, spec_.nodes)) {
    throw std::logic_error("the survey put a node in two pair tests of one round");
  }
  ++rounds_;
  const bool spell = uniform() < spec_.spell_probability;
  if (spell) {
    spell_rounds_.push_back(round_index);
  }
  std::vector<Measurement> measured;
  for (const NodePair& pair : round.pairs) {
    double rate = 1.0;
    if (spec_.bad_nodes.contains(pair.a) || spec_.bad_nodes.contains(pair.b)) {
      rate *= spec_.fault_rate;
    }
    if (spec_.bad_links.contains(make_pair_of(pair.a, pair.b))) {
      rate *= spec_.fault_rate;
    }
    if (spell) {
      rate *= spec_.spell_rate;
    }
    const double bandwidth_noise = std::exp(-spec_.noise_sigma * std::abs(standard_normal()));
    const double latency_noise = std::exp(-spec_.noise_sigma * std::abs(standard_normal()));
    Measurement bandwidth;
    bandwidth.pair = pair;
    bandwidth.metric = 0;
    bandwidth.value = spec_.healthy_bandwidth_Bps * rate * bandwidth_noise;
    Measurement latency = bandwidth;
    latency.metric = 1;
    latency.value = spec_.healthy_latency_s / (rate * latency_noise);
    measured.push_back(bandwidth);
    measured.push_back(latency);
  }
  return measured;
}

void plant_faults(SimulationSpec& spec, const SurveyPolicy& policy, int node_count, int link_count,
                  std::uint64_t seed) {
  std::uint64_t state = seed;
  const auto below = [&](int bound) { return static_cast<int>(unit_interval(state) * bound); };
  spec.bad_nodes.clear();
  spec.bad_links.clear();
  while (static_cast<int>(spec.bad_nodes.size()) < node_count) {
    spec.bad_nodes.insert(below(spec.nodes));
  }
  const SurveyPlan plan = plan_initial_rounds(spec.nodes, policy);
  std::vector<NodePair> measured;
  for (const Round& round : plan.rounds) {
    measured.insert(measured.end(), round.begin(), round.end());
  }
  std::set<int> used = spec.bad_nodes;
  for (int tries = 0; static_cast<int>(spec.bad_links.size()) < link_count && tries < 100'000;
       ++tries) {
    const NodePair& pair =
        measured[static_cast<std::size_t>(below(static_cast<int>(measured.size())))];
    // Bad links on distinct healthy nodes, so each is a plain bad link.
    if (!used.contains(pair.a) && !used.contains(pair.b)) {
      spec.bad_links.insert(pair);
      used.insert(pair.a);
      used.insert(pair.b);
    }
  }
}

}  // namespace preflight::p2p
