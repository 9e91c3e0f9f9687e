#include "reports/compare.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <tuple>
#include <unordered_map>

#include "common/error.hpp"
#include "common/text.hpp"
#include "reports/format.hpp"

namespace preflight::reports {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<RowVerdict, std::string_view>, 6> kVerdictNames{{
    {RowVerdict::pass, "pass"},
    {RowVerdict::warn, "warn"},
    {RowVerdict::fail, "fail"},
    {RowVerdict::improved, "improved"},
    {RowVerdict::inconclusive, "inconclusive"},
    {RowVerdict::missing, "missing"},
}};

}  // namespace

std::string_view to_string(RowVerdict verdict) {
  for (const auto& [value, name] : kVerdictNames) {
    if (value == verdict) {
      return name;
    }
  }
  return "fail";
}

std::optional<RowVerdict> parse_row_verdict(std::string_view text) {
  for (const auto& [value, name] : kVerdictNames) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

int verdict_rank(RowVerdict verdict) {
  switch (verdict) {
    case RowVerdict::improved:
      return 0;
    case RowVerdict::pass:
      return 1;
    case RowVerdict::warn:
      return 2;
    case RowVerdict::inconclusive:
      return 3;
    case RowVerdict::fail:
      return 4;
    case RowVerdict::missing:
      return 5;
  }
  return 5;
}

namespace {

// The verdict of one value against the expectation: how far it lies towards worse.
RowVerdict classify_point(double value, const MetricOutcome& m) {
  const double shortfall =
      m.direction == Direction::higher ? m.expected - value : value - m.expected;
  if (shortfall > m.fail_allowance) {
    return RowVerdict::fail;
  }
  if (shortfall > m.warn_allowance) {
    return RowVerdict::warn;
  }
  if (-shortfall > m.warn_allowance) {
    return RowVerdict::improved;
  }
  return RowVerdict::pass;
}

// Point verdict, then the noise rule: a miss whose CI reaches a better band is inconclusive; an
// improvement whose CI reaches back into the band is only a pass.
void classify(MetricOutcome& m) {
  if (!m.measured) {
    m.verdict = RowVerdict::missing;
    return;
  }
  m.delta = m.expected != 0 ? (*m.measured - m.expected) / m.expected : 0;
  const RowVerdict point = classify_point(*m.measured, m);
  const double best = m.direction == Direction::higher ? m.ci_hi : m.ci_lo;
  const double worst = m.direction == Direction::higher ? m.ci_lo : m.ci_hi;
  m.verdict = point;
  if ((point == RowVerdict::fail || point == RowVerdict::warn) &&
      verdict_rank(classify_point(best, m)) < verdict_rank(point)) {
    m.verdict = RowVerdict::inconclusive;
  } else if (point == RowVerdict::improved && classify_point(worst, m) != RowVerdict::improved) {
    m.verdict = RowVerdict::pass;
  }
}

std::string describe_metric(const MetricOutcome& m) {
  if (!m.measured) {
    return fmt::format("{} not measured (expected {})", metric_label(m.metric),
                       format_metric(m.metric, m.expected));
  }
  // Compiled: every row of a comparison of 10,000 sizes gets its reason.
  return fmt::format(FMT_COMPILE("{} {} vs {} expected ({})"), metric_label(m.metric),
                     format_metric(m.metric, *m.measured), format_metric(m.metric, m.expected),
                     format_percent(m.delta));
}

void finish_row(RowOutcome& row) {
  int worst = -1;
  for (const auto& m : row.metrics) {
    worst = std::max(worst, verdict_rank(m.verdict));
  }
  if (!row.metrics.empty()) {
    // All improved -> improved; any pass among improvements -> pass (rank picks the worst).
    for (const auto& m : row.metrics) {
      if (verdict_rank(m.verdict) == worst) {
        row.verdict = m.verdict;
      }
    }
  }
  if (row.reason.empty()) {
    std::vector<std::string> parts;
    for (const auto& m : row.metrics) {
      parts.push_back(describe_metric(m));
    }
    row.reason = join(parts, "; ");
  }
}

// Counts, the budget and the overall status.
void finish_comparison(Comparison& c, std::string_view what) {
  c.counts.clear();
  for (const auto& [verdict, name] : kVerdictNames) {
    c.counts[verdict] = 0;
  }
  for (const auto& row : c.rows) {
    ++c.counts[row.verdict];
  }
  const int failed = c.counts[RowVerdict::fail];
  const int missing = c.counts[RowVerdict::missing];
  const bool over_budget = failed > c.sizes_allowed_to_miss;
  for (auto& row : c.rows) {
    row.within_budget = row.verdict == RowVerdict::fail && !over_budget;
  }
  if (missing > 0 || over_budget) {
    c.status = Status::fail;
  } else if (failed > 0 || c.counts[RowVerdict::warn] > 0 ||
             c.counts[RowVerdict::inconclusive] > 0) {
    c.status = Status::warn;
  } else {
    c.status = Status::pass;
  }
  std::vector<std::string> parts;
  for (const RowVerdict verdict :
       {RowVerdict::pass, RowVerdict::improved, RowVerdict::warn, RowVerdict::inconclusive,
        RowVerdict::fail, RowVerdict::missing}) {
    if (c.counts[verdict] > 0) {
      parts.push_back(fmt::format("{} {}", c.counts[verdict], to_string(verdict)));
    }
  }
  std::string summary =
      fmt::format("{}: {} of {} {}", to_string(c.status), join(parts, ", "), c.rows.size(), what);
  if (failed > 0) {
    summary += fmt::format(" ({} allowed to fail: {})", c.sizes_allowed_to_miss,
                           over_budget ? "over budget" : "within budget");
  }
  // Name the worst row so the one-line summary is actionable alone.
  const RowOutcome* worst = nullptr;
  for (const auto& row : c.rows) {
    if (verdict_rank(row.verdict) >= verdict_rank(RowVerdict::warn) &&
        (worst == nullptr || verdict_rank(row.verdict) > verdict_rank(worst->verdict))) {
      worst = &row;
    }
  }
  if (worst != nullptr) {
    summary += fmt::format("; worst: {}{} {}: {}", worst->series.empty() ? "" : worst->series + " ",
                           human_size(worst->size_bytes), to_string(worst->verdict), worst->reason);
  }
  c.summary = summary;
}

// Among rows with the same size, the one with the median time (duplicates come from repeated
// sweeps, e.g. nccl-tests -R or size 0 twice); the count goes into the notes.
std::map<std::uint64_t, int> index_by_size(const std::vector<ResultRow>& results,
                                           const std::vector<int>& selected,
                                           std::vector<std::string>& notes) {
  // Sorted by (size, median time): each size's rows are then one run, its median in the middle
  // (no container per size: a report of 10,000 sizes would allocate 10,000 of them).
  std::vector<int> order = selected;
  const auto row = [&](int i) -> const ResultRow& { return results[static_cast<std::size_t>(i)]; };
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return row(x).size_bytes != row(y).size_bytes ? row(x).size_bytes < row(y).size_bytes
                                                  : row(x).time_s.median < row(y).time_s.median;
  });
  std::map<std::uint64_t, int> index;
  int duplicated = 0;
  for (std::size_t start = 0; start < order.size();) {
    std::size_t end = start + 1;
    while (end < order.size() && row(order[end]).size_bytes == row(order[start]).size_bytes) {
      ++end;
    }
    duplicated += end - start > 1 ? 1 : 0;
    index.emplace_hint(index.end(), row(order[start]).size_bytes,
                       order[start + (end - start - 1) / 2]);
    start = end;
  }
  if (duplicated > 0) {
    notes.push_back(fmt::format(
        "{} size(s) appear more than once in the report; each is compared at its median time",
        duplicated));
  }
  return index;
}

