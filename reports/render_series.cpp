#include "reports/render_series.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "common/text.hpp"
#include "reports/baseline.hpp"
#include "reports/format.hpp"

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

bool is_link_row(const ResultRow& row) {
  const auto src = row.labels.find("src");
  const auto dst = row.labels.find("dst");
  return src != row.labels.end() && dst != row.labels.end() && !src->second.empty() &&
         !dst->second.empty() && src->second != dst->second;
}

MetricNames metric_names(const ResultRow& row) {
  const auto time = row.labels.find("time");
  if (time == row.labels.end()) {
    // A collective: nccl-tests' names.
    return {row.busbw_Bps > 0 || row.busbw_factor > 0 ? "bus bandwidth" : "algorithm bandwidth",
            "time"};
  }
  // Point to point: the time label says what one sample is.
  if (row.benchmark == "latency") {
    return {"", time->second == "read_completion" ? "read completion time" : "one-way latency"};
  }
  if (row.benchmark == "bibw") {
    return {"bidirectional bandwidth (both directions)", "time per message"};
  }
  return {"bandwidth", "time per message"};
}

std::vector<LinkGroup> group_links(const Report& report) {
  std::set<std::pair<std::string, std::string>> pairs;
  for (const ResultRow& row : report.results) {
    if (is_link_row(row)) {
      const std::string& a = row.labels.at("src");
      const std::string& b = row.labels.at("dst");
      pairs.emplace(std::min(a, b), std::max(a, b));
    }
  }
  if (pairs.size() < 2) {
    return {};  // one link: its rows are plotted against size like any pair test
  }
  using Key = std::tuple<std::string, std::string, std::string, std::uint64_t, std::string>;
  std::map<Key, LinkGroup> groups;
  std::vector<Key> order;
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    const ResultRow& row = report.results[i];
    if (!is_link_row(row)) {
      continue;
    }
    const auto step = row.labels.find("step");
    const Key key{row.benchmark, row.backend, row.transport, row.size_bytes,
                  step == row.labels.end() ? std::string() : step->second};
    auto [it, inserted] = groups.try_emplace(key);
    LinkGroup& group = it->second;
    if (inserted) {
      order.push_back(key);
      group.benchmark = row.benchmark;
      group.size_bytes = row.size_bytes;
      const MetricNames names = metric_names(row);
      group.lower_is_better = names.bandwidth.empty();
      group.metric = group.lower_is_better ? names.time : names.bandwidth;
      std::vector<std::string> parts{row.benchmark};
      for (const std::string& part : {row.backend, row.transport, std::get<4>(key)}) {
        if (!part.empty()) {
          parts.push_back(part);
        }
      }
      parts.push_back(human_size(row.size_bytes));
      group.title = join(parts, " \u00b7 ");
    }
    group.rows.push_back(static_cast<int>(i));
    const double value = group.lower_is_better ? row.time_s.median : row.algbw_Bps;
    if (!(value > 0)) {
      continue;
    }
    const std::string& src = row.labels.at("src");
    const std::string& dst = row.labels.at("dst");
    auto cell = std::find_if(group.links.begin(), group.links.end(),
                             [&](const LinkCell& c) { return c.src == src && c.dst == dst; });
    if (cell == group.links.end()) {
      group.links.push_back({src, dst, value, 0, static_cast<int>(i)});
    } else if (group.lower_is_better ? value < cell->value : value > cell->value) {
      cell->value = value;
      cell->row = static_cast<int>(i);
    }
  }
  std::vector<LinkGroup> result;
  for (std::size_t g = 0; g < order.size(); ++g) {
    LinkGroup group = std::move(groups[order[g]]);
    if (group.links.size() < 2) {
      continue;
    }
    group.key = fmt::format("links{}", g);
    std::set<std::string> nodes;
    std::vector<double> values;
    for (const LinkCell& cell : group.links) {
      nodes.insert(cell.src);
      nodes.insert(cell.dst);
      values.push_back(cell.value);
    }
    group.nodes.assign(nodes.begin(), nodes.end());
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    group.reference = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    for (LinkCell& cell : group.links) {
      cell.fraction =
          group.lower_is_better ? group.reference / cell.value : cell.value / group.reference;
    }
    std::stable_sort(group.links.begin(), group.links.end(),
                     [](const LinkCell& a, const LinkCell& b) { return a.fraction < b.fraction; });
    result.push_back(std::move(group));
  }
  return result;
}

}  // namespace preflight::reports::detail
