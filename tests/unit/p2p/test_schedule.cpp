#include <gtest/gtest.h>

#include <set>

#include "p2p/schedule.hpp"

namespace preflight::p2p {
namespace {

std::multiset<NodePair> all_pairs_of(const std::vector<Round>& rounds) {
  std::multiset<NodePair> pairs;
  for (const Round& round : rounds) {
    pairs.insert(round.begin(), round.end());
  }
  return pairs;
}

TEST(Schedule, AllPairsMeetsEveryPairOnceInNMinusOneRounds) {
  for (int nodes = 2; nodes <= 33; ++nodes) {
    const auto rounds = all_pairs_schedule(nodes);
    EXPECT_EQ(static_cast<int>(rounds.size()), nodes % 2 == 0 ? nodes - 1 : nodes) << nodes;
    EXPECT_TRUE(rounds_are_valid(rounds, nodes)) << nodes;
    const auto pairs = all_pairs_of(rounds);
    EXPECT_EQ(static_cast<int>(pairs.size()), nodes * (nodes - 1) / 2) << nodes;
    EXPECT_EQ(std::set<NodePair>(pairs.begin(), pairs.end()).size(), pairs.size()) << nodes;
    for (const Round& round : rounds) {  // every node busy in every round when N is even
      EXPECT_EQ(static_cast<int>(round.size()), nodes / 2) << nodes;
    }
  }
}

TEST(Schedule, AllPairsOfTooFewNodesIsEmpty) {
  EXPECT_TRUE(all_pairs_schedule(0).empty());
  EXPECT_TRUE(all_pairs_schedule(1).empty());
}

TEST(Schedule, RingNeighboursInTwoOrThreeRounds) {
  EXPECT_EQ(ring_schedule(2).size(), 1U);
  for (int nodes = 3; nodes <= 20; ++nodes) {
    const auto rounds = ring_schedule(nodes);
    EXPECT_EQ(rounds.size(), nodes % 2 == 0 ? 2U : 3U) << nodes;
    EXPECT_TRUE(rounds_are_valid(rounds, nodes));
    const auto pairs = all_pairs_of(rounds);
    ASSERT_EQ(static_cast<int>(pairs.size()), nodes);
    for (int i = 0; i < nodes; ++i) {
      EXPECT_EQ(pairs.count(make_pair_of(i, (i + 1) % nodes)), 1U) << nodes << " " << i;
    }
  }
}

TEST(Schedule, RandomMatchingsArePerfectAndReproducible) {
  const auto first = random_matching_schedule(1024, 4, 42);
  const auto again = random_matching_schedule(1024, 4, 42);
  const auto other = random_matching_schedule(1024, 4, 43);
  ASSERT_EQ(first.size(), 4U);
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
  EXPECT_TRUE(rounds_are_valid(first, 1024));
  for (const Round& round : first) {
    EXPECT_EQ(round.size(), 512U);
  }
  const auto odd = random_matching_schedule(7, 3, 1);
  EXPECT_TRUE(rounds_are_valid(odd, 7));
  for (const Round& round : odd) {
    EXPECT_EQ(round.size(), 3U);  // one node sits out
  }
}

TEST(Schedule, PackingKeepsRoundsDisjointAndDuplicates) {
  const std::vector<NodePair> pairs = {{0, 1}, {1, 2}, {2, 3}, {0, 1}, {0, 3}, {4, 5}};
  const auto rounds = pack_into_rounds(pairs);
  EXPECT_TRUE(rounds_are_valid(rounds, 6));
  EXPECT_EQ(all_pairs_of(rounds).size(), pairs.size());
  EXPECT_EQ(all_pairs_of(rounds).count(NodePair{0, 1}), 2U);
  EXPECT_EQ(rounds.front(), (Round{{0, 1}, {2, 3}, {4, 5}}));
}

TEST(Schedule, ValidityCatchesABusyNode) {
  EXPECT_FALSE(rounds_are_valid(std::vector<Round>{{{0, 1}, {1, 2}}}, 3));
  EXPECT_FALSE(rounds_are_valid(std::vector<Round>{{{0, 5}}}, 3));
  EXPECT_THROW((void)make_pair_of(2, 2), std::invalid_argument);
  EXPECT_EQ(make_pair_of(3, 1), (NodePair{1, 3}));
}

}  // namespace
}  // namespace preflight::p2p
