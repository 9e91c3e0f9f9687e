// Internal to the renderers: result rows grouped into series (one table or plot each), with the
// out-of-place and in-place rows of one size side by side as nccl-tests prints them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reports/compare.hpp"
#include "reports/report.hpp"

namespace preflight::reports::detail {

struct SeriesLine {
  std::uint64_t size_bytes = 0;
  int out_of_place = -1;  // index into report.results, -1 when absent
  int in_place = -1;
};

struct Series {
  std::string title;  // "all_reduce · nccl · float · sum · 16 ranks"
  std::string key;    // stable, for ids and data attributes
  std::string benchmark;
  std::vector<SeriesLine> lines;
};

[[nodiscard]] std::vector<Series> group_series(const Report& report);

// The comparison row for each compared report row (index into report.results).
[[nodiscard]] std::map<int, const RowOutcome*> outcomes_by_row(const Comparison* comparison);

// Verdicts that mark a row as failing in tables and plots.
[[nodiscard]] bool is_failing(RowVerdict verdict);

}  // namespace preflight::reports::detail