bool labels_match(const std::map<std::string, std::string>& wanted,
                  const std::map<std::string, std::string>& labels) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const auto& entry) {
    const auto found = labels.find(entry.first);
    return found != labels.end() && found->second == entry.second;
  });
}

std::string row_kind(const ResultRow& row) {
  return fmt::format("benchmark={} backend={} dtype={} op={} placement={} ranks={}", row.benchmark,
                     row.backend.empty() ? "-" : row.backend, row.dtype.empty() ? "-" : row.dtype,
                     row.op.empty() ? "-" : row.op, placement_of(row), row.ranks);
}

std::string kinds_held(const Report& report) {
  std::map<std::string, int> kinds;
  for (const auto& row : report.results) {
    ++kinds[row_kind(row)];
  }
  if (kinds.empty()) {
    return "no result rows at all";
  }
  std::vector<std::string> parts;
  for (const auto& [kind, count] : kinds) {
    parts.push_back(fmt::format("{} ({} rows)", kind, count));
  }
  return join(parts, "; ");
}

// Run-level facts: a stated difference makes the runs incomparable (added to `differences`); an
// unstated fact is assumed from the baseline and said. Returns the rank count the baseline
// expects (0: any).
int match_run_facts(const Report& report, const BaselineMatch& m, Comparison& c,
                    std::vector<std::string>& differences) {
  const RunShape shape = run_shape(report);
  if (!m.instance_type.empty()) {
    if (shape.instance_type.empty()) {
      c.notes.push_back(fmt::format(
          "the report does not state the instance type; assumed {} (import with --instance-type)",
          m.instance_type));
    } else if (shape.instance_type != m.instance_type) {
      differences.push_back(fmt::format("instance type: report {}, baseline {}",
                                        shape.instance_type, m.instance_type));
    }
    c.matched.push_back("instance_type=" + m.instance_type);
  }
  if (m.nodes > 0) {
    if (shape.nodes == 0) {
      c.notes.push_back(fmt::format(
          "the report does not state the node count; assumed {} (import with --nodes)", m.nodes));
    } else if (shape.nodes != m.nodes) {
      differences.push_back(fmt::format("nodes: report {}, baseline {}", shape.nodes, m.nodes));
    }
    c.matched.push_back(fmt::format("nodes={}", m.nodes));
  }
  int expected_ranks = 0;
  if (m.ranks_per_node > 0) {
    c.matched.push_back(fmt::format("ranks_per_node={}", m.ranks_per_node));
    const int nodes = m.nodes > 0 ? m.nodes : shape.nodes;
    if (nodes > 0) {
      expected_ranks = nodes * m.ranks_per_node;
    } else if (shape.ranks_per_node > 0 && shape.ranks_per_node != m.ranks_per_node) {
      differences.push_back(fmt::format("ranks per node: report {}, baseline {}",
                                        shape.ranks_per_node, m.ranks_per_node));
    }
  }

  return expected_ranks;
}

