#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/efa_sysfs.hpp"

namespace preflight {
namespace {

const std::string kFixtures = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/";

TEST(EfaSysfs, EfaIsAmazonVendorAndAnEfaDeviceId) {
  EXPECT_TRUE(is_efa_pci_device(0x1d0f, 0xefa0));
  EXPECT_TRUE(is_efa_pci_device(0x1d0f, 0xefa3));
  EXPECT_FALSE(is_efa_pci_device(0x1d0f, 0xec20));  // ENA: Amazon, not EFA
  EXPECT_FALSE(is_efa_pci_device(0x1d0f, 0xefa4));
  EXPECT_FALSE(is_efa_pci_device(0x15b3, 0xefa1));  // a ConnectX with a coincidental id
}

TEST(EfaSysfs, DevicesOfEachPlatformFixture) {
  EXPECT_EQ(efa_device_names(RootFs(kFixtures + "p4d-healthy")).size(), 4U);
  const auto p5en = efa_device_names(RootFs(kFixtures + "p5en-healthy"));
  ASSERT_EQ(p5en.size(), 16U);
  EXPECT_TRUE(std::is_sorted(p5en.begin(), p5en.end()));
  EXPECT_EQ(efa_device_names(RootFs(kFixtures + "p5en-missing-device")).size(), 15U);
  EXPECT_TRUE(efa_device_names(RootFs(kFixtures + "does-not-exist")).empty());
}

TEST(EfaSysfs, DeltasAroundARunFlagOnlyTheSickDevice) {
  const EfaCounterSnapshot before =
      read_efa_port_counters(RootFs(kFixtures + "p5en-counters-before"));
  const EfaCounterSnapshot after =
      read_efa_port_counters(RootFs(kFixtures + "p5en-counters-after"));
  ASSERT_EQ(before.size(), 16U);
  const EfaCounterSnapshot deltas = efa_counter_deltas(before, after);
  ASSERT_EQ(deltas.size(), 16U);
  for (const auto& [device, counters] : deltas) {
    EXPECT_GT(counters.at("tx_bytes"), 0) << device;
    EXPECT_GT(counters.at("rdma_read_bytes"), 0) << device;
    // retrans_* are non-zero in both snapshots but equal: no rise.
    EXPECT_EQ(counters.at("retrans_pkts"), 0) << device;
  }
  EXPECT_EQ(deltas.at("rdmap166s0").at("tx_bytes"), 1570725782994 - 1487194235089);
  const EfaCounterSnapshot rising = rising_efa_health_counters(deltas);
  ASSERT_EQ(rising.size(), 1U);
  EXPECT_EQ(rising.at("rdmap166s0"), (EfaCounterMap{{"retrans_timeout_events", 17},
                                                    {"rx_drops", 1843},
                                                    {"unresponsive_remote_events", 3}}));
  EXPECT_EQ(describe_counter_rises(rising.at("rdmap166s0")),
            "retrans_timeout_events +17, rx_drops +1843, unresponsive_remote_events +3");
}

TEST(EfaSysfs, AbsentCountersStayAbsentNotZero) {
  const EfaCounterSnapshot snapshot = read_efa_port_counters(RootFs(kFixtures + "p4d-healthy"));
  ASSERT_EQ(snapshot.size(), 4U);
  for (const auto& [device, counters] : snapshot) {
    EXPECT_FALSE(counters.contains("rdma_write_bytes")) << device;  // p4d has no RDMA write
    EXPECT_TRUE(counters.contains("rdma_read_bytes")) << device;
    EXPECT_FALSE(counters.contains("lifespan")) << device << ": a refresh interval, not a counter";
  }
  // A counter (or device) present on one side only is not in the delta.
  const EfaCounterSnapshot before{{"rdmap0", {{"tx_bytes", 10}}}};
  const EfaCounterSnapshot after{{"rdmap0", {{"tx_bytes", 15}, {"rx_drops", 4}}},
                                 {"rdmap1", {{"tx_bytes", 1}}}};
  const EfaCounterSnapshot deltas = efa_counter_deltas(before, after);
  EXPECT_EQ(deltas, (EfaCounterSnapshot{{"rdmap0", {{"tx_bytes", 5}}}}));
  EXPECT_TRUE(rising_efa_health_counters(deltas).empty());
}

TEST(EfaSysfs, HealthCountersArePlatformsMdList) {
  // platforms.md: "Health (a rise during a test is a finding)"; retransmissions included.
  const auto& health = efa_health_counter_names();
  EXPECT_EQ(health.size(), 8U);
  for (const char* name :
       {"rx_drops", "rdma_read_wr_err", "rdma_write_wr_err", "retrans_bytes", "retrans_pkts",
        "retrans_timeout_events", "unresponsive_remote_events", "impaired_remote_conn_events"}) {
    EXPECT_NE(std::find(health.begin(), health.end(), name), health.end()) << name;
  }
  // A drop of a counter (reset) is not a rise.
  EXPECT_TRUE(rising_efa_health_counters({{"rdmap0", {{"rx_drops", -5}}}}).empty());
}

}  // namespace
}  // namespace preflight
