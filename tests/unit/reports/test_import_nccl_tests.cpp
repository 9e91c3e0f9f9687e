#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "common/error.hpp"
#include "common/text.hpp"
#include "report_builders.hpp"
#include "reports/baseline.hpp"
#include "reports/compare.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/json_schema.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;
using testing::corpus_dir;
using testing::fixtures_dir;
using testing::shipped_baselines_dir;
using testing::slurp;

std::string usage_error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no UsageError";
}

const ResultRow& row_at(const Report& report, std::uint64_t size, bool in_place = false) {
  for (const auto& row : report.results) {
    if (row.size_bytes == size && row.in_place == in_place) {
      return row;
    }
  }
  throw std::out_of_range("no row of size " + std::to_string(size));
}

void expect_schema_valid(const Report& report) {
  const auto errors = report_schema().validate(json(report));
  EXPECT_TRUE(errors.empty()) << (errors.empty()
                                      ? ""
                                      : errors.front().pointer + ": " + errors.front().message);
}

// The sample rows every prefix test uses: three sizes of the published 2x p5 table.
constexpr std::string_view kTable =
    "#       size         count      type   redop    root     time   algbw   busbw #wrong     time "
    "  algbw   busbw #wrong\n"
    "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            "
    "(us)  (GB/s)  (GB/s)\n"
    "           8             2     float     sum      -1    69.12    0.00    0.00      0    72.43 "
    "   0.00    0.00      0\n"
    "     1048576        262144     float     sum      -1    123.2    8.51   15.95      0    121.3 "
    "   8.64   16.21      0\n"
    " 17179869184    4294967296     float     sum      -1    66132  259.78  487.09      0    66109 "
    " 259.87  487.26      0\n";

std::string with_prefix(std::string_view table, std::string_view prefix) {
  std::string out;
  for (const auto line : split_lines(table)) {
    out += std::string(prefix) + std::string(line) + "\n";
  }
  return out;
}

TEST(ImportNcclTests, EveryPrefixStyleGivesTheSameExactFigures) {
  const std::vector<std::string> prefixes{"",
                                          "[1,0]<stdout>:",
                                          "0: ",
                                          "12: ",
                                          "    [1,0]<stdout>:",
                                          "(head, rank=0, pid=3808) [1,0]<stdout>:",
                                          "[2026-01-02 10:24:27] ",
                                          "\t"};
  for (const auto& prefix : prefixes) {
    SCOPED_TRACE("prefix '" + prefix + "'");
    const Report report = import_nccl_tests(with_prefix(kTable, prefix), "mem", {});
    ASSERT_EQ(report.results.size(), 6U);
    expect_schema_valid(report);
    const ResultRow& small = row_at(report, 8);
    EXPECT_EQ(small.time_s.median, 69.12e-6);
    EXPECT_EQ(small.benchmark, "all_reduce");
    EXPECT_EQ(small.dtype, "float");
    EXPECT_EQ(small.op, "sum");
    EXPECT_EQ(small.ranks, 16);  // from busbw/algbw = 1.875
    EXPECT_EQ(small.wrong_elements, 0);
    EXPECT_EQ(row_at(report, 1048576).busbw_Bps, 15.95e9);
    EXPECT_EQ(row_at(report, 1048576).algbw_Bps, 8.51e9);
    EXPECT_EQ(row_at(report, 17179869184).busbw_Bps, 487.09e9);
    EXPECT_EQ(row_at(report, 17179869184, true).busbw_Bps, 487.26e9);
    EXPECT_EQ(row_at(report, 17179869184).time_s.median, 66132e-6);
    EXPECT_DOUBLE_EQ(row_at(report, 17179869184).busbw_factor, 1.875);
    EXPECT_EQ(report.verdict.status, Status::pass);
  }
}

TEST(ImportNcclTests, OldErrorColumnWithoutRoot) {
  const std::string text =
      "#       size         count    type   redop     time   algbw   busbw  error     time   "
      "algbw   busbw  error\n"
      "     2097152        524288   float     sum    671.4    3.12    5.86  5e-07    671.8    3.12 "
      "   5.85  5e-07\n"
      "     4194304       1048576   float     sum   1140.5    3.68    6.90  5e-07   1144.3    3.67 "
      "   6.87  5e-07\n";
  const Report report = import_nccl_tests(text, "old.txt", {});
  ASSERT_EQ(report.results.size(), 4U);
  const ResultRow& row = row_at(report, 4194304);
  EXPECT_EQ(row.wrong_elements, -1);  // not a count: a max error
  EXPECT_EQ(row.labels.at("max_error"), "5e-07");
  EXPECT_EQ(row.busbw_Bps, 6.90e9);
  EXPECT_EQ(row.ranks, 16);
  EXPECT_EQ(report.verdict.status, Status::pass);
}

