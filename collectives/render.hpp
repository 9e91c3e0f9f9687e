// Text output of a collectives report: nccl-tests' table layout (size, count, type, redop, root,
// then time, algbw, busbw and #wrong out of place and in place; time in microseconds, bandwidth in
// GB/s = 1e9 B/s) and its two footer lines exactly as it prints them ("# Out of bounds values :
// 0 OK", "# Avg bus bandwidth    : X"), so existing habits and scripts keep working; then the
// peak bus bandwidth and where it was reached, the checks and the verdict. Formatting only:
// everything comes from the report.
#pragma once

#include <string>
#include <vector>

#include "reports/report.hpp"

namespace preflight::collectives {

[[nodiscard]] std::string render_collective_text(const reports::Report& report);

// The pieces, for tests: nccl-tests' three header lines, and its time and bandwidth cells.
[[nodiscard]] std::string render_table_header();
[[nodiscard]] std::string format_time_cell(double seconds);           // 7 wide, us
[[nodiscard]] std::string format_bandwidth_cell(double bytes_per_s);  // 6 wide, GB/s
// nccl-tests' two footer lines: the rows whose check found wrong elements (OK when none), and
// the bus bandwidth in GB/s averaged over every row (each size and placement), printed "%g".
[[nodiscard]] std::string render_nccl_tests_footer(const std::vector<reports::ResultRow>& rows);

}  // namespace preflight::collectives