// The report's rows of the baseline's kind, and the rank counts of rows left out for having the
// wrong one.
struct RowSelection {
  std::vector<int> selected;
  std::set<int> wrong_ranks;
};

RowSelection select_rows(const Report& report, const BaselineMatch& m, int expected_ranks,
                         Comparison& c) {
  RowSelection selection;
  int unknown_ranks = 0;
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    const ResultRow& row = report.results[i];
    if (row.benchmark != m.benchmark || (!m.backend.empty() && row.backend != m.backend) ||
        (!m.dtype.empty() && row.dtype != m.dtype) ||
        (m.op && normalized_op(row.op) != normalized_op(*m.op)) ||
        (!m.placement.empty() && placement_of(row) != m.placement) ||
        !labels_match(m.labels, row.labels)) {
      continue;
    }
    if (expected_ranks > 0 && row.ranks > 0 && row.ranks != expected_ranks) {
      selection.wrong_ranks.insert(row.ranks);
      continue;
    }
    unknown_ranks += row.ranks == 0 ? 1 : 0;
    selection.selected.push_back(static_cast<int>(i));
  }
  if (unknown_ranks > 0) {
    c.notes.push_back(fmt::format(
        "{} row(s) do not state their rank count (an imported log that does not say); {}",
        unknown_ranks,
        expected_ranks > 0 ? fmt::format("assumed {} (import with --ranks)", expected_ranks)
                           : std::string("compared as they are")));
  }
  return selection;
}

