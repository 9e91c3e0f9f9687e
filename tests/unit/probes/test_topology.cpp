#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "probe_test_support.hpp"
#include "probes/gather_topology.hpp"
#include "probes/judge_topology.hpp"
#include "probes/topology_probe.hpp"
#include "reports/json_schema.hpp"

namespace preflight::probes {
namespace {

using testing::find_check;
using testing::ids;
using testing::options_for;
using testing::sysfs_fixture;
using testing::TempRoot;
using testing::topology_fixture;

TopologyRun run_xml(const std::string& file, const std::string& instance_type = {}) {
  TopologyOptions options;
  options.probe = options_for("/", instance_type);
  options.hwloc_xml = topology_fixture(file).string();
  return run_topology(options);
}

TopoDevice device_at(std::vector<PathHop> path, int numa) {
  TopoDevice device;
  device.path = std::move(path);
  device.numa_node = numa;
  return device;
}

TEST(Distance, Classes) {
  const PathHop host{"hb0", HopKind::host_bridge};
  const PathHop host1{"hb1", HopKind::host_bridge};
  const PathHop host2{"hb2", HopKind::host_bridge};
  const PathHop sw{"sw", HopKind::bridge};
  const PathHop ds_a{"dsA", HopKind::bridge};
  const PathHop ds_b{"dsB", HopKind::bridge};
  const PathHop inner{"inner", HopKind::bridge};
  // Both on the switch's own bus, or one downstream port each: one switch.
  EXPECT_EQ(classify_distance(device_at({host, sw}, 0), device_at({host, sw}, 0)), Distance::pix);
  EXPECT_EQ(classify_distance(device_at({host, sw, ds_a}, 0), device_at({host, sw, ds_b}, 0)),
            Distance::pix);
  // A second switch below one side: several bridges.
  EXPECT_EQ(
      classify_distance(device_at({host, sw, ds_a, inner}, 0), device_at({host, sw, ds_b}, 0)),
      Distance::pxb);
  EXPECT_EQ(classify_distance(device_at({host, sw}, 0), device_at({host, ds_a}, 0)), Distance::phb);
  EXPECT_EQ(classify_distance(device_at({host1, sw}, 0), device_at({host, ds_a}, 0)),
            Distance::node);
  EXPECT_EQ(classify_distance(device_at({host2, sw}, 1), device_at({host, ds_a}, 0)),
            Distance::sys);
  // Unknown paths: NUMA only.
  EXPECT_EQ(classify_distance(device_at({}, 0), device_at({host, ds_a}, 0)), Distance::node);
  EXPECT_EQ(classify_distance(device_at({}, 1), device_at({}, 0)), Distance::sys);
  EXPECT_TRUE(is_local(Distance::pxb));
  EXPECT_FALSE(is_local(Distance::phb));
}

struct FixtureCase {
  const char* file;
  std::vector<std::string> expected;
};

TEST(TopologyFixtures, EachYieldsExactlyItsFindings) {
  const std::vector<FixtureCase> cases{
      {"p4d.xml", {}},
      {"p5.xml", {}},
      {"p5en.xml", {}},
      {"p4d-missing-efa.xml", ids({"EFA_COUNT_MISMATCH", "EFA_PER_GPU_MISMATCH"})},
      {"p4d-efa-wrong-socket.xml", ids({"GPU_NIC_CROSS_NUMA", "EFA_PER_GPU_MISMATCH"})},
      {"p5-efa-wrong-socket.xml", ids({"GPU_NIC_CROSS_NUMA", "EFA_PER_GPU_MISMATCH"})},
      {"p5en-efa-wrong-socket.xml", ids({"GPU_NIC_CROSS_NUMA", "EFA_PER_GPU_MISMATCH"})},
      {"p5en-link-downtrained.xml", ids({"PCIE_LINK_DOWNTRAINED"})},
  };
  for (const auto& test_case : cases) {
    const TopologyRun run = run_xml(test_case.file);
    EXPECT_EQ(fired_ids(run.report.checks), test_case.expected)
        << test_case.file << ": " << run.report.verdict.summary;
    EXPECT_EQ(run.facts.gpus.size(), 8U) << test_case.file;
    EXPECT_FALSE(run.report.inventory.instance_type.empty()) << test_case.file;
    EXPECT_TRUE(reports::report_schema().validate(nlohmann::json(run.report)).empty())
        << test_case.file;
  }
}

struct WrongSocketCase {
  const char* file;
  const char* instance_type;
  std::size_t efa_count;
  const char* gpu;         // a GPU that lost its local NIC
  const char* remote_efa;  // the NIC on the other socket it is given instead
};

// A NIC on the wrong socket fails acceptance on every platform: the run's verdict is fail
// (exit 1), and both placement findings fail with the GPU and the remote NIC named.
TEST(TopologyFixtures, NicOnTheWrongSocketFailsAcceptance) {
  const std::vector<WrongSocketCase> cases{
      {"p4d-efa-wrong-socket.xml", "p4d.24xlarge", 4, "nvml0", "rdmap144s30"},
      {"p5-efa-wrong-socket.xml", "p5.48xlarge", 32, "nvml1", "rdmap169s0"},
      {"p5en-efa-wrong-socket.xml", "p5en.48xlarge", 16, "nvml1", "rdmap167s0"},
  };
  for (const auto& test_case : cases) {
    const TopologyRun run = run_xml(test_case.file);
    EXPECT_EQ(run.report.inventory.instance_type, test_case.instance_type) << test_case.file;
    EXPECT_EQ(run.facts.efa.size(), test_case.efa_count) << test_case.file;
    EXPECT_EQ(run.report.verdict.status, Status::fail) << test_case.file;
    EXPECT_EQ(run.report.verdict.exit_code, 1) << test_case.file;
    EXPECT_EQ(find_check(run.report.checks, "GPU_NIC_CROSS_NUMA", Status::warn), nullptr);
    EXPECT_EQ(find_check(run.report.checks, "EFA_PER_GPU_MISMATCH", Status::warn), nullptr);
    const auto* cross = find_check(run.report.checks, "GPU_NIC_CROSS_NUMA", Status::fail);
    ASSERT_NE(cross, nullptr) << test_case.file;
    EXPECT_NE(cross->message.find(test_case.remote_efa), std::string::npos) << cross->message;
    EXPECT_NE(cross->message.find(test_case.gpu), std::string::npos) << cross->message;
    const auto* short_of_nics = find_check(run.report.checks, "EFA_PER_GPU_MISMATCH", Status::fail);
    ASSERT_NE(short_of_nics, nullptr) << test_case.file;
    EXPECT_NE(short_of_nics->message.find(test_case.gpu), std::string::npos)
        << short_of_nics->message;
    // The count is intact: only the placement is wrong.
    EXPECT_NE(find_check(run.report.checks, "EFA_COUNT_MISMATCH", Status::pass), nullptr)
        << test_case.file;
  }
}

TEST(TopologyFixtures, NamedCulprits) {
  const TopologyRun link = run_xml("p5en-link-downtrained.xml");
  const auto* slow = find_check(link.report.checks, "PCIE_LINK_DOWNTRAINED", Status::warn);
  ASSERT_NE(slow, nullptr);
  EXPECT_NE(slow->message.find("0000:83:00.0"), std::string::npos) << slow->message;
}

TEST(TopologyFixtures, P4dMapsEveryGpuToTheEfaBehindItsSwitch) {
  const TopologyRun run = run_xml("p4d.xml", "p4d.24xlarge");
  ASSERT_EQ(run.facts.gpus.size(), 8U);
  ASSERT_EQ(run.facts.efa.size(), 4U);
  EXPECT_EQ(run.facts.pcie_switches, 4);
  EXPECT_EQ(run.facts.numa_nodes, 2);
  const auto& suggested = run.report.details.at("topology").at("suggested_nic_per_local_rank");
  ASSERT_EQ(suggested.size(), 8U);
  for (std::size_t g = 0; g < 8; ++g) {
    const auto& placement = run.analysis.gpus[g];
    ASSERT_EQ(placement.assigned.size(), 1U) << g;
    const EfaLink& link = placement.assigned.front();
    EXPECT_TRUE(link.distance == Distance::pix || link.distance == Distance::pxb) << g;
    // GPU 10:1c.0 and 10:1d.0 share the EFA 10:1b.0: same bus, same switch.
    EXPECT_EQ(run.facts.efa[link.efa].pci_bus_id.substr(0, 7),
              run.facts.gpus[g].pci_bus_id.substr(0, 7))
        << g;
    EXPECT_EQ(suggested[g].at("efa").at(0), run.facts.efa[link.efa].name);
  }
  const std::string matrix = render_topology_matrix(run.facts, run.analysis);
  EXPECT_NE(matrix.find("GPU0    PIX    NODE   SYS    SYS    0"), std::string::npos) << matrix;
  EXPECT_NE(matrix.find("NIC0: rdmap16s27 (0000:10:1b.0, NUMA 0)"), std::string::npos);
}

TEST(TopologyFixtures, P5enTwoEfaPerGpu) {
  const TopologyRun run = run_xml("p5en.xml");
  EXPECT_EQ(run.report.inventory.instance_type, "p5en.48xlarge");  // from the XML's DMI record
  for (const auto& placement : run.analysis.gpus) {
    EXPECT_EQ(placement.local.size(), 2U);
  }
  EXPECT_EQ(run.facts.nvswitches.size(), 4U);
}

TEST(TopologyInputs, NotHwlocXmlIsAUsageErrorNamingTheFile) {
  const TempRoot root;
  root.write("nccl-topo.xml", "<system version=\"1\"><cpu numaid=\"0\"/></system>\n");
  try {
    (void)gather_topology_xml_file(root.path() / "nccl-topo.xml");
    FAIL() << "accepted an NCCL topology file";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("nccl-topo.xml"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)gather_topology_xml_file(root.path() / "missing.xml"), UsageError);
}

TEST(TopologyInputs, Hwloc3XmlIsDowngraded) {
  const std::string v3 =
      "<topology version=\"3.0\">\n<object type=\"OSDev\" osdev_type=\"48\"/>"
      "<object type=\"OSDev\" osdev_type=\"12\"/><object type=\"OSDev\" osdev_type=\"1\"/>";
  const std::string v2 = downgrade_hwloc3_xml(v3);
  EXPECT_NE(v2.find("<topology version=\"2.0\">"), std::string::npos);
  EXPECT_NE(v2.find("osdev_type=\"3\""), std::string::npos);
  EXPECT_NE(v2.find("osdev_type=\"5\""), std::string::npos);
  EXPECT_NE(v2.find("osdev_type=\"0\""), std::string::npos);
  const std::string already = "<topology version=\"2.0\"> osdev_type=\"3\"";
  EXPECT_EQ(downgrade_hwloc3_xml(already), already);
}

// The sysfs walk: PCI paths from the links of /sys/bus/pci/devices.
TEST(TopologySysfs, PathsFromLinks) {
  const TempRoot root;
  struct Function {
    std::string path;  // under sys/devices
    std::string cls;
    std::string vendor;
    std::string device;
    int numa;
  };
  const std::vector<Function> functions{
      {"pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0", "0x030200", "0x10de",
       "0x2330", 0},
      {"pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:04:00.0", "0x020000", "0x1d0f",
       "0xefa1", 0},
      {"pci0000:00/0000:00:05.0/0000:05:00.0", "0x020000", "0x1d0f", "0xefa1", 0},
      {"pci0000:80/0000:80:01.0/0000:81:00.0", "0x020000", "0x1d0f", "0xefa1", 1},
  };
  for (const auto& function : functions) {
    const std::string dir = "sys/devices/" + function.path;
    root.write(dir + "/class", function.cls + "\n");
    root.write(dir + "/vendor", function.vendor + "\n");
    root.write(dir + "/device", function.device + "\n");
    root.write(dir + "/numa_node", std::to_string(function.numa) + "\n");
    const std::string address = function.path.substr(function.path.rfind('/') + 1);
    root.link("sys/bus/pci/devices/" + address, "../../../devices/" + function.path);
  }
  root.write(
      "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0/0000:03:00.0/"
      "current_link_width",
      "16\n");
  root.link("sys/class/infiniband/rdmap4s0/device",
            "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:04:00.0");
  const TopologyFacts facts = gather_topology_sysfs(RootFs(root.path()));
  ASSERT_EQ(facts.gpus.size(), 1U);
  ASSERT_EQ(facts.efa.size(), 3U);
  EXPECT_EQ(facts.efa[0].name, "rdmap4s0");
  EXPECT_EQ(facts.numa_nodes, 2);
  const TopologyAnalysis analysis = analyse_topology(facts, nullptr);
  EXPECT_EQ(analysis.matrix[0][0], Distance::pix);  // same switch, two downstream ports
  EXPECT_EQ(analysis.matrix[0][1], Distance::phb);  // another root port of the same host bridge
  EXPECT_EQ(analysis.matrix[0][2], Distance::sys);  // the other socket
}

TEST(TopologySysfs, FixtureTreeWithoutPciInventory) {
  const TopologyFacts facts = gather_topology_sysfs(RootFs(sysfs_fixture("p5en-healthy")));
  EXPECT_FALSE(facts.gpus_known);
  EXPECT_EQ(facts.efa.size(), 16U);
  EXPECT_EQ(facts.numa_nodes, 2);
  TopologyOptions options;
  options.probe = options_for(sysfs_fixture("p5en-healthy"));
  const TopologyRun run = run_topology(options);
  EXPECT_TRUE(fired_ids(run.report.checks).empty()) << run.report.verdict.summary;
  EXPECT_NE(find_check(run.report.checks, "EFA_COUNT_MISMATCH", Status::pass), nullptr);
  EXPECT_NE(find_check(run.report.checks, "GPU_COUNT_MISMATCH", Status::skip), nullptr);

  options.probe = options_for(sysfs_fixture("p5en-missing-device"));
  EXPECT_EQ(fired_ids(run_topology(options).report.checks), ids({"EFA_COUNT_MISMATCH"}));
}

TEST(TopologyLive, RunsHere) {
  TopologyOptions options;
  options.probe = options_for("/");
  const TopologyRun run = run_topology(options);
  EXPECT_TRUE(run.report.verdict.exit_code == 0 || run.report.verdict.exit_code == 1 ||
              run.report.verdict.exit_code == 3);
  if (run.facts.gpus.empty() && run.facts.efa.empty()) {
    EXPECT_EQ(run.report.verdict.exit_code, 3) << run.report.verdict.summary;
  }
}

// Real-world hwloc exports (hwloc's own test files, XML v3.0) load through the same path:
// converted to 2.x, GPUs and RDMA NICs counted, nothing crashes.
TEST(TopologyCorpus, HwlocTestFiles) {
  const std::filesystem::path corpus =
      std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus" / "topology";
  if (!std::filesystem::exists(corpus)) {
    GTEST_SKIP() << corpus << " absent";
  }
  const auto load = [&](const std::string& name) {
    std::ifstream stream(corpus / name);
    std::string first_line;
    std::getline(stream, first_line);  // "# source: ..."
    std::ostringstream rest;
    rest << stream.rdbuf();
    return gather_topology_xml_text(rest.str(), name);
  };
  const TopologyFacts server = load("hwloc-test-32em64t-2n8c2t-pci-normalio.xml.txt");
  EXPECT_EQ(server.gpus.size(), 3U);        // 3x 10de:1094; the Matrox and AMD VGA are not NVIDIA
  EXPECT_EQ(server.other_rdma.size(), 1U);  // mlx5_0
  EXPECT_TRUE(server.efa.empty());
  EXPECT_EQ(server.numa_nodes, 2);
  EXPECT_FALSE(server.notes.empty());  // converted from 3.0

  const TopologyFacts dgx2 = load("hwloc-test-nvidiaDGX2.xml.txt");
  EXPECT_EQ(dgx2.gpus.size(), 16U);
  EXPECT_EQ(dgx2.product_name, "NVIDIA DGX-2H");
  EXPECT_TRUE(dgx2.efa.empty());

  // NCCL topology files are another format: a usage error, never a crash.
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("aws-ofi-nccl-", 0) == 0 || name.rfind("azurehpc-", 0) == 0) {
      EXPECT_THROW((void)load(name), UsageError) << name;
    }
  }
}

}  // namespace
}  // namespace preflight::probes
