#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "probe_test_support.hpp"
#include "probes/efa_counters.hpp"
#include "probes/efa_driver.hpp"
#include "probes/efa_probe.hpp"
#include "probes/gather_efa.hpp"
#include "probes/judge_efa.hpp"

namespace preflight::probes {
namespace {

using testing::find_check;
using testing::ids;
using testing::options_for;
using testing::sysfs_fixture;
using testing::TempRoot;

EfaRun run_fixture(const std::string& name, const std::string& baseline = {},
                   const std::string& save = {}) {
  EfaOptions options;
  options.probe = options_for(sysfs_fixture(name));
  options.baseline_counters = baseline;
  options.save_counters = save;
  return run_efa(options);
}

TEST(EfaParsers, Rate) {
  EXPECT_EQ(parse_rate_gbps("200 Gb/sec (4X HDR)"), 200.0);
  EXPECT_EQ(parse_rate_gbps("100 Gb/sec (4X EDR)"), 100.0);
  EXPECT_EQ(parse_rate_gbps("25 Gb/sec (1X EDR)"), 25.0);
  EXPECT_FALSE(parse_rate_gbps("unknown").has_value());
}

TEST(EfaFixtures, EachYieldsExactlyItsFindings) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases{
      {"p5en-healthy", {}},
      {"p4d-healthy", {}},
      {"p5-healthy", {}},
      {"p6-b200-healthy", {}},
      // libfabric 1.17 on p5's 0xefa1: no application can ask for API 1.18.
      {"old-versions", ids({"EFA_DEVICE_RDMA_OFF"})},
      {"p5en-counters-before", {}},
      {"p5en-counters-after", {}},  // without a baseline the rising counters are invisible
      {"p5en-missing-device", ids({"EFA_COUNT_MISMATCH"})},
      {"p5en-port-down", ids({"EFA_PORT_DOWN"})},
      // efa 2.10.0 reports 100 Gb/s on all 16 healthy devices: not judged, not 16 findings.
      {"p5en-old-driver", {}},
      {"p5en-slow-nic", ids({"EFA_PORT_RATE_LOW"})},
      // Setup errors among port 1's counters, where kernels before the split keep them.
      {"p4d-unsplit-counters", ids({"EFA_SETUP_ERRORS"})},
  };
  for (const auto& [name, expected] : cases) {
    const EfaRun run = run_fixture(name);
    EXPECT_EQ(fired_ids(run.report.checks), expected) << name << ": " << run.report.verdict.summary;
  }
}

TEST(EfaFixtures, CountsPortsAndRates) {
  const EfaRun healthy = run_fixture("p5en-healthy");
  ASSERT_EQ(healthy.facts.devices.size(), 16U);
  EXPECT_EQ(healthy.facts.devices.front().pci_bus_id, "0000:55:00.0");
  EXPECT_NE(find_check(healthy.report.checks, "EFA_PORT_RATE_LOW", Status::pass), nullptr);
  EXPECT_NE(find_check(healthy.report.checks, "EFA_SETUP_ERRORS", Status::pass), nullptr);
  EXPECT_NE(find_check(healthy.report.checks, "EFA_ERROR_COUNTERS_RISING", Status::skip), nullptr);
  EXPECT_EQ(healthy.report.inventory.efa.size(), 16U);

  const EfaRun missing = run_fixture("p5en-missing-device");
  EXPECT_EQ(missing.facts.devices.size(), 15U);
  // ACTIVE / LinkUp is what the efa driver always says: no pass claimed on it.
  const auto* active = find_check(healthy.report.checks, "EFA_PORT_DOWN", Status::skip);
  ASSERT_NE(active, nullptr);
  EXPECT_NE(active->message.find("not a health signal"), std::string::npos) << active->message;
  const EfaRun down = run_fixture("p5en-port-down");
  const auto* port = find_check(down.report.checks, "EFA_PORT_DOWN", Status::fail);
  ASSERT_NE(port, nullptr);
  EXPECT_NE(port->message.find("rdmap118s0 port 1 is 1: DOWN / 3: Disabled"), std::string::npos)
      << port->message;
}

TEST(EfaFixtures, AbsentCountersAreAbsentNotZero) {
  const EfaRun run = run_fixture("p4d-healthy");
  ASSERT_EQ(run.facts.devices.size(), 4U);
  for (const EfaDevice& device : run.facts.devices) {
    ASSERT_EQ(device.ports.size(), 1U);
    EXPECT_EQ(device.ports[0].counters.count("rdma_write_bytes"), 0U) << device.name;
    EXPECT_EQ(device.ports[0].counters.count("rdma_read_bytes"), 1U) << device.name;
  }
  const auto& port = run.report.details.at("efa").at("devices").at(0).at("ports").at(0);
  EXPECT_FALSE(port.at("hw_counters").contains("rdma_write_wr_err"));
  const auto absent = port.at("absent_counters").get<std::vector<std::string>>();
  EXPECT_EQ(absent, (std::vector<std::string>{"rdma_write_bytes", "rdma_write_wrs",
                                              "rdma_write_recv_bytes", "rdma_write_wr_err"}));
}

TEST(EfaCounters, RisingErrorCountersBetweenTwoSnapshots) {
  const TempRoot scratch;
  const auto snapshot = scratch.path() / "before.json";
  const EfaRun before = run_fixture("p5en-counters-before", {}, snapshot.string());
  EXPECT_TRUE(std::filesystem::exists(snapshot));
  const EfaRun after = run_fixture("p5en-counters-after", snapshot.string());
  EXPECT_EQ(fired_ids(after.report.checks), ids({"EFA_ERROR_COUNTERS_RISING"}));
  std::vector<const reports::Check*> rising;
  for (const auto& check : after.report.checks) {
    if (check.id == "EFA_ERROR_COUNTERS_RISING" && check.status == Status::warn) {
      rising.push_back(&check);
    }
  }
  // Monitor, not isolate: the path events may be another job's peer. rx_drops +1843 among
  // millions of received packets is below the drop share and not named.
  ASSERT_EQ(rising.size(), 1U);
  EXPECT_EQ(rising[0]->message.rfind("EFA rdmap166s0 error counters rose: "
                                     "retrans_timeout_events +17, unresponsive_remote_events +3",
                                     0),
            0U)
      << rising[0]->message;
  EXPECT_EQ(after.report.verdict.exit_code, 0) << after.report.verdict.summary;
  const auto& deltas = after.report.hw_counters_delta;
  ASSERT_EQ(deltas.size(), 16U);
  EXPECT_EQ(deltas.at("rdmap166s0").at("rx_drops"), 1843);
  EXPECT_EQ(deltas.at("rdmap166s0").at("retrans_pkts"), 0);  // non-zero before and after, equal
  EXPECT_EQ(deltas.at("rdmap85s0").at("rx_drops"), 0);
  EXPECT_GT(deltas.at("rdmap85s0").at("tx_bytes"), 0);
  EXPECT_EQ(deltas.at("rdmap85s0").at("completed_cmds"), 96);
  // The same tree against itself: nothing rose.
  const EfaRun same = run_fixture("p5en-counters-before", snapshot.string());
  EXPECT_TRUE(fired_ids(same.report.checks).empty());
  EXPECT_NE(find_check(same.report.checks, "EFA_ERROR_COUNTERS_RISING", Status::pass), nullptr);
}

TEST(EfaCounters, SnapshotFilesAndResets) {
  const TempRoot scratch;
  CounterSnapshot snapshot{{"rdmap0s6", {{"rx_drops", 5}, {"tx_bytes", 100}}}};
  write_counter_snapshot(scratch.path() / "s.json", snapshot, "2026-01-01T00:00:00Z", "/");
  std::string taken_at;
  EXPECT_EQ(read_counter_snapshot(scratch.path() / "s.json", &taken_at), snapshot);
  EXPECT_EQ(taken_at, "2026-01-01T00:00:00Z");

  const CounterSnapshot now{{"rdmap0s6", {{"rx_drops", 2}, {"tx_bytes", 150}, {"new", 1}}},
                            {"rdmap1s6", {{"rx_drops", 0}}}};
  const auto deltas = counter_deltas(snapshot, now);
  EXPECT_EQ(deltas.deltas.at("rdmap0s6").count("rx_drops"), 0U);  // went down: a reset
  EXPECT_EQ(deltas.reset.at("rdmap0s6"), std::vector<std::string>{"rx_drops"});
  EXPECT_EQ(deltas.deltas.at("rdmap0s6").at("tx_bytes"), 50);
  EXPECT_EQ(deltas.deltas.at("rdmap0s6").count("new"), 0U);  // absent before: no delta
  EXPECT_EQ(deltas.devices_new, std::vector<std::string>{"rdmap1s6"});

  scratch.write("bad.json",
                "{\"schema\": \"preflight.efa-counters/1\", \"devices\": {\"d\": "
                "{\"x\": \"1\"}}}");
  try {
    (void)read_counter_snapshot(scratch.path() / "bad.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/devices/d/x"), std::string::npos) << e.what();
  }
  scratch.write("broken.json", "{\n  \"schema\": ");
  EXPECT_THROW((void)read_counter_snapshot(scratch.path() / "broken.json"), UsageError);
  scratch.write("report.json", "{\"schema\": \"preflight.report/1\"}");
  EXPECT_THROW((void)read_counter_snapshot(scratch.path() / "report.json"), UsageError);
}