TEST(ImportNcclTests, NotApplicableInPlaceCheckMeansAlltoall) {
  // Header-less rows as in the Bottlerocket sample: redop none, in-place #wrong N/A.
  const std::string text =
      "        [1,0]<stdout>:      131072          2048     float    none      -1   129.31    "
      "1.01    0.95       0   133.03    0.99    0.92    N/A\n"
      "        [1,0]<stdout>:      262144          4096     float    none      -1   161.17    "
      "1.63    1.52       0   151.94    1.73    1.62    N/A\n";
  const Report report = import_nccl_tests(text, "a2a.txt", {});
  ASSERT_EQ(report.results.size(), 4U);
  EXPECT_EQ(report.results.front().benchmark, "alltoall");
  EXPECT_EQ(report.results.front().ranks, 16);   // 131072 / (2048 x 4)
  EXPECT_EQ(report.results.front().op, "none");  // as nccl-tests prints it
  EXPECT_EQ(row_at(report, 131072, true).wrong_elements, -1);
  EXPECT_EQ(row_at(report, 131072, false).wrong_elements, 0);
  EXPECT_DOUBLE_EQ(row_at(report, 131072).busbw_factor, 15.0 / 16);
  // --benchmark overrides the inference.
  NcclTestsImportOptions options;
  options.benchmark = "all_gather";
  EXPECT_EQ(import_nccl_tests(text, "a2a.txt", options).results.front().benchmark, "all_gather");
}

TEST(ImportNcclTests, HeaderDevicesVersionsAndEnvironment) {
  const std::string text =
      "# nccl-tests version 2.17.6 nccl-headers=22806 nccl-library=22703\n"
      "# Collective test starting: all_gather_perf\n"
      "# nThread 1 nGpus 1 minBytes 1024 maxBytes 2048 step: 2(factor) warmup iters: 5 iters: 100 "
      "agg iters: 1 validation: 1 graph: 0\n"
      "#\n# Using devices\n"
      "#  Rank  0 Group  0 Pid   7774 on node-a device  0 [0000:8f:00] NVIDIA H200\n"
      "#  Rank  1 Group  0 Pid   7775 on node-b device  0 [0000:8f:00] NVIDIA H200\n"
      "node-a:1:1 [0] NCCL INFO NET/OFI Initializing aws-ofi-nccl 1.16.2\n"
      "node-a:1:1 [0] NCCL INFO NCCL_PROTO set by environment to simple.\n"
      "node-a:1:1 [0] NCCL INFO NCCL_SECRET_TOKEN set by environment to hunter2\n"
      "node-a:1:1 [0] NCCL INFO NET/OFI Running on p5.48xlarge platform, topology file x\n"
      "#       size         count      type   redop    root     time   algbw   busbw #wrong     "
      "time   algbw   busbw #wrong\n"
      "        1024           128     float    none      -1    28.39    0.04    0.02      0    "
      "28.07    0.04    0.02      0\n"
      "        2048           256     float    none      -1    28.29    0.07    0.04      0    "
      "28.24    0.07    0.04      0\n"
      "# Out of bounds values : 0 OK\n"
      "# Avg bus bandwidth    : 0.03 \n";
  const Report report = import_nccl_tests(text, "ag.txt", {});
  expect_schema_valid(report);
  EXPECT_EQ(report.results.front().benchmark, "all_gather");
  EXPECT_EQ(report.results.front().ranks, 2);
  EXPECT_EQ(report.run.nodes, 2);
  EXPECT_EQ(report.run.hosts, (std::vector<std::string>{"node-a", "node-b"}));
  ASSERT_EQ(report.inventory.gpus.size(), 2U);
  EXPECT_EQ(report.inventory.gpus[1]["host"], "node-b");
  EXPECT_EQ(report.inventory.gpus[1]["pci_bus_id"], "0000:8f:00");
  EXPECT_EQ(report.inventory.gpus[1]["name"], "NVIDIA H200");
  EXPECT_EQ(report.inventory.versions.at("nccl_tests"), "2.17.6");
  EXPECT_EQ(report.inventory.versions.at("nccl"), "2.27.3");
  EXPECT_EQ(report.inventory.versions.at("aws_ofi_nccl"), "1.16.2");
  EXPECT_EQ(report.inventory.env.at("NCCL_PROTO"), "simple");
  EXPECT_EQ(report.inventory.env.count("NCCL_SECRET_TOKEN"), 0U);
  EXPECT_EQ(report.inventory.instance_type, "p5.48xlarge");
  EXPECT_EQ(report.results.front().warmup_iterations, 5U);
  EXPECT_EQ(report.results.front().time_s.n, 100U);
  EXPECT_EQ(report.details["nccl_tests"]["avg_bus_bandwidth_gbps"], 0.03);
}

