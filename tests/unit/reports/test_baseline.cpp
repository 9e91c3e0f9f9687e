#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "common/error.hpp"
#include "report_builders.hpp"
#include "reports/baseline.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;
using testing::busbw_row;
using testing::collective_row;
using testing::report_with;
using testing::shipped_baselines_dir;
using testing::TempDir;

// The three shipped baselines carry the published figures of their cited runs exactly.
TEST(Baseline, ShippedBaselinesAreValidAndCiteTheirSource) {
  struct Expected {
    std::string file;
    std::string instance_type;
    int nodes;
    double latency_s;
    std::vector<std::pair<std::uint64_t, double>> busbw;
  };
  const std::vector<Expected> expected{
      {"p4de.24xlarge-2node-all_reduce-nccl.json",
       "p4de.24xlarge",
       2,
       164.3e-6,
       {{1048576, 6.35e9},
        {16777216, 26.39e9},
        {134217728, 64.31e9},
        {1073741824, 76.79e9},
        {2147483648, 78.33e9}}},
      {"p5.48xlarge-2node-all_reduce-nccl.json",
       "p5.48xlarge",
       2,
       69.12e-6,
       {{1048576, 15.95e9},
        {16777216, 105.52e9},
        {134217728, 289.16e9},
        {1073741824, 436.95e9},
        {2147483648, 443.72e9},
        {8589934592, 479.28e9},
        {17179869184, 487.09e9}}},
      {"p5.48xlarge-1node-all_reduce-nccl.json",
       "p5.48xlarge",
       1,
       12.90e-6,
       {{1048576, 64.24e9},
        {16777216, 236.82e9},
        {134217728, 396.19e9},
        {1073741824, 441.81e9},
        {2147483648, 444.02e9},
        {8589934592, 480.43e9},
        {17179869184, 483.05e9}}},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE(e.file);
    const Baseline b = read_baseline(shipped_baselines_dir() / e.file);
    // A public source a user can follow: repository, file, commit and lines, never a path
    // outside the project.
    EXPECT_NE(b.source.find("github.com/aws-samples/awsome-distributed-training"),
              std::string::npos);
    EXPECT_NE(b.source.find("7217859f67bc693c52ff175ccc6082c41dbd7a1b"), std::string::npos);
    EXPECT_NE(b.source.find(", lines "), std::string::npos);
    EXPECT_EQ(b.source.find("shared/"), std::string::npos);
    EXPECT_TRUE(
        b.source_url.starts_with("https://github.com/aws-samples/awsome-distributed-training/blob/"
                                 "7217859f67bc693c52ff175ccc6082c41dbd7a1b/"));
    EXPECT_NE(b.source_url.find("#L"), std::string::npos);
    EXPECT_EQ(b.match.instance_type, e.instance_type);
    EXPECT_EQ(b.match.nodes, e.nodes);
    EXPECT_EQ(b.match.ranks_per_node, 8);
    EXPECT_EQ(b.match.benchmark, "all_reduce");
    EXPECT_EQ(b.match.dtype, "float");
    EXPECT_EQ(b.match.op, std::optional<std::string>("sum"));
    EXPECT_EQ(b.match.placement, "out_of_place");
    ASSERT_EQ(b.rows.size(), e.busbw.size() + 1);
    EXPECT_EQ(b.rows.front().size_bytes, 8U);
    EXPECT_EQ(b.rows.front().metrics.at("time_s").expected, e.latency_s);
    for (std::size_t i = 0; i < e.busbw.size(); ++i) {
      EXPECT_EQ(b.rows[i + 1].size_bytes, e.busbw[i].first);
      EXPECT_EQ(b.rows[i + 1].metrics.at("busbw_Bps").expected, e.busbw[i].second);
    }
    EXPECT_EQ(b.metrics.at("busbw_Bps").direction, Direction::higher);
    EXPECT_EQ(b.metrics.at("time_s").direction, Direction::lower);
    EXPECT_GT(b.metrics.at("time_s").warn.absolute, 0);
  }
}

TEST(Baseline, RoundTripsThroughJson) {
  Baseline b = testing::p5_baseline(2);
  b.rows[1].metrics["busbw_Bps"].warn = Band{0.15, 0};
  b.rows[1].metrics["busbw_Bps"].observed_spread = 0.05;
  b.rows[1].metrics["busbw_Bps"].runs = 3;
  b.notes = {"a note"};
  const json j = b;
  EXPECT_TRUE(validate_baseline_document(j).empty()) << j.dump(2);
  const Baseline back = j.get<Baseline>();
  EXPECT_EQ(json(back), j);
  EXPECT_EQ(back.sizes_allowed_to_miss, 2);
  EXPECT_EQ(back.rule_for("busbw_Bps", back.rows[1].metrics.at("busbw_Bps")).warn.relative, 0.15);
}

