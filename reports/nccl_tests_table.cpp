#include "reports/nccl_tests_table.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>

namespace preflight::reports {
namespace {

constexpr std::string_view kNoRow = "-";
constexpr std::string_view kUnchecked = "N/A";

// nccl-tests' header format: the five parameter columns, then time, algbw, busbw and #wrong for
// each placement, and a trailing space where its optional timestamp column would start.
std::string header_line(const std::array<std::string_view, 5>& parameters,
                        const std::array<std::string_view, 4>& placement) {
  std::string out = fmt::format("# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}", parameters[0],
                                parameters[1], parameters[2], parameters[3], parameters[4]);
  for (int twice = 0; twice < 2; ++twice) {
    out += fmt::format("  {:>7}  {:>6}  {:>6}  {:>6}", placement[0], placement[1], placement[2],
                       placement[3]);
  }
  return out + " \n";
}

std::string placement_cells(const ResultRow* row) {
  if (row == nullptr) {
    return fmt::format("  {:>7}  {:>6}  {:>6}  {:>6}", kNoRow, kNoRow, kNoRow, kNoRow);
  }
  const std::string wrong =
      row->wrong_elements < 0 ? std::string(kUnchecked) : std::to_string(row->wrong_elements);
  return fmt::format("  {}  {}  {}  {:>6}", nccl_tests_time_cell(row->time_s.median),
                     nccl_tests_bandwidth_cell(row->algbw_Bps),
                     nccl_tests_bandwidth_cell(row->busbw_Bps), wrong);
}

}  // namespace

std::string nccl_tests_number_cell(double value, int width) {
  for (const int precision : {2, 1, 0}) {
    std::string text = fmt::format("{:{}.{}f}", value, width, precision);
    if (static_cast<int>(text.size()) <= width) {
      return text;
    }
  }
  return fmt::format("{:{}.{}e}", value, width, width >= 7 ? 1 : 0);
}

std::string nccl_tests_time_cell(double seconds) {
  return nccl_tests_number_cell(seconds * 1e6, 7);
}

std::string nccl_tests_bandwidth_cell(double bytes_per_s) {
  return nccl_tests_number_cell(bytes_per_s / 1e9, 6);
}

std::string nccl_tests_table_header() {
  return fmt::format(
             "# {:>10}  {:>12}  {:>8}  {:>6}  {:>6}           out-of-place              "
             "         in-place          \n",
             "", "", "", "", "") +
         header_line({"size", "count", "type", "redop", "root"},
                     {"time", "algbw", "busbw", "#wrong"}) +
         header_line({"(B)", "(elements)", "", "", ""}, {"(us)", "(GB/s)", "(GB/s)", ""});
}

std::string nccl_tests_table_line(const NcclTestsLine& line) {
  const ResultRow& row = line.out_of_place != nullptr ? *line.out_of_place : *line.in_place;
  const auto root = row.labels.find("root");
  return fmt::format("{:>12}  {:>12}  {:>8}  {:>6}  {:>6}", row.size_bytes, row.count,
                     row.dtype.empty() ? "-" : row.dtype, row.op.empty() ? "none" : row.op,
                     root == row.labels.end() ? "-1" : root->second) +
         placement_cells(line.out_of_place) + placement_cells(line.in_place) + "\n";
}

std::string nccl_tests_footer(const std::vector<ResultRow>& rows) {
  // nccl-tests counts the checks that found wrong values and averages the bus bandwidth over
  // every timed (size, placement), both printed with its own format ("%-20s : %d %s", "%g %s").
  int failed_checks = 0;
  double busbw_sum_GBps = 0;
  for (const ResultRow& row : rows) {
    failed_checks += row.wrong_elements > 0 ? 1 : 0;
    busbw_sum_GBps += row.busbw_Bps / 1e9;
  }
  const double average_GBps =
      rows.empty() ? 0.0 : busbw_sum_GBps / static_cast<double>(rows.size());
  return fmt::format("# {:<20} : {} {}\n", "Out of bounds values", failed_checks,
                     failed_checks == 0 ? "OK" : "FAILED") +
         fmt::format("# {:<20} : {:g} \n", "Avg bus bandwidth", average_GBps);
}

}  // namespace preflight::reports
