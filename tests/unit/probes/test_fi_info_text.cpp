// fi_info output as collected on real nodes (the shared corpus, skipped when absent) and as the
// fixture trees record it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/efa_sysfs.hpp"
#include "probe_test_support.hpp"
#include "probes/fi_info_text.hpp"

namespace preflight::probes {
namespace {

std::string read_corpus(const std::string& name) {
  const auto path = std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus" / "fi-info" / name;
  std::ifstream stream(path);
  std::ostringstream text;
  text << stream.rdbuf();
  return text.str();
}

bool corpus_present() {
  return std::filesystem::exists(std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus" /
                                 "fi-info");
}

std::vector<std::string> domains(const FiInfoText& parsed) {
  std::vector<std::string> names;
  for (const FiInfoRecord& record : parsed.records) {
    names.push_back(record.domain);
  }
  return names;
}

TEST(FiInfoText, ShortRecordsWithAPromptLine) {
  if (!corpus_present()) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const FiInfoText p4de = parse_fi_info_text(read_corpus("p4de-fi_info-p-efa-t-rdm-4dev-v119.txt"));
  EXPECT_EQ(domains(p4de), (std::vector<std::string>{"rdmap16s27-rdm", "rdmap32s27-rdm",
                                                     "rdmap144s27-rdm", "rdmap160s27-rdm"}));
  for (const FiInfoRecord& record : p4de.records) {
    EXPECT_EQ(record.provider, "efa");
    EXPECT_EQ(record.fabric, "efa");
    EXPECT_EQ(record.version, "119.0");
    EXPECT_EQ(record.type, "FI_EP_RDM");
    EXPECT_EQ(record.protocol, "FI_PROTO_EFA");
    EXPECT_TRUE(record.tag.empty());
  }
  // libfabric 1.11: one fabric per NIC, named after its link-local address.
  const FiInfoText p4d =
      parse_fi_info_text(read_corpus("p4d-fi_info-p-efa-t-rdm-4dev-v111.20-fabric-EFA-fe80.txt"));
  ASSERT_EQ(p4d.records.size(), 4U);
  EXPECT_EQ(p4d.records[0].fabric, "EFA-fe80::10d8:baff:fec9:6c1");
  EXPECT_EQ(p4d.records[3].version, "111.20");
  EXPECT_EQ(efa_device_of_domain(p4d.records[3].domain), "rdmap160s27");
}

TEST(FiInfoText, OldNamesDatagramAndLayeredEntries) {
  if (!corpus_present()) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const FiInfoText parsed =
      parse_fi_info_text(read_corpus("fi_info-p-efa-libfabric-1.9-era-efa_0.txt"));
  ASSERT_EQ(parsed.records.size(), 3U);
  EXPECT_EQ(parsed.records[1].type, "FI_EP_DGRAM");
  EXPECT_EQ(parsed.records[2].provider, "efa;ofi_rxd");
  EXPECT_EQ(parsed.records[2].protocol, "FI_PROTO_RXD");
  EXPECT_EQ(efa_device_of_domain(parsed.records[0].domain), "efa_0");
}

TEST(FiInfoText, MpirunTagsIndentationWarningsAndElisions) {
  if (!corpus_present()) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const FiInfoText g4dn =
      parse_fi_info_text(read_corpus("g4dn-metal-fi_info-p-efa-mpirun-tag.txt"));
  ASSERT_EQ(g4dn.records.size(), 2U);
  EXPECT_EQ(g4dn.records[0].tag, "[1,1]");
  EXPECT_EQ(g4dn.records[1].tag, "[1,0]");
  EXPECT_EQ(g4dn.records[1].domain, "rdmap197s0-rdm");
  EXPECT_EQ(g4dn.records[1].version, "116.10");
  EXPECT_FALSE(g4dn.elided);
  const FiInfoText p5 =
      parse_fi_info_text(read_corpus("p5-48xl-fi_info-p-efa-mpirun-tag-indented.txt"));
  ASSERT_EQ(p5.records.size(), 2U);
  EXPECT_EQ(p5.records[0].domain, "rdmap79s0-rdm");
  EXPECT_EQ(p5.records[1].domain, "rdmap201s0-rdm");
  EXPECT_EQ(p5.records[1].version, "120.10");
  EXPECT_TRUE(p5.elided) << "the '...' line says devices were cut: never count them";
}

TEST(FiInfoText, VerboseRecordsOfLibfabric2) {
  if (!corpus_present()) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const FiInfoText parsed =
      parse_fi_info_text(read_corpus("fi_info-efa-verbose-rdm-dgram-libfabric2.txt"));
  ASSERT_EQ(parsed.records.size(), 2U);
  const FiInfoRecord& rdm = parsed.records[0];
  EXPECT_EQ(rdm.provider, "efa");
  EXPECT_EQ(rdm.fabric, "efa");
  EXPECT_EQ(rdm.domain, "rdmap70s0-rdm");
  EXPECT_EQ(rdm.version, "200.0");
  EXPECT_EQ(rdm.api_version, "2.0");
  EXPECT_EQ(rdm.type, "FI_EP_RDM");
  EXPECT_EQ(rdm.cq_data_size, 4U);  // efa carries 4 bytes of CQ data
  EXPECT_EQ(rdm.inject_size, 4096U);
  EXPECT_EQ(rdm.max_msg_size, 18446744073709551615ULL);
  EXPECT_EQ(rdm.device_id, "0xefa1");  // not fi_pci_attr's device_id: 0
  EXPECT_EQ(rdm.device_name, "rdmap70s0");
  EXPECT_EQ(rdm.link_speed_bps, 25000000000ULL);
  EXPECT_EQ(rdm.link_state, "FI_LINK_UP");
  EXPECT_EQ(rdm.mr_mode, "FI_MR_LOCAL|FI_MR_VIRT_ADDR|FI_MR_ALLOCATED|FI_MR_PROV_KEY|FI_MR_HMEM");
  EXPECT_NE(std::find(rdm.caps.begin(), rdm.caps.end(), "FI_RMA"), rdm.caps.end());
  const FiInfoRecord& dgram = parsed.records[1];
  EXPECT_EQ(dgram.type, "FI_EP_DGRAM");
  EXPECT_EQ(dgram.domain, "rdmap70s0-dgrm");
  EXPECT_EQ(dgram.inject_size, 0U);
  EXPECT_EQ(dgram.max_msg_size, 8928U);
}

TEST(FiInfoText, VersionAndFailureOutputs) {
  if (!corpus_present()) {
    GTEST_SKIP() << "shared corpus absent";
  }
  const FiInfoText version = parse_fi_info_text(read_corpus("fi_info-version-1.19.0amzn3.0.txt"));
  EXPECT_EQ(version.fi_info_version, "1.19.0amzn3.0");
  EXPECT_EQ(version.libfabric_version, "1.19.0amzn3.0");
  EXPECT_EQ(version.api_version, "1.19");
  EXPECT_TRUE(version.records.empty());
  const FiInfoText failure = parse_fi_info_text(read_corpus("fi_info-failure-fi_getinfo-61.txt"));
  EXPECT_EQ(failure.getinfo_error, -61);
  EXPECT_TRUE(failure.records.empty());
}

TEST(FiInfoText, RecordedFixtureAndHostileInput) {
  std::ifstream stream(testing::sysfs_fixture("p5-healthy") / "preflight" / "fi_info.txt");
  std::ostringstream text;
  text << stream.rdbuf();
  const FiInfoText parsed = parse_fi_info_text(text.str());
  EXPECT_EQ(parsed.libfabric_version, "2.0.0amzn1.0");
  EXPECT_EQ(parsed.records.size(), 32U);
  // Nothing to find, truncated records, CRLF line ends: no crash, nothing invented.
  EXPECT_TRUE(parse_fi_info_text("").records.empty());
  EXPECT_TRUE(parse_fi_info_text("fabric: efa\n    domain: x-rdm\n").records.empty());
  const FiInfoText crlf = parse_fi_info_text("provider: efa\r\n    domain: rdmap1s0-rdm\r\n");
  ASSERT_EQ(crlf.records.size(), 1U);
  EXPECT_EQ(crlf.records[0].domain, "rdmap1s0-rdm");
  EXPECT_FALSE(parse_fi_info_text("fi_getinfo: nonsense").getinfo_error.has_value());
}

}  // namespace
}  // namespace preflight::probes
