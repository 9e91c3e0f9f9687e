#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "report_builders.hpp"
#include "reports/compare.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;
using testing::busbw_row;
using testing::collective_row;
using testing::p5_baseline;
using testing::p5_rows;
using testing::report_with;

const RowOutcome& row_of(const Comparison& c, std::uint64_t size) {
  for (const auto& row : c.rows) {
    if (row.size_bytes == size) {
      return row;
    }
  }
  throw std::out_of_range("no row");
}

std::string usage_error_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no UsageError";
}

TEST(Compare, ExactFiguresPass) {
  const Comparison c = compare_to_baseline(report_with(p5_rows()), p5_baseline(), "r.json");
  EXPECT_EQ(c.status, Status::pass) << c.summary;
  EXPECT_EQ(c.counts.at(RowVerdict::pass), 5);
  for (const auto& row : c.rows) {
    EXPECT_EQ(row.verdict, RowVerdict::pass) << row.size_bytes;
    EXPECT_GE(row.report_row, 0);
  }
}

TEST(Compare, HigherIsBetterBandsGiveWarnFailImproved) {
  auto rows = p5_rows();
  rows[1] = busbw_row(1048576, 15.95e9 * 0.85);      // -15%: warn (10% < 15% <= 20%)
  rows[2] = busbw_row(16777216, 105.52e9 * 0.7);     // -30%: fail
  rows[3] = busbw_row(134217728, 289.16e9 * 1.2);    // +20%: improved
  rows[4] = busbw_row(1073741824, 436.95e9 * 0.95);  // -5%: pass
  const Comparison c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 1048576).verdict, RowVerdict::warn);
  EXPECT_EQ(row_of(c, 16777216).verdict, RowVerdict::fail);
  EXPECT_EQ(row_of(c, 134217728).verdict, RowVerdict::improved);
  EXPECT_EQ(row_of(c, 1073741824).verdict, RowVerdict::pass);
  EXPECT_NEAR(row_of(c, 16777216).metrics.front().delta, -0.30, 1e-9);
  EXPECT_EQ(c.status, Status::fail);  // one fail, budget 0
  EXPECT_NE(c.summary.find("16 MiB"), std::string::npos) << c.summary;
}

TEST(Compare, LowerIsBetterWithAnAbsoluteFloorForTinyLatencies) {
  auto rows = p5_rows();
  // +27%: above the 25% relative band but within the 20 us floor (69.12 -> 87.96 us).
  rows[0] = collective_row(8, 87.96e-6);
  Comparison c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 8).verdict, RowVerdict::pass);
  EXPECT_DOUBLE_EQ(row_of(c, 8).metrics.front().warn_allowance, 20e-6);
  rows[0] = collective_row(8, 95e-6);  // +25.9 us: warn (fail needs +40 us)
  c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 8).verdict, RowVerdict::warn);
  rows[0] = collective_row(8, 120e-6);  // +50.9 us: fail
  c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 8).verdict, RowVerdict::fail);
  rows[0] = collective_row(8, 30e-6);  // -39 us: improved beyond the band
  c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 8).verdict, RowVerdict::improved);
}

TEST(Compare, ACiReachingBackAcrossTheEdgeIsInconclusiveNotFailed) {
  auto rows = p5_rows();
  // busbw -22% (a fail by the median), but the CI of the median time is +-15%, so the best end
  // of the busbw CI is within the warn band: the data cannot say it failed.
  rows[2] = busbw_row(16777216, 105.52e9 * 0.78, 0.15);
  Comparison c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 16777216).verdict, RowVerdict::inconclusive);
  EXPECT_EQ(c.status, Status::warn) << c.summary;
  // A tight CI leaves it failed.
  rows[2] = busbw_row(16777216, 105.52e9 * 0.78, 0.005);
  c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 16777216).verdict, RowVerdict::fail);
  // An "improvement" whose CI reaches back into the band is only a pass.
  rows[2] = busbw_row(16777216, 105.52e9 * 1.12, 0.10);
  c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 16777216).verdict, RowVerdict::pass);
}

TEST(Compare, MissingSizesFailWhateverTheBudget) {
  auto rows = p5_rows();
  rows.pop_back();  // no 1 GiB row
  const Comparison c = compare_to_baseline(report_with(rows), p5_baseline(3), "r.json");
  EXPECT_EQ(row_of(c, 1073741824).verdict, RowVerdict::missing);
  EXPECT_EQ(row_of(c, 1073741824).report_row, -1);
  EXPECT_EQ(c.status, Status::fail);
}

TEST(Compare, TheBudgetAbsorbsFailingSizesAsAWarning) {
  auto rows = p5_rows();
  rows[1] = busbw_row(1048576, 15.95e9 * 0.5);
  Comparison c = compare_to_baseline(report_with(rows), p5_baseline(1), "r.json");
  EXPECT_EQ(c.status, Status::warn) << c.summary;
  EXPECT_TRUE(row_of(c, 1048576).within_budget);
  EXPECT_NE(c.summary.find("within budget"), std::string::npos);
  rows[2] = busbw_row(16777216, 105.52e9 * 0.5);
  c = compare_to_baseline(report_with(rows), p5_baseline(1), "r.json");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_FALSE(row_of(c, 1048576).within_budget);
}

