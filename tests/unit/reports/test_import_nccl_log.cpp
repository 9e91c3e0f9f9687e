// NCCL's own lines in imported logs: an nccl-tests table measured over NET/Socket fails, EFA
// through aws-ofi-nccl passes, another network is recorded and not judged; `import nccl-log` on
// every NCCL debug log of the corpus gives the transport it shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/error.hpp"
#include "report_builders.hpp"
#include "reports/import_nccl_log.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/json_schema.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;
using testing::corpus_dir;
using testing::fixtures_dir;
using testing::slurp;

const Check* find_check(const Report& report, std::string_view id) {
  const auto it = std::find_if(report.checks.begin(), report.checks.end(),
                               [&](const Check& check) { return check.id == id; });
  return it == report.checks.end() ? nullptr : &*it;
}

void expect_schema_valid(const Report& report) {
  const auto errors = report_schema().validate(json(report));
  EXPECT_TRUE(errors.empty()) << (errors.empty()
                                      ? ""
                                      : errors.front().pointer + ": " + errors.front().message);
}

// A good-looking 2-node table with the NCCL INFO lines of a job whose plugin did not load.
std::string table_with_nccl_lines(std::string_view nccl_lines) {
  const std::string table = slurp(fixtures_dir() / "nccl-tests" / "text-plain.txt");
  const std::size_t using_devices = table.find("#\n# Using devices");
  return table.substr(0, using_devices) + std::string(nccl_lines) + table.substr(using_devices);
}

constexpr std::string_view kSocketLines =
    "p5-st-1:41000:41100 [0] NCCL INFO NET/Plugin: Could not find: libnccl-net.so\n"
    "p5-st-1:41000:41100 [0] NCCL INFO NET/IB : No device found.\n"
    "p5-st-1:41000:41100 [0] NCCL INFO NET/Socket : Using [0]ens32:172.31.3.153<0>\n"
    "p5-st-1:41000:41100 [0] NCCL INFO Using network Socket\n"
    "p5-st-1:41000:41100 [0] NCCL INFO Channel 00/0 : 7[c3000] -> 8[53000] [send] via "
    "NET/Socket/0\n";

constexpr std::string_view kEfaLines =
    "p5-st-1:41000:41100 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.14.0\n"
    "p5-st-1:41000:41100 [0] NCCL INFO NET/OFI Selected provider is efa, fabric is efa (found 32 "
    "nics)\n"
    "p5-st-1:41000:41100 [0] NCCL INFO Using network Libfabric\n"
    "p5-st-1:41000:41100 [0] NCCL INFO Channel 00/0 : 7[c3000] -> 8[53000] [send] via "
    "NET/Libfabric/0/GDRDMA\n";

constexpr std::string_view kInfinibandLines =
    "dgx-1:41000:41100 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB ; OOB ib0:10.0.0.1<0>\n"
    "dgx-1:41000:41100 [0] NCCL INFO Using network IB\n"
    "dgx-1:41000:41100 [0] NCCL INFO Channel 00/0 : 7[c3000] -> 8[53000] [send] via "
    "NET/IB/0/GDRDMA\n";

TEST(ImportNcclTransport, ATableMeasuredOverSocketsFailsNamingTheTransportAndTheFix) {
  const Report report = import_nccl_tests(table_with_nccl_lines(kSocketLines), "socket.txt", {});
  expect_schema_valid(report);
  EXPECT_EQ(report.verdict.status, Status::fail);
  EXPECT_EQ(report.verdict.exit_code, 1);
  const Check* socket = find_check(report, "NCCL_FALLBACK_SOCKET");
  ASSERT_NE(socket, nullptr);
  EXPECT_EQ(socket->status, Status::fail);
  EXPECT_NE(socket->message.find("Socket"), std::string::npos) << socket->message;
  EXPECT_NE(socket->remediation.find("plugin"), std::string::npos) << socket->remediation;
  const Check* plugin = find_check(report, "OFI_NCCL_NOT_LOADED");
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->status, Status::fail);
  for (const auto& row : report.results) {
    EXPECT_EQ(row.transport, "socket");
  }
  EXPECT_EQ(report.details["nccl_tests"]["nccl_transport"]["facts"]["socket_channels"], 1);
  // The figures are imported all the same: a failed transport is not a lost table.
  EXPECT_EQ(report.results.size(), 10U);
}

