#include "reports/import_nccl_tests_rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <span>
#include <unordered_map>

#include "common/error.hpp"
#include "common/stats.hpp"

namespace preflight::reports::nccl_tests_import {

namespace {

TimeStats point_stats(double time_s, std::size_t n) {
  TimeStats t;
  t.median = t.mean = t.min = t.max = t.p90 = t.p99 = time_s;
  t.ci95_lo = t.ci95_hi = time_s;
  t.n = n;
  return t;
}

std::vector<std::vector<std::size_t>> single_row_groups(std::size_t rows) {
  std::vector<std::vector<std::size_t>> groups(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    groups[i].push_back(i);
  }
  return groups;
}

// Table rows measuring the same thing (size, dtype, op, root), in the order of first appearance.
std::vector<std::vector<std::size_t>> repeat_groups(const std::deque<TableRow>& rows) {
  struct Key {
    std::uint64_t size;
    std::string_view type;
    std::string_view redop;
    std::int64_t root;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const {
      std::size_t hash = std::hash<std::uint64_t>()(key.size);
      hash = hash * 31 + std::hash<std::string_view>()(key.type);
      hash = hash * 31 + std::hash<std::string_view>()(key.redop);
      return hash * 31 + std::hash<std::int64_t>()(key.root);
    }
  };
  std::unordered_map<Key, std::size_t, KeyHash> index;
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TableRow& row = rows[i];
    const auto [found, added] =
        index.try_emplace(Key{row.size, row.type, row.redop, row.root}, groups.size());
    if (added) {
      groups.emplace_back();
    }
    groups[found->second].push_back(i);
  }
  return groups;
}

const Placement& placement_in(const TableRow& row, bool in_place) {
  return in_place ? *row.in_place : *row.out_of_place;
}

std::string row_position(const RowContext& context, const TableRow& row) {
  return context.parsed.format == "text" ? fmt::format("{}", row.line)
                                         : fmt::format("/results/{}", row.line);
}

struct Figures {
  double time_s = 0;
  double algbw_Bps = 0;
  double busbw_Bps = 0;
};

Figures figures_of(const RowContext& context, const TableRow& row, bool in_place) {
  const Placement& placement = placement_in(row, in_place);
  // NaN (unreadable) fails every comparison.
  if (!(placement.time_s >= 0 && placement.algbw_Bps >= 0 && placement.busbw_Bps >= 0)) {
    throw UsageError(fmt::format(
        "{}:{}: unreadable time or bandwidth in the {} columns ('{}', '{}', '{}')", context.origin,
        row_position(context, row), in_place ? "in-place" : "out-of-place", placement.time,
        placement.algbw, placement.busbw));
  }
  return {placement.time_s, placement.algbw_Bps, placement.busbw_Bps};
}

// The #wrong column: a count of wrong elements, N/A (not checked), or with old nccl-tests a max
// relative error (`max_error`, kept as printed; not a count).
struct Wrong {
  std::int64_t elements = -1;  // -1: not checked
  std::string max_error;
};

Wrong wrong_of(const RowContext& context, const TableRow& row, bool in_place) {
  const Placement& placement = placement_in(row, in_place);
  Wrong wrong;
  if (placement.wrong_not_checked) {
    return wrong;
  }
  if (context.parsed.layout.old_error || placement.wrong_fractional) {
    wrong.max_error = std::string(placement.wrong);
    return wrong;
  }
  if (!placement.wrong_value || *placement.wrong_value < 0) {
    throw UsageError(fmt::format("{}:{}: unreadable #wrong value '{}'", context.origin, row.line,
                                 placement.wrong));
  }
  wrong.elements = static_cast<std::int64_t>(std::llround(*placement.wrong_value));
  return wrong;
}

ResultRow row_identity(const RowContext& context, const TableRow& table_row, bool in_place) {
  ResultRow row;
  row.benchmark = context.benchmark;
  row.backend = context.backend;
  row.dtype = table_row.type;
  row.op = table_row.redop;  // "none" for collectives without a reduction, as printed
  row.in_place = in_place;
  row.size_bytes = table_row.size;
  row.count = table_row.count;
  row.ranks = context.ranks;  // 0: unknown (the schema's "ranks unknown")
  if (table_row.root >= 0) {
    row.labels["root"] = std::to_string(table_row.root);
  }
  if (!table_row.timestamp_date.empty()) {
    row.labels["timestamp"] = to_rfc3339_local(timestamp_of(table_row));
  }
  const Header& header = context.parsed.header;
  row.warmup_iterations =
      header.warmup_iters > 0 ? static_cast<std::size_t>(header.warmup_iters) : 0;
  row.stop_reason = "fixed";
  return row;
}

double busbw_factor_of(const RowContext& context, double algbw, double busbw) {
  if (context.factor > 0) {
    return context.factor;
  }
  return algbw > 0 ? busbw / algbw : 0;
}

// One table row as printed.
ResultRow single_result_row(const RowContext& context, std::size_t index, bool in_place) {
  const TableRow& table_row = context.parsed.rows[index];
  const Placement& placement = placement_in(table_row, in_place);
  ResultRow row = row_identity(context, table_row, in_place);
  const Figures figures = figures_of(context, table_row, in_place);
  const auto samples = context.parsed.samples_s.find({index, in_place});
  if (samples != context.parsed.samples_s.end()) {
    const int skip = std::clamp(context.parsed.skipped_iterations.at({index, in_place}), 0,
                                static_cast<int>(samples->second.size()) - 1);
    const std::span<const double> kept(samples->second.data() + skip,
                                       samples->second.size() - static_cast<std::size_t>(skip));
    row.time_s = to_time_stats(summarize(kept));
    row.samples_s = samples->second;
  } else {
    row.time_s = point_stats(figures.time_s, context.n_per_row);
    if (!placement.i_min.empty()) {
      // -I text columns: extremes, p99 and the coefficient of variation of the iterations.
      // A negative figure is garbled output: the row's time stands in (a cv of 0).
      const auto column = [&](std::string_view text) {
        const auto value = parse_scaled(text, -6);
        return value && *value >= 0 ? *value : figures.time_s;
      };
      row.time_s.min = column(placement.i_min);
      row.time_s.max = column(placement.i_max);
      row.time_s.p99 = column(placement.i_p99);
      row.time_s.stdev =
          std::max(0.0, parse_double(placement.i_cv).value_or(0)) / 100 * figures.time_s;
    }
  }
  row.algbw_Bps = figures.algbw_Bps;
  row.busbw_Bps = figures.busbw_Bps;
  row.busbw_factor = busbw_factor_of(context, figures.algbw_Bps, figures.busbw_Bps);
  Wrong wrong = wrong_of(context, table_row, in_place);
  row.wrong_elements = wrong.elements;
  if (!wrong.max_error.empty()) {
    row.labels["max_error"] = std::move(wrong.max_error);
  }
  return row;
}

// The median of `values` (reordered), as common/stats' median: the mean of the middle two for an
// even count. O(n), where median() sorts a copy.
double median_in_place(std::vector<double>& values) {
  const std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle),
                   values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) {
    return upper;
  }
  return (*std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle)) +
          upper) /
         2;
}