TEST(Compare, WrongElementsFailTheRowHoweverFastItIs) {
  auto rows = p5_rows();
  rows[3].wrong_elements = 17;
  const Comparison c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 134217728).verdict, RowVerdict::fail);
  EXPECT_NE(row_of(c, 134217728).reason.find("17 wrong elements"), std::string::npos);
}

TEST(Compare, IncomparableRunsAreUsageErrorsNamingWhatDiffers) {
  std::string message = usage_error_of([] {
    (void)compare_to_baseline(report_with(p5_rows(), "p4de.24xlarge"), p5_baseline(), "r.json");
  });
  EXPECT_NE(message.find("r.json"), std::string::npos) << message;
  EXPECT_NE(message.find("test-baseline"), std::string::npos) << message;
  EXPECT_NE(message.find("instance type: report p4de.24xlarge, baseline p5.48xlarge"),
            std::string::npos)
      << message;

  auto gather = p5_rows();
  for (auto& row : gather) {
    row.benchmark = "all_gather";
    row.op = "";
  }
  message = usage_error_of(
      [&] { (void)compare_to_baseline(report_with(gather), p5_baseline(), "r.json"); });
  EXPECT_NE(message.find("benchmark=all_gather"), std::string::npos) << message;

  message = usage_error_of([] {
    (void)compare_to_baseline(report_with(p5_rows(), "p5.48xlarge", 4), p5_baseline(), "r.json");
  });
  EXPECT_NE(message.find("nodes: report 4, baseline 2"), std::string::npos) << message;

  auto eight = p5_rows();
  for (auto& row : eight) {
    row.ranks = 8;
  }
  Report single = report_with(eight, "p5.48xlarge", 0);
  message = usage_error_of([&] { (void)compare_to_baseline(single, p5_baseline(), "r.json"); });
  EXPECT_NE(message.find("ranks: report 8, baseline 16"), std::string::npos) << message;
}

TEST(Compare, UnstatedFactsAreAssumedAndSaid) {
  const Comparison c = compare_to_baseline(report_with(p5_rows(), "", 0), p5_baseline(), "r.json");
  EXPECT_EQ(c.status, Status::pass);
  ASSERT_GE(c.notes.size(), 2U);
  EXPECT_NE(c.notes[0].find("instance type"), std::string::npos);
  EXPECT_NE(c.notes[1].find("node count"), std::string::npos);
}

TEST(Compare, OpNoneAndEmptyAreOneValue) {
  Baseline b = p5_baseline();
  b.match.op = "none";
  auto rows = p5_rows();
  for (auto& row : rows) {
    row.op = "";
  }
  EXPECT_EQ(compare_to_baseline(report_with(rows), b, "r.json").status, Status::pass);
}

TEST(Compare, ValueLabelsDoNotSplitSeries) {
  EXPECT_TRUE(is_identity_label("provider"));
  EXPECT_TRUE(is_identity_label("src"));
  EXPECT_TRUE(is_identity_label("split"));
  EXPECT_FALSE(is_identity_label("timestamp"));
  EXPECT_FALSE(is_identity_label("requested_bytes"));
  EXPECT_FALSE(is_identity_label("host_time_median_s"));
  EXPECT_FALSE(is_identity_label("verified_messages"));
  EXPECT_FALSE(is_identity_label("src_rank"));
  // A per-row value label differs between two runs of the same thing: they still diff.
  Report a = report_with(p5_rows());
  Report b = report_with(p5_rows());
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    a.results[i].labels["host_time_median_s"] = std::to_string(0.001 * i);
    b.results[i].labels["host_time_median_s"] = std::to_string(0.002 * i);
    a.results[i].labels["provider"] = "efa";
    b.results[i].labels["provider"] = "efa";
  }
  const Comparison c = diff_reports(a, b, "a.json", "b.json", DiffOptions{});
  EXPECT_EQ(c.rows.size(), 5U);
  EXPECT_EQ(c.status, Status::pass);
  EXPECT_NE(c.rows.front().series.find("provider=efa"), std::string::npos);
  EXPECT_EQ(c.rows.front().series.find("host_time"), std::string::npos);
}

TEST(Compare, DuplicateSizesAreComparedAtTheirMedian) {
  auto rows = p5_rows();
  rows.push_back(busbw_row(1048576, 15.95e9 * 0.5));  // one slow repeat
  rows.push_back(busbw_row(1048576, 15.95e9 * 1.0));
  const Comparison c = compare_to_baseline(report_with(rows), p5_baseline(), "r.json");
  EXPECT_EQ(row_of(c, 1048576).verdict, RowVerdict::pass);
  EXPECT_NE(json(c.notes).dump().find("more than once"), std::string::npos);
}

