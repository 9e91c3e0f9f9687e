// The line rate a node's NICs should reach (p2p/node_facts.hpp): the catalog's per-device EFA rate
// for the node's instance type, or what --nic-rate-gbps states, or why there is none.
#include <gtest/gtest.h>

#include "p2p/node_facts.hpp"

namespace preflight::p2p {
namespace {

TEST(NicLineRates, FromTheCatalogPerInstanceType) {
  const std::vector<std::string> types{"p5.48xlarge", "p5en.48xlarge", "p4d.24xlarge", "",
                                       "m7i.large"};
  const std::vector<NicLineRate> rates = nic_line_rates(types, std::nullopt);
  ASSERT_EQ(rates.size(), 5U);
  EXPECT_DOUBLE_EQ(rates[0].rate_Bps, 100e9 / 8);  // 3200 Gb/s over 32 devices
  EXPECT_EQ(rates[0].source, "p5.48xlarge: 3200 Gb/s over 32 EFA devices");
  EXPECT_FALSE(rates[0].stated);
  EXPECT_DOUBLE_EQ(rates[1].rate_Bps, 200e9 / 8);  // 3200 Gb/s over 16
  EXPECT_DOUBLE_EQ(rates[2].rate_Bps, 100e9 / 8);  // 400 Gb/s over 4
  EXPECT_EQ(rates[3].rate_Bps, 0);
  EXPECT_NE(rates[3].source.find("instance type is unknown"), std::string::npos);
  EXPECT_EQ(rates[4].rate_Bps, 0);
  EXPECT_NE(rates[4].source.find("m7i.large is not in the platform catalog"), std::string::npos);
}

TEST(NicLineRates, AStatedRateIsEveryNodes) {
  const std::vector<std::string> types{"p5.48xlarge", ""};
  const std::vector<NicLineRate> rates = nic_line_rates(types, 0.08);
  ASSERT_EQ(rates.size(), 2U);
  for (const NicLineRate& rate : rates) {
    EXPECT_DOUBLE_EQ(rate.rate_Bps, 0.08e9 / 8);
    EXPECT_TRUE(rate.stated);
    EXPECT_EQ(rate.source, "--nic-rate-gbps 0.08");
  }
}

}  // namespace
}  // namespace preflight::p2p
