// Baselines found by what they match (instance type, node count, benchmark, backend), never by
// file name: the shipped directory holds several platforms and shapes side by side.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "report_builders.hpp"
#include "reports/baseline_match.hpp"

namespace preflight::reports {
namespace {

using testing::busbw_row;
using testing::collective_row;
using testing::report_with;
using testing::shipped_baselines_dir;

// Rows of an 8-rank all-reduce at the shipped single-node p5 figures, busbw scaled by `scale`.
std::vector<ResultRow> one_node_p5_rows(double scale = 1.0) {
  std::vector<ResultRow> rows{collective_row(8, 12.9e-6, 0, false, 8)};
  for (const auto& [size, busbw] : {std::pair<std::uint64_t, double>{1048576, 64.24e9},
                                    {16777216, 236.82e9},
                                    {134217728, 396.19e9},
                                    {1073741824, 441.81e9},
                                    {2147483648, 444.02e9},
                                    {8589934592, 480.43e9},
                                    {17179869184, 483.05e9}}) {
    rows.push_back(busbw_row(size, busbw * scale, 0, 8));
  }
  return rows;
}

TEST(BaselineMatch, TheShippedDirectoryLoadsEveryBaseline) {
  const auto library = load_baselines({shipped_baselines_dir()});
  EXPECT_EQ(library.files.size(), 3U);
  EXPECT_TRUE(library.problems.empty()) << library.problems.front();
}

TEST(BaselineMatch, ChoosesTheBaselineOfTheRunsShapeNotItsFileName) {
  const auto library = load_baselines({shipped_baselines_dir()});
  const auto one_node = compare_with_matching_baselines(
      report_with(one_node_p5_rows(), "p5.48xlarge", 1), library, "step nccl-allreduce");
  ASSERT_EQ(one_node.compared.size(), 1U)
      << (one_node.unmatched.empty() ? "" : one_node.unmatched[0]);
  EXPECT_EQ(one_node.compared[0].path.filename(), "p5.48xlarge-1node-all_reduce-nccl.json");
  EXPECT_EQ(one_node.compared[0].comparison.status, Status::pass)
      << one_node.compared[0].comparison.summary;

  // The same instance type over two nodes (16 ranks) gets the two-node baseline.
  std::vector<ResultRow> two_node_rows;
  for (const auto& row : testing::p5_rows()) {
    two_node_rows.push_back(row);
  }
  const auto two_nodes = compare_with_matching_baselines(
      report_with(two_node_rows, "p5.48xlarge", 2), library, "cluster");
  ASSERT_EQ(two_nodes.compared.size(), 1U);
  EXPECT_EQ(two_nodes.compared[0].path.filename(), "p5.48xlarge-2node-all_reduce-nccl.json");
}

TEST(BaselineMatch, ARegressionFailsTheComparison) {
  const auto library = load_baselines({shipped_baselines_dir()});
  const auto slow = compare_with_matching_baselines(
      report_with(one_node_p5_rows(0.6), "p5.48xlarge", 1), library, "step");
  ASSERT_EQ(slow.compared.size(), 1U);
  EXPECT_EQ(slow.compared[0].comparison.status, Status::fail);
}

TEST(BaselineMatch, NoGuessesForUnknownOrOtherPlatformsAndBackends) {
  const auto library = load_baselines({shipped_baselines_dir()});
  // No instance type stated: never matched against a platform's baseline.
  const auto unknown =
      compare_with_matching_baselines(report_with(one_node_p5_rows(), "", 1), library, "step");
  EXPECT_TRUE(unknown.compared.empty());
  ASSERT_EQ(unknown.unmatched.size(), 1U);
  EXPECT_NE(unknown.unmatched[0].find("unknown instance type: no baseline matches"),
            std::string::npos)
      << unknown.unmatched[0];
  // Another instance type, another backend.
  EXPECT_TRUE(compare_with_matching_baselines(report_with(one_node_p5_rows(), "p4d.24xlarge", 1),
                                              library, "step")
                  .compared.empty());
  auto rows = one_node_p5_rows();
  for (auto& row : rows) {
    row.backend = "mpi";
  }
  const auto mpi =
      compare_with_matching_baselines(report_with(rows, "p5.48xlarge", 1), library, "step");
  EXPECT_TRUE(mpi.compared.empty());
  EXPECT_NE(mpi.unmatched.at(0).find("all_reduce/mpi on 1x p5.48xlarge"), std::string::npos);
}

TEST(BaselineMatch, AMatchThatPinsOtherRanksIsNamedNotCompared) {
  // 1 node, p5, nccl all_reduce, but 4 ranks: the 1-node baseline pins 8 ranks per node.
  std::vector<ResultRow> rows;
  for (auto row : one_node_p5_rows()) {
    row.ranks = 4;
    rows.push_back(row);
  }
  const auto matching = compare_with_matching_baselines(
      report_with(rows, "p5.48xlarge", 1), load_baselines({shipped_baselines_dir()}), "step");
  EXPECT_TRUE(matching.compared.empty());
  ASSERT_EQ(matching.unmatched.size(), 1U);
  EXPECT_NE(matching.unmatched[0].find("not comparable"), std::string::npos);
  EXPECT_NE(matching.unmatched[0].find("p5.48xlarge-1node-all_reduce-nccl.json"),
            std::string::npos);
}

TEST(BaselineMatch, AStrayFileIsAProblemNotAStop) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("baseline-match-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(shipped_baselines_dir() / "p5.48xlarge-1node-all_reduce-nccl.json",
                             dir / "mine.json");
  std::ofstream(dir / "a-report.json") << "{\"schema\": \"preflight.report/1\"}\n";
  std::ofstream(dir / "notes.txt") << "not json\n";
  const auto library = load_baselines({dir, dir / "missing"});
  EXPECT_EQ(library.files.size(), 1U);
  ASSERT_EQ(library.problems.size(), 1U);
  EXPECT_NE(library.problems[0].find("a-report.json"), std::string::npos);
  // Named explicitly, a missing path is a problem too.
  EXPECT_EQ(load_baselines({dir / "missing"}, true).problems.size(), 1U);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace preflight::reports
