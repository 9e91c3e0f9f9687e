// The report envelope: typed structs round-trip through JSON, the schema accepts what the writer
// writes and rejects what it must, readers name file/line/column or the JSON pointer, and the
// verdict keeps skip distinct from pass.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/error.hpp"
#include "common/stats.hpp"
#include "reports/json_schema.hpp"
#include "reports/render_text.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;

Report sample_report() {
  const char* argv[] = {"preflight-allreduce", "--sizes", "8:16"};
  Report report = start_report("preflight-allreduce", 3, argv, /*deterministic=*/false);
  report.run.ranks = 4;
  report.inventory.instance_type = "p5.48xlarge";
  report.inventory.versions["nccl"] = "2.28.9";
  report.checks.push_back(pass_check("RESULT_CORRECT", "2 sizes checked"));
  report.checks.push_back(
      skip_check("EFA_ABSENT", "no EFA device", json{{"searched", "/sys/class"}}));
  ResultRow row;
  row.benchmark = "all_reduce";
  row.backend = "mpi";
  row.transport = "vader";
  row.dtype = "float";
  row.op = "sum";
  row.size_bytes = 16;
  row.count = 4;
  row.ranks = 4;
  const std::vector<double> samples{1e-6, 2e-6, 3e-6};
  row.time_s = to_time_stats(summarize(samples));
  row.algbw_Bps = 8e6;
  row.busbw_Bps = 12e6;
  row.busbw_factor = 1.5;
  row.wrong_elements = 0;
  row.slowest_rank = 2;
  row.slowest_host = "node-a";
  row.stop_reason = "precision";
  row.labels["placement"] = "out_of_place";
  row.samples_s = samples;
  report.results.push_back(row);
  report.hw_counters_delta["rdmap0s31"]["tx_bytes"] = 4096;
  report.details["note"] = "x";
  finish_report(report, false, false);
  return report;
}

TEST(ReportSchema, RoundTripIsLossless) {
  const Report report = sample_report();
  const json first = report;
  const Report back = first.get<Report>();
  EXPECT_EQ(json(back), first);
  EXPECT_EQ(back.results.at(0).time_s.n, 3U);
  EXPECT_EQ(back.results.at(0).samples_s->size(), 3U);
  EXPECT_EQ(back.checks.at(1).status, Status::skip);
}

TEST(ReportSchema, WriterOutputValidates) {
  const json document = sample_report();
  const auto errors = report_schema().validate(document);
  for (const auto& error : errors) {
    ADD_FAILURE() << error.pointer << ": " << error.message;
  }
}

TEST(ReportSchema, SchemaErrorsNameThePointer) {
  json document = sample_report();
  document["results"][0]["time_s"]["median"] = "fast";
  document["checks"][1]["status"] = "ok";
  document["verdict"]["exit_code"] = 7;
  document.erase("tool");
  document["surprise"] = 1;
  const auto errors = report_schema().validate(document);
  std::set<std::string> pointers;
  for (const auto& error : errors) {
    pointers.insert(error.pointer);
  }
  EXPECT_TRUE(pointers.count("/results/0/time_s/median"));
  EXPECT_TRUE(pointers.count("/checks/1/status"));
  EXPECT_TRUE(pointers.count("/verdict/exit_code"));
  EXPECT_TRUE(pointers.count("/"));  // missing tool
  EXPECT_TRUE(pointers.count("/surprise"));
}

TEST(ReportSchema, VerdictKeepsSkipDistinct) {
  std::vector<Check> checks{skip_check("EFA_ABSENT", "none")};
  EXPECT_EQ(compute_verdict(checks, false).status, Status::skip);
  EXPECT_EQ(compute_verdict(checks, false).exit_code, 3);
  checks.push_back(pass_check("VERSION_NCCL", "2.28.9"));
  EXPECT_EQ(compute_verdict(checks, false).status, Status::pass);
  checks.push_back(fire_check("NCCL_TOO_OLD", "old"));
  EXPECT_EQ(compute_verdict(checks, false).exit_code, 0);
  EXPECT_EQ(compute_verdict(checks, true).exit_code, 1);
  checks.push_back(fire_check("EFA_PORT_DOWN", "down"));
  const Verdict verdict = compute_verdict(checks, false);
  EXPECT_EQ(verdict.exit_code, 1);
  EXPECT_NE(verdict.summary.find("EFA_PORT_DOWN"), std::string::npos);
  EXPECT_NE(verdict.summary.find("1 skip"), std::string::npos);
}

TEST(ReportSchema, DeterministicDropsVolatileFields) {
  const char* argv[] = {"preflight-versions"};
  Report report = start_report("preflight-versions", 1, argv, /*deterministic=*/true);
  finish_report(report, false, true);
  EXPECT_TRUE(report.run.started_at.empty());
  EXPECT_TRUE(report.run.finished_at.empty());
  EXPECT_TRUE(report.run.hosts.empty());
  EXPECT_TRUE(report.tool.version.empty());
  EXPECT_EQ(dump_report(report), dump_report(report));
}

