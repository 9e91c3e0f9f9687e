// The text table must be nccl-tests' own layout: compared byte for byte with real nccl-tests
// output from the shared corpus.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collectives/registry.hpp"
#include "collectives/render.hpp"

namespace preflight::collectives {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> corpus_lines(const std::string& name) {
  const char* from_environment = std::getenv("PREFLIGHT_SHARED_DIR");  // NOLINT
  const fs::path shared =
      from_environment != nullptr ? fs::path(from_environment) : fs::path(PREFLIGHT_SHARED_DIR);
  std::ifstream stream(shared / "corpus" / "nccl-tests-text" / name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(stream, line);) {
    lines.push_back(line);
  }
  return lines;
}

reports::ResultRow row(std::uint64_t size, bool in_place, double time_s, std::int64_t wrong) {
  const int ranks = 2;
  const auto layout = collective_layout(CollectiveKind::all_reduce, size, 4, ranks);
  const Bandwidth bandwidth = compute_bandwidth(CollectiveKind::all_reduce, layout, ranks, time_s);
  reports::ResultRow result;
  result.benchmark = "all_reduce";
  result.backend = "nccl";
  result.dtype = "float";
  result.op = "sum";
  result.in_place = in_place;
  result.size_bytes = layout.size_bytes();
  result.count = layout.param_count;
  result.ranks = ranks;
  result.time_s.median = time_s;
  result.time_s.n = 20;
  result.algbw_Bps = bandwidth.algbw_Bps;
  result.busbw_Bps = bandwidth.busbw_Bps;
  result.busbw_factor = bandwidth.factor;
  result.wrong_elements = wrong;
  result.labels = {{"placement", in_place ? "in-place" : "out-of-place"},
                   {"root", "-1"},
                   {"requested_bytes", std::to_string(size)}};
  return result;
}

TEST(Render, TableHeaderIsNcclTestsByteForByte) {
  const auto lines = corpus_lines("dgx-h100-all_reduce-nonzero-wrong-partial.txt");
  if (lines.size() < 4) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  EXPECT_EQ(render_table_header(), lines[1] + "\n" + lines[2] + "\n" + lines[3] + "\n");
}

TEST(Render, RowsAreNcclTestsByteForByte) {
  const auto lines = corpus_lines("dgx-h100-all_reduce-nonzero-wrong-partial.txt");
  if (lines.size() < 8) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  reports::Report report;
  report.tool.name = "preflight-allreduce";
  report.results = {row(8, false, 130.1e-6, 0), row(8, true, 118.6e-6, 0),
                    row(524288, false, 663.1e-6, 237858), row(524288, true, 569.4e-6, 238038)};
  const std::string text = render_collective_text(report);
  EXPECT_NE(text.find("\n" + lines[4] + "\n"), std::string::npos) << text;  // 8 B, 0 wrong
  EXPECT_NE(text.find("\n" + lines[7] + "\n"), std::string::npos) << text;  // 237858 wrong
  // nccl-tests' footer (two rows had wrong elements), then the peak and the element count.
  EXPECT_NE(text.find("\n# Out of bounds values : 2 FAILED\n# Avg bus bandwidth    : "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Peak bus bandwidth"), std::string::npos);
  EXPECT_NE(text.find("Wrong elements       : 475896 in 2 row(s) FAILED"), std::string::npos)
      << text;
}

// The footer lines as nccl-tests prints them ("# %-20s : %d %s", "# %-20s : %g %s"), the average
// over every size and placement: checked against a real run's table and footer.
TEST(Render, FooterIsNcclTestsAverageOverSizesAndPlacements) {
  const auto lines = corpus_lines("gcp-a3mega-h100-2node-allreduce-plain.txt");
  if (lines.empty()) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  std::vector<reports::ResultRow> rows;
  std::string footer;
  for (const std::string& line : lines) {
    if (line.starts_with("# Avg bus bandwidth") || line.starts_with("# Out of bounds")) {
      footer += line + "\n";
      continue;
    }
    std::istringstream fields(line);
    std::uint64_t size = 0;
    std::uint64_t count = 0;
    std::string type;
    std::string op;
    int root = 0;
    double cells[8] = {};
    if (line.starts_with("#") || !(fields >> size >> count >> type >> op >> root)) {
      continue;
    }
    for (double& cell : cells) {
      fields >> cell;
    }
    for (const bool in_place : {false, true}) {
      reports::ResultRow result = row(size, in_place, 1e-6, 0);
      result.busbw_Bps = cells[in_place ? 6 : 2] * 1e9;
      rows.push_back(result);
    }
  }
  ASSERT_EQ(rows.size(), 62U);
  ASSERT_EQ(footer, "# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 70.742 \n");
  const std::string ours = render_nccl_tests_footer(rows);
  // The table's cells are rounded to 0.01 GB/s, so the last digits of the average may differ.
  EXPECT_EQ(ours.substr(0, ours.find("70.7")), footer.substr(0, footer.find("70.7")));
  const double average = std::stod(ours.substr(ours.rfind(": ") + 2));
  EXPECT_NEAR(average, 70.742, 0.01);
  EXPECT_EQ(ours.back(), '\n');
  EXPECT_EQ(ours[ours.size() - 2], ' ');  // "%g %s" with an empty verdict: a trailing space

  rows.resize(2);
  rows[0].busbw_Bps = 1.5e9;
  rows[1].busbw_Bps = 2.0e9;
  rows[1].wrong_elements = 3;
  EXPECT_EQ(render_nccl_tests_footer(rows),
            "# Out of bounds values : 1 FAILED\n# Avg bus bandwidth    : 1.75 \n");
}

TEST(Render, TimeAndBandwidthCellsFollowNcclTestsPrecision) {
  EXPECT_EQ(format_time_cell(69.12e-6), "  69.12");
  EXPECT_EQ(format_time_cell(111.7e-6), "  111.7");
  EXPECT_EQ(format_time_cell(1468.2e-6), " 1468.2");
  EXPECT_EQ(format_time_cell(17286e-6), "  17286");
  EXPECT_EQ(format_time_cell(0.23e-6), "   0.23");
  EXPECT_EQ(format_bandwidth_cell(487.09e9), "487.09");
  EXPECT_EQ(format_bandwidth_cell(0.0), "  0.00");
}

TEST(Render, MissingPlacementAndUncheckedRowsSayNA) {
  reports::Report report;
  report.results = {row(1024, false, 10e-6, -1)};
  const std::string text = render_collective_text(report);
  EXPECT_NE(text.find("    N/A     N/A     N/A    N/A\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# Out of bounds values : 0 OK\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Data check           : nothing was checked (--check 0)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace preflight::collectives
