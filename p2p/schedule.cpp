#include "p2p/schedule.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>

namespace preflight::p2p {

NodePair make_pair_of(int first, int second) {
  if (first == second) {
    throw std::invalid_argument("a node cannot be paired with itself");
  }
  return first < second ? NodePair{first, second} : NodePair{second, first};
}

std::vector<Round> all_pairs_schedule(int node_count) {
  std::vector<Round> rounds;
  if (node_count < 2) {
    return rounds;
  }
  // Odd N: a phantom node N makes the count even; whoever meets it sits the round out.
  const int slots = node_count % 2 == 0 ? node_count : node_count + 1;
  // positions[0] is fixed; positions[1..] rotate by one each round.
  std::vector<int> positions(static_cast<std::size_t>(slots));
  std::iota(positions.begin(), positions.end(), 0);
  for (int round = 0; round < slots - 1; ++round) {
    Round pairs;
    for (int i = 0; i < slots / 2; ++i) {
      const int first = positions[static_cast<std::size_t>(i)];
      const int second = positions[static_cast<std::size_t>(slots - 1 - i)];
      if (first < node_count && second < node_count) {
        pairs.push_back(make_pair_of(first, second));
      }
    }
    std::sort(pairs.begin(), pairs.end());
    rounds.push_back(std::move(pairs));
    std::rotate(positions.begin() + 1, positions.end() - 1, positions.end());
  }
  return rounds;
}

std::vector<Round> ring_schedule(int node_count) {
  if (node_count < 2) {
    return {};
  }
  if (node_count == 2) {
    return {Round{NodePair{0, 1}}};
  }
  std::vector<NodePair> pairs;
  for (int i = 0; i < node_count; ++i) {
    pairs.push_back(make_pair_of(i, (i + 1) % node_count));
  }
  // In ring order, greedy packing gives the even/odd edge colouring: 2 rounds for even N, 3 for
  // odd N (the closing edge (N-1, 0) needs a third round).
  return pack_into_rounds(pairs);
}

namespace {

// Uniform integer in [0, bound) without modulo bias, from a generator whose output is specified.
std::uint64_t uniform_below(std::mt19937_64& generator, std::uint64_t bound) {
  const std::uint64_t limit =
      std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % bound;
  std::uint64_t value = generator();
  while (value >= limit) {
    value = generator();
  }
  return value % bound;
}

}  // namespace

std::vector<Round> random_matching_schedule(int node_count, int round_count, std::uint64_t seed) {
  std::vector<Round> rounds;
  if (node_count < 2 || round_count <= 0) {
    return rounds;
  }
  std::mt19937_64 generator(seed);
  std::vector<int> order(static_cast<std::size_t>(node_count));
  for (int round = 0; round < round_count; ++round) {
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t i = order.size() - 1; i > 0; --i) {
      std::swap(order[i], order[uniform_below(generator, i + 1)]);
    }
    Round pairs;
    for (std::size_t i = 0; i + 1 < order.size(); i += 2) {
      pairs.push_back(make_pair_of(order[i], order[i + 1]));
    }
    std::sort(pairs.begin(), pairs.end());
    rounds.push_back(std::move(pairs));
  }
  return rounds;
}

std::vector<Round> pack_into_rounds(std::span<const NodePair> pairs) {
  std::vector<Round> rounds;
  // busy[r] holds the nodes already used in round r.
  std::vector<std::vector<int>> busy;
  for (const NodePair& pair : pairs) {
    std::size_t round = 0;
    for (; round < rounds.size(); ++round) {
      const auto& used = busy[round];
      if (!std::binary_search(used.begin(), used.end(), pair.a) &&
          !std::binary_search(used.begin(), used.end(), pair.b)) {
        break;
      }
    }
    if (round == rounds.size()) {
      rounds.emplace_back();
      busy.emplace_back();
    }
    rounds[round].push_back(pair);
    auto& used = busy[round];
    used.insert(std::upper_bound(used.begin(), used.end(), pair.a), pair.a);
    used.insert(std::upper_bound(used.begin(), used.end(), pair.b), pair.b);
  }
  return rounds;
}

bool rounds_are_valid(std::span<const Round> rounds, int node_count) {
  for (const Round& round : rounds) {
    std::vector<bool> used(static_cast<std::size_t>(std::max(node_count, 0)), false);
    for (const NodePair& pair : round) {
      if (pair.a < 0 || pair.b < 0 || pair.a >= node_count || pair.b >= node_count ||
          pair.a == pair.b) {
        return false;
      }
      for (const int node : {pair.a, pair.b}) {
        if (used[static_cast<std::size_t>(node)]) {
          return false;
        }
        used[static_cast<std::size_t>(node)] = true;
      }
    }
  }
  return true;
}

}  // namespace preflight::p2p