TEST(ImportNcclTests, SyntheticFixturesOfEveryColumnStyle) {
  const auto dir = fixtures_dir() / "nccl-tests";
  for (const std::string name : {"text-plain.txt", "text-timestamps.txt", "text-per-iter.txt",
                                 "text-per-iter-timestamps.txt", "text-cputime.txt"}) {
    SCOPED_TRACE(name);
    const Report report = import_nccl_tests_file(dir / name, {});
    expect_schema_valid(report);
    ASSERT_EQ(report.results.size(), 10U);
    EXPECT_EQ(report.verdict.status, Status::pass);
    EXPECT_EQ(report.run.nodes, 2);
    EXPECT_EQ(report.results.front().ranks, 16);
    EXPECT_EQ(row_at(report, 8).time_s.median, 69.12e-6);
    EXPECT_EQ(row_at(report, 1048576).busbw_Bps, 15.96e9);
    EXPECT_EQ(report.inventory.versions.at("nccl_tests"), "2.19.6");
    EXPECT_EQ(report.inventory.versions.at("nccl"), "2.28.9");
  }
  const Report stamped = import_nccl_tests_file(dir / "text-timestamps.txt", {});
  EXPECT_EQ(stamped.run.started_at, "2026-03-02T10:15:00");
  EXPECT_EQ(row_at(stamped, 1048576).labels.at("timestamp"), "2026-03-02T10:15:07");
  const Report per_iter = import_nccl_tests_file(dir / "text-per-iter-timestamps.txt", {});
  const ResultRow& row = row_at(per_iter, 1048576);
  EXPECT_EQ(row.time_s.min, 119.51e-6);
  EXPECT_EQ(row.time_s.max, 141.13e-6);
  EXPECT_EQ(row.time_s.p99, 141.13e-6);
  EXPECT_NEAR(row.time_s.stdev, 0.0375 * 123.2e-6, 1e-12);
  EXPECT_EQ(row.labels.at("timestamp"), "2026-03-02T10:15:07");
  EXPECT_EQ(
      import_nccl_tests_file(dir / "text-cputime.txt", {}).details["nccl_tests"]["time_column"],
      "cputime (-C): host time per iteration");
}

TEST(ImportNcclTests, WrongElementsAndATruncatedSweep) {
  const auto dir = fixtures_dir() / "nccl-tests";
  const Report wrong = import_nccl_tests_file(dir / "text-wrong.txt", {});
  EXPECT_EQ(wrong.verdict.status, Status::fail);
  EXPECT_EQ(row_at(wrong, 16777216).wrong_elements, 1234);
  bool named = false;
  for (const auto& check : wrong.checks) {
    named = named || (check.id == "RESULT_WRONG" && check.status == Status::fail);
  }
  EXPECT_TRUE(named);
  const Report cut = import_nccl_tests_file(dir / "text-truncated.txt", {});
  EXPECT_EQ(cut.results.size(), 6U);
  EXPECT_EQ(cut.verdict.status, Status::warn);
  EXPECT_EQ(cut.checks.back().id, "NCCL_TESTS_INCOMPLETE");
  EXPECT_NE(cut.checks.back().message.find("16777216 B of maxBytes 1073741824"), std::string::npos)
      << cut.checks.back().message;
}

TEST(ImportNcclTests, JsonVersions1To3) {
  const auto dir = fixtures_dir() / "nccl-tests";
  for (const std::string name : {"json-v1.json", "json-v2.json", "json-v3.json"}) {
    SCOPED_TRACE(name);
    const Report report = import_nccl_tests_file(dir / name, {});
    expect_schema_valid(report);
    ASSERT_EQ(report.results.size(), 10U);
    EXPECT_EQ(report.results.front().benchmark, "all_reduce");
    EXPECT_EQ(report.results.front().ranks, 16);
    EXPECT_EQ(report.run.nodes, 2);
    EXPECT_EQ(report.run.started_at, "2026-03-02T10:15:00");
    EXPECT_EQ(report.inventory.versions.at("nccl"), "2.28.9");
    EXPECT_EQ(report.run.argv.front(), "./build/all_reduce_perf");
    // The environment is filtered: allow-listed prefixes only, no secrets.
    EXPECT_EQ(report.inventory.env.at("FI_PROVIDER"), "efa");
    EXPECT_EQ(report.inventory.env.count("AWS_SECRET_ACCESS_KEY"), 0U);
    EXPECT_EQ(report.inventory.env.count("NCCL_API_TOKEN"), 0U);
    EXPECT_EQ(report.inventory.env.count("HOME"), 0U);
    EXPECT_GT(row_at(report, 1048576).busbw_Bps, 15.9e9);
    EXPECT_EQ(report.details["nccl_tests"]["avg_bus_bandwidth_gbps"].is_number(), true);
  }
  const Report v1 = import_nccl_tests_file(dir / "json-v1.json", {});
  EXPECT_FALSE(row_at(v1, 1048576).samples_s);
  EXPECT_EQ(row_at(v1, 1048576).time_s.median, 123.2e-6);
  // -I samples: version 2 keeps all 20; version 3 skips the first one in the statistics.
  const Report v2 = import_nccl_tests_file(dir / "json-v2.json", {});
  ASSERT_TRUE(row_at(v2, 1048576).samples_s);
  EXPECT_EQ(row_at(v2, 1048576).samples_s->size(), 20U);
  EXPECT_EQ(row_at(v2, 1048576).time_s.n, 20U);
  const Report v3 = import_nccl_tests_file(dir / "json-v3.json", {});
  EXPECT_EQ(row_at(v3, 1048576).samples_s->size(), 20U);
  EXPECT_EQ(row_at(v3, 1048576).time_s.n, 19U);
  EXPECT_LT(row_at(v3, 1048576).time_s.ci95_lo, row_at(v3, 1048576).time_s.ci95_hi);
}