TEST(ReportSchema, AllowListedEnvironmentDropsSecrets) {
  const char* environment[] = {"NCCL_DEBUG=INFO",
                               "FI_PROVIDER=efa",
                               "AWS_SECRET_ACCESS_KEY=x",
                               "PREFLIGHT_API_TOKEN=hunter2",
                               "HOME=/root",
                               "OMPI_COMM_WORLD_RANK=0",
                               "NOEQUALS",
                               nullptr};
  const auto env = allowlisted_environment(environment);
  EXPECT_EQ(env.size(), 3U);
  EXPECT_EQ(env.at("NCCL_DEBUG"), "INFO");
  EXPECT_FALSE(env.count("AWS_SECRET_ACCESS_KEY"));
  EXPECT_FALSE(env.count("PREFLIGHT_API_TOKEN"));
  EXPECT_FALSE(env.count("HOME"));
}

class ReportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("preflight-report-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string usage_error_of(const std::string& content) {
    const auto path = dir_ / "input.json";
    std::ofstream(path) << content;
    try {
      (void)read_report(path);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  }
  std::filesystem::path dir_;
};

TEST_F(ReportFileTest, WriteThenReadBack) {
  const auto path = dir_ / "r.json";
  write_report(sample_report(), path.string());
  const Report original = sample_report();
  Report back = read_report(path);
  // Run ids and timestamps differ between the two sample_report() calls; compare the rest.
  back.run = original.run;
  EXPECT_EQ(json(back), json(original));
  EXPECT_EQ(read_report(path).results.at(0).slowest_host, "node-a");
}

TEST_F(ReportFileTest, MalformedJsonNamesFileLineAndColumn) {
  const std::string message = usage_error_of("{\n  \"schema\": \"preflight.report/1\",\n  oops\n}");
  EXPECT_NE(message.find("input.json:3:3"), std::string::npos) << message;
}

TEST_F(ReportFileTest, TruncatedJsonIsAUsageError) {
  std::string text = dump_report(sample_report());
  text.resize(text.size() / 2);
  const std::string message = usage_error_of(text);
  EXPECT_NE(message.find("input.json:"), std::string::npos) << message;
  EXPECT_NE(message.find("malformed JSON"), std::string::npos) << message;
}

TEST_F(ReportFileTest, WrongSchemaVersionIsNamed) {
  json document = sample_report();
  document["schema"] = "preflight.report/2";
  const std::string message = usage_error_of(document.dump());
  EXPECT_NE(message.find("/schema"), std::string::npos) << message;
  EXPECT_NE(message.find("preflight.report/2"), std::string::npos) << message;
}

TEST_F(ReportFileTest, SchemaViolationNamesThePointer) {
  json document = sample_report();
  document["results"][0]["size_bytes"] = -5;
  const std::string message = usage_error_of(document.dump());
  EXPECT_NE(message.find("/results/0/size_bytes"), std::string::npos) << message;
}

TEST_F(ReportFileTest, DeepNestingIsRefusedCleanly) {
  const std::string message = usage_error_of(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_NE(message.find("nested deeper"), std::string::npos) << message;
}

TEST_F(ReportFileTest, IncrementalWriterLeavesAValidPartialReport) {
  const auto path = dir_ / "partial.json";
  IncrementalReportWriter writer(path.string());
  Report report = sample_report();
  report.run.finished_at.clear();
  writer.checkpoint(report);
  EXPECT_TRUE(read_report(path).run.finished_at.empty());
  report.run.finished_at = "2026-11-23T00:00:00.000Z";
  writer.finish(report);
  EXPECT_FALSE(read_report(path).run.finished_at.empty());
}

TEST(RenderText, ShowsSkipAsSkipAndRemediationForFailures) {
  Report report = sample_report();
  report.checks.push_back(fire_check("EFA_PORT_DOWN", "rdmap0 port 1 is DOWN"));
  finish_report(report, false, true);
  const std::string text = render_checks_text(report);
  EXPECT_NE(text.find("SKIP"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL    EFA_PORT_DOWN"), std::string::npos) << text;
  EXPECT_NE(text.find("-> isolate: Stop and start"), std::string::npos) << text;
  EXPECT_NE(text.find("exit 1"), std::string::npos) << text;
}

TEST(EmbeddedSchemas, ReportSchemaIsTheFileOnDisk) {
  std::ifstream stream(std::string(PREFLIGHT_REPO_DIR) + "/reports/schema/report.schema.json");
  const std::string on_disk((std::istreambuf_iterator<char>(stream)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(json::parse(on_disk), json::parse(report_schema_text()));
}

}  // namespace
}  // namespace preflight::reports
