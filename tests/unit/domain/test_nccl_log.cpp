// The NCCL log judge on every real log of the shared corpus (nccl-debug-logs/ and the nccl-tests
// outputs), plus the line normalisation on each prefix style found there.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/nccl_log.hpp"

namespace preflight {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> corpus_dir() {
  const char* from_environment = std::getenv("PREFLIGHT_SHARED_DIR");  // NOLINT
  const fs::path shared =
      from_environment != nullptr ? fs::path(from_environment) : fs::path(PREFLIGHT_SHARED_DIR);
  const fs::path corpus = shared / "corpus";
  if (!fs::is_directory(corpus / "nccl-debug-logs")) {
    return std::nullopt;
  }
  return corpus;
}

// A corpus file without its first line ("# source: ..."), which is provenance, not log: it may
// quote log lines (shared/corpus/INDEX.md).
std::string read_file(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream text;
  text << stream.rdbuf();
  std::string content = text.str();
  if (content.rfind("# source:", 0) == 0) {
    const auto newline = content.find('\n');
    content.erase(0, newline == std::string::npos ? content.size() : newline + 1);
  }
  return content;
}

// What the judge must say about one corpus file: `judged` false means the log decides nothing;
// `absent` lists ids that must not appear.
struct Expectation {
  bool judged = false;
  std::map<std::string, Status> findings;
  std::vector<std::string> absent;
  std::optional<int> expected_nics;  // the platform's count given to the judge
  std::optional<int> nic_count;      // what the parser must read
  std::optional<std::string> plugin_version;
  std::optional<std::string> nccl_version;
  std::optional<std::string> platform;
  bool efa_unproven = false;  // plugin and provider efa, but no NET channel in the log