TEST(ImportNcclTests, MalformedJsonNamesLineColumnOrPointer) {
  const auto dir = fixtures_dir() / "nccl-tests";
  std::string message =
      usage_error_of([&] { (void)import_nccl_tests_file(dir / "json-v3-truncated.json", {}); });
  EXPECT_NE(message.find("json-v3-truncated.json:1:"), std::string::npos) << message;
  EXPECT_NE(message.find("unexpected end of input"), std::string::npos) << message;
  message = usage_error_of([&] { (void)import_nccl_tests_file(dir / "json-v9.json", {}); });
  EXPECT_NE(message.find("json-v9.json: /version"), std::string::npos) << message;
  message = usage_error_of(
      [] { (void)import_nccl_tests(R"({"version":3,"results":[{"size":"8"}]})", "r.json", {}); });
  EXPECT_NE(message.find("r.json: /results/0/size"), std::string::npos) << message;
  message = usage_error_of([] { (void)import_nccl_tests(R"({"version":3})", "r.json", {}); });
  EXPECT_NE(message.find("\"results\""), std::string::npos) << message;
  message = usage_error_of([] {
    (void)import_nccl_tests("{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}",
                            "deep.json", {});
  });
  EXPECT_NE(message.find("nested deeper"), std::string::npos) << message;
}

TEST(ImportNcclTests, WhatIsNotNcclTestsOutputSaysSo) {
  std::string message =
      usage_error_of([] { (void)import_nccl_tests("hello\nworld\n", "notes.txt", {}); });
  EXPECT_NE(message.find("notes.txt: no nccl-tests output found"), std::string::npos) << message;
  // Rows whose bandwidths are all 0.00 and no device list: the rank count cannot be known, but
  // the times are valid data: imported with ranks 0 (unknown) and a warning, never refused.
  const std::string tiny =
      "           8             2     float     sum      -1    50.58    0.00    0.00       0    "
      "54.46    0.00    0.00       0\n";
  const Report unknown = import_nccl_tests(tiny, "tiny.txt", {});
  expect_schema_valid(unknown);
  ASSERT_EQ(unknown.results.size(), 2U);
  EXPECT_EQ(unknown.results.front().ranks, 0);
  EXPECT_EQ(unknown.run.ranks, 0);
  EXPECT_EQ(unknown.results.front().time_s.median, 50.58e-6);
  EXPECT_EQ(unknown.results.back().time_s.median, 54.46e-6);
  EXPECT_EQ(unknown.verdict.status, Status::warn);
  EXPECT_EQ(unknown.verdict.exit_code, 0);
  ASSERT_EQ(unknown.checks.back().id, "NCCL_TESTS_RANKS_UNKNOWN");
  EXPECT_NE(unknown.checks.back().message.find("tiny.txt does not say how many ranks"),
            std::string::npos)
      << unknown.checks.back().message;
  EXPECT_NE(unknown.checks.back().remediation.find("--ranks"), std::string::npos);
  EXPECT_EQ(unknown.details["nccl_tests"]["ranks_from"].get<std::string>().rfind("unknown: ", 0),
            0U);
  NcclTestsImportOptions options;
  options.ranks = 16;
  const Report stated = import_nccl_tests(tiny, "tiny.txt", options);
  EXPECT_EQ(stated.results.front().ranks, 16);
  EXPECT_EQ(stated.verdict.status, Status::pass);
  // Hostile input: absurd numbers and a huge line are skipped rows, never a crash.
  const std::string hostile = "99999999999999999999999999 2 float sum -1 1 1 1 0 1 1 1 0\n" +
                              std::string(1 << 20, 'x') + "\n" + std::string(kTable);
  const Report report = import_nccl_tests(hostile, "hostile.txt", {});
  EXPECT_EQ(report.results.size(), 6U);
  EXPECT_EQ(report.details["nccl_tests"]["skipped_malformed_rows"]["count"], 1);
}