// One size of the baseline against the report's row of that size (nullptr: none).
RowOutcome compare_row(const Baseline& baseline, const BaselineRow& expected,
                       const ResultRow* measured) {
  RowOutcome row;
  row.size_bytes = expected.size_bytes;
  for (const auto& [metric, value] : expected.metrics) {
    const MetricRule rule = baseline.rule_for(metric, value);
    MetricOutcome outcome;
    outcome.metric = metric;
    outcome.direction = rule.direction;
    outcome.expected = value.expected;
    outcome.warn_allowance = rule.warn.allowance(value.expected);
    outcome.fail_allowance = std::max(rule.fail.allowance(value.expected), outcome.warn_allowance);
    if (measured != nullptr) {
      if (const auto v = metric_value(*measured, metric)) {
        outcome.measured = v->value;
        outcome.ci_lo = v->ci_lo;
        outcome.ci_hi = v->ci_hi;
      }
    }
    classify(outcome);
    row.metrics.push_back(outcome);
  }
  if (measured == nullptr) {
    row.verdict = RowVerdict::missing;
    row.reason = "the report has no row of this size";
  } else {
    finish_row(row);
    if (measured->wrong_elements > 0) {
      row.verdict = RowVerdict::fail;
      row.reason = fmt::format("{} wrong elements; {}", measured->wrong_elements, row.reason);
    }
  }
  return row;
}

}  // namespace

Comparison compare_to_baseline(const Report& report, const Baseline& baseline,
                               std::string_view report_origin) {
  Comparison c;
  c.kind = "baseline";
  c.reference = baseline.name;
  c.reference_source = baseline.source;
  c.sizes_allowed_to_miss = baseline.sizes_allowed_to_miss;
  const BaselineMatch& m = baseline.match;
  c.benchmark = m.benchmark;
  c.placement = m.placement;

  std::vector<std::string> differences;
  const int expected_ranks = match_run_facts(report, m, c, differences);

  const RowSelection selection = select_rows(report, m, expected_ranks, c);
  for (const auto& field : {std::pair{"backend", m.backend}, std::pair{"benchmark", m.benchmark},
                            std::pair{"dtype", m.dtype}, std::pair{"placement", m.placement}}) {
    if (!field.second.empty()) {
      c.matched.push_back(fmt::format("{}={}", field.first, field.second));
    }
  }
  if (m.op) {
    c.matched.push_back(fmt::format("op={}", m.op->empty() ? "-" : *m.op));
  }
  if (selection.selected.empty()) {
    if (!selection.wrong_ranks.empty()) {
      std::vector<std::string> counts;
      for (const int r : selection.wrong_ranks) {
        counts.push_back(std::to_string(r));
      }
      differences.push_back(fmt::format("ranks: report {}, baseline {} ({} nodes x {} per node)",
                                        join(counts, ","), expected_ranks,
                                        expected_ranks / m.ranks_per_node, m.ranks_per_node));
    } else {
      differences.push_back(fmt::format(
          "the baseline expects rows with benchmark={} backend={} dtype={} op={} placement={}; "
          "the report holds {}",
          m.benchmark, m.backend.empty() ? "any" : m.backend, m.dtype.empty() ? "any" : m.dtype,
          m.op ? (m.op->empty() ? "-" : *m.op) : "any", m.placement.empty() ? "any" : m.placement,
          kinds_held(report)));
    }
  }
  if (!differences.empty()) {
    throw UsageError(fmt::format("{} is not comparable with baseline '{}': {}", report_origin,
                                 baseline.name, join(differences, "; ")));
  }
  c.subject =
      fmt::format("{} {} {} {}{}", m.benchmark, m.dtype.empty() ? "" : m.dtype, m.op ? *m.op : "",
                  m.placement, m.backend.empty() ? "" : " (" + m.backend + ")");

  const auto index = index_by_size(report.results, selection.selected, c.notes);
  std::set<std::uint64_t> expected_sizes;
  c.rows.reserve(baseline.rows.size());
  for (const BaselineRow& expected : baseline.rows) {
    expected_sizes.insert(expected.size_bytes);
    const auto found = index.find(expected.size_bytes);
    const ResultRow* measured =
        found == index.end() ? nullptr : &report.results[static_cast<std::size_t>(found->second)];
    RowOutcome row = compare_row(baseline, expected, measured);
    if (found != index.end()) {
      row.report_row = found->second;
    }
    c.rows.push_back(std::move(row));
  }
  std::size_t extra = 0;
  for (const auto& [size, i] : index) {
    extra += !expected_sizes.contains(size) ? 1 : 0;
  }
  if (extra > 0) {
    c.notes.push_back(
        fmt::format("{} size(s) in the report have no baseline row and were not compared", extra));
  }
  finish_comparison(c, "sizes");
  return c;
}