  Expectation& finds(const std::string& id, Status status) {
    judged = true;
    findings[id] = status;
    return *this;
  }
  Expectation& unproven() {
    efa_unproven = true;
    return *this;
  }
  Expectation& lacks(std::initializer_list<std::string> ids) {
    absent.insert(absent.end(), ids.begin(), ids.end());
    return *this;
  }
  Expectation& platform_nics(int count) {
    expected_nics = count;
    return *this;
  }
  Expectation& reads_nics(int count) {
    nic_count = count;
    return *this;
  }
  Expectation& plugin(std::string version) {
    plugin_version = std::move(version);
    return *this;
  }
  Expectation& nccl(std::string version) {
    nccl_version = std::move(version);
    return *this;
  }
  Expectation& on(std::string instance) {
    platform = std::move(instance);
    return *this;
  }
};

const std::map<std::string, Expectation>& expectations() {
  static const std::map<std::string, Expectation> table = [] {
    std::map<std::string, Expectation> t;
    // ---- nccl-debug-logs ----
    t["nccl-debug-logs/efa-provider-empty-list-cloudwatch-table-format.txt"]
        .finds("OFI_NCCL_NOT_LOADED", Status::fail)
        .lacks({"NCCL_USES_EFA", "NCCL_FALLBACK_SOCKET"})
        .nccl("2.21.5+cuda12.8");
    t["nccl-debug-logs/g6e-48xl-4pods-ofi-1.16.2-no-gdrdma-fullfile.txt"]
        .finds("NCCL_USES_EFA", Status::pass)
        .finds("NCCL_GDRDMA_OFF", Status::warn)
        .lacks({"OFI_NCCL_NOT_LOADED", "NCCL_FALLBACK_SOCKET", "NCCL_EFA_NIC_COUNT_MISMATCH"})
        .platform_nics(4)
        .reads_nics(4)
        .plugin("1.16.2")
        .nccl("2.27.3+cuda12.9");
    t["nccl-debug-logs/p3dn-ofi-only-efa-provider-supported-socket-fallback.txt"]
        .finds("OFI_NCCL_NOT_LOADED", Status::fail)
        .finds("NCCL_FALLBACK_SOCKET", Status::fail)
        .lacks({"NCCL_USES_EFA"});
    t["nccl-debug-logs/p4d-1node-ofi-1.17.1-init-failed-socket-fallback.txt"]
        .finds("OFI_NCCL_NOT_LOADED", Status::fail)
        .finds("NCCL_FALLBACK_SOCKET", Status::fail)
        .lacks({"NCCL_USES_EFA", "NCCL_GDRDMA_OFF"})
        .platform_nics(4)
        .plugin("1.17.1")
        .nccl("2.27.7+cuda13.0")
        .on("p4d.24xlarge");
    // This plugin does not print the NIC count: nothing to compare, never a mismatch.
    t["nccl-debug-logs/p4d-2node-nccl283-ofi-topo-file-mpirun-tag.txt"]
        .finds("NCCL_USES_EFA", Status::pass)
        .lacks({"NCCL_GDRDMA_OFF", "NCCL_EFA_NIC_COUNT_MISMATCH", "NCCL_FALLBACK_SOCKET",
                "OFI_NCCL_NOT_LOADED"})
        .platform_nics(4)
        .nccl("2.8.3+cuda11.2")
        .on("p4d");
    // Each pod got 1 of the p4d's 4 EFA devices: against the platform that is a mismatch.
    t["nccl-debug-logs/p4d-4pods-1gpu-each-ofi-1.16.2-nccl-2.27.3-gdrdma.txt"]
        .finds("NCCL_USES_EFA", Status::pass)
        .finds("NCCL_EFA_NIC_COUNT_MISMATCH", Status::fail)
        .lacks({"NCCL_GDRDMA_OFF", "NCCL_FALLBACK_SOCKET", "OFI_NCCL_NOT_LOADED"})
        .platform_nics(4)
        .reads_nics(1)
        .plugin("1.16.2")
        .on("p4d.24xlarge");
    t["nccl-debug-logs/p4d-ofi-couldnt-find-optimal-provider-pdsh-prefix.txt"]
        .finds("OFI_NCCL_NOT_LOADED", Status::fail)
        .lacks({"NCCL_USES_EFA", "NCCL_FALLBACK_SOCKET"})
        .on("p4d");
    // Plugin init only, no channel lines: efa was chosen, but nothing shows traffic over it.
    t["nccl-debug-logs/p5en-h200-ofi-found-16-nics-nic-groups-excerpt.txt"]
        .unproven()
        .lacks({"NCCL_USES_EFA", "NCCL_EFA_NIC_COUNT_MISMATCH", "NCCL_GDRDMA_OFF",
                "OFI_NCCL_NOT_LOADED"})
        .platform_nics(16)
        .reads_nics(16);
    // ---- nccl-tests outputs with NCCL INFO lines ----
    t["nccl-tests-text/g4dn-metal-2node-allreduce-mpirun-tag-output.txt"]
        .finds("NCCL_USES_EFA", Status::pass)
        .finds("NCCL_GDRDMA_OFF", Status::warn)
        .lacks({"OFI_NCCL_NOT_LOADED", "NCCL_FALLBACK_SOCKET"})
        .reads_nics(1)
        .plugin("1.5.0aws")
        .nccl("2.12.7+cuda11.4");
    t["nccl-tests-text/h200-efa-1node-net-only-all_reduce-hang-head.txt"].nccl("2.23.4+cuda12.4");
    t["nccl-tests-text/h200-efa-2node-all_reduce-failure-tail-ofi-invalid-comm.txt"];
    t["nccl-tests-text/p4d-2node-allreduce-old-error-col-mpirun-tag.txt"]
        .finds("NCCL_USES_EFA", Status::pass)
        .lacks({"NCCL_GDRDMA_OFF", "NCCL_FALLBACK_SOCKET", "OFI_NCCL_NOT_LOADED"})
        .nccl("2.9.9+cuda11.2");
    return t;
  }();
  return table;
}

void check_file(const fs::path& corpus, const fs::path& path) {
  const std::string name = fs::relative(path, corpus).generic_string();
  SCOPED_TRACE(name);
  const NcclLogFacts facts = parse_nccl_log(read_file(path));
  const auto entry = expectations().find(name);
  if (entry == expectations().end()) {
    // A corpus file without an expectation must carry no NCCL log at all (nccl-tests tables).
    EXPECT_EQ(facts.nccl_lines, 0U) << "new corpus log without an expectation in this test";
    EXPECT_FALSE(judge_nccl_transport(facts, {}).judged);
    return;
  }
  const Expectation& expected = entry->second;
  TransportExpectation platform;
  platform.efa_nics = expected.expected_nics;
  platform.platform = expected.platform.value_or("");
  const TransportJudgement judgement = judge_nccl_transport(facts, platform);
  EXPECT_EQ(judgement.judged, expected.judged) << judgement.not_judged_reason;
  if (!expected.judged) {
    EXPECT_TRUE(judgement.findings.empty());
    EXPECT_FALSE(judgement.not_judged_reason.empty());
  }
  for (const auto& [id, status] : expected.findings) {
    const TransportFinding* finding = judgement.find(id);
    ASSERT_NE(finding, nullptr) << id;
    EXPECT_EQ(finding->status, status) << id << ": " << finding->message;
    EXPECT_FALSE(finding->message.empty());
  }
  for (const auto& id : expected.absent) {
    EXPECT_FALSE(judgement.has(id)) << id << ": " << judgement.find(id)->message;
  }
  EXPECT_EQ(!judgement.efa_unproven_reason.empty(), expected.efa_unproven)
      << judgement.efa_unproven_reason;
  if (expected.nic_count) {
    EXPECT_EQ(facts.nic_count, expected.nic_count);
  }
  if (expected.plugin_version) {
    EXPECT_EQ(facts.plugin_version, expected.plugin_version);
  }
  if (expected.nccl_version) {
    EXPECT_EQ(facts.nccl_version, expected.nccl_version);
  }
  if (expected.platform) {
    EXPECT_EQ(facts.platform, expected.platform);
  }
}

TEST(NcclLogCorpus, EveryDebugLogAndNcclTestsOutput) {
  const auto corpus = corpus_dir();
  if (!corpus) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  std::size_t files = 0;
  for (const char* folder : {"nccl-debug-logs", "nccl-tests-text"}) {
    for (const auto& entry : fs::directory_iterator(*corpus / folder)) {
      if (entry.is_regular_file() && entry.path().extension() == ".txt") {
        check_file(*corpus, entry.path());
        ++files;
      }
    }
  }
  EXPECT_GE(files, 8U + 16U);
  // Every expectation names a file that exists (a renamed corpus file must not pass silently).
  for (const auto& [name, expectation] : expectations()) {
    EXPECT_TRUE(fs::is_regular_file(*corpus / name)) << name;
  }
}

TEST(NcclLogCorpus, GdrdmaAndSocketEvidence) {
  const auto corpus = corpus_dir();
  if (!corpus) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  const NcclLogFacts g6e = parse_nccl_log(
      read_file(*corpus / "nccl-debug-logs/g6e-48xl-4pods-ofi-1.16.2-no-gdrdma-fullfile.txt"));
  EXPECT_GT(g6e.net_channels, 0U);
  EXPECT_EQ(g6e.gdrdma_channels, 0U);
  EXPECT_EQ(g6e.provider, std::optional<std::string>("efa"));
  EXPECT_EQ(g6e.fabric, std::optional<std::string>("efa"));
  TransportExpectation eight;
  eight.efa_nics = 8;
  eight.platform = "p6-b200.48xlarge";
  const auto mismatch = judge_nccl_transport(g6e, eight);
  ASSERT_TRUE(mismatch.has("NCCL_EFA_NIC_COUNT_MISMATCH"));
  EXPECT_EQ(mismatch.find("NCCL_EFA_NIC_COUNT_MISMATCH")->message,
            "aws-ofi-nccl found 4 EFA NICs, platform p6-b200.48xlarge has 8");

  const NcclLogFacts fallback = parse_nccl_log(
      read_file(*corpus / "nccl-debug-logs/p4d-1node-ofi-1.17.1-init-failed-socket-fallback.txt"));
  ASSERT_TRUE(fallback.socket_evidence.has_value());
  // The decisive line (the comm uses Socket), not the set-up line "NET/Socket : Using [0]ens32".
  EXPECT_NE(fallback.socket_evidence->find("Socket"), std::string::npos);
  EXPECT_EQ(fallback.socket_evidence->find("NET/Socket : Using"), std::string::npos)
      << *fallback.socket_evidence;
  EXPECT_NE(std::find(fallback.networks.begin(), fallback.networks.end(), "Socket"),
            fallback.networks.end());
  const auto judged = judge_nccl_transport(fallback, {});
  EXPECT_NE(judged.find("OFI_NCCL_NOT_LOADED")->message.find("1.17.1"), std::string::npos);

  const NcclLogFacts p4d = parse_nccl_log(
      read_file(*corpus / "nccl-debug-logs/p4d-2node-nccl283-ofi-topo-file-mpirun-tag.txt"));
  EXPECT_GT(p4d.gdrdma_channels, 0U);
  EXPECT_EQ(p4d.gdrdma_channels, p4d.net_channels);
  EXPECT_EQ(p4d.networks, std::vector<std::string>{"AWS Libfabric"});
}

TEST(NcclLog, NormalisesEveryPrefixStyle) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[1,0]<stdout>:host:1:1 [0] NCCL INFO x", "host:1:1 [0] NCCL INFO x"},
      {"    [1,12]<stderr>:   8   2  float", "8   2  float"},
      {"(head, rank=0, pid=3808) [1,0]<stdout>:# nThread 1", "# nThread 1"},
      {"0: #       size", "#       size"},
      {"10.3.35.83: INFO: Function: ofi_init Line: 1076: NET/OFI x",
       "INFO: Function: ofi_init Line: 1076: NET/OFI x"},
      {"[2026-01-02 10:24:27] ip-1:2:3 [2] f():208 NCCL WARN NET/OFI x",
       "ip-1:2:3 [2] f():208 NCCL WARN NET/OFI x"},
      {"  | 2025-05-16T16:39:51.208-07:00 | ip-10:79:79 [0] NCCL INFO cudaDriverVersion 12040",
       "ip-10:79:79 [0] NCCL INFO cudaDriverVersion 12040"},
      {"  | 2025-05-16T16:39:51.208-07:00ip-10:79:79 [0] NCCL INFO Bootstrap : Using eth0 | "
       "ip-10:79:79 [0] NCCL INFO Bootstrap : Using eth0",
       "ip-10:79:79 [0] NCCL INFO Bootstrap : Using eth0"},
      {"ip-172-31-0-112:8166:8166 [7] NCCL INFO NET/IB : No device found.",
       "ip-172-31-0-112:8166:8166 [7] NCCL INFO NET/IB : No device found."},
      {"NCCL version 2.8.3+cuda11.2", "NCCL version 2.8.3+cuda11.2"},
  };
  for (const auto& [raw, normalised] : cases) {
    EXPECT_EQ(normalize_log_line(raw), normalised) << raw;
  }
}