TEST(ImportNcclTests, FailuresAndHangsBecomeErrorVerdictsNamingWhy) {
  const std::string failure =
      "# nThread 1 nGpus 1 minBytes 1048576 maxBytes 536870912 step: 2(factor) warmup iters: 5 "
      "iters: 20 validation: 1\n#\n# Using devices\n"
      "node-1: Test CUDA failure common.cu:1046 'unknown error'\n"
      " .. node-1 pid 41757: Test failure common.cu:1008\n";
  Report report = import_nccl_tests(failure, "fail.txt", {});
  expect_schema_valid(report);
  EXPECT_EQ(report.verdict.status, Status::error);
  EXPECT_EQ(report.verdict.exit_code, 4);
  ASSERT_FALSE(report.checks.empty());
  EXPECT_EQ(report.checks.back().id, "NCCL_TESTS_FAILED");
  EXPECT_NE(report.checks.back().message.find("Test CUDA failure"), std::string::npos);
  const std::string hang =
      "# nThread 1 nGpus 2 minBytes 268435456 maxBytes 8589934592 step: 2(factor) warmup iters: 5 "
      "iters: 20 agg iters: 1 validation: 1 graph: 0\n#\n# Using devices\n"
      "#  Rank  0 Group  0 Pid  14630 on    8h200-2 device  0 [0x59] NVIDIA H200\n"
      "#  Rank  1 Group  0 Pid  14630 on    8h200-2 device  1 [0x5a] NVIDIA H200\n"
      "8h200-2:14630:14630 [0] NCCL INFO NCCL version 2.23.4+cuda12.4\n";
  report = import_nccl_tests(hang, "hang.txt", {});
  expect_schema_valid(report);
  EXPECT_EQ(report.verdict.status, Status::error);
  EXPECT_EQ(report.checks.back().id, "NCCL_TESTS_INCOMPLETE");
  EXPECT_NE(report.checks.back().message.find("no result rows"), std::string::npos);
  EXPECT_EQ(report.inventory.versions.at("nccl"), "2.23.4+cuda12.4");
  EXPECT_EQ(report.inventory.versions.at("cuda"), "12.4");
}

// A sweep printed `repeats` times (-R / -N), each repeat's time scaled by its own factor.
std::string repeated_log(const std::vector<double>& factors, std::int64_t wrong_in_last = 0) {
  std::string log =
      "# nThread 1 nGpus 1 minBytes 8 maxBytes 1048576 step: 2(factor) warmup iters: 5 iters: "
      "20 agg iters: 1 validation: 1 graph: 0\n"
      "#  Rank  0 Group  0 Pid   4001 on     node-1 device  0 [0000:53:00] NVIDIA H100\n"
      "#  Rank  1 Group  0 Pid   4002 on     node-1 device  1 [0000:64:00] NVIDIA H100\n"
      "#  Rank  2 Group  0 Pid   4003 on     node-2 device  0 [0000:53:00] NVIDIA H100\n"
      "#  Rank  3 Group  0 Pid   4004 on     node-2 device  1 [0000:64:00] NVIDIA H100\n"
      "#       size         count      type   redop    root     time   algbw   busbw #wrong     "
      "time   algbw   busbw #wrong\n";
  for (std::size_t r = 0; r < factors.size(); ++r) {
    for (const std::uint64_t size : {8ULL, 1024ULL, 1048576ULL}) {
      const double time_us = (50.0 + static_cast<double>(size) / 10e3) * factors[r];
      const double algbw = static_cast<double>(size) / time_us / 1e3;
      const std::int64_t wrong = r + 1 == factors.size() && size == 1024 ? wrong_in_last : 0;
      log += fmt::format(
          "{:>12} {:>12} float sum -1 {:.2f} {:.2f} {:.2f} {} {:.2f} {:.2f} {:.2f} 0\n", size,
          size / 4, time_us, algbw, algbw * 1.5, wrong, time_us, algbw, algbw * 1.5);
    }
  }
  log += "# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 1.234\n";
  return log;
}