namespace {

struct DiffKey {
  std::string benchmark;
  std::string backend;
  std::string dtype;
  std::string op;
  std::string placement;
  int ranks = 0;
  std::string labels;
  auto operator<=>(const DiffKey&) const = default;
};

DiffKey diff_key(const ResultRow& row) {
  std::string labels;
  for (const auto& [name, value] : row.labels) {
    // Labels that carry values rather than say what was measured do not separate series.
    if (!is_identity_label(name)) {
      continue;
    }
    labels += name + "=" + value + ",";
  }
  return {row.benchmark, row.backend, row.dtype, row.op, std::string(placement_of(row)),
          row.ranks,     labels};
}

std::string describe(const DiffKey& key) {
  std::string text = fmt::format("{} {} {} {}{} x{}", key.benchmark, key.backend, key.dtype,
                                 key.op.empty() ? "-" : key.op,
                                 key.placement == "in_place" ? " in-place" : "", key.ranks);
  if (!key.labels.empty()) {
    text += " [" + key.labels.substr(0, key.labels.size() - 1) + "]";
  }
  return text;
}

using RowIndex = std::map<std::pair<DiffKey, std::uint64_t>, int>;

RowIndex index_rows(const Report& report, std::vector<std::string>& notes, std::string_view who) {
  std::map<std::pair<DiffKey, std::uint64_t>, std::vector<int>> grouped;
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    const ResultRow& row = report.results[i];
    grouped[{diff_key(row), row.size_bytes}].push_back(static_cast<int>(i));
  }
  RowIndex index;
  int duplicated = 0;
  for (auto& [key, rows] : grouped) {
    if (rows.size() > 1) {
      ++duplicated;
      std::stable_sort(rows.begin(), rows.end(), [&](int x, int y) {
        return report.results[static_cast<std::size_t>(x)].time_s.median <
               report.results[static_cast<std::size_t>(y)].time_s.median;
      });
    }
    index[key] = rows[(rows.size() - 1) / 2];
  }
  if (duplicated > 0) {
    notes.push_back(fmt::format("{}: {} row(s) appear more than once; compared at the median time",
                                who, duplicated));
  }
  return index;
}

// Variables a launcher sets differently for every launch (job ids, URIs, session directories,
// the command line): their differences say nothing about the runs and would bury the ones that
// do (OMPI_MCA_btl, NCCL_ALGO).
bool varies_per_launch(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kNames{
      "OMPI_ARGV",          "OMPI_COMMAND",           "OMPI_FILE_LOCATION",
      "OMPI_FIRST_RANKS",   "OMPI_APP_CTX_NUM_PROCS", "OMPI_NUM_APP_CTX",
      "OMPI_UNIVERSE_SIZE", "OMPI_MCA_initial_wdir",  "OMPI_MCA_orte_precondition_transports",
      "SLURM_JOB_ID",       "SLURM_JOB_NAME"};
  static constexpr std::array<std::string_view, 4> kPrefixes{"OMPI_COMM_WORLD_", "OMPI_MCA_ess_",
                                                             "OMPI_MCA_pmix_", "PMIX_"};
  static constexpr std::array<std::string_view, 4> kSuffixes{"_uri", "_jobid", "_session_dir",
                                                             "_pid"};
  const auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end() ||
         std::any_of(
             kPrefixes.begin(), kPrefixes.end(),
             [&](std::string_view prefix) { return name.substr(0, prefix.size()) == prefix; }) ||
         std::any_of(kSuffixes.begin(), kSuffixes.end(), ends_with);
}

