#include <gtest/gtest.h>

#include "p2p/efa_counters.hpp"

namespace preflight::p2p {
namespace {

const std::string kFixtures = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/";

TEST(EfaCounters, DeltasFindTheRisingErrorCountersOfOneDevice) {
  const EfaCounters before = read_efa_counters(RootFs(kFixtures + "p5en-counters-before"));
  const EfaCounters after = read_efa_counters(RootFs(kFixtures + "p5en-counters-after"));
  ASSERT_EQ(before.size(), 16U);
  const EfaCounters deltas = counter_deltas(before, after);
  ASSERT_EQ(deltas.size(), 16U);
  for (const auto& [device, values] : deltas) {
    EXPECT_GT(values.at("tx_bytes"), 0) << device;
    EXPECT_EQ(values.at("retrans_pkts"), 0) << device << ": non-zero but unchanged";
  }
  const auto rising = rising_error_counters(deltas);
  ASSERT_EQ(rising.size(), 1U);
  EXPECT_EQ(rising.front().device, "rdmap166s0");
  EXPECT_EQ(
      rising.front().increases,
      (std::map<std::string, std::int64_t>{
          {"retrans_timeout_events", 17}, {"rx_drops", 1843}, {"unresponsive_remote_events", 3}}));
}

TEST(EfaCounters, AbsentCountersAreAbsentNotZero) {
  const EfaCounters counters = read_efa_counters(RootFs(kFixtures + "p4d-healthy"));
  ASSERT_EQ(counters.size(), 4U);
  for (const auto& [device, values] : counters) {
    EXPECT_FALSE(values.contains("rdma_write_bytes")) << device;
    EXPECT_TRUE(values.contains("rx_drops")) << device;
  }
  EXPECT_TRUE(counter_deltas(counters, counters).begin()->second.contains("rx_drops"));
}

TEST(EfaCounters, NoDeviceNoCounters) {
  EXPECT_TRUE(read_efa_counters(RootFs(kFixtures + "does-not-exist")).empty());
  EXPECT_TRUE(rising_error_counters({}).empty());
}

}  // namespace
}  // namespace preflight::p2p
