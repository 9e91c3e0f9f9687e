// The one printer of nccl-tests' table: its header against the format strings of nccl-tests
// 2.19, its number cells against getFloatStr, and its footer against a real run's footer from the
// shared corpus.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "report_builders.hpp"
#include "reports/nccl_tests_table.hpp"
#include "tests/unit/shared_corpus.hpp"

namespace preflight::reports {
namespace {

// nccl-tests' text outputs from the shared corpus.
std::vector<std::string> corpus_lines(const std::string& name) {
  return preflight::testing::corpus_lines("nccl-tests-text", name);
}

// A row of the given time and bus bandwidth (algorithm bandwidth half of it), checked with
// `wrong` wrong elements (-1: not checked).
ResultRow row(std::uint64_t size, bool in_place, double time_s, double busbw_Bps,
              std::int64_t wrong) {
  ResultRow result = testing::collective_row(size, time_s, 0, in_place);
  result.algbw_Bps = busbw_Bps / 2;
  result.busbw_Bps = busbw_Bps;
  result.wrong_elements = wrong;
  result.labels = {{"root", "-1"}};
  return result;
}

// What nccl-tests 2.19 prints (writeResultHeader, no timestamps): printf("# %10s  %12s  %8s
// %6s  %6s           out-of-place                       in-place          \n") and the two
// column lines, each ending in " %*s" with an empty timestamp, so one trailing space.
TEST(NcclTestsTable, HeaderIsNcclTestsByteForByte) {
  EXPECT_EQ(nccl_tests_table_header(),
            "#                                                              out-of-place        "
            "               in-place          \n"
            "#       size         count      type   redop    root     time   algbw   busbw  "
            "#wrong     time   algbw   busbw  #wrong \n"
            "#        (B)    (elements)                               (us)  (GB/s)  (GB/s)     "
            "        (us)  (GB/s)  (GB/s)         \n");
  // The same words as a real run's header (transcribed without its trailing spaces).
  const auto lines = corpus_lines("p6-b200-2node-all_reduce-wide-wrong-col-partial.txt");
  if (lines.size() < 3) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  EXPECT_NE(nccl_tests_table_header().find(lines[1] + " \n"), std::string::npos);
}

// getFloatStr: the most decimals that fit the column, then fewer, then an exponent.
TEST(NcclTestsTable, NumberCellsAreGetFloatStr) {
  EXPECT_EQ(nccl_tests_time_cell(69.12e-6), "  69.12");
  EXPECT_EQ(nccl_tests_time_cell(111.7e-6), " 111.70");
  EXPECT_EQ(nccl_tests_time_cell(17286e-6), "17286.0");
  EXPECT_EQ(nccl_tests_time_cell(172860e-6), " 172860");
  EXPECT_EQ(nccl_tests_time_cell(17286000e-6), "1.7e+07");
  EXPECT_EQ(nccl_tests_time_cell(0.23e-6), "   0.23");
  EXPECT_EQ(nccl_tests_bandwidth_cell(487.09e9), "487.09");
  EXPECT_EQ(nccl_tests_bandwidth_cell(1234.5e9), "1234.5");
  EXPECT_EQ(nccl_tests_bandwidth_cell(0.0), "  0.00");
}

TEST(NcclTestsTable, LineHasBothPlacementsAndMarksWhatIsMissing) {
  const ResultRow out_of_place = row(1048576, false, 123.2e-6, 15.96e9, 0);
  const ResultRow in_place = row(1048576, true, 121.3e-6, 16.21e9, -1);
  EXPECT_EQ(nccl_tests_table_line({&out_of_place, &in_place}),
            "     1048576        262144     float     sum      -1   123.20    7.98   15.96       0"
            "   121.30    8.11   16.21     N/A\n");
  EXPECT_EQ(nccl_tests_table_line({nullptr, &in_place}),
            "     1048576        262144     float     sum      -1        -       -       -       -"
            "   121.30    8.11   16.21     N/A\n");
  ResultRow unnamed = in_place;  // a point-to-point row: no type, no reduction
  unnamed.dtype.clear();
  unnamed.op.clear();
  unnamed.labels.clear();
  EXPECT_EQ(nccl_tests_table_line({&unnamed, nullptr}).substr(0, 54),
            "     1048576        262144         -    none      -1  ");
}

// The footer lines as nccl-tests prints them ("# %-20s : %d %s", "# %-20s : %g %s"), the average
// over every size and placement: checked against a real run's table and footer.
TEST(NcclTestsTable, FooterIsNcclTestsAverageOverSizesAndPlacements) {
  const auto lines = corpus_lines("gcp-a3mega-h100-2node-allreduce-plain.txt");
  if (lines.empty()) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  std::vector<ResultRow> rows;
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
      rows.push_back(row(size, in_place, 1e-6, cells[in_place ? 6 : 2] * 1e9, 0));
    }
  }
  ASSERT_EQ(rows.size(), 62U);
  ASSERT_EQ(footer, "# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 70.742 \n");
  const std::string ours = nccl_tests_footer(rows);
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
  EXPECT_EQ(nccl_tests_footer(rows),
            "# Out of bounds values : 1 FAILED\n# Avg bus bandwidth    : 1.75 \n");
}

}  // namespace
}  // namespace preflight::reports