TEST(ImportNcclTransport, EfaThroughThePluginPassesAndLabelsTheRows) {
  const Report report = import_nccl_tests(table_with_nccl_lines(kEfaLines), "efa.txt", {});
  expect_schema_valid(report);
  EXPECT_EQ(report.verdict.status, Status::pass);
  const Check* uses = find_check(report, "NCCL_USES_EFA");
  ASSERT_NE(uses, nullptr);
  EXPECT_NE(uses->message.find("32 NICs"), std::string::npos) << uses->message;
  EXPECT_EQ(report.results.front().transport, "efa");
}

TEST(ImportNcclTransport, AnotherNetworkWithoutThePluginIsRecordedNotJudged) {
  const Report report = import_nccl_tests(table_with_nccl_lines(kInfinibandLines), "ib.txt", {});
  EXPECT_EQ(report.verdict.status, Status::pass);
  EXPECT_EQ(find_check(report, "OFI_NCCL_NOT_LOADED"), nullptr);
  EXPECT_EQ(find_check(report, "NCCL_FALLBACK_SOCKET"), nullptr);
  const auto& transport = report.details["nccl_tests"]["nccl_transport"];
  EXPECT_NE(transport["not_judged"].get<std::string>().find("network IB"), std::string::npos)
      << transport.dump();
  // A table without NCCL lines records nothing about them.
  const Report plain = import_nccl_tests_file(fixtures_dir() / "nccl-tests" / "text-plain.txt", {});
  EXPECT_FALSE(plain.details["nccl_tests"].contains("nccl_transport"));
}

TEST(ImportNcclTransport, TheLogAloneReportsVersionsNetworkAndWarnings) {
  const std::string log = std::string(kSocketLines) +
                          "p5-st-1:41000:41100 [0] NCCL WARN NET/OFI aws-ofi-nccl initialization "
                          "failed\n"
                          "p5-st-1:41000:41100 [0] NCCL WARN NET/OFI aws-ofi-nccl initialization "
                          "failed\n";
  const Report report = import_nccl_log(log, "job.log", {});
  expect_schema_valid(report);
  EXPECT_EQ(report.tool.name, "nccl-log");
  EXPECT_EQ(report.verdict.exit_code, 1);
  ASSERT_FALSE(report.checks.empty());
  EXPECT_EQ(report.checks.front().id, "NCCL_LOG_IMPORTED");
  EXPECT_NE(report.checks.front().message.find("network Socket"), std::string::npos)
      << report.checks.front().message;
  // Every WARN once.
  EXPECT_EQ(report.details["nccl_log"]["warnings"].size(), 1U);
  EXPECT_NE(find_check(report, "NCCL_FALLBACK_SOCKET"), nullptr);

  std::string message;
  try {
    (void)import_nccl_log("hello\nworld\n", "notes.txt", {});
  } catch (const UsageError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("notes.txt: no NCCL debug lines"), std::string::npos) << message;
}