std::string read_efa_misc(const std::string& name) {
  std::ifstream stream(std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus" / "efa-misc" / name);
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

// Counters as operators capture them (the shared corpus, skipped when absent) read as snapshots.
TEST(EfaCounterDumps, RdmaStatisticMoreAndNodeExporter) {
  if (!std::filesystem::exists(std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus")) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const CounterSnapshot rdma =
      parse_counter_dump(read_efa_misc("rdma-p-statistic-show-efa-awsdoc-example.txt"));
  ASSERT_EQ(rdma.size(), 1U);
  EXPECT_EQ(rdma.at("rdmap0s31").size(), 21U);
  EXPECT_EQ(rdma.at("rdmap0s31").at("impaired_remote_conn_events"), 0);
  // `more` with banners, the last five entries without their closing banner; lifespan left out.
  const CounterSnapshot more =
      parse_counter_dump(read_efa_misc("hw_counters-more-cat-efa-awsdoc-example.txt"));
  ASSERT_EQ(more.size(), 1U);
  EXPECT_EQ(more.at("rdmap0s31").count("lifespan"), 0U);
  for (const char* name :
       {"rdma_read_bytes", "retrans_bytes", "retrans_pkts", "retrans_timeout_events",
        "unresponsive_remote_events", "impaired_remote_conn_events"}) {
    EXPECT_EQ(more.at("rdmap0s31").count(name), 1U) << name;
  }
  // node_exporter: four p4de devices, floating-point values, a progress meter glued to # HELP.
  const CounterSnapshot exporter =
      parse_counter_dump(read_efa_misc("p4d-class-efa-node-exporter-metrics-from-hw_counters.txt"));
  ASSERT_EQ(exporter.size(), 4U);
  EXPECT_EQ(exporter.at("rdmap144s27").at("rdma_read_bytes"), 1047241117296);
  EXPECT_EQ(exporter.at("rdmap16s27").at("rx_drops"), 0);
  EXPECT_EQ(exporter.at("rdmap16s27").count("info"), 0U);
  EXPECT_EQ(exporter.at("rdmap16s27").count("lifespan"), 0U);
}

TEST(EfaDriver, IbvDevinfoOfAFirstGenerationDevice) {
  if (!std::filesystem::exists(std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus")) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const auto devices = parse_ibv_devinfo(read_efa_misc("ibv_devinfo-efa_0-rdma-core-pr884.txt"));
  ASSERT_EQ(devices.size(), 1U);
  const VerbsAttributes& efa0 = devices.at("efa_0");
  EXPECT_EQ(efa0.vendor_part_id, 0xefa0U);  // 61344
  EXPECT_EQ(efa0.firmware, "0.0.0.0");
  EXPECT_EQ(efa0.port_state, 4);
  EXPECT_FALSE(efa0.rdma_read.has_value());  // ibv_devinfo does not show the efadv caps
  // Recorded in a tree in place of verbs.json.
  const TempRoot root;
  root.write("preflight/ibv_devinfo.txt", read_efa_misc("ibv_devinfo-efa_0-rdma-core-pr884.txt"));
  const auto recorded = read_recorded_verbs(RootFs(root.path()));
  ASSERT_TRUE(recorded.has_value());
  EXPECT_EQ(recorded->at("efa_0").vendor_part_id, 0xefa0U);
}

TEST(EfaCounterDumps, ACaptureServesAsABaseline) {
  const TempRoot scratch;
  scratch.write(
      "before.txt",
      "$ rdma statistic show\n"
      "link rdmap166s0/1 rx_drops 0 retrans_timeout_events 0 unresponsive_remote_events 0 "
      "tx_pkts 100 rx_pkts 100\n");
  EXPECT_EQ(read_counter_snapshot(scratch.path() / "before.txt").at("rdmap166s0").at("tx_pkts"),
            100);
  EfaOptions options;
  options.probe = options_for(testing::sysfs_fixture("p5en-counters-after"));
  options.baseline_counters = (scratch.path() / "before.txt").string();
  const EfaRun run = run_efa(options);
  EXPECT_EQ(fired_ids(run.report.checks), ids({"EFA_ERROR_COUNTERS_RISING"}));
  EXPECT_EQ(run.report.hw_counters_delta.size(), 1U);  // only the device the capture names
  scratch.write("neither.txt", "hello\n");
  EXPECT_THROW((void)read_counter_snapshot(scratch.path() / "neither.txt"), UsageError);
}

TEST(EfaJudge, SetupErrorsRateAndNonEfaDevices) {
  const TempRoot root;
  const auto device = [&](const std::string& name, const std::string& id, const std::string& rate,
                          const std::string& cmds_err) {
    const std::string dir = "sys/class/infiniband/" + name;
    root.write(dir + "/device/vendor", id.empty() ? "0x15b3\n" : "0x1d0f\n");
    root.write(dir + "/device/device", id.empty() ? "0x1021\n" : id + "\n");
    root.write(dir + "/ports/1/state", "4: ACTIVE\n");
    root.write(dir + "/ports/1/phys_state", "5: LinkUp\n");
    root.write(dir + "/ports/1/rate", rate + "\n");
    root.write(dir + "/ports/1/hw_counters/rx_drops", "0\n");
    root.write(dir + "/hw_counters/cmds_err", cmds_err + "\n");
  };
  for (int i = 0; i < 8; ++i) {
    device("rdmap" + std::to_string(i) + "s0", "0xefa3",
           i == 3 ? "200 Gb/sec (4X HDR)" : "400 Gb/sec (4X NDR)", i == 5 ? "7" : "0");
  }
  device("ibp0", "", "400 Gb/sec (4X NDR)", "0");
  device("ibp1", "", "400 Gb/sec (4X NDR)", "0");
  root.write("sys/devices/virtual/dmi/id/product_name", "p6-b200.48xlarge\n");
  EfaOptions options;
  options.probe = options_for(root.path());
  const EfaRun run = run_efa(options);
  EXPECT_EQ(run.facts.devices.size(), 8U);  // the two ibp* devices are not EFA
  EXPECT_EQ(run.facts.other_rdma_devices, (std::vector<std::string>{"ibp0", "ibp1"}));
  // p6-b200 publishes no aggregate rate: the rate is not judged, setup errors are.
  EXPECT_EQ(fired_ids(run.report.checks), ids({"EFA_SETUP_ERRORS"}));
  options.probe.instance_type = "p5.48xlarge";  // 32 x 100 Gb/s expected
  const EfaRun p5 = run_efa(options);
  EXPECT_EQ(fired_ids(p5.report.checks), ids({"EFA_COUNT_MISMATCH", "EFA_SETUP_ERRORS"}));
}

TEST(EfaJudge, UnreadableCountersAreNeitherZeroNorFatal) {
  const TempRoot root;
  const std::string dir = "sys/class/infiniband/rdmap16s27";
  root.write(dir + "/device/vendor", "0x1d0f\n");
  root.write(dir + "/device/device", "0xefa0\n");
  root.write(dir + "/ports/1/state", "4: ACTIVE\n");
  root.write(dir + "/ports/1/phys_state", "5: LinkUp\n");
  root.write(dir + "/ports/1/hw_counters/rx_drops", "N/A\n");
  root.write(dir + "/ports/1/hw_counters/tx_bytes", "1.053429412444e+12\n");
  root.write(dir + "/ports/1/hw_counters/rx_bytes", "");
  root.write(dir + "/ports/1/hw_counters/tx_pkts", "42\n");
  const EfaFacts facts = gather_efa(RootFs(root.path()), EfaGatherOptions{});
  ASSERT_EQ(facts.devices.size(), 1U);
  const EfaPort& port = facts.devices[0].ports.at(0);
  EXPECT_EQ(port.counters, (CounterMap{{"tx_pkts", 42}}));
  EXPECT_EQ(port.unreadable, (std::vector<std::string>{"rx_bytes", "rx_drops", "tx_bytes"}));
  EXPECT_TRUE(fired_ids(judge_efa(facts, nullptr, std::nullopt)).empty());
}

TEST(EfaFixtures, RecordedAnswersStandInForIbverbsAndLibfabric) {
  const EfaRun p4d = run_fixture("p4d-healthy");
  EXPECT_TRUE(p4d.facts.verbs_queried);
  EXPECT_TRUE(p4d.facts.fabric_queried);
  EXPECT_EQ(p4d.facts.libfabric_version, "2.0.0amzn1.0");
  ASSERT_TRUE(p4d.facts.devices.front().verbs.has_value());
  EXPECT_EQ(p4d.facts.devices.front().verbs->vendor_part_id, 0xefa0U);
  EXPECT_EQ(p4d.facts.devices.front().verbs->rdma_write, false);
  EXPECT_NE(find_check(p4d.report.checks, "EFA_RDMA_READ_UNSUPPORTED", Status::pass), nullptr);
  EXPECT_NE(find_check(p4d.report.checks, "EFA_LIBFABRIC_DOMAIN_MISSING", Status::pass), nullptr);
  EXPECT_NE(find_check(p4d.report.checks, "EFA_DEVICE_RDMA_OFF", Status::pass), nullptr);

  const EfaRun old = run_fixture("old-versions");
  const auto* off = find_check(old.report.checks, "EFA_DEVICE_RDMA_OFF", Status::warn);
  ASSERT_NE(off, nullptr);
  EXPECT_NE(off->message.find("32 devices: libfabric API 1.17"), std::string::npos) << off->message;
  EXPECT_NE(off->message.find("0xefa1"), std::string::npos) << off->message;
  EXPECT_EQ(off->evidence.at("devices").size(), 32U);

  // A tree without recorded answers says why nothing was asked.
  const EfaRun bare = run_fixture("p5en-slow-nic");
  EXPECT_FALSE(bare.facts.verbs_queried);
  EXPECT_NE(bare.facts.verbs_reason.find("preflight/verbs.json"), std::string::npos);
}

TEST(EfaFixtures, P6ListsItsConnectXDevicesApart) {
  const EfaRun run = run_fixture("p6-b200-healthy");
  EXPECT_EQ(run.facts.devices.size(), 8U);
  EXPECT_EQ(run.facts.other_rdma_devices, (std::vector<std::string>{"ibp220s0", "ibp221s0"}));
  EXPECT_EQ(run.facts.devices.front().device_id, 0xefa3U);
}

TEST(EfaFixtures, RateJudgedOnlyWhereTheDriverReportsIt) {
  const EfaRun old = run_fixture("p5en-old-driver");
  const auto* rate = find_check(old.report.checks, "EFA_PORT_RATE_LOW", Status::skip);
  ASSERT_NE(rate, nullptr);
  EXPECT_NE(rate->message.find("efa module 2.10.0g (< 2.13.0) reports a fixed 100 Gb/s"),
            std::string::npos)
      << rate->message;
  EXPECT_FALSE(old.report.details.at("efa").at("driver").at("rate_reported_truly").get<bool>());
  const EfaRun slow = run_fixture("p5en-slow-nic");
  const auto* low = find_check(slow.report.checks, "EFA_PORT_RATE_LOW", Status::warn);
  ASSERT_NE(low, nullptr);
  EXPECT_NE(low->message.find("rdmap86s0 port 1 runs at 100 Gb/s"), std::string::npos)
      << low->message;
  const EfaRun unsplit = run_fixture("p4d-unsplit-counters");
  const auto* setup = find_check(unsplit.report.checks, "EFA_SETUP_ERRORS", Status::warn);
  ASSERT_NE(setup, nullptr);
  EXPECT_EQ(setup->message,
            "EFA rdmap32s27 setup error counters are non-zero: reg_mr_err 3, cmds_err 1");
  EXPECT_EQ(setup->evidence.at("location"), "ports/1/hw_counters");
}

TEST(EfaDriver, LinkRateReportingByModuleAndKernel) {
  EXPECT_TRUE(efa_link_rate_reporting("2.13.0g", "6.1.119").truthful);
  EXPECT_TRUE(efa_link_rate_reporting("2.17.3", "").truthful);
  EXPECT_FALSE(efa_link_rate_reporting("2.10.0g", "6.14.0").truthful);  // the module decides
  EXPECT_FALSE(efa_link_rate_reporting("", "6.12.9-generic").truthful);
  EXPECT_TRUE(efa_link_rate_reporting("", "6.13.0-1001-aws").truthful);
  const LinkRateReporting unknown = efa_link_rate_reporting("", "");
  EXPECT_FALSE(unknown.truthful);
  EXPECT_NE(unknown.driver.find("unknown version"), std::string::npos);
  EXPECT_NE(unknown.why.find("neither"), std::string::npos);
}

TEST(EfaDriver, RecordedVerbsAreCheckedAsInput) {
  const TempRoot root;
  root.write("preflight/verbs.json",
             "{\"schema\": \"preflight.efa-verbs/1\", \"devices\": "
             "{\"rdmap0\": {\"fw_ver\": \"1\"}}}");
  try {
    (void)read_recorded_verbs(RootFs(root.path()));
    FAIL() << "a device without vendor_part_id was accepted";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/devices/rdmap0"), std::string::npos) << e.what();
  }
  root.write("preflight/verbs.json", "[]");
  EXPECT_THROW((void)read_recorded_verbs(RootFs(root.path())), UsageError);
  EXPECT_FALSE(read_recorded_verbs(RootFs(root.path() / "nothing")).has_value());
}

TEST(EfaLive, RunsHere) {
  EfaOptions options;
  options.probe = options_for("/");
  const EfaRun run = run_efa(options);
  if (run.facts.devices.empty()) {
    EXPECT_EQ(run.report.verdict.exit_code, 3) << run.report.verdict.summary;
    EXPECT_NE(find_check(run.report.checks, "EFA_ABSENT", Status::skip), nullptr);
  }
}

}  // namespace
}  // namespace preflight::probes
