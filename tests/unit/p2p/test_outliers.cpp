#include <gtest/gtest.h>

#include <algorithm>

#include "p2p/outliers.hpp"

namespace preflight::p2p {
namespace {

// Every pair of `nodes` with `value(a, b)`.
std::vector<LinkMeasurement> full_matrix(int nodes, const std::function<double(int, int)>& value) {
  std::vector<LinkMeasurement> links;
  for (int a = 0; a < nodes; ++a) {
    for (int b = a + 1; b < nodes; ++b) {
      links.push_back({{a, b}, value(a, b)});
    }
  }
  return links;
}

// A little deterministic jitter (+-2%), as between healthy links.
double jitter(int a, int b) {
  return 1.0 + 0.02 * (((a * 7 + b * 13) % 5) - 2) / 2.0;
}

std::vector<int> bad_node_ids(const OutlierVerdict& verdict) {
  std::vector<int> ids;
  for (const auto& node : verdict.bad_nodes) {
    ids.push_back(node.node);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(Outliers, HealthyClusterHasNone) {
  const auto links = full_matrix(8, [](int a, int b) { return 12e9 * jitter(a, b); });
  const OutlierVerdict verdict = find_outliers(8, links, Better::higher);
  EXPECT_TRUE(verdict.bad_nodes.empty());
  EXPECT_TRUE(verdict.bad_links.empty());
  EXPECT_TRUE(verdict.suspects.empty());
  EXPECT_EQ(verdict.known_good.size(), 8U);
  EXPECT_NEAR(verdict.reference, 12e9, 0.03 * 12e9);
}

TEST(Outliers, ABadNodeOfFourIsANodeNotThreeLinks) {
  // Half the links of a 4-node matrix touch the bad node: the verdict must still hold.
  const auto links =
      full_matrix(4, [](int a, int b) { return (a == 2 || b == 2 ? 3e9 : 12e9) * jitter(a, b); });
  const OutlierVerdict verdict = find_outliers(4, links, Better::higher);
  EXPECT_EQ(bad_node_ids(verdict), std::vector<int>{2});
  EXPECT_TRUE(verdict.bad_links.empty());
  EXPECT_EQ(verdict.suspects, std::vector<int>{2});
  EXPECT_EQ(verdict.bad_nodes.front().slow_partners, 3);
}

TEST(Outliers, ABadLinkIsALinkAndNoNodeIsBlamed) {
  const auto links =
      full_matrix(4, [](int a, int b) { return (a == 1 && b == 3 ? 4e9 : 12e9) * jitter(a, b); });
  const OutlierVerdict verdict = find_outliers(4, links, Better::higher);
  EXPECT_TRUE(verdict.bad_nodes.empty());
  ASSERT_EQ(verdict.bad_links.size(), 1U);
  EXPECT_EQ(verdict.bad_links.front().pair, (NodePair{1, 3}));
  EXPECT_GT(verdict.bad_links.front().worse_by_fraction, 0.5);
  EXPECT_EQ(verdict.suspects, (std::vector<int>{1, 3}));
}

TEST(Outliers, TwoBadNodesAndALinkAmongTen) {
  const auto links = full_matrix(10, [](int a, int b) {
    if (a == 4 || b == 4 || a == 7 || b == 7) {
      return 20e-6 * jitter(a, b);
    }
    return (a == 0 && b == 9 ? 9e-6 : 4e-6) * jitter(a, b);
  });
  const OutlierVerdict verdict = find_outliers(10, links, Better::lower);
  EXPECT_EQ(bad_node_ids(verdict), (std::vector<int>{4, 7}));
  ASSERT_EQ(verdict.bad_links.size(), 1U);
  EXPECT_EQ(verdict.bad_links.front().pair, (NodePair{0, 9}));
}

TEST(Outliers, ALinkIsSlowOnlyWhenSlowEveryTime) {
  auto links = full_matrix(5, [](int a, int b) { return 10e9 * jitter(a, b); });
  links.push_back({{1, 2}, 2e9});  // a transient blip on a link measured fine before
  OutlierVerdict verdict = find_outliers(5, links, Better::higher);
  EXPECT_TRUE(verdict.bad_links.empty());
  links.push_back({{3, 4}, 2e9});
  links.push_back({{3, 4}, 2.1e9});
  links.erase(std::find_if(links.begin(), links.end(), [](const LinkMeasurement& m) {
    return m.pair == NodePair{3, 4};
  }));
  verdict = find_outliers(5, links, Better::higher);
  ASSERT_EQ(verdict.bad_links.size(), 1U);
  EXPECT_EQ(verdict.bad_links.front().measurements, 2);
  EXPECT_DOUBLE_EQ(verdict.bad_links.front().value, 2.1e9);  // the best of the two
}

TEST(Outliers, SmallDeviationsAreNoise) {
  const auto links =
      full_matrix(6, [](int a, int b) { return (a == 0 ? 9e9 : 10e9) * jitter(a, b); });
  const OutlierVerdict verdict = find_outliers(6, links, Better::higher);  // 10% below: not slow
  EXPECT_TRUE(verdict.bad_nodes.empty());
  EXPECT_TRUE(verdict.bad_links.empty());
}

TEST(Outliers, TwoNodesCannotBeJudged) {
  const std::vector<LinkMeasurement> links = {{{0, 1}, 1e9}};
  const OutlierVerdict verdict = find_outliers(2, links, Better::higher);
  EXPECT_TRUE(verdict.bad_nodes.empty());
  EXPECT_TRUE(verdict.bad_links.empty());
}

TEST(Outliers, RejectsBadInput) {
  EXPECT_THROW((void)find_outliers(2, std::vector<LinkMeasurement>{{{0, 5}, 1.0}}, Better::higher),
               std::invalid_argument);
  EXPECT_THROW(
      (void)find_outliers(
          2, std::vector<LinkMeasurement>{{{0, 1}, std::numeric_limits<double>::infinity()}},
          Better::higher),
      std::invalid_argument);
  EXPECT_TRUE(find_outliers(3, {}, Better::lower).links.empty());
}

}  // namespace
}  // namespace preflight::p2p
