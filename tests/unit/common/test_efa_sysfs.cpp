#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/efa_sysfs.hpp"
#include "common/findings.hpp"

namespace preflight {
namespace {

const std::string kFixtures = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/";

TEST(EfaSysfs, EfaIsAmazonVendorAndAnEfaDeviceId) {
  EXPECT_TRUE(is_efa_pci_device(0x1d0f, 0xefa0));
  EXPECT_TRUE(is_efa_pci_device(0x1d0f, 0xefa3));
  EXPECT_FALSE(is_efa_pci_device(0x1d0f, 0xec20));  // ENA: Amazon, not EFA
  EXPECT_FALSE(is_efa_pci_device(0x15b3, 0xefa1));  // a ConnectX with a coincidental id
}

// The efa driver's table goes to 0xefa4 (it stopped at 0xefa3 here, miscounting newer devices);
// an id of the family the table does not know yet is still an EFA device.
TEST(EfaSysfs, DeviceIdTableIncludesEfa4AndTheFamilyBeyond) {
  EXPECT_TRUE(is_efa_pci_device(0x1d0f, 0xefa4));
  EXPECT_TRUE(is_efa_pci_device(0x1d0f, 0xefa5));
  EXPECT_FALSE(is_efa_pci_device(0x1d0f, 0xefb0));
  ASSERT_TRUE(find_efa_device_id(0xefa4).has_value());
  EXPECT_FALSE(find_efa_device_id(0xefa5).has_value());
  std::vector<std::uint32_t> ids;
  for (const EfaDeviceId& entry : efa_device_ids()) {
    ids.push_back(entry.id);
  }
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{0xefa0, 0xefa1, 0xefa2, 0xefa3, 0xefa4}));
  // libfabric keeps device RDMA off below API 1.18 on the first two only.
  EXPECT_TRUE(find_efa_device_id(0xefa0)->device_rdma_off_below_api_1_18);
  EXPECT_TRUE(find_efa_device_id(0xefa1)->device_rdma_off_below_api_1_18);
  EXPECT_FALSE(find_efa_device_id(0xefa2)->device_rdma_off_below_api_1_18);
}

TEST(EfaSysfs, SetupCountersLiveInPortOneBeforeTheKernelSplitThem) {
  const RootFs split(kFixtures + "p4d-healthy");
  EXPECT_EQ(efa_setup_counter_directory(split, "rdmap16s27"),
            "/sys/class/infiniband/rdmap16s27/hw_counters");
  const RootFs unsplit(kFixtures + "p4d-unsplit-counters");
  EXPECT_EQ(efa_setup_counter_directory(unsplit, "rdmap16s27"),
            "/sys/class/infiniband/rdmap16s27/ports/1/hw_counters");
  EXPECT_EQ(efa_setup_counter_directory(unsplit, "no-such-device"), "");
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

TEST(EfaSysfs, CounterFindingsJudgeRisesAgainstTrafficAndTime) {
  const EfaCounterSnapshot deltas =
      efa_counter_deltas(read_efa_port_counters(RootFs(kFixtures + "p5en-counters-before")),
                         read_efa_port_counters(RootFs(kFixtures + "p5en-counters-after")));
  // rdmap166s0: 1843 drops among millions of packets received is no finding; 17 retransmit
  // timeouts and 3 unresponsive remotes in a 60 s test are, as monitor (other jobs' peers count).
  std::vector<EfaCounterFinding> findings = efa_counter_findings(deltas, 60.0);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].id, "EFA_ERROR_COUNTERS_RISING");
  EXPECT_EQ(findings[0].device, "rdmap166s0");
  EXPECT_EQ(findings[0].rises,
            (EfaCounterMap{{"retrans_timeout_events", 17}, {"unresponsive_remote_events", 3}}));
  EXPECT_EQ(findings[0].message(),
            "EFA rdmap166s0 error counters rose: retrans_timeout_events +17, "
            "unresponsive_remote_events +3 in 60 s");
  EXPECT_EQ(finding_status("EFA_ERROR_COUNTERS_RISING"), Status::warn);
  // Over ten minutes 17 timeouts are above one a minute, 3 unresponsive remotes below; over an
  // hour neither is.
  findings = efa_counter_findings(deltas, 600.0);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].rises, (EfaCounterMap{{"retrans_timeout_events", 17}}));
  EXPECT_TRUE(efa_counter_findings(deltas, 3600.0).empty());
}

TEST(EfaSysfs, RetransmitsAreAFindingOnlyAsALargeShareOfTheTraffic) {
  // SRD retransmits under congestion: 0.5% of the packets sent is normal, 2% is a finding.
  const EfaCounterSnapshot congested{
      {"rdmap0", {{"tx_pkts", 1'000'000}, {"retrans_pkts", 5'000}, {"retrans_bytes", 40'960'000}}}};
  EXPECT_TRUE(efa_counter_findings(congested, 10.0).empty());
  const EfaCounterSnapshot lossy{
      {"rdmap0", {{"tx_pkts", 1'000'000}, {"retrans_pkts", 20'000}, {"retrans_bytes", 1}}}};
  const auto findings = efa_counter_findings(lossy, 10.0);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].id, "EFA_RETRANSMITS_HIGH");
  EXPECT_EQ(findings[0].detail, "retrans_pkts +20000 (2.00% of 1000000 sent packets)");
  EXPECT_EQ(finding_status("EFA_RETRANSMITS_HIGH"), Status::warn);
  // A handful of retransmits with no traffic counter is below the floor.
  EXPECT_TRUE(efa_counter_findings({{"rdmap0", {{"retrans_pkts", 12}}}}, 10.0).empty());
}

TEST(EfaSysfs, FailedRdmaWorkRequestsIsolateTheDevice) {
  const auto findings = efa_counter_findings(
      {{"rdmap0", {{"rdma_read_wr_err", 2}, {"tx_pkts", 1'000'000}}}}, std::nullopt);
  ASSERT_EQ(findings.size(), 1U);
  EXPECT_EQ(findings[0].id, "EFA_RDMA_WR_ERRORS");
  EXPECT_EQ(findings[0].message(), "EFA rdmap0 RDMA work requests failed: rdma_read_wr_err +2");
  EXPECT_EQ(finding_status("EFA_RDMA_WR_ERRORS"), Status::fail);
  // Drops with no packet counter are judged on the floor alone.
  const auto drops = efa_counter_findings({{"rdmap1", {{"rx_drops", 500}}}}, std::nullopt);
  ASSERT_EQ(drops.size(), 1U);
  EXPECT_EQ(drops[0].detail, "rx_drops +500");
}

TEST(EfaSysfs, HealthCountersArePlatformsMdList) {
  // docs/platform-rules.md: "Health (a rise during a test is a finding)"; retransmissions included.
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