TEST(NcclLog, EmptyAndForeignTextIsNotJudged) {
  EXPECT_FALSE(judge_nccl_transport(parse_nccl_log(""), {}).judged);
  const auto foreign = judge_nccl_transport(parse_nccl_log("hello\nworld: 3\n"), {});
  EXPECT_FALSE(foreign.judged);
  EXPECT_NE(foreign.not_judged_reason.find("NCCL_DEBUG"), std::string::npos);
}

TEST(NcclLog, NonEfaProviderIsAFallback) {
  const std::string log =
      "h:1:1 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.9.0\n"
      "h:1:1 [0] NCCL INFO NET/OFI Selected provider is tcp, fabric is 172.31.0.0/16 (found 1 "
      "nics)\n"
      "h:1:1 [0] NCCL INFO Using network Libfabric\n";
  const auto judgement = judge_nccl_transport(parse_nccl_log(log), {});
  EXPECT_TRUE(judgement.has("NCCL_FALLBACK_SOCKET"));
  EXPECT_FALSE(judgement.has("NCCL_USES_EFA"));
}

// NCCL 2.28 on one node with aws-ofi-nccl: "Using network Libfabric" and "Selected provider is
// efa" come at every init, yet every channel is P2P or SHM.
constexpr std::string_view kIntraNodeLog =
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO NCCL version 2.28.9+cuda13.0\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO NET/Plugin: Loaded net plugin Libfabric (v10)\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.17.1\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa "
    "(found 4 nics)\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO Using network Libfabric\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO Channel 00/0 : 0[0] -> 1[1] via P2P/CUMEM/read\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO Channel 01/0 : 0[0] -> 1[1] via P2P/CUMEM/read\n"
    "ip-10-1-2-3:4711:4711 [0] NCCL INFO Channel 00 : 1[1] -> 0[0] via SHM/direct/direct\n";

