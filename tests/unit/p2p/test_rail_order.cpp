// The rail order (p2p/rail_order.hpp): on GPU nodes the GPU <-> NIC topology numbers the rails,
// GPU 0's NICs first; elsewhere the devices' names in natural order.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "common/text.hpp"
#include "p2p/rail_order.hpp"

namespace preflight::p2p {
namespace {

std::filesystem::path fixture(const std::string& kind, const std::string& name) {
  return std::filesystem::path(PREFLIGHT_FIXTURES_DIR) / kind / name;
}

RailOrder order_from_xml(const std::string& file, std::vector<std::string> domains) {
  const probes::TopologyFacts facts = probes::gather_topology_xml_file(fixture("topology", file));
  return order_rails(std::move(domains), facts, probes::analyse_topology(facts, nullptr));
}

TEST(RailOrder, DomainDevice) {
  EXPECT_EQ(domain_device("rdmap79s0-rdm"), "rdmap79s0");
  EXPECT_EQ(domain_device("rdmap79s0-dgrm"), "rdmap79s0");
  EXPECT_EQ(domain_device("eth1"), "eth1");
  EXPECT_EQ(domain_device("-rdm"), "-rdm");
}

TEST(RailOrder, P5RailsFollowTheGpusFourNicsEach) {
  // Given in reverse: the topology puts GPU 0's four NICs first, then GPU 1's.
  const RailOrder order =
      order_from_xml("p5.xml", {"rdmap97s0-rdm", "rdmap96s0-rdm", "rdmap82s0-rdm", "rdmap81s0-rdm",
                                "rdmap80s0-rdm", "rdmap79s0-rdm"});
  EXPECT_EQ(order.domains,
            (std::vector<std::string>{"rdmap79s0-rdm", "rdmap80s0-rdm", "rdmap81s0-rdm",
                                      "rdmap82s0-rdm", "rdmap96s0-rdm", "rdmap97s0-rdm"}));
  EXPECT_EQ(order.gpus, (std::vector<std::vector<int>>{{0}, {0}, {0}, {0}, {1}, {1}}));
  EXPECT_NE(order.basis.find("GPU <-> NIC topology"), std::string::npos) << order.basis;
  EXPECT_NE(order.basis.find("6 of 6 devices under a GPU"), std::string::npos) << order.basis;
}

TEST(RailOrder, P4dNicsServeTwoGpus) {
  const RailOrder order = order_from_xml(
      "p4d.xml", {"rdmap160s27-rdm", "rdmap144s27-rdm", "rdmap32s27-rdm", "rdmap16s27-rdm"});
  EXPECT_EQ(order.domains, (std::vector<std::string>{"rdmap16s27-rdm", "rdmap32s27-rdm",
                                                     "rdmap144s27-rdm", "rdmap160s27-rdm"}));
  EXPECT_EQ(order.gpus, (std::vector<std::vector<int>>{{0, 1}, {2, 3}, {4, 5}, {6, 7}}));
}

TEST(RailOrder, TheTopologyNotTheNameDecides) {
  // GPU 0 (lower PCI address) sits behind the switch of the NIC whose name sorts last.
  const probes::PathHop host0{"hb0", probes::HopKind::host_bridge};
  const probes::PathHop host1{"hb1", probes::HopKind::host_bridge};
  const probes::PathHop switch0{"sw0", probes::HopKind::bridge};
  const probes::PathHop switch1{"sw1", probes::HopKind::bridge};
  probes::TopologyFacts facts;
  facts.available = true;
  facts.source = "test";
  const auto device = [](probes::DeviceKind kind, std::string name, std::string bus,
                         std::vector<probes::PathHop> path) {
    probes::TopoDevice d;
    d.kind = kind;
    d.name = std::move(name);
    d.pci_bus_id = std::move(bus);
    d.numa_node = 0;
    d.path = std::move(path);
    return d;
  };
  facts.gpus = {device(probes::DeviceKind::gpu, "nvml0", "0000:10:00.0", {host0, switch0}),
                device(probes::DeviceKind::gpu, "nvml1", "0000:90:00.0", {host1, switch1})};
  facts.efa = {device(probes::DeviceKind::efa, "rdmap16s0", "0000:11:00.0", {host1, switch1}),
               device(probes::DeviceKind::efa, "rdmap200s0", "0000:91:00.0", {host0, switch0}),
               device(probes::DeviceKind::efa, "rdmap300s0", "0000:a1:00.0", {host1})};
  const RailOrder order = order_rails({"rdmap300s0-rdm", "rdmap16s0-rdm", "rdmap200s0-rdm"}, facts,
                                      probes::analyse_topology(facts, nullptr));
  // GPU 0's NIC, GPU 1's, then the one no GPU uses.
  EXPECT_EQ(order.domains,
            (std::vector<std::string>{"rdmap200s0-rdm", "rdmap16s0-rdm", "rdmap300s0-rdm"}));
  EXPECT_EQ(order.gpus, (std::vector<std::vector<int>>{{0}, {1}, {}}));
}

TEST(RailOrder, InterfacesWithoutAGpuGoByName) {
  probes::TopologyFacts facts;
  facts.available = true;
  const RailOrder order =
      order_rails({"eth10", "eth2", "eth1"}, facts, probes::analyse_topology(facts, nullptr));
  EXPECT_EQ(order.domains, (std::vector<std::string>{"eth1", "eth2", "eth10"}));
  EXPECT_NE(order.basis.find("no GPU"), std::string::npos) << order.basis;
  // On a node, tcp's interfaces are not RDMA devices: no topology is read.
  const RailOrder live = order_rails_on_this_node({"eth10", "eth2"}, RootFs("/nonexistent"));
  EXPECT_EQ(live.domains, (std::vector<std::string>{"eth2", "eth10"}));
  EXPECT_NE(live.basis.find("not RDMA devices"), std::string::npos) << live.basis;
}

TEST(RailOrder, ASysfsTreeWithoutGpusOrdersItsRdmaDevicesByName) {
  // The p5 tree holds its 32 EFA devices but no PCI inventory of GPUs: read, and by name.
  const RootFs fs(fixture("sysfs", "p5-healthy"));
  std::vector<std::string> domains;
  for (const auto& entry :
       std::filesystem::directory_iterator(fs.resolve("/sys/class/infiniband"))) {
    domains.push_back(entry.path().filename().string() + "-rdm");
  }
  ASSERT_EQ(domains.size(), 32U);
  const RailOrder order = order_rails_on_this_node(domains, fs);
  ASSERT_EQ(order.domains.size(), 32U);
  EXPECT_TRUE(std::is_sorted(
      order.domains.begin(), order.domains.end(),
      [](const std::string& a, const std::string& b) { return natural_less(a, b); }));
  EXPECT_NE(order.basis.find("no GPU"), std::string::npos) << order.basis;
}

}  // namespace
}  // namespace preflight::p2p