TEST(Compare, AttachedComparisonRoundTripsThroughTheReportFile) {
  Report report = report_with(p5_rows());
  report.results[2] = busbw_row(16777216, 105.52e9 * 0.5);
  const Comparison c = compare_to_baseline(report, p5_baseline(), "r.json");
  attach_comparison(report, c, false);
  EXPECT_EQ(report.checks.back().id, "BASELINE_REGRESSION");
  EXPECT_EQ(report.checks.back().status, Status::fail);
  EXPECT_EQ(report.verdict.status, Status::fail);
  EXPECT_EQ(report.verdict.exit_code, 1);
  const std::string text = dump_report(report);
  const Report back = parse_json_text(text, "mem").get<Report>();
  const auto stored = stored_comparison(back);
  ASSERT_TRUE(stored);
  EXPECT_EQ(json(*stored), json(c));
  // Valid against the report schema.
  EXPECT_TRUE(report_schema().validate(json::parse(text)).empty());
}

TEST(Compare, PassingAndInconclusiveChecks) {
  Report report = report_with(p5_rows());
  attach_comparison(report, compare_to_baseline(report, p5_baseline(), "r.json"), false);
  EXPECT_EQ(report.checks.back().id, "BASELINE_PASS");
  EXPECT_EQ(report.verdict.status, Status::pass);
  Report noisy = report_with(p5_rows());
  noisy.results[2] = busbw_row(16777216, 105.52e9 * 0.78, 0.15);
  attach_comparison(noisy, compare_to_baseline(noisy, p5_baseline(), "r.json"), false);
  EXPECT_EQ(noisy.checks.back().id, "BASELINE_INCONCLUSIVE");
  EXPECT_EQ(noisy.verdict.status, Status::warn);
  EXPECT_EQ(noisy.verdict.exit_code, 0);
  Report strict = noisy;
  strict.checks.pop_back();
  attach_comparison(strict, compare_to_baseline(strict, p5_baseline(), "r.json"), true);
  EXPECT_EQ(strict.verdict.exit_code, 1);  // --warn-as-fail
}

TEST(Diff, FourStatesMissingAndSummary) {
  const Report a = report_with(p5_rows());
  auto rows = p5_rows();
  rows[1] = busbw_row(1048576, 15.95e9 * 0.80);          // -20%: fail (10%)
  rows[2] = busbw_row(16777216, 105.52e9 * 1.30);        // improved
  rows[3] = busbw_row(134217728, 289.16e9 * 0.85, 0.2);  // noisy: inconclusive
  rows.pop_back();                                       // 1 GiB missing from B
  rows.push_back(busbw_row(2147483648, 443e9));          // only in B
  const Report b = report_with(rows);
  const Comparison c = diff_reports(a, b, "a.json", "b.json", DiffOptions{});
  EXPECT_EQ(c.kind, "diff");
  EXPECT_EQ(row_of(c, 8).verdict, RowVerdict::pass);
  EXPECT_EQ(row_of(c, 1048576).verdict, RowVerdict::fail);
  EXPECT_EQ(row_of(c, 16777216).verdict, RowVerdict::improved);
  EXPECT_EQ(row_of(c, 134217728).verdict, RowVerdict::inconclusive);
  EXPECT_EQ(row_of(c, 1073741824).verdict, RowVerdict::missing);
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.summary.find("geometric mean"), std::string::npos) << c.summary;
  EXPECT_NE(json(c.notes).dump().find("only in b.json"), std::string::npos);
  EXPECT_FALSE(row_of(c, 8).series.empty());
}

TEST(Diff, SaysWhatDiffersBetweenRuns) {
  Report a = report_with(p5_rows());
  Report b = report_with(p5_rows());
  a.inventory.versions["nccl"] = "2.18.5";
  b.inventory.versions["nccl"] = "2.21.5";
  b.inventory.env["NCCL_ALGO"] = "Ring";
  const Comparison c = diff_reports(a, b, "a.json", "b.json", DiffOptions{});
  EXPECT_EQ(c.status, Status::pass);
  const std::string notes = json(c.notes).dump();
  EXPECT_NE(notes.find("version nccl 2.18.5 -> 2.21.5"), std::string::npos) << notes;
  EXPECT_NE(notes.find("env NCCL_ALGO (unset) -> Ring"), std::string::npos) << notes;
}

TEST(Diff, NothingInCommonIsAUsageError) {
  auto gather = p5_rows();
  for (auto& row : gather) {
    row.benchmark = "all_gather";
  }
  const std::string message = usage_error_of([&] {
    (void)diff_reports(report_with(p5_rows()), report_with(gather), "a.json", "b.json", {});
  });
  EXPECT_NE(message.find("share no comparable results"), std::string::npos) << message;
  EXPECT_NE(message.find("benchmark=all_gather"), std::string::npos) << message;
}

}  // namespace
}  // namespace preflight::reports
