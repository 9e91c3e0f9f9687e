// Schedules of pair tests between nodes, as plain functions of the node count
// (docs/ARCHITECTURE.md, "Scale: from one node to thousands"). A schedule is a list of rounds; a
// round is a set of disjoint node pairs, so no node is in two tests at once and a round costs one
// pair test. `preflight-p2p
// --pattern all-pairs|ring` and `preflight cluster` run these schedules; the unit tests check them
// without any network.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace preflight::p2p {

// An unordered pair of node indices, stored with a < b. `a` initiates the pair test.
struct NodePair {
  int a = 0;
  int b = 0;
  friend bool operator==(const NodePair&, const NodePair&) = default;
  // clang-tidy 14 reads a defaulted <=> as comparing with a literal 0.
  // NOLINTNEXTLINE(modernize-use-nullptr)
  friend auto operator<=>(const NodePair&, const NodePair&) = default;
};

// Orders the two nodes of a pair (a < b). Throws std::invalid_argument when they are equal.
[[nodiscard]] NodePair make_pair_of(int first, int second);

using Round = std::vector<NodePair>;

// Every pair of `node_count` nodes exactly once, by the round-robin "circle" method: node 0 stays,
// the others rotate. N - 1 rounds of N/2 pairs for even N; N rounds for odd N (one node sits
// out of each round). Empty for N < 2.
[[nodiscard]] std::vector<Round> all_pairs_schedule(int node_count);

// Ring neighbours (i, i+1 mod N): 1 round for N = 2, 2 rounds for even N, 3 rounds for odd N >= 3.
[[nodiscard]] std::vector<Round> ring_schedule(int node_count);

// `round_count` random perfect matchings (one node idle per round for odd N), reproducible for a
// seed on every platform (own Fisher-Yates over mt19937_64, not std::shuffle).
[[nodiscard]] std::vector<Round> random_matching_schedule(int node_count, int round_count,
                                                          std::uint64_t seed);

// Packs arbitrary pairs into rounds of disjoint pairs, greedily in the given order (each pair goes
// to the first round where both nodes are free). Duplicate pairs are kept (a re-test is a pair
// measured again).
[[nodiscard]] std::vector<Round> pack_into_rounds(std::span<const NodePair> pairs);

// True when no round holds a node twice and every index is in [0, node_count).
[[nodiscard]] bool rounds_are_valid(std::span<const Round> rounds, int node_count);

}  // namespace preflight::p2p