void note_differences(const Report& a, const Report& b, std::vector<std::string>& notes) {
  const RunShape sa = run_shape(a);
  const RunShape sb = run_shape(b);
  const auto differ = [&](std::string_view what, const std::string& x, const std::string& y) {
    if (x != y) {
      notes.push_back(fmt::format("differs: {} {} -> {}", what, x.empty() ? "(unset)" : x,
                                  y.empty() ? "(unset)" : y));
    }
  };
  differ("instance type", sa.instance_type, sb.instance_type);
  differ("nodes", sa.nodes > 0 ? std::to_string(sa.nodes) : "",
         sb.nodes > 0 ? std::to_string(sb.nodes) : "");
  differ("ranks", std::to_string(sa.ranks), std::to_string(sb.ranks));
  std::set<std::string> names;
  for (const auto& [name, value] : a.inventory.versions) {
    names.insert(name);
  }
  for (const auto& [name, value] : b.inventory.versions) {
    names.insert(name);
  }
  for (const auto& name : names) {
    const auto x = a.inventory.versions.find(name);
    const auto y = b.inventory.versions.find(name);
    differ("version " + name, x == a.inventory.versions.end() ? "" : x->second,
           y == b.inventory.versions.end() ? "" : y->second);
  }
  names.clear();
  for (const auto& [name, value] : a.inventory.env) {
    names.insert(name);
  }
  for (const auto& [name, value] : b.inventory.env) {
    names.insert(name);
  }
  int per_launch = 0;
  for (const auto& name : names) {
    const auto x = a.inventory.env.find(name);
    const auto y = b.inventory.env.find(name);
    const std::string before = x == a.inventory.env.end() ? "" : x->second;
    const std::string after = y == b.inventory.env.end() ? "" : y->second;
    if (varies_per_launch(name)) {
      per_launch += before != after ? 1 : 0;
      continue;
    }
    differ("env " + name, before, after);
  }
  if (per_launch > 0) {
    notes.push_back(
        fmt::format("{} launcher variable(s) that change with every launch (job ids, URIs, session "
                    "directories, OMPI_ARGV) differ too; not listed",
                    per_launch));
  }
}

}  // namespace

Comparison diff_reports(const Report& a, const Report& b, std::string_view a_origin,
                        std::string_view b_origin, const DiffOptions& options) {
  if (options.metric != "auto" && !is_known_metric(options.metric)) {
    throw UsageError(fmt::format("--metric: unknown metric '{}'", options.metric));
  }
  if (options.fail_relative < options.warn_relative) {
    throw UsageError("--fail-band is narrower than --band");
  }
  Comparison c;
  c.kind = "diff";
  c.reference = std::string(a_origin);
  c.reference_source = a.run.id.empty() ? std::string(a_origin) : "run " + a.run.id;
  c.subject = fmt::format("{} against {}", b_origin, a_origin);
  c.sizes_allowed_to_miss = 0;
  note_differences(a, b, c.notes);
  const RowIndex ia = index_rows(a, c.notes, a_origin);
  const RowIndex ib = index_rows(b, c.notes, b_origin);
  std::set<DiffKey> common;
  for (const auto& [key, i] : ia) {
    if (ib.contains(key)) {
      common.insert(key.first);
    }
  }
  if (common.empty()) {
    throw UsageError(
        fmt::format("{} and {} share no comparable results (same benchmark, backend, "
                    "dtype, op, placement, ranks and size): {} holds {}; {} holds {}",
                    a_origin, b_origin, a_origin, kinds_held(a), b_origin, kinds_held(b)));
  }
  std::size_t only_b = 0;
  for (const auto& [key, i] : ib) {
    only_b += !ia.contains(key) ? 1 : 0;
  }
  for (const auto& [key, ia_row] : ia) {
    if (!common.contains(key.first)) {
      continue;  // a whole series B did not run is reported below, not row by row
    }
    const ResultRow& ra = a.results[static_cast<std::size_t>(ia_row)];
    RowOutcome row;
    row.series = describe(key.first);
    row.size_bytes = key.second;
    const std::string metric = choose_metric(ra, options.metric, options.latency_max_size_bytes);
    MetricOutcome outcome;
    outcome.metric = metric;
    outcome.direction = natural_direction(metric);
    const auto va = metric_value(ra, metric);
    outcome.expected = va ? va->value : 0;
    const Band warn{options.warn_relative, metric == kMetricTime ? options.latency_floor_s : 0};
    const Band fail{options.fail_relative, metric == kMetricTime ? 2 * options.latency_floor_s : 0};
    outcome.warn_allowance = warn.allowance(outcome.expected);
    outcome.fail_allowance = fail.allowance(outcome.expected);
    const auto found = ib.find(key);
    if (found != ib.end()) {
      row.report_row = found->second;
      const ResultRow& rb = b.results[static_cast<std::size_t>(found->second)];
      if (const auto vb = metric_value(rb, metric); vb && va) {
        outcome.measured = vb->value;
        // The CI of B/A, expressed in A's units: both runs' noise counts.
        const double a_lo = va->ci_lo > 0 ? va->ci_lo : va->value;
        const double a_hi = va->ci_hi > 0 ? va->ci_hi : va->value;
        outcome.ci_lo = a_hi > 0 ? va->value * vb->ci_lo / a_hi : vb->ci_lo;
        outcome.ci_hi = a_lo > 0 ? va->value * vb->ci_hi / a_lo : vb->ci_hi;
      }
      classify(outcome);
      row.metrics.push_back(outcome);
      finish_row(row);
      if (rb.wrong_elements > 0) {
        row.verdict = RowVerdict::fail;
        row.reason = fmt::format("{} wrong elements; {}", rb.wrong_elements, row.reason);
      }
    } else {
      classify(outcome);
      row.metrics.push_back(outcome);
      row.verdict = RowVerdict::missing;
      row.reason = fmt::format("in {} but not in {}", a_origin, b_origin);
    }
    c.rows.push_back(std::move(row));
  }
  if (only_b > 0) {
    c.notes.push_back(fmt::format("{} row(s) only in {} were not compared", only_b, b_origin));
  }
  std::size_t series_only_a = 0;
  for (const auto& [key, i] : ia) {
    series_only_a += !common.contains(key.first) ? 1 : 0;
  }
  if (series_only_a > 0) {
    c.notes.push_back(fmt::format("{} row(s) of kinds {} did not run at all were not compared",
                                  series_only_a, b_origin));
  }
  // The geometric mean of B/A says in one figure which way the run moved.
  double log_sum = 0;
  int counted = 0;
  for (const auto& row : c.rows) {
    for (const auto& m : row.metrics) {
      if (m.measured && *m.measured > 0 && m.expected > 0) {
        const double ratio = *m.measured / m.expected;
        log_sum += std::log(m.direction == Direction::higher ? ratio : 1 / ratio);
        ++counted;
      }
    }
  }
  finish_comparison(c, "rows");
  if (counted > 0) {
    c.summary += fmt::format("; geometric mean of B/A (higher is better): {:.3f}",
                             std::exp(log_sum / counted));
  }
  return c;
}

