// The collectives' text output: nccl-tests' table (reports/nccl_tests_table.hpp, whose own tests
// pin its header, cells and footer) filled from a run's rows, compared byte for byte with real
// nccl-tests output from the shared corpus, then the summary lines.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "collectives/render.hpp"
#include "domain/collective.hpp"
#include "tests/unit/shared_corpus.hpp"

namespace preflight::collectives {
namespace {

// nccl-tests' text outputs from the shared corpus.
std::vector<std::string> corpus_lines(const std::string& name) {
  return preflight::testing::corpus_lines("nccl-tests-text", name);
}

reports::ResultRow row(std::uint64_t size, bool in_place, double time_s, std::int64_t wrong,
                       int ranks = 2) {
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

// Rows of a real run of the current nccl-tests layout (2 x p6-b200, 16 ranks), byte for byte.
TEST(Render, RowsAreNcclTestsByteForByte) {
  const auto lines = corpus_lines("p6-b200-2node-all_reduce-wide-wrong-col-partial.txt");
  if (lines.size() < 10) {
    GTEST_SKIP() << "shared corpus not found (PREFLIGHT_SHARED_DIR)";
  }
  constexpr int kRanks = 16;
  reports::Report report;
  report.tool.name = "preflight-allreduce";
  report.results = {row(8, false, 50.58e-6, 0, kRanks), row(8, true, 54.46e-6, 0, kRanks),
                    row(256, false, 57.14e-6, 0, kRanks), row(256, true, 56.54e-6, 0, kRanks)};
  const std::string text = render_collective_text(report);
  EXPECT_NE(text.find("\n" + lines[4] + "\n"), std::string::npos) << text;  // 8 B
  EXPECT_NE(text.find("\n" + lines[9] + "\n"), std::string::npos) << text;  // 256 B: busbw 0.01
  // The header's column lines (the transcribed corpus kept their words, not their trailing
  // spaces: nccl-tests ends each with the space before its optional timestamp column).
  EXPECT_NE(text.find("\n" + lines[1] + " \n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n" + lines[2] + std::string(9, ' ') + "\n"), std::string::npos) << text;
}

TEST(Render, WrongElementsAreCountedInTheFooterAndSummed) {
  reports::Report report;
  report.tool.name = "preflight-allreduce";
  report.results = {row(8, false, 130.1e-6, 0), row(8, true, 118.6e-6, 0),
                    row(524288, false, 663.1e-6, 237858), row(524288, true, 569.4e-6, 238038)};
  const std::string text = render_collective_text(report);
  EXPECT_NE(text.find(" 663.10    0.79    0.79  237858   569.40    0.92    0.92  238038\n"),
            std::string::npos)
      << text;
  // nccl-tests' footer (two rows had wrong elements), then the peak and the element count.
  EXPECT_NE(text.find("\n# Out of bounds values : 2 FAILED\n# Avg bus bandwidth    : "),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Peak bus bandwidth"), std::string::npos);
  EXPECT_NE(text.find("Wrong elements       : 475896 in 2 row(s) FAILED"), std::string::npos)
      << text;
}

// An unchecked row says N/A in its #wrong column; a placement that has no row says "-".
TEST(Render, MissingPlacementIsADashAndUncheckedRowsSayNA) {
  reports::Report report;
  report.results = {row(1024, false, 10e-6, -1)};
  const std::string text = render_collective_text(report);
  EXPECT_NE(text.find("    10.00    0.10    0.10     N/A        -       -       -       -\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# Out of bounds values : 0 OK\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Data check           : nothing was checked (--check 0)"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace preflight::collectives
