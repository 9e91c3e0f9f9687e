#include "reports/render_series.hpp"

#include <fmt/format.h>

#include "common/text.hpp"
#include "reports/baseline.hpp"

namespace preflight::reports::detail {

std::vector<Series> group_series(const Report& report) {
  std::vector<Series> series;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    const ResultRow& row = report.results[i];
    std::vector<std::string> parts{row.benchmark};
    if (!row.backend.empty()) {
      parts.push_back(row.backend);
    }
    if (!row.transport.empty()) {
      parts.push_back(row.transport);
    }
    if (!row.dtype.empty()) {
      parts.push_back(row.dtype);
    }
    if (!row.op.empty() && row.op != "none") {
      parts.push_back(row.op);
    }
    parts.push_back(fmt::format("{} ranks", row.ranks));
    for (const auto& [name, value] : row.labels) {
      // Value labels (timestamps, counters, per-size figures) do not make a separate series;
      // the root is shown in the table.
      if (is_identity_label(name) && name != "root") {
        parts.push_back(fmt::format("{}={}", name, value));
      }
    }
    const std::string title = join(parts, " \u00b7 ");
    auto found = index.find(title);
    if (found == index.end()) {
      found = index.emplace(title, series.size()).first;
      Series s;
      s.title = title;
      s.key = fmt::format("s{}", series.size());
      s.benchmark = row.benchmark;
      series.push_back(std::move(s));
    }
    Series& s = series[found->second];
    // Pair with the latest line of this size whose slot is free (nccl-tests order: each size
    // once per sweep, out-of-place then in-place); a repeated size starts a new line.
    SeriesLine* target = nullptr;
    for (auto it = s.lines.rbegin(); it != s.lines.rend(); ++it) {
      if (it->size_bytes == row.size_bytes) {
        if ((row.in_place ? it->in_place : it->out_of_place) < 0) {
          target = &*it;
        }
        break;
      }
    }
    if (target == nullptr) {
      s.lines.push_back({row.size_bytes, -1, -1});
      target = &s.lines.back();
    }
    (row.in_place ? target->in_place : target->out_of_place) = static_cast<int>(i);
  }
  return series;
}

std::map<int, const RowOutcome*> outcomes_by_row(const Comparison* comparison) {
  std::map<int, const RowOutcome*> map;
  if (comparison == nullptr) {
    return map;
  }
  for (const auto& row : comparison->rows) {
    if (row.report_row >= 0) {
      map[row.report_row] = &row;
    }
  }
  return map;
}

bool is_failing(RowVerdict verdict) {
  return verdict == RowVerdict::fail || verdict == RowVerdict::missing;
}

}  // namespace preflight::reports::detail