void to_json(json& j, const Comparison& c) {
  json rows = json::array();
  for (const auto& row : c.rows) {
    json metrics = json::array();
    for (const auto& m : row.metrics) {
      json metric{{"metric", m.metric},
                  {"direction", to_string(m.direction)},
                  {"expected", m.expected},
                  {"warn_allowance", m.warn_allowance},
                  {"fail_allowance", m.fail_allowance},
                  {"verdict", to_string(m.verdict)}};
      if (m.measured) {
        metric["measured"] = *m.measured;
        metric["ci95"] = {m.ci_lo, m.ci_hi};
        metric["delta"] = m.delta;
      }
      metrics.push_back(metric);
    }
    json row_json{{"size_bytes", row.size_bytes}, {"verdict", to_string(row.verdict)},
                  {"reason", row.reason},         {"within_budget", row.within_budget},
                  {"report_row", row.report_row}, {"metrics", metrics}};
    if (!row.series.empty()) {
      row_json["series"] = row.series;
    }
    rows.push_back(row_json);
  }
  json counts = json::object();
  for (const auto& [verdict, count] : c.counts) {
    counts[std::string(to_string(verdict))] = count;
  }
  j = json{{"kind", c.kind},
           {"reference", c.reference},
           {"reference_source", c.reference_source},
           {"subject", c.subject},
           {"benchmark", c.benchmark},
           {"placement", c.placement},
           {"matched", c.matched},
           {"notes", c.notes},
           {"sizes_allowed_to_miss", c.sizes_allowed_to_miss},
           {"counts", counts},
           {"status", to_string(c.status)},
           {"summary", c.summary},
           {"rows", rows}};
}

