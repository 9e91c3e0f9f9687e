// The compare engine: a report against a baseline (`preflight-report compare`), or report B
// against report A (`preflight-report diff`). Per row one verdict:
//   pass | warn | fail | improved | inconclusive | missing
// Direction-aware (bandwidth higher is better, time lower), noise-aware (a row whose 95% CI of
// the median reaches back across the band edge it missed is inconclusive, not failed), with a
// budget of sizes allowed to fail before the comparison fails. Rows the baseline expects but the
// report lacks are `missing`, which always fails the comparison.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "reports/baseline.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

enum class RowVerdict { pass, warn, fail, improved, inconclusive, missing };
[[nodiscard]] std::string_view to_string(RowVerdict verdict);
[[nodiscard]] std::optional<RowVerdict> parse_row_verdict(std::string_view text);
// Higher is worse: missing > fail > inconclusive > warn > pass > improved.
[[nodiscard]] int verdict_rank(RowVerdict verdict);

struct MetricOutcome {
  std::string metric;
  Direction direction = Direction::higher;
  double expected = 0;
  std::optional<double> measured;  // nullopt: not measured (missing)
  double ci_lo = 0;                // CI of `measured`, in the metric's unit
  double ci_hi = 0;
  double warn_allowance = 0;  // absolute, in the metric's unit, towards worse
  double fail_allowance = 0;
  double delta = 0;  // (measured - expected) / expected; 0 when expected is 0
  RowVerdict verdict = RowVerdict::pass;
};

struct RowOutcome {
  std::string series;  // diff: which kind of result ("all_reduce nccl float sum out_of_place")
  std::uint64_t size_bytes = 0;
  RowVerdict verdict = RowVerdict::pass;
  std::vector<MetricOutcome> metrics;
  std::string reason;          // why, in words
  bool within_budget = false;  // a fail the budget absorbs
  int report_row = -1;         // index into the compared report's results, -1 when missing
};

struct Comparison {
  std::string kind = "baseline";  // baseline | diff
  std::string reference;          // the baseline's name, or report A's file
  std::string reference_source;   // the baseline's source citation
  std::string subject;            // what was compared, in words
  // Selection, for renderers that plot the compared rows.
  std::string benchmark;
  std::string placement;
  std::vector<std::string> matched;  // "instance_type=p5.48xlarge", ...
  std::vector<std::string> notes;    // facts assumed, extra sizes, duplicates, differences (diff)
  std::vector<RowOutcome> rows;
  int sizes_allowed_to_miss = 0;
  std::map<RowVerdict, int> counts;
  Status status = Status::pass;
  std::string summary;
};

void to_json(nlohmann::json& j, const Comparison& comparison);
void from_json(const nlohmann::json& j, Comparison& comparison);

// Compares `report` with `baseline`. Throws UsageError naming `report_origin`, the baseline and
// every difference when the run is not comparable (another benchmark, dtype, op, placement,
// instance type, node count or rank count). Facts the report does not state are assumed from
// the baseline and named in `notes`.
[[nodiscard]] Comparison compare_to_baseline(const Report& report, const Baseline& baseline,
                                             std::string_view report_origin);

struct DiffOptions {
  double warn_relative = 0.05;
  double fail_relative = 0.10;
  std::string metric = "auto";  // auto: time_s up to latency_max_size, busbw (else algbw) above
  std::uint64_t latency_max_size_bytes = 65536;
  double latency_floor_s = 0;
};

// B against A: A's values are the expectation, the CI of the ratio combines both runs' CIs.
// Rows only in A are missing; rows only in B are named in the notes. Throws UsageError when the
// two share no comparable rows, saying what each holds.
[[nodiscard]] Comparison diff_reports(const Report& a, const Report& b, std::string_view a_origin,
                                      std::string_view b_origin, const DiffOptions& options);

// One check summarising the comparison: BASELINE_PASS, BASELINE_REGRESSION or
// BASELINE_INCONCLUSIVE, evidence holding the counts and the worst rows.
[[nodiscard]] Check comparison_check(const Comparison& comparison);

// Appends the comparison to the report: the check, and details.comparison; recomputes the
// verdict.
void attach_comparison(Report& report, const Comparison& comparison, bool warn_as_fail);
// The comparison stored in a report by attach_comparison, if any.
[[nodiscard]] std::optional<Comparison> stored_comparison(const Report& report);

}  // namespace preflight::reports