TEST(ImportNcclTests, RepeatedTablesFoldIntoOneRowPerSizeWithStatisticsOverTheRepeats) {
  const std::vector<double> factors{1.00, 1.20, 0.90, 1.05, 1.10};
  const Report report = import_nccl_tests(repeated_log(factors), "repeats.log", {});
  expect_schema_valid(report);
  ASSERT_EQ(report.results.size(), 6U);  // 3 sizes x 2 placements
  const ResultRow& row = row_at(report, 1048576);
  EXPECT_EQ(row.time_s.n, 5U);
  // The figures as printed (two decimals), then the order statistics of the five repeats.
  const double base = 50.0 + 1048576.0 / 10e3;
  std::vector<double> printed;
  for (const double f : factors) {
    printed.push_back(std::stod(fmt::format("{:.2f}", base * f)) * 1e-6);
  }
  std::vector<double> sorted = printed;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_DOUBLE_EQ(row.time_s.median, sorted[2]);
  EXPECT_DOUBLE_EQ(row.time_s.min, sorted.front());
  EXPECT_DOUBLE_EQ(row.time_s.max, sorted.back());
  EXPECT_NEAR(row.time_s.mean, (printed[0] + printed[1] + printed[2] + printed[3] + printed[4]) / 5,
              1e-12);
  EXPECT_GT(row.time_s.stdev, 0);
  EXPECT_LE(row.time_s.ci95_lo, row.time_s.median);
  EXPECT_GE(row.time_s.ci95_hi, row.time_s.median);
  // busbw: the median printed figure, which belongs to the median time.
  EXPECT_NEAR(row.busbw_Bps, 1048576.0 / sorted[2] * 1.5, 0.02e9);
  EXPECT_EQ(row.ranks, 4);
  EXPECT_EQ(report.run.nodes, 2);
  EXPECT_EQ(report.details["nccl_tests"]["repeats"]["most_per_size"], 5);
  EXPECT_EQ(report.checks.front().evidence["table_rows"], 15);
  EXPECT_EQ(report.verdict.status, Status::pass);

  NcclTestsImportOptions keep;
  keep.keep_repeats = true;
  const Report raw = import_nccl_tests(repeated_log(factors), "repeats.log", keep);
  expect_schema_valid(raw);
  EXPECT_EQ(raw.results.size(), 30U);
  EXPECT_EQ(raw.results.front().time_s.n, 20U);  // one repeat: nccl-tests' iters
}

TEST(ImportNcclTests, WrongElementsOfAnyRepeatFailTheFoldedRow) {
  const Report report = import_nccl_tests(repeated_log({1.0, 1.1, 0.9}, 7), "wrong.log", {});
  EXPECT_EQ(row_at(report, 1024).wrong_elements, 7);
  EXPECT_EQ(row_at(report, 8).wrong_elements, 0);
  EXPECT_EQ(report.verdict.status, Status::fail);
  ASSERT_EQ(report.checks.back().id, "RESULT_WRONG");
  EXPECT_NE(report.checks.back().message.find("over 3 repeats"), std::string::npos)
      << report.checks.back().message;
}

TEST(ImportNcclTests, RanksUnknownRowsCompareAgainstABaselineWithANote) {
  NcclTestsImportOptions options;
  options.instance_type = "p5.48xlarge";
  options.nodes = 2;
  const std::string tiny =
      "           8             2     float     sum      -1    69.12    0.00    0.00       0    "
      "72.43    0.00    0.00       0\n";
  const Report report = import_nccl_tests(tiny, "tiny.txt", options);
  Baseline baseline = testing::p5_baseline();
  baseline.rows.resize(1);
  baseline.rows.front().size_bytes = 8;
  baseline.rows.front().metrics.clear();
  baseline.rows.front().metrics["time_s"].expected = 69e-6;
  baseline.metrics["time_s"] = {Direction::lower, {0.25, 0}, {0.5, 0}};
  const Comparison c = compare_to_baseline(report, baseline, "tiny.txt");
  EXPECT_EQ(c.status, Status::pass) << c.summary;
  bool noted = false;
  for (const auto& note : c.notes) {
    noted = noted || note.find("do not state their rank count") != std::string::npos;
  }
  EXPECT_TRUE(noted);
}

// ---- the real-world corpus (shared/corpus; skipped when absent) ------------------------------

class Corpus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(corpus_dir() / "nccl-tests-text")) {
      GTEST_SKIP() << "no corpus at " << corpus_dir();
    }
  }
  static std::filesystem::path text(const std::string& name) {
    return corpus_dir() / "nccl-tests-text" / name;
  }
};

struct Published {
  std::string file;
  std::string baseline;
  std::string instance_type;
  int nodes;
  int ranks;
  double latency_s;
  std::map<std::uint64_t, double> busbw;  // the platforms.md figures, GB/s x 1e9
};

const std::vector<Published>& published_tables() {
  static const std::vector<Published> tables{
      {"p4de-2node-allreduce-srun-l-prefix.txt",
       "p4de.24xlarge-2node-all_reduce-nccl.json",
       "p4de.24xlarge",
       2,
       16,
       164.3e-6,
       {{1048576, 6.35e9},
        {16777216, 26.39e9},
        {134217728, 64.31e9},
        {1073741824, 76.79e9},
        {2147483648, 78.33e9}}},
      {"p5-2node-allreduce-srun-l-prefix.txt",
       "p5.48xlarge-2node-all_reduce-nccl.json",
       "p5.48xlarge",
       2,
       16,
       69.12e-6,
       {{1048576, 15.95e9},
        {16777216, 105.52e9},
        {134217728, 289.16e9},
        {1073741824, 436.95e9},
        {2147483648, 443.72e9},
        {8589934592, 479.28e9},
        {17179869184, 487.09e9}}},
      {"p5-aws-batch-allreduce-mpirun-tag-wide-header.txt",
       "p5.48xlarge-1node-all_reduce-nccl.json",
       "p5.48xlarge",
       1,
       8,
       12.90e-6,
       {{1048576, 64.24e9},
        {16777216, 236.82e9},
        {134217728, 396.19e9},
        {1073741824, 441.81e9},
        {2147483648, 444.02e9},
        {8589934592, 480.43e9},
        {17179869184, 483.05e9}}},
  };
  return tables;
}

