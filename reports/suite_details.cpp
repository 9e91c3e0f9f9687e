#include "reports/suite_details.hpp"

namespace preflight::reports {

using nlohmann::json;

namespace {

// `j[key]` as T when it is there and of T's JSON type; `fallback` otherwise.
template <typename T>
T lenient(const json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key)) {
    return fallback;
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

// A list of strings, leaving out anything that is not one.
std::vector<std::string> strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.is_object() && j.contains(key) && j.at(key).is_array()) {
    for (const auto& item : j.at(key)) {
      if (item.is_string()) {
        out.push_back(item.get<std::string>());
      }
    }
  }
  return out;
}

// `key` only when `value` is not empty: the optional fields of a step.
template <typename T>
void set_unless_empty(json& j, const char* key, const T& value) {
  if (!value.empty()) {
    j[key] = value;
  }
}

const json& details_member(const Report& report, const char* key) {
  static const json kNull;  // NOLINT(readability-identifier-naming): an immutable sentinel
  return report.details.is_object() && report.details.contains(key) ? report.details.at(key)
                                                                    : kNull;
}

}  // namespace

std::string SuiteStep::summary() const {
  if (!note.empty()) {
    return note;
  }
  if (report.is_object()) {
    if (own_summary) {
      return *own_summary;
    }
    return report.contains("verdict") ? lenient(report.at("verdict"), "summary", std::string())
                                      : std::string();
  }
  return report_error;
}

void to_json(json& j, const SuiteStep& step) {
  j = {{"name", step.name},
       {"argv", step.argv},
       {"exit_code", step.exit_code},
       {"status", step.status ? json(std::string(to_string(*step.status))) : json()},
       {"duration_s", step.duration_s},
       {"timeout_s", step.timeout_s},
       {"timed_out", step.timed_out},
       {"report", step.report}};
  if (!step.env.empty()) {
    json env = json::object();
    for (const auto& [name, value] : step.env) {
      env[name] = value ? json(*value) : json(nullptr);
    }
    j["env"] = env;
  }
  set_unless_empty(j, "superseded_by", step.superseded_by);
  set_unless_empty(j, "own_check_ids", step.own_check_ids);
  if (step.own_summary) {
    j["own_summary"] = *step.own_summary;
  }
  set_unless_empty(j, "note", step.note);
  set_unless_empty(j, "report_error", step.report_error);
  set_unless_empty(j, "stderr_tail", step.stderr_tail);
  if (!step.comparison.is_null()) {
    j["comparison"] = step.comparison;
  }
}

void from_json(const json& j, SuiteStep& step) {
  step = SuiteStep{};
  step.name = lenient(j, "name", std::string());
  step.argv = strings(j, "argv");
  step.exit_code = lenient(j, "exit_code", -1);
  step.status = parse_status(lenient(j, "status", std::string()));
  step.duration_s = lenient(j, "duration_s", 0.0);
  step.timeout_s = lenient(j, "timeout_s", 0.0);
  step.timed_out = lenient(j, "timed_out", false);
  step.report = j.is_object() && j.contains("report") ? j.at("report") : json();
  if (j.is_object() && j.contains("env") && j.at("env").is_object()) {
    for (const auto& [name, value] : j.at("env").items()) {
      step.env[name] = value.is_string() ? std::optional(value.get<std::string>()) : std::nullopt;
    }
  }
  step.superseded_by = lenient(j, "superseded_by", std::string());
  step.own_check_ids = strings(j, "own_check_ids");
  if (j.is_object() && j.contains("own_summary") && j.at("own_summary").is_string()) {
    step.own_summary = j.at("own_summary").get<std::string>();
  }
  step.note = lenient(j, "note", std::string());
  step.report_error = lenient(j, "report_error", std::string());
  step.stderr_tail = lenient(j, "stderr_tail", std::string());
  step.comparison = j.is_object() && j.contains("comparison") ? j.at("comparison") : json();
}

void to_json(json& j, const SuiteComparison& use) {
  j = {{"step", use.step},     {"baseline", use.baseline}, {"path", use.path},
       {"status", use.status}, {"summary", use.summary},   {"failed_rows", use.failed_rows}};
}

void from_json(const json& j, SuiteComparison& use) {
  use.step = lenient(j, "step", std::string());
  use.baseline = lenient(j, "baseline", std::string());
  use.path = lenient(j, "path", std::string());
  use.status = lenient(j, "status", std::string());
  use.summary = lenient(j, "summary", std::string());
  use.failed_rows = strings(j, "failed_rows");
}

void to_json(json& j, const SuiteBaseline& baseline) {
  j = {{"searched", baseline.searched}};
  set_unless_empty(j, "problems", baseline.problems);
  if (!baseline.comparisons.empty()) {
    j["status"] = "compared";
    j["comparisons"] = baseline.comparisons;
  } else {
    j["status"] = "none";
    j["reason"] = baseline.reason;
  }
  set_unless_empty(j, "not_compared", baseline.not_compared);
}

void from_json(const json& j, SuiteBaseline& baseline) {
  baseline = SuiteBaseline{};
  baseline.searched = strings(j, "searched");
  baseline.problems = strings(j, "problems");
  if (j.is_object() && j.contains("comparisons") && j.at("comparisons").is_array()) {
    for (const auto& item : j.at("comparisons")) {
      baseline.comparisons.push_back(item.get<SuiteComparison>());
    }
  }
  baseline.not_compared = strings(j, "not_compared");
  baseline.reason = lenient(j, "reason", std::string());
}

bool is_suite_report(const Report& report) {
  return report.details.is_object() && report.details.contains("steps");
}

std::vector<SuiteStep> suite_steps(const Report& report) {
  std::vector<SuiteStep> steps;
  const json& listed = details_member(report, "steps");
  if (listed.is_array()) {
    steps.reserve(listed.size());
    for (const auto& item : listed) {
      steps.push_back(item.get<SuiteStep>());
    }
  }
  return steps;
}

std::string suite_plan(const Report& report) {
  return lenient(report.details, "plan", std::string("suite"));
}

std::optional<SuiteBaseline> suite_baseline(const Report& report) {
  const json& baseline = details_member(report, "baseline");
  if (!baseline.is_object()) {
    return std::nullopt;
  }
  return baseline.get<SuiteBaseline>();
}

}  // namespace preflight::reports
