// The typed sections of a suite report's details (`preflight node`, `cluster`, `ci`): what the
// suite writes and what every renderer reads, defined once. Reading is lenient, since a renderer
// may be handed any report: a missing or mistyped field reads as its default (an absent status as
// nullopt, shown "?"), never as an exception.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

// One step of a plan: the binary it ran and what came of it (details.steps[]). clang-tidy counts
// the invariant check in nlohmann::json's noexcept move as a possible throw.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct SuiteStep {
  std::string name;
  std::vector<std::string> argv;
  int exit_code = -1;
  std::optional<Status> status;
  double duration_s = 0;
  double timeout_s = 0;
  bool timed_out = false;
  nlohmann::json report;  // the step's own report as it wrote it (null: none)
  // Variables the step's environment sets (a value) or removes (nullopt: written as null).
  std::map<std::string, std::optional<std::string>> env;
  std::string superseded_by;               // a later step that replaced this one's verdict
  std::vector<std::string> own_check_ids;  // a judge step's own checks
  std::optional<std::string> own_summary;  // the verdict of those checks alone
  std::string note;                        // why there is no report (exit without one, launch)
  std::string report_error;                // why the report it wrote could not be read
  std::string stderr_tail;
  nlohmann::json comparison;  // its baseline comparison (compare.hpp's JSON; null: none)

  // What the step's line in a summary ends with: the note, else its verdict summary (its own
  // checks' for a judge step), else why its report could not be read.
  [[nodiscard]] std::string summary() const;
};
void to_json(nlohmann::json& j, const SuiteStep& step);
void from_json(const nlohmann::json& j, SuiteStep& step);

// One step compared with one baseline (details.baseline.comparisons[]).
struct SuiteComparison {
  std::string step;
  std::string baseline;  // the baseline's reference name
  std::string path;
  std::string status;
  std::string summary;
  std::vector<std::string> failed_rows;  // "<size> B: <verdict>: <reason>"
};
void to_json(nlohmann::json& j, const SuiteComparison& use);
void from_json(const nlohmann::json& j, SuiteComparison& use);

// The suite's baseline comparison (details.baseline): the comparisons made, or why none was.
struct SuiteBaseline {
  std::vector<std::string> searched;
  std::vector<std::string> problems;         // files that are not valid baselines (written if any)
  std::vector<SuiteComparison> comparisons;  // status "compared" when not empty, else "none"
  std::vector<std::string> not_compared;     // steps no baseline matched, with the reason
  std::string reason;                        // status "none": why nothing was compared
};
void to_json(nlohmann::json& j, const SuiteBaseline& baseline);
void from_json(const nlohmann::json& j, SuiteBaseline& baseline);

// details.steps; empty for a tool's own report.
[[nodiscard]] std::vector<SuiteStep> suite_steps(const Report& report);
// Whether `report` is a suite's (it has details.steps).
[[nodiscard]] bool is_suite_report(const Report& report);
// details.plan: the plan's name ("suite" when a suite report does not say).
[[nodiscard]] std::string suite_plan(const Report& report);
// details.baseline, when the suite compared (or tried to compare) with baselines.
[[nodiscard]] std::optional<SuiteBaseline> suite_baseline(const Report& report);

}  // namespace preflight::reports
