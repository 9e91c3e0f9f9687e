// `preflight ci`: a declarative plan file (reports/schema/plan.schema.json) of steps, compared with
// a baseline and recorded in the history.
#include <fmt/format.h>

#include <set>

#include "cli/plan_run.hpp"
#include "cli/plans.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "reports/baseline_match.hpp"
#include "reports/json_schema.hpp"
#include "reports/report_io.hpp"

namespace preflight::cli {

void validate_plan(const nlohmann::json& plan, const std::string& origin) {
  const reports::JsonSchema schema(nlohmann::json::parse(reports::embedded_schema_text("plan")));
  const auto errors = schema.validate(plan, 10);
  if (!errors.empty()) {
    std::vector<std::string> lines;
    lines.reserve(errors.size());
    for (const auto& error : errors) {
      lines.push_back(
          fmt::format("{}: {}", error.pointer.empty() ? "/" : error.pointer, error.message));
    }
    throw UsageError(fmt::format("{}: not a valid plan: {}", origin, join(lines, "; ")));
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < plan.at("steps").size(); ++i) {
    const auto name = plan.at("steps")[i].at("name").get<std::string>();
    if (!names.insert(name).second) {
      throw UsageError(
          fmt::format("{}: /steps/{}/name: step name '{}' is used twice", origin, i, name));
    }
  }
}

CiPlan read_ci_plan(const std::filesystem::path& path) {
  return parse_ci_plan(reports::read_text_file(path), path);
}

CiPlan parse_ci_plan(std::string_view text, const std::filesystem::path& path) {
  const nlohmann::json document =
      reports::parse_json_text(text, path == "-" ? "stdin" : path.string());
  validate_plan(document, path.string());
  CiPlan plan;
  plan.name = document.value("name", path.stem().string());
  plan.budget_s = document.value("budget_s", 0.0);
  plan.warn_as_fail = document.value("warn_as_fail", false);
  for (const auto& item : document.at("steps")) {
    CiStep step;
    step.name = item.at("name").get<std::string>();
    step.tool = item.at("tool").get<std::string>();
    step.args = item.value("args", std::vector<std::string>{});
    step.ranks = item.value("ranks", 1);
    step.one_rank_per_node = item.value("one_rank_per_node", false);
    step.oversubscribe = item.value("oversubscribe", false);
    step.hosts = item.value("hosts", std::vector<std::string>{});
    step.timeout_s = item.value("timeout_s", 120.0);
    step.env = item.value("env", std::map<std::string, std::string>{});
    plan.steps.push_back(std::move(step));
  }
  const auto relative_to_plan = [&](const std::string& file) {
    if (file.empty() || file == "-" || std::filesystem::path(file).is_absolute()) {
      return file;
    }
    return (path.parent_path() / file).string();
  };
  if (document.contains("baseline")) {
    plan.baseline_path = relative_to_plan(document.at("baseline").at("path").get<std::string>());
  }
  if (document.contains("history")) {
    const auto& history = document.at("history");
    plan.history_db = relative_to_plan(history.value("db", std::string()));
    plan.history_record = history.value("record", true);
    if (history.contains("trend")) {
      const auto& trend = history.at("trend");
      if (trend.is_boolean()) {
        plan.trend.enabled = trend.get<bool>();
      } else {
        plan.trend.window = trend.value("window", plan.trend.window);
        plan.trend.k = trend.value("k", plan.trend.k);
        plan.trend.min_band = trend.value("min_band", plan.trend.min_band);
        plan.trend.min_runs = trend.value("min_runs", plan.trend.min_runs);
      }
    }
  }
  if (document.contains("outputs")) {
    const auto& outputs = document.at("outputs");
    plan.json_path = relative_to_plan(outputs.value("json", std::string()));
    plan.junit_path = relative_to_plan(outputs.value("junit", std::string()));
    plan.html_path = relative_to_plan(outputs.value("html", std::string()));
  }
  return plan;
}

namespace {

// The run id `preflight-report history add --json` gave the suite, 0 when it recorded nothing.
std::int64_t recorded_run_id(const StepOutcome& record) {
  if (!record.report) {
    return 0;
  }
  const auto& history = record.report->details;
  if (!history.contains("history") ||
      history.at("history").value("runs", nlohmann::json::array()).empty()) {
    return 0;
  }
  return history.at("history").at("runs").at(0).value("id", std::int64_t{0});
}

}  // namespace

reports::Report run_ci_plan(const GeneralOptions& general, const CiPlan& plan) {
  PlanRun run(general, plan.budget_s > 0 ? plan.budget_s : 3600);
  std::vector<StepSpec> steps;
  for (const auto& step : plan.steps) {
    EnvironmentOverrides env;
    for (const auto& [name, value] : step.env) {
      env[name] = value;
    }
    std::optional<LaunchSpec> launch;
    if (step.ranks > 1 || !step.hosts.empty()) {
      LaunchSpec spec;
      spec.ranks = step.ranks;
      spec.one_rank_per_node = step.one_rank_per_node;
      spec.hosts = step.hosts;
      spec.oversubscribe = step.oversubscribe;
      launch = spec;
    }
    steps.push_back(run.tool_step(step.name, step.tool, step.args, step.timeout_s, launch, env));
  }
  const bool record = plan.history_record && !plan.history_db.empty();
  const bool trend = record && plan.trend.enabled;
  const std::size_t total = steps.size() + (record ? 1 : 0) + (trend ? 1 : 0);
  for (auto& step : steps) {
    run.run(std::move(step), total);
  }
  // Every step is compared with the baselines that match it: those of the plan's baseline file
  // or directory, else those of --baseline-dir (the shipped ones).
  const bool named_baseline = !plan.baseline_path.empty();
  std::vector<std::filesystem::path> baseline_paths;
  if (named_baseline) {
    baseline_paths.emplace_back(plan.baseline_path);
  } else {
    baseline_paths.assign(general.baseline_dirs.begin(), general.baseline_dirs.end());
  }
  const auto baselines = reports::load_baselines(baseline_paths, named_baseline);
  const auto suite_so_far = [&] {
    auto suite = run.suite("ci");
    suite.details["ci"] = {
        {"name", plan.name}, {"baseline", plan.baseline_path}, {"history_db", plan.history_db}};
    add_baseline_comparisons(suite, run.outcomes(), baselines, named_baseline);
    return suite;
  };
  if (record) {
    // The history records the suite of the measuring steps, their comparisons included.
    const auto recorded = run.runner().work_dir() / "suite.json";
    auto so_far = suite_so_far();
    reports::finish_report(so_far, plan.warn_as_fail || general.common.warn_as_fail,
                           general.common.deterministic);
    write_file_atomic(recorded, reports::dump_report(so_far));
    auto add = run.tool_step("history-record", "preflight-report",
                             {"history", "add", "--db", plan.history_db, "--source",
                              "preflight ci plan " + plan.name, recorded.string()},
                             60);
    add.own_check_ids = {"HISTORY_RECORDED"};
    const std::int64_t run_id = recorded_run_id(run.run(std::move(add), total));
    if (trend) {
      auto judge = run.tool_step(
          "history-trend", "preflight-report",
          {"history", "trend", "--db", plan.history_db, "--run", std::to_string(run_id), "--window",
           std::to_string(plan.trend.window), "--k", fmt::format("{}", plan.trend.k), "--min-band",
           plan.trend.min_band, "--min-runs", std::to_string(plan.trend.min_runs)},
          60);
      judge.own_check_ids = {"HISTORY_PASS", "HISTORY_REGRESSION"};
      if (run_id == 0 && judge.skip_reason.empty()) {
        judge.skip_reason = "the run was not recorded in the history (see history-record)";
      }
      run.run(std::move(judge), total);
    }
  }
  auto suite = suite_so_far();
  for (const auto& outcome : run.outcomes()) {
    if (outcome.spec.name == "history-trend" && outcome.report &&
        outcome.report->details.contains("trend")) {
      suite.details["trend"] = outcome.report->details.at("trend");
    }
  }
  reports::finish_report(suite, plan.warn_as_fail || general.common.warn_as_fail,
                         general.common.deterministic);
  return suite;
}

}  // namespace preflight::cli
