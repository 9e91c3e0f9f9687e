// cluster_simulate: the survey and the judgement (p2p/survey.hpp, p2p/judgement.hpp) against
// simulated clusters with planted faults, per-measurement lognormal noise and slow spells of the
// whole machine (p2p/simulation.hpp). For each noise level and re-test budget it runs `trials`
// seeds and reports how many planted faults were found, how many healthy nodes and links were
// blamed (or only suspected), and the rounds it took.
//
//   cluster_simulate [--nodes 1024] [--bad-nodes 5] [--bad-links 5] [--trials 20]
//                    [--sigmas 0.1,0.2,0.3] [--budgets 0,2,4,8,14] [--spell 0.05]
//                    [--fault-rate 0.5] [--slow-fraction 0.3]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"
#include "p2p/simulation.hpp"

namespace {

using namespace preflight::p2p;

std::vector<double> parse_list(std::string_view text) {
  std::vector<double> values;
  for (const auto item : preflight::split(text, ',')) {
    values.push_back(std::stod(std::string(item)));
  }
  return values;
}

struct Totals {
  int planted_nodes = 0;
  int found_nodes = 0;
  int planted_links = 0;
  int found_links = 0;
  int false_nodes = 0;  // healthy nodes blamed (bad_nodes)
  int false_links = 0;  // healthy links blamed (bad_links)
  int trials_with_false_blame = 0;
  int suspects = 0;            // warnings left (suspect nodes + links)
  int planted_as_suspect = 0;  // planted faults left as suspects only
  int rounds_max = 0;
  double rounds_sum = 0;
  double seconds = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int nodes = 1024;
  int bad_nodes = 5;
  int bad_links = 5;
  int trials = 20;
  std::vector<double> sigmas{0.1, 0.2, 0.3};
  std::vector<double> budgets{0, 2, 4, 8, 14};
  double spell = 0.05;
  double fault_rate = 0.5;
  double slow_fraction = JudgementPolicy{}.slow_fraction;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--nodes") {
      nodes = std::stoi(value);
    } else if (flag == "--bad-nodes") {
      bad_nodes = std::stoi(value);
    } else if (flag == "--bad-links") {
      bad_links = std::stoi(value);
    } else if (flag == "--trials") {
      trials = std::stoi(value);
    } else if (flag == "--sigmas") {
      sigmas = parse_list(value);
    } else if (flag == "--budgets") {
      budgets = parse_list(value);
    } else if (flag == "--spell") {
      spell = std::stod(value);
    } else if (flag == "--fault-rate") {
      fault_rate = std::stod(value);
    } else if (flag == "--slow-fraction") {
      slow_fraction = std::stod(value);
    } else {
      fmt::print(stderr, "cluster_simulate: unknown flag {}\n", flag);
      return 2;
    }
  }
  fmt::print(
      "# {} nodes, {} bad nodes + {} bad links at {:.0f}% rate, slow spells in {:.0f}% of "
      "rounds (every link at 40%), slow fraction {}, {} trials per row\n",
      nodes, bad_nodes, bad_links, 100 * fault_rate, 100 * spell, slow_fraction, trials);
  fmt::print(
      "| noise | re-test budget | rounds (mean / max) | bad nodes found | bad links found | "
      "healthy nodes blamed | healthy links blamed | trials with false blame | "
      "warnings left (of them planted) | ms per trial |\n");
  fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const double sigma : sigmas) {
    for (const double budget : budgets) {
      Totals totals;
      for (int trial = 0; trial < trials; ++trial) {
        SurveyPolicy policy;
        policy.seed = 1000 + static_cast<std::uint64_t>(trial);
        policy.max_retest_rounds = static_cast<int>(budget);
        policy.retest = budget > 0;
        policy.judgement.slow_fraction = slow_fraction;
        SimulationSpec spec;
        spec.nodes = nodes;
        spec.noise_sigma = sigma;
        spec.spell_probability = spell;
        spec.fault_rate = fault_rate;
        spec.seed = 77 + static_cast<std::uint64_t>(trial);
        plant_faults(spec, policy, bad_nodes, bad_links, 4242 + static_cast<std::uint64_t>(trial));
        SimulatedCluster cluster(spec);
        const auto start = std::chrono::steady_clock::now();
        const SurveyResult result = run_survey(
            nodes, simulated_metrics(), policy,
            [&](const PlannedRound& round, int index) { return cluster.measure(round, index); });
        totals.seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const Judgement& j = result.judgement;
        const std::set<int> found_nodes(j.bad_nodes.begin(), j.bad_nodes.end());
        const std::set<NodePair> found_links(j.bad_links.begin(), j.bad_links.end());
        totals.planted_nodes += static_cast<int>(spec.bad_nodes.size());
        totals.planted_links += static_cast<int>(spec.bad_links.size());
        int false_blame = 0;
        for (const int node : found_nodes) {
          if (spec.bad_nodes.contains(node)) {
            ++totals.found_nodes;
          } else {
            ++totals.false_nodes;
            ++false_blame;
          }
        }
        for (const NodePair& link : found_links) {
          if (spec.bad_links.contains(link)) {
            ++totals.found_links;
          } else {
            ++totals.false_links;
            ++false_blame;
          }
        }
        totals.trials_with_false_blame += false_blame > 0 ? 1 : 0;
        totals.suspects += static_cast<int>(j.suspect_nodes.size() + j.suspect_links.size());
        for (const int node : j.suspect_nodes) {
          totals.planted_as_suspect += spec.bad_nodes.contains(node) ? 1 : 0;
        }
        for (const NodePair& link : j.suspect_links) {
          totals.planted_as_suspect += spec.bad_links.contains(link) ? 1 : 0;
        }
        const int rounds = result.initial_rounds + result.retest_rounds;
        totals.rounds_sum += rounds;
        totals.rounds_max = std::max(totals.rounds_max, rounds);
      }
      fmt::print(
          "| {:.0f}% | {} | {:.1f} / {} | {}/{} | {}/{} | {} | {} | {}/{} | {} ({}) | {:.0f} |\n",
          100 * sigma, static_cast<int>(budget), totals.rounds_sum / trials, totals.rounds_max,
          totals.found_nodes, totals.planted_nodes, totals.found_links, totals.planted_links,
          totals.false_nodes, totals.false_links, totals.trials_with_false_blame, trials,
          totals.suspects, totals.planted_as_suspect, 1000 * totals.seconds / trials);
      std::fflush(stdout);
    }
  }
  return 0;
}