// The file minus its `# source:` line, re-prefixed in every launcher style found in the corpus.
std::vector<std::pair<std::string, std::string>> prefix_variants(const std::string& content) {
  std::string bare;
  bool first = true;
  for (auto line : split_lines(content)) {
    if (first && starts_with(line, "# source:")) {
      first = false;
      continue;
    }
    first = false;
    // Remove whatever launcher prefix the sample has.
    for (const std::string_view prefix : {"0: ", "[1,0]<stdout>:"}) {
      if (starts_with(line, prefix)) {
        line.remove_prefix(prefix.size());
      }
    }
    bare += std::string(line) + "\n";
  }
  return {{"as found", content},
          {"plain", bare},
          {"srun -l", with_prefix(bare, "0: ")},
          {"mpirun --tag-output", with_prefix(bare, "[1,0]<stdout>:")},
          {"mpirun --tag-output, indented", with_prefix(bare, "    [1,0]<stdout>:")},
          {"launcher tag + mpirun (double prefix)",
           with_prefix(bare, "(head, rank=0, pid=3808) [1,0]<stdout>:")}};
}

TEST_F(Corpus, PublishedTablesImportExactlyInEveryPrefixStyleAndPassTheirBaselines) {
  for (const auto& table : published_tables()) {
    const std::string content = slurp(text(table.file));
    const Baseline baseline = read_baseline(shipped_baselines_dir() / table.baseline);
    for (const auto& [style, variant] : prefix_variants(content)) {
      SCOPED_TRACE(table.file + " / " + style);
      NcclTestsImportOptions options;
      options.instance_type = table.instance_type;
      options.nodes = table.nodes;
      Report report = import_nccl_tests(variant, table.file, options);
      expect_schema_valid(report);
      EXPECT_EQ(report.verdict.status, Status::pass);
      EXPECT_EQ(row_at(report, 8).time_s.median, table.latency_s);
      for (const auto& [size, busbw] : table.busbw) {
        EXPECT_EQ(row_at(report, size).busbw_Bps, busbw) << size;
        EXPECT_EQ(row_at(report, size).ranks, table.ranks);
      }
      const Comparison c = compare_to_baseline(report, baseline, table.file);
      EXPECT_EQ(c.status, Status::pass) << c.summary;
      EXPECT_EQ(c.counts.at(RowVerdict::pass), static_cast<int>(table.busbw.size()) + 1);
      attach_comparison(report, c, false);
      EXPECT_EQ(report.verdict.exit_code, 0);
    }
  }
}

TEST_F(Corpus, AnotherPublishedP5RunPassesTheP5Baseline) {
  // The EKS run of 2x p5 (4-space indented, mpirun tagged): its own figures, and within bands.
  NcclTestsImportOptions options;
  options.instance_type = "p5.48xlarge";
  options.nodes = 2;
  const Report report =
      import_nccl_tests_file(text("p5-48xl-2node-allreduce-mpirun-tag-indented.txt"), options);
  EXPECT_EQ(row_at(report, 17179869184).busbw_Bps, 480.87e9);
  EXPECT_EQ(row_at(report, 17179869184, true).busbw_Bps, 482.82e9);
  EXPECT_EQ(row_at(report, 8).time_s.median, 87.96e-6);
  EXPECT_EQ(report.details["nccl_tests"]["avg_bus_bandwidth_gbps"], 123.343);
  const Comparison c = compare_to_baseline(
      report, read_baseline(shipped_baselines_dir() / "p5.48xlarge-2node-all_reduce-nccl.json"),
      "indented");
  EXPECT_EQ(c.status, Status::pass) << c.summary;
}

TEST_F(Corpus, EveryNcclTestsFileImportsOrFailsWithAClearMessage) {
  std::size_t imported = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir() / "nccl-tests-text")) {
    if (entry.path().extension() != ".txt") {
      continue;
    }
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    try {
      const Report report = import_nccl_tests_file(entry.path(), {});
      expect_schema_valid(report);
      ++imported;
      if (report.results.empty()) {
        // Hangs and failures: a verdict that says why, never a pass.
        EXPECT_EQ(report.verdict.status, Status::error);
        ASSERT_FALSE(report.checks.empty());
        EXPECT_TRUE(report.checks.back().id == "NCCL_TESTS_FAILED" ||
                    report.checks.back().id == "NCCL_TESTS_INCOMPLETE");
      }
      if (name.find("nonzero-wrong") != std::string::npos) {
        EXPECT_EQ(report.verdict.status, Status::fail);
      }
      if (name.find("failure") != std::string::npos || name.find("hang") != std::string::npos) {
        EXPECT_EQ(report.verdict.status, Status::error) << report.verdict.summary;
      }
    } catch (const UsageError& e) {
      ADD_FAILURE() << "a valid nccl-tests log was refused: " << e.what();
    }
  }
  EXPECT_EQ(imported, 16U);
}