void from_json(const json& j, Comparison& c) {
  c.kind = j.value("kind", "baseline");
  c.reference = j.value("reference", "");
  c.reference_source = j.value("reference_source", "");
  c.subject = j.value("subject", "");
  c.benchmark = j.value("benchmark", "");
  c.placement = j.value("placement", "");
  c.matched = j.value("matched", std::vector<std::string>{});
  c.notes = j.value("notes", std::vector<std::string>{});
  c.sizes_allowed_to_miss = j.value("sizes_allowed_to_miss", 0);
  c.status = parse_status(j.value("status", "fail")).value_or(Status::fail);
  c.summary = j.value("summary", "");
  c.counts.clear();
  const json counts = j.value("counts", json::object());
  for (const auto& [name, count] : counts.items()) {
    if (const auto verdict = parse_row_verdict(name)) {
      c.counts[*verdict] = count.get<int>();
    }
  }
  c.rows.clear();
  for (const auto& row_json : j.value("rows", json::array())) {
    RowOutcome row;
    row.series = row_json.value("series", "");
    row.size_bytes = row_json.at("size_bytes").get<std::uint64_t>();
    row.verdict = parse_row_verdict(row_json.value("verdict", "fail")).value_or(RowVerdict::fail);
    row.reason = row_json.value("reason", "");
    row.within_budget = row_json.value("within_budget", false);
    row.report_row = row_json.value("report_row", -1);
    for (const auto& metric_json : row_json.value("metrics", json::array())) {
      MetricOutcome m;
      m.metric = metric_json.value("metric", "");
      m.direction = metric_json.value("direction", "higher") == "lower" ? Direction::lower
                                                                        : Direction::higher;
      m.expected = metric_json.value("expected", 0.0);
      m.warn_allowance = metric_json.value("warn_allowance", 0.0);
      m.fail_allowance = metric_json.value("fail_allowance", 0.0);
      m.verdict =
          parse_row_verdict(metric_json.value("verdict", "fail")).value_or(RowVerdict::fail);
      if (metric_json.contains("measured")) {
        m.measured = metric_json.at("measured").get<double>();
        const json ci = metric_json.value("ci95", json::array({*m.measured, *m.measured}));
        m.ci_lo = ci.at(0).get<double>();
        m.ci_hi = ci.at(1).get<double>();
        m.delta = metric_json.value("delta", 0.0);
      }
      row.metrics.push_back(m);
    }
    c.rows.push_back(std::move(row));
  }
}

Check comparison_check(const Comparison& c) {
  json worst = json::array();
  for (const auto& row : c.rows) {
    if (verdict_rank(row.verdict) >= verdict_rank(RowVerdict::warn) && worst.size() < 10) {
      worst.push_back({{"size_bytes", row.size_bytes},
                       {"verdict", to_string(row.verdict)},
                       {"reason", row.reason}});
    }
  }
  json counts = json::object();
  for (const auto& [verdict, count] : c.counts) {
    counts[std::string(to_string(verdict))] = count;
  }
  json evidence{{"reference", c.reference},
                {"kind", c.kind},
                {"counts", counts},
                {"sizes_allowed_to_miss", c.sizes_allowed_to_miss},
                {"rows", worst}};
  const std::string what = c.subject.empty() ? std::string("the run") : c.subject;
  const int inconclusive =
      c.counts.contains(RowVerdict::inconclusive) ? c.counts.at(RowVerdict::inconclusive) : 0;
  const int failing =
      (c.counts.contains(RowVerdict::fail) ? c.counts.at(RowVerdict::fail) : 0) +
      (c.counts.contains(RowVerdict::missing) ? c.counts.at(RowVerdict::missing) : 0) +
      (c.counts.contains(RowVerdict::warn) ? c.counts.at(RowVerdict::warn) : 0);
  if (c.status == Status::pass) {
    return pass_check("BASELINE_PASS",
                      finding_message("BASELINE_PASS", what, c.reference, c.summary), evidence);
  }
  if (failing == 0 && inconclusive > 0) {
    return judged_check("BASELINE_INCONCLUSIVE", c.status,
                        finding_message("BASELINE_INCONCLUSIVE", what, c.reference, c.summary),
                        evidence);
  }
  return judged_check("BASELINE_REGRESSION", c.status,
                      finding_message("BASELINE_REGRESSION", what, c.summary), evidence);
}

void attach_comparison(Report& report, const Comparison& comparison, bool warn_as_fail) {
  report.checks.push_back(comparison_check(comparison));
  if (!report.details.is_object()) {
    report.details = json::object();
  }
  report.details["comparison"] = comparison;
  report.verdict = compute_verdict(report.checks, warn_as_fail);
}

std::optional<Comparison> stored_comparison(const Report& report) {
  if (!report.details.is_object() || !report.details.contains("comparison")) {
    return std::nullopt;
  }
  try {
    return report.details.at("comparison").get<Comparison>();
  } catch (const json::exception&) {
    // details is free-form: a foreign or damaged section is ignored rather than fatal.
    return std::nullopt;
  }
}

}  // namespace preflight::reports