TEST(NcclLogIntraNode, EfaIsNotClaimedWithoutNetChannels) {
  const NcclLogFacts facts = parse_nccl_log(kIntraNodeLog);
  EXPECT_EQ(facts.provider, "efa");
  EXPECT_EQ(facts.net_channels, 0U);
  EXPECT_EQ(facts.intra_node_channels, 3U);
  TransportExpectation platform;
  platform.efa_nics = 4;
  const TransportJudgement judgement = judge_nccl_transport(facts, platform);
  EXPECT_FALSE(judgement.judged);
  EXPECT_FALSE(judgement.has("NCCL_USES_EFA"));
  EXPECT_NE(judgement.not_judged_reason.find("no 'via NET/...' line; 3 P2P/SHM channels"),
            std::string::npos)
      << judgement.not_judged_reason;
}

TEST(NcclLogIntraNode, NodeFactsAreStillJudgedWithoutTraffic) {
  // The NIC count comes from the plugin's init: a missing NIC is a fact of the node even when
  // this run sent nothing over the network. EFA itself stays unproven.
  TransportExpectation platform;
  platform.efa_nics = 32;
  platform.platform = "p5.48xlarge";
  const TransportJudgement judgement =
      judge_nccl_transport(parse_nccl_log(kIntraNodeLog), platform);
  EXPECT_TRUE(judgement.judged);
  EXPECT_TRUE(judgement.has("NCCL_EFA_NIC_COUNT_MISMATCH"));
  EXPECT_FALSE(judgement.has("NCCL_USES_EFA"));
  EXPECT_FALSE(judgement.efa_unproven_reason.empty());
}

