#include <gtest/gtest.h>

#include <string>

#include "collectives/efa_counters.hpp"

namespace preflight::collectives {
namespace {

const std::string kFixtures = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/";

TEST(EfaCounters, DeltasAroundARunFlagOnlyTheSickDevice) {
  const RootFs before_root(kFixtures + "p5en-counters-before");
  const RootFs after_root(kFixtures + "p5en-counters-after");
  EXPECT_EQ(efa_devices(before_root).size(), 16U);
  const CounterSnapshot before = read_efa_counters(before_root);
  const CounterSnapshot after = read_efa_counters(after_root);
  const CounterSnapshot deltas = counter_deltas(before, after);
  ASSERT_EQ(deltas.size(), 16U);
  // Traffic rose on every device.
  for (const auto& [device, counters] : deltas) {
    EXPECT_GT(counters.at("tx_bytes"), 0) << device;
    EXPECT_GT(counters.at("rdma_read_bytes"), 0) << device;
  }
  EXPECT_EQ(deltas.at("rdmap166s0").at("tx_bytes"), 1570725782994 - 1487194235089);
  // Only rdmap166s0's health counters rose; retrans_* are non-zero in both snapshots but equal.
  const RisingCounters rising = rising_health_counters(deltas);
  ASSERT_EQ(rising.size(), 1U);
  const auto& sick = rising.at("rdmap166s0");
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"rx_drops", 1843}, {"retrans_timeout_events", 17}, {"unresponsive_remote_events", 3}};
  EXPECT_EQ(sick, expected);
}

TEST(EfaCounters, AbsentCountersStayAbsent) {
  const RootFs p4d(kFixtures + "p4d-healthy");
  const CounterSnapshot snapshot = read_efa_counters(p4d);
  ASSERT_EQ(snapshot.size(), 4U);
  for (const auto& [device, counters] : snapshot) {
    EXPECT_FALSE(counters.contains("rdma_write_bytes")) << device;  // p4d has no RDMA write
    EXPECT_TRUE(counters.contains("rdma_read_bytes")) << device;
  }
  // A counter present on one side only is not in the delta (absent is not zero).
  CounterSnapshot before{{"rdmap0", {{"tx_bytes", 10}}}};
  CounterSnapshot after{{"rdmap0", {{"tx_bytes", 15}, {"rx_drops", 4}}},
                        {"rdmap1", {{"tx_bytes", 1}}}};
  const CounterSnapshot deltas = counter_deltas(before, after);
  EXPECT_EQ(deltas, (CounterSnapshot{{"rdmap0", {{"tx_bytes", 5}}}}));
  EXPECT_TRUE(rising_health_counters(deltas).empty());
}

TEST(EfaCounters, NoDevicesNoSnapshot) {
  const RootFs empty(kFixtures + "does-not-exist");
  EXPECT_TRUE(efa_devices(empty).empty());
  EXPECT_TRUE(read_efa_counters(empty).empty());
}

}  // namespace
}  // namespace preflight::collectives