TEST_F(Corpus, ALogThatDoesNotSayItsRankCountImportsWhatItStates) {
  const Report report =
      import_nccl_tests_file(text("p6-b200-2node-all_reduce-wide-wrong-col-partial.txt"), {});
  expect_schema_valid(report);
  EXPECT_EQ(report.results.size(), 12U);  // 8..256 B, both placements
  EXPECT_EQ(row_at(report, 8).time_s.median, 50.58e-6);
  EXPECT_EQ(row_at(report, 256, true).time_s.median, 56.54e-6);
  EXPECT_EQ(row_at(report, 256).busbw_Bps, 0.01e9);
  EXPECT_EQ(row_at(report, 8).ranks, 0);
  EXPECT_EQ(report.verdict.exit_code, 0);
  EXPECT_EQ(report.verdict.status, Status::warn);
  EXPECT_EQ(report.checks.back().id, "NCCL_TESTS_RANKS_UNKNOWN");
}

TEST_F(Corpus, RepeatedSizeZeroFoldsIntoOneRow) {
  // nccl-tests prints size 0 twice with -b 0: one measurement repeated.
  const Report g4dn =
      import_nccl_tests_file(text("g4dn-metal-2node-allreduce-mpirun-tag-output.txt"), {});
  EXPECT_EQ(row_at(g4dn, 0).time_s.n, 2U);
  EXPECT_EQ(row_at(g4dn, 0).time_s.min, 6.36e-6);
  EXPECT_EQ(row_at(g4dn, 0).time_s.max, 6.43e-6);
  NcclTestsImportOptions keep;
  keep.keep_repeats = true;
  const Report raw =
      import_nccl_tests_file(text("g4dn-metal-2node-allreduce-mpirun-tag-output.txt"), keep);
  EXPECT_EQ(raw.results.size(), g4dn.results.size() + 2);
}

TEST_F(Corpus, DebugLogsImportTheirTableOrSayThereIsNone) {
  const auto dir = corpus_dir() / "nccl-debug-logs";
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP();
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    try {
      const Report report = import_nccl_tests_file(entry.path(), {});
      expect_schema_valid(report);
      if (name.find("p4d-2node-nccl283") != std::string::npos) {
        EXPECT_EQ(row_at(report, 1073741824).busbw_Bps, 32.71e9);
        EXPECT_EQ(report.run.nodes, 2);
        EXPECT_EQ(report.inventory.versions.at("nccl"), "2.8.3+cuda11.2");
      }
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST_F(Corpus, SpecificShapes) {
  const Report gather = import_nccl_tests_file(
      text("gcp-a3ultra-h200-2node-allgather-skypilot-double-prefix.txt"), {});
  EXPECT_EQ(gather.results.front().benchmark, "all_gather");
  EXPECT_EQ(row_at(gather, 8589934592).busbw_Bps, 325.72e9);
  EXPECT_EQ(gather.run.nodes, 2);
  const Report old =
      import_nccl_tests_file(text("p4d-2node-allreduce-old-error-col-mpirun-tag.txt"), {});
  EXPECT_EQ(row_at(old, 4294967296).busbw_Bps, 43.81e9);
  EXPECT_EQ(row_at(old, 4294967296).wrong_elements, -1);
  EXPECT_EQ(old.inventory.versions.at("nccl"), "2.9.9+cuda11.2");
  const Report g4dn =
      import_nccl_tests_file(text("g4dn-metal-2node-allreduce-mpirun-tag-output.txt"), {});
  EXPECT_EQ(g4dn.results.front().ranks, 2);
  EXPECT_EQ(row_at(g4dn, 268435456).busbw_Bps, 3.15e9);
  EXPECT_EQ(g4dn.inventory.versions.at("aws_ofi_nccl"), "1.5.0aws");
  const Report wrong =
      import_nccl_tests_file(text("dgx-h100-all_reduce-nonzero-wrong-partial.txt"), {});
  EXPECT_EQ(row_at(wrong, 524288).wrong_elements, 237858);
  EXPECT_EQ(row_at(wrong, 524288, true).wrong_elements, 238038);
  EXPECT_EQ(wrong.details["nccl_tests"]["elided_lines"], 1);
}

}  // namespace
}  // namespace preflight::reports