TEST(NcclLogIntraNode, NetChannelsProveEfa) {
  std::string log(kIntraNodeLog);
  log +=
      "ip-10-1-2-3:4711:4711 [0] NCCL INFO Channel 00/0 : 0[0] -> 8[0] [send] via "
      "NET/Libfabric/0/GDRDMA\n"
      "ip-10-1-2-3:4711:4711 [0] NCCL INFO Channel 01/0 : 8[0] -> 0[0] [receive] via "
      "NET/Libfabric/1/GDRDMA\n";
  TransportExpectation platform;
  platform.efa_nics = 4;
  const TransportJudgement judgement = judge_nccl_transport(parse_nccl_log(log), platform);
  EXPECT_TRUE(judgement.judged);
  ASSERT_TRUE(judgement.has("NCCL_USES_EFA"));
  EXPECT_NE(judgement.find("NCCL_USES_EFA")->message.find("2 NET channels, 2 via GDRDMA"),
            std::string::npos);
  EXPECT_FALSE(judgement.has("NCCL_GDRDMA_OFF"));
  EXPECT_TRUE(judgement.efa_unproven_reason.empty());
}

TEST(NcclLogTuning, EveryTuningLineFormatIsRead) {
  const std::string log =
      // 2.26 and later: names.
      "h:1:1 [0] NCCL INFO AllReduce: 1048576 Bytes -> Algo Ring proto Simple "
      "channel{Lo..Hi}={0..31}\n"
      "h:1:1 [0] NCCL INFO AllReduce: 1048576 Bytes -> Algo Ring proto Simple "
      "channel{Lo..Hi}={0..31}\n"
      "h:1:1 [0] NCCL INFO AllReduce: 8 Bytes -> Algo NVLS proto LL channel{Lo..Hi}={0..0}\n"
      // 2.23: the function, numbers.
      "h:1:1 [0] NCCL INFO AllGather: 4096 Bytes -> Algo 6 proto 0 time 12.500000\n"
      // 2.19-2.21: numbers only.
      "[1,0]<stdout>:h:1:1 [0] NCCL INFO 65536 Bytes -> Algo 0 proto 1 time 20.000000\n";
  const NcclLogFacts facts = parse_nccl_log(log);
  ASSERT_EQ(facts.tuning.size(), 4U);
  EXPECT_EQ(facts.tuning[0].function, "AllReduce");
  EXPECT_EQ(facts.tuning[0].bytes, 1048576U);
  EXPECT_EQ(facts.tuning[0].algorithm, "Ring");
  EXPECT_EQ(facts.tuning[0].protocol, "Simple");
  EXPECT_EQ(facts.tuning[0].calls, 2U);
  EXPECT_EQ(facts.tuning[2].algorithm, "PAT");
  EXPECT_EQ(facts.tuning[2].protocol, "LL");
  EXPECT_EQ(facts.tuning[3].function, "");
  EXPECT_EQ(facts.tuning[3].algorithm, "Tree");
  EXPECT_EQ(facts.tuning[3].protocol, "LL128");
  // Rows look their choice up by function and bytes; lines without a function match any.
  EXPECT_EQ(tuning_choices(facts.tuning, CollectiveKind::all_reduce, 8).at(0).algorithm, "NVLS");
  EXPECT_TRUE(tuning_choices(facts.tuning, CollectiveKind::all_gather, 8).empty());
  EXPECT_EQ(tuning_choices(facts.tuning, CollectiveKind::broadcast, 65536).size(), 1U);
  EXPECT_EQ(facts.to_json()["tuning"].size(), 4U);
}

}  // namespace
}  // namespace preflight