// Every NCCL debug log of the corpus, read alone: the verdict and the findings its lines show.
TEST(ImportNcclTransport, EveryCorpusNcclDebugLog) {
  const auto dir = corpus_dir() / "nccl-debug-logs";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "no corpus at " << dir;
  }
  struct Expected {
    Status verdict;
    std::vector<std::string> findings;
  };
  const std::map<std::string, Expected> expected{
      {"efa-provider-empty-list-cloudwatch-table-format.txt",
       {Status::fail, {"OFI_NCCL_NOT_LOADED"}}},
      {"g6e-48xl-4pods-ofi-1.16.2-no-gdrdma-fullfile.txt",
       {Status::warn, {"NCCL_USES_EFA", "NCCL_GDRDMA_OFF"}}},
      {"p3dn-ofi-only-efa-provider-supported-socket-fallback.txt",
       {Status::fail, {"OFI_NCCL_NOT_LOADED", "NCCL_FALLBACK_SOCKET"}}},
      {"p4d-1node-ofi-1.17.1-init-failed-socket-fallback.txt",
       {Status::fail, {"OFI_NCCL_NOT_LOADED", "NCCL_FALLBACK_SOCKET"}}},
      {"p4d-2node-nccl283-ofi-topo-file-mpirun-tag.txt", {Status::pass, {"NCCL_USES_EFA"}}},
      {"p4d-4pods-1gpu-each-ofi-1.16.2-nccl-2.27.3-gdrdma.txt", {Status::pass, {"NCCL_USES_EFA"}}},
      {"p4d-ofi-couldnt-find-optimal-provider-pdsh-prefix.txt",
       {Status::fail, {"OFI_NCCL_NOT_LOADED"}}},
      // An excerpt with the provider and NIC groups but no channel: EFA is not proven.
      {"p5en-h200-ofi-found-16-nics-nic-groups-excerpt.txt",
       {Status::skip, {"NCCL_TRANSPORT_NOT_JUDGED"}}},
  };
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const Report report = import_nccl_log_file(entry.path(), {});
    expect_schema_valid(report);
    const auto it = expected.find(name);
    ASSERT_NE(it, expected.end()) << "a new corpus log: add what it shows";
    ++seen;
    EXPECT_EQ(report.verdict.status, it->second.verdict) << report.verdict.summary;
    for (const auto& id : it->second.findings) {
      EXPECT_NE(find_check(report, id), nullptr) << id << " missing: " << report.verdict.summary;
    }
  }
  EXPECT_EQ(seen, expected.size());
  const Report p5en =
      import_nccl_log_file(dir / "p5en-h200-ofi-found-16-nics-nic-groups-excerpt.txt", {});
  EXPECT_EQ(p5en.details["nccl_log"]["nics_per_gpu"], 2);
  EXPECT_NE(p5en.checks.front().message.find("16 NICs"), std::string::npos);
}

// Every nccl-tests log of the corpus still imports; those with NCCL lines are judged by them.
TEST(ImportNcclTransport, EveryCorpusNcclTestsLogStillImports) {
  const auto dir = corpus_dir() / "nccl-tests-text";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << "no corpus at " << dir;
  }
  std::size_t imported = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    SCOPED_TRACE(entry.path().filename().string());
    const Report report = import_nccl_tests_file(entry.path(), {});
    expect_schema_valid(report);
    EXPECT_EQ(find_check(report, "NCCL_FALLBACK_SOCKET"), nullptr);
    ++imported;
  }
  EXPECT_GE(imported, 16U);
  const Report g4dn =
      import_nccl_tests_file(dir / "g4dn-metal-2node-allreduce-mpirun-tag-output.txt", {});
  EXPECT_NE(find_check(g4dn, "NCCL_USES_EFA"), nullptr);
  EXPECT_NE(find_check(g4dn, "NCCL_GDRDMA_OFF"), nullptr);  // T4: no GPUDirect RDMA
  EXPECT_EQ(g4dn.verdict.status, Status::warn);
  const Report p4d = import_nccl_tests_file(
      corpus_dir() / "nccl-debug-logs" / "p4d-2node-nccl283-ofi-topo-file-mpirun-tag.txt", {});
  EXPECT_EQ(p4d.verdict.status, Status::pass);
  EXPECT_EQ(p4d.results.front().transport, "efa");
}

}  // namespace
}  // namespace preflight::reports
