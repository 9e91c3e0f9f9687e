// The one printer of nccl-tests' results table, used by the collective binaries' text output and
// by `preflight-report render --format text`: the layout of the current nccl-tests release
// (2.19), byte for byte where nccl-tests is consistent, so that habits and scripts written for
// nccl-tests keep working on preflight's output.
//
//   #      (three header lines: placements; size count type redop root, then time algbw busbw
//   #       #wrong out of place and in place; their units)
//   size  count  type  redop  root  time algbw busbw #wrong  time algbw busbw #wrong
//   # Out of bounds values : 0 OK
//   # Avg bus bandwidth    : 52.9753
//
// Time in microseconds, bandwidth in GB/s (1e9 B/s), each printed as nccl-tests' getFloatStr
// does: the most decimals (2, 1, 0) that fit the column, else an exponent. Two deliberate
// departures, both where nccl-tests' own columns would misalign: an unchecked #wrong is "N/A"
// right-aligned in its column (nccl-tests prints it one character short), and a placement
// without a row (a run of one placement, a report of point-to-point rows) is "-" in every cell.
#pragma once

#include <string>
#include <vector>

#include "reports/report.hpp"

namespace preflight::reports {

// One line of the table: the out-of-place and in-place rows of one size, side by side; either
// may be absent (nullptr), not both.
struct NcclTestsLine {
  const ResultRow* out_of_place = nullptr;
  const ResultRow* in_place = nullptr;
};

// nccl-tests' three header lines.
[[nodiscard]] std::string nccl_tests_table_header();
// One line: size, count, type, redop and root from the rows, then each placement's cells.
[[nodiscard]] std::string nccl_tests_table_line(const NcclTestsLine& line);
// nccl-tests' getFloatStr: the widest of %.2f, %.1f, %.0f that fits `width`, else an exponent.
[[nodiscard]] std::string nccl_tests_number_cell(double value, int width);
[[nodiscard]] std::string nccl_tests_time_cell(double seconds);           // 7 wide, us
[[nodiscard]] std::string nccl_tests_bandwidth_cell(double bytes_per_s);  // 6 wide, GB/s
// nccl-tests' two footer lines: the rows whose check found wrong elements (OK when none), and the
// bus bandwidth in GB/s averaged over every row (each size and placement), printed "%g".
[[nodiscard]] std::string nccl_tests_footer(const std::vector<ResultRow>& rows);

}  // namespace preflight::reports
