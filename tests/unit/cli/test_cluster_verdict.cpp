#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cluster_verdict.hpp"

namespace preflight::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::vector<std::string> kHosts{"vc1", "vc2", "vc3", "vc4"};

// Every pair at `healthy_Bps` except the pairs `slow` says.
std::vector<HostPairMeasurement> all_pairs(
    const std::vector<std::string>& hosts,
    const std::function<bool(const std::string&, const std::string&)>& slow) {
  std::vector<HostPairMeasurement> pairs;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    for (std::size_t j = i + 1; j < hosts.size(); ++j) {
      const bool is_slow = slow(hosts[i], hosts[j]);
      pairs.push_back({hosts[i], hosts[j], "bandwidth_Bps",
                       (is_slow ? 12e6 : 2e9) * (1.0 + 0.01 * static_cast<double>(i + j))});
    }
  }
  return pairs;
}

TEST(ClusterVerdict, SlowHostIsABadNode) {
  const auto verdict = judge_cluster(
      kHosts, all_pairs(kHosts, [](auto& a, auto& b) { return a == "vc3" || b == "vc3"; }));
  EXPECT_THAT(verdict.bad_nodes, ElementsAre("vc3"));
  EXPECT_THAT(verdict.bad_links, IsEmpty());
  EXPECT_THAT(verdict.suspects, ElementsAre("vc3"));
  EXPECT_THAT(verdict.known_good, ElementsAre("vc1", "vc2", "vc4"));
  EXPECT_EQ(verdict.pairs_measured, 6U);
}

TEST(ClusterVerdict, SlowPairIsABadLinkNotABadNode) {
  const auto verdict = judge_cluster(
      kHosts, all_pairs(kHosts, [](auto& a, auto& b) { return a == "vc1" && b == "vc2"; }));
  EXPECT_THAT(verdict.bad_nodes, IsEmpty());
  ASSERT_EQ(verdict.bad_links.size(), 1U);
  EXPECT_EQ(verdict.bad_links[0], std::make_pair(std::string("vc1"), std::string("vc2")));
  EXPECT_THAT(verdict.known_good, ElementsAre("vc3", "vc4"));
}

TEST(ClusterVerdict, HealthyClusterBlamesNobody) {
  const auto verdict = judge_cluster(kHosts, all_pairs(kHosts, [](auto&, auto&) { return false; }));
  EXPECT_THAT(verdict.bad_nodes, IsEmpty());
  EXPECT_THAT(verdict.bad_links, IsEmpty());
  EXPECT_THAT(verdict.suspects, IsEmpty());
  EXPECT_THAT(second_pass_hosts(verdict, kHosts, 3), IsEmpty());
}

TEST(ClusterVerdict, UnmeasuredHostIsNeitherSuspectNorGood) {
  const std::vector<std::string> measured{"vc1", "vc2", "vc3"};
  const auto verdict =
      judge_cluster(kHosts, all_pairs(measured, [](auto&, auto&) { return false; }));
  EXPECT_THAT(verdict.known_good, ElementsAre("vc1", "vc2", "vc3"));
}

TEST(ClusterVerdict, ScaleFindsPlantedNodesAndLinks) {
  std::vector<std::string> hosts;
  for (int i = 0; i < 64; ++i) {
    hosts.push_back(fmt::format("node{:03}", i));
  }
  const auto verdict =
      judge_cluster(hosts, all_pairs(hosts, [](auto& a, auto& b) {
                      return a == "node007" || b == "node007" || (a == "node010" && b == "node020");
                    }));
  EXPECT_THAT(verdict.bad_nodes, ElementsAre("node007"));
  ASSERT_EQ(verdict.bad_links.size(), 1U);
  EXPECT_EQ(verdict.bad_links[0].first, "node010");
}

TEST(ClusterVerdict, JudgesNodesNamedByTheRanksToo) {
  // The launcher was given addresses; the ranks report their host names.
  const std::vector<std::string> ranks_names{"vc1", "vc2", "vc3", "vc4"};
  const auto verdict = judge_cluster(
      {"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"},
      all_pairs(ranks_names, [](auto& a, auto& b) { return a == "vc2" || b == "vc2"; }));
  EXPECT_THAT(verdict.bad_nodes, ElementsAre("vc2"));
}

TEST(ClusterVerdict, SecondPassTakesSuspectsAndKnownGoodPartners) {
  ClusterVerdict verdict;
  verdict.suspects = {"vc3"};
  verdict.known_good = {"vc1", "vc2", "vc4", "vc5"};
  EXPECT_THAT(second_pass_hosts(verdict, {"vc1", "vc2", "vc3", "vc4", "vc5"}, 2),
              ElementsAre("vc1", "vc2", "vc3"));
}

TEST(P2pReport, ReadsResultRowsWithHostLabels) {
  const nlohmann::json report = {{"run", {{"hosts", {"vc1", "vc2", "vc3"}}}},
                                 {"results",
                                  {{{"benchmark", "bw"},
                                    {"size_bytes", 1024},
                                    {"algbw_Bps", 1e8},
                                    {"labels", {{"src", "0"}, {"dst", "1"}}}},
                                   {{"benchmark", "bw"},
                                    {"size_bytes", 1048576},
                                    {"algbw_Bps", 2e9},
                                    {"labels", {{"src", "1"}, {"dst", "0"}}}},
                                   {{"benchmark", "latency"},
                                    {"size_bytes", 8},
                                    {"time_s", {{"median", 20e-6}}},
                                    {"labels", {{"src_host", "vc2"}, {"dst_host", "vc3"}}}},
                                   {{"benchmark", "bw"},
                                    {"size_bytes", 1048576},
                                    {"algbw_Bps", 1e9},
                                    {"labels", {{"provider", "tcp"}}}}}}};
  const auto pairs = pairs_from_p2p_report(report);
  ASSERT_EQ(pairs.size(), 2U);
  EXPECT_EQ(pairs[0].host_a, "vc1");
  EXPECT_EQ(pairs[0].host_b, "vc2");
  EXPECT_EQ(pairs[0].metric, "bandwidth_Bps");
  EXPECT_DOUBLE_EQ(pairs[0].value, 2e9);  // the largest size counts
  EXPECT_EQ(pairs[1].metric, "latency_s");
}

TEST(P2pReport, ReadsAMatrix) {
  const nlohmann::json report = {
      {"details",
       {{"matrix",
         {{"hosts", {"a", "b", "c"}},
          {"bandwidth_Bps",
           {{nullptr, 2e9, 1e9}, {2e9, nullptr, nullptr}, {1e9, nullptr, nullptr}}}}}}}};
  const auto pairs = pairs_from_p2p_report(report);
  ASSERT_EQ(pairs.size(), 2U);
  EXPECT_EQ(pairs[1].host_a, "a");
  EXPECT_EQ(pairs[1].host_b, "c");
  EXPECT_TRUE(pairs_from_p2p_report(nlohmann::json()).empty());
  EXPECT_TRUE(pairs_from_p2p_report(nlohmann::json::object()).empty());
}

}  // namespace
}  // namespace preflight::cli