// Repeats of one size folded: time_s holds the statistics over the repeats (each repeat is
// nccl-tests' mean over its timed iterations; with -J -I, over every kept iteration of every
// repeat), algbw and busbw the medians of the printed figures, wrong_elements the sum over the
// repeats that were checked, the first repeat's timestamp.
ResultRow folded_result_row(const RowContext& context, const std::vector<std::size_t>& members,
                            bool in_place) {
  const TableRow& first = context.parsed.rows[members.front()];
  ResultRow row = row_identity(context, first, in_place);
  std::vector<double> times;
  std::vector<double> algbw;
  std::vector<double> busbw;
  times.reserve(members.size());
  algbw.reserve(members.size());
  busbw.reserve(members.size());
  std::vector<double> samples;
  bool all_sampled = true;
  std::int64_t wrong_total = 0;
  bool checked = false;
  std::optional<double> max_error;
  std::string max_error_text;
  for (const std::size_t index : members) {
    const TableRow& table_row = context.parsed.rows[index];
    const Figures figures = figures_of(context, table_row, in_place);
    times.push_back(figures.time_s);
    algbw.push_back(figures.algbw_Bps);
    busbw.push_back(figures.busbw_Bps);
    const auto sampled = context.parsed.samples_s.find({index, in_place});
    if (sampled == context.parsed.samples_s.end()) {
      all_sampled = false;
    } else if (all_sampled) {
      const int skip = std::clamp(context.parsed.skipped_iterations.at({index, in_place}), 0,
                                  static_cast<int>(sampled->second.size()) - 1);
      samples.insert(samples.end(), sampled->second.begin() + skip, sampled->second.end());
    }
    const Wrong wrong = wrong_of(context, table_row, in_place);
    if (wrong.elements >= 0) {
      checked = true;
      wrong_total += wrong.elements;
    } else if (!wrong.max_error.empty()) {
      const auto value = parse_double(wrong.max_error);
      if (value && (!max_error || *value > *max_error)) {
        max_error = value;
        max_error_text = wrong.max_error;
      }
    }
  }
  row.time_s = to_time_stats(summarize(all_sampled && !samples.empty() ? samples : times));
  row.algbw_Bps = median_in_place(algbw);
  row.busbw_Bps = median_in_place(busbw);
  row.busbw_factor = busbw_factor_of(context, row.algbw_Bps, row.busbw_Bps);
  row.wrong_elements = checked ? wrong_total : -1;
  if (!max_error_text.empty()) {
    row.labels["max_error"] = max_error_text;
  }
  return row;
}

}  // namespace

void WrongTally::add(const ResultRow& row, bool in_place, std::size_t repeats) {
  if (row.wrong_elements < 0) {
    return;
  }
  ++checked_rows;
  if (row.wrong_elements == 0) {
    return;
  }
  total += row.wrong_elements;
  if (first_size == 0) {
    first_size = row.size_bytes;
  }
  rows.push_back(fmt::format("{} B {}: {}{}", row.size_bytes,
                             in_place ? "in-place" : "out-of-place", row.wrong_elements,
                             repeats > 1 ? fmt::format(" over {} repeats", repeats) : ""));
}

ImportedRows add_result_rows(const RowContext& context, bool keep_repeats,
                             std::vector<ResultRow>& results) {
  const Parsed& parsed = context.parsed;
  const std::vector<std::vector<std::size_t>> groups =
      keep_repeats ? single_row_groups(parsed.rows.size()) : repeat_groups(parsed.rows);
  results.reserve(groups.size() * 2);
  ImportedRows imported;
  imported.sizes = groups.size();
  for (const auto& members : groups) {
    imported.repeats_max = std::max(imported.repeats_max, members.size());
    for (const bool in_place : {false, true}) {
      std::vector<std::size_t> present;
      present.reserve(members.size());
      for (const std::size_t index : members) {
        if (in_place ? parsed.rows[index].in_place : parsed.rows[index].out_of_place) {
          present.push_back(index);
        }
      }
      if (present.empty()) {
        continue;
      }
      ResultRow row = present.size() == 1 ? single_result_row(context, present.front(), in_place)
                                          : folded_result_row(context, present, in_place);
      imported.wrong.add(row, in_place, present.size());
      results.push_back(std::move(row));
    }
  }
  return imported;
}

}  // namespace preflight::reports::nccl_tests_import