TEST(Baseline, BandAllowanceIsTheLargerOfRelativeAndFloor) {
  EXPECT_DOUBLE_EQ((Band{0.25, 20e-6}.allowance(69.12e-6)), 20e-6);
  EXPECT_DOUBLE_EQ((Band{0.25, 20e-6}.allowance(400e-6)), 100e-6);
  EXPECT_DOUBLE_EQ((Band{0.10, 0}.allowance(15.95e9)), 1.595e9);
}

class BaselineFile : public ::testing::Test {
 protected:
  std::filesystem::path write(const json& document) {
    const auto path = dir_.path() / "baseline.json";
    std::ofstream(path) << document.dump(2);
    return path;
  }
  static std::string error_of(const std::filesystem::path& path) {
    try {
      (void)read_baseline(path);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "no error";
  }
  TempDir dir_{::testing::UnitTest::GetInstance()->current_test_info()->name()};
};

TEST_F(BaselineFile, WrongSchemaVersionNamesThePointer) {
  json j = testing::p5_baseline();
  j["schema"] = "preflight.baseline/2";
  const std::string message = error_of(write(j));
  EXPECT_NE(message.find("baseline.json"), std::string::npos) << message;
  EXPECT_NE(message.find("/schema"), std::string::npos) << message;
}

TEST_F(BaselineFile, FailBandNarrowerThanWarnIsRejected) {
  json j = testing::p5_baseline();
  j["metrics"]["busbw_Bps"]["fail"]["relative"] = 0.05;
  const std::string message = error_of(write(j));
  EXPECT_NE(message.find("/metrics/busbw_Bps/fail"), std::string::npos) << message;
}

TEST_F(BaselineFile, DuplicateSizesAndUnknownMetricsAreRejected) {
  json j = testing::p5_baseline();
  j["rows"][2]["size_bytes"] = 1048576;
  EXPECT_NE(error_of(write(j)).find("/rows/2/size_bytes"), std::string::npos);
  j = testing::p5_baseline();
  j["rows"][0]["metrics"]["latency_ms"] = {{"expected", 1}};
  const std::string message = error_of(write(j));
  EXPECT_NE(message.find("/rows/0/metrics/latency_ms"), std::string::npos) << message;
}

TEST_F(BaselineFile, TruncatedJsonNamesLineAndColumn) {
  const auto path = dir_.path() / "baseline.json";
  std::ofstream(path) << "{\n  \"schema\": \"preflight.baseline/1\",\n  \"rows\": [";
  const std::string message = error_of(path);
  EXPECT_NE(message.find("baseline.json:3:"), std::string::npos) << message;
}

TEST(Baseline, MetricValueInvertsTheTimeCiForBandwidth) {
  const ResultRow row = collective_row(1 << 20, 100e-6, 0.10);
  const auto busbw = metric_value(row, kMetricBusBw);
  ASSERT_TRUE(busbw);
  EXPECT_DOUBLE_EQ(busbw->value, row.busbw_Bps);
  EXPECT_NEAR(busbw->ci_lo, row.busbw_Bps / 1.1, 1);
  EXPECT_NEAR(busbw->ci_hi, row.busbw_Bps / 0.9, 1);
  const auto time = metric_value(row, kMetricTime);
  ASSERT_TRUE(time);
  EXPECT_DOUBLE_EQ(time->ci_lo, 90e-6);
  ResultRow unmeasured = row;
  unmeasured.time_s = {};
  unmeasured.busbw_Bps = 0;
  EXPECT_FALSE(metric_value(unmeasured, kMetricTime));
  EXPECT_FALSE(metric_value(unmeasured, kMetricBusBw));
  EXPECT_FALSE(metric_value(row, kMetricMessageRate));
}

// Baselines and diffs pick a row's metric the same way (choose_metric).
TEST(Baseline, AutoMetricIsTimeForSmallRowsThenBusThenAlgThenRate) {
  constexpr std::uint64_t kLatencyMax = 64 * 1024;
  ResultRow row = collective_row(8, 20e-6);
  EXPECT_EQ(choose_metric(row, "auto", kLatencyMax), kMetricTime);
  row = collective_row(1 << 20, 100e-6);
  EXPECT_EQ(choose_metric(row, "auto", kLatencyMax), kMetricBusBw);
  row.busbw_Bps = 0;
  EXPECT_EQ(choose_metric(row, "auto", kLatencyMax), kMetricAlgBw);
  row.algbw_Bps = 0;
  EXPECT_EQ(choose_metric(row, "auto", kLatencyMax), kMetricTime);
  row.message_rate_per_s = 1e6;
  EXPECT_EQ(choose_metric(row, "auto", kLatencyMax), kMetricMessageRate);
  EXPECT_EQ(choose_metric(row, "algbw_Bps", kLatencyMax), "algbw_Bps");
}

TEST(Baseline, CreateTakesTheMedianAcrossRunsAndWidensBandsBySpread) {
  std::vector<Report> runs;
  for (const double scale : {1.00, 0.96, 1.04}) {
    runs.push_back(report_with({collective_row(8, 70e-6 * scale), busbw_row(1 << 20, 16e9 * scale),
                                busbw_row(1 << 30, 400e9 * scale),
                                collective_row(1 << 20, 1e-3, 0, /*in_place=*/true)}));
  }
  BaselineCreateOptions options;
  options.warn_relative = 0.10;
  options.sizes_allowed_to_miss = 1;
  options.deterministic = true;
  const Baseline b = create_baseline(runs, {"a.json", "b.json", "c.json"}, options);
  EXPECT_TRUE(validate_baseline_document(json(b)).empty());
  EXPECT_EQ(b.match.instance_type, "p5.48xlarge");
  EXPECT_EQ(b.match.nodes, 2);
  EXPECT_EQ(b.match.ranks_per_node, 8);
  EXPECT_EQ(b.match.placement, "out_of_place");
  EXPECT_TRUE(b.created_at.empty());
  EXPECT_EQ(b.sizes_allowed_to_miss, 1);
  ASSERT_EQ(b.rows.size(), 3U);  // the in-place row is not part of an out-of-place baseline
  const BaselineMetric& latency = b.rows[0].metrics.at("time_s");
  EXPECT_DOUBLE_EQ(latency.expected, 70e-6);
  const BaselineMetric& bw = b.rows[2].metrics.at("busbw_Bps");
  EXPECT_DOUBLE_EQ(bw.expected, 400e9);
  ASSERT_TRUE(bw.observed_spread);
  EXPECT_NEAR(*bw.observed_spread, 0.04, 1e-9);
  ASSERT_TRUE(bw.warn);
  EXPECT_NEAR(bw.warn->relative, 0.14, 1e-9);
  EXPECT_NEAR(bw.fail->relative, 0.24, 1e-9);
  EXPECT_EQ(bw.runs, 3);
  EXPECT_NE(b.source.find("a.json"), std::string::npos);
}

TEST(Baseline, CreateRefusesIncomparableRunsAndSaysWhatDiffers) {
  std::vector<Report> runs{report_with({busbw_row(1 << 20, 16e9)}),
                           report_with({busbw_row(1 << 20, 16e9)}, "p4de.24xlarge")};
  try {
    (void)create_baseline(runs, {"a.json", "b.json"}, {});
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("instance type p5.48xlarge vs p4de.24xlarge"),
              std::string::npos)
        << e.what();
  }
  Report mixed = report_with({busbw_row(1 << 20, 16e9)});
  mixed.results.push_back(collective_row(1 << 20, 1e-4, 0, false, 16, "all_gather"));
  try {
    (void)create_baseline({mixed}, {"m.json"}, {});
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--benchmark"), std::string::npos) << e.what();
  }
  BaselineCreateOptions options;
  options.benchmark = "all_gather";
  EXPECT_EQ(create_baseline({mixed}, {"m.json"}, options).match.benchmark, "all_gather");
}

TEST(Baseline, RunShapeUsesNodesHostsAndRows) {
  Report report = report_with({busbw_row(1 << 20, 16e9)}, "", 0);
  EXPECT_EQ(run_shape(report).nodes, 0);
  EXPECT_EQ(run_shape(report).ranks, 16);
  report.run.hosts = {"a"};  // one entry may be rank 0's host only: unknown
  EXPECT_EQ(run_shape(report).nodes, 0);
  report.run.hosts = {"a", "b", "a", "b"};
  EXPECT_EQ(run_shape(report).nodes, 2);
  EXPECT_EQ(run_shape(report).ranks_per_node, 8);
  report.run.nodes = 4;
  EXPECT_EQ(run_shape(report).nodes, 4);
}

}  // namespace
}  // namespace preflight::reports
