// What every plan of the `preflight` umbrella holds while it runs (PlanRun: the options, a private
// work directory, the step runner and the outcomes so far) and the launch shapes the plans use.
// Shared by cli/node_plan.cpp, cli/cluster_plan.cpp and cli/ci_plan.cpp.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/launcher.hpp"
#include "cli/plans.hpp"
#include "cli/suite.hpp"
#include "common/spawn.hpp"
#include "reports/report_io.hpp"

namespace preflight::cli {

inline bool running_as_root() {
  return ::geteuid() == 0;
}

// Ranks on this machine only.
inline LaunchSpec local_launch(int ranks, bool oversubscribe) {
  LaunchSpec spec;
  spec.ranks = ranks;
  spec.oversubscribe = oversubscribe;
  return spec;
}

// One rank on each of `hosts`.
inline LaunchSpec per_node_launch(const std::vector<std::string>& hosts) {
  LaunchSpec spec;
  spec.ranks = static_cast<int>(hosts.size());
  spec.one_rank_per_node = true;
  spec.hosts = hosts;
  return spec;
}

// What every plan holds while it runs: the options, a private work directory, the step runner
// and the outcomes so far.
class PlanRun {
 public:
  PlanRun(const GeneralOptions& general, double default_budget_s)
      : general_(general),
        work_(general.keep_work_dir),
        runner_(work_.path(), general.budget_s > 0 ? general.budget_s : default_budget_s,
                general.progress),
        launcher_(choose_launcher(general.launcher, current_launcher_environment())) {}

  [[nodiscard]] LauncherKind launcher() const { return launcher_; }
  [[nodiscard]] const GeneralOptions& general() const { return general_; }
  [[nodiscard]] StepRunner& runner() { return runner_; }

  // A step running `tool` with `args`, directly or (with `launch`) through the launcher; its
  // report goes to the work directory. A tool that is not built, or a launcher that is not
  // installed, makes it a skip with the reason.
  [[nodiscard]] StepSpec tool_step(const std::string& name, const std::string& tool,
                                   const std::vector<std::string>& args, double timeout_s,
                                   const std::optional<LaunchSpec>& launch = std::nullopt,
                                   const EnvironmentOverrides& env = {}) const {
    StepSpec step;
    step.name = name;
    step.env = env;
    step.timeout_s = general_.step_timeout_s > 0 ? general_.step_timeout_s : timeout_s;
    const auto path = find_tool(general_.bin_dir, tool);
    if (path.empty()) {
      step.skip_reason =
          fmt::format("{} is not built (not in {})", tool, general_.bin_dir.string());
      step.argv.push_back(tool);
      step.argv.insert(step.argv.end(), args.begin(), args.end());
      return step;
    }
    step.report_path = work_.path() / (name + ".json");
    step.report_on_stdout = launch.has_value() && general_.report_via_stdout;
    std::vector<std::string> command{path.string()};
    command.insert(command.end(), args.begin(), args.end());
    command.insert(command.end(),
                   {"--json", step.report_on_stdout ? std::string("-") : step.report_path.string(),
                    "--quiet"});
    if (general_.progress != ProgressMode::none) {
      // Plain lines into the step's stderr, which the step runner relays as they come.
      command.insert(command.end(), {"--progress", "plain"});
    }
    if (!launch) {
      step.argv = std::move(command);
      return step;
    }
    LaunchSpec spec = *launch;
    spec.allow_run_as_root = running_as_root();
    spec.srun_mpi = general_.srun_mpi;
    spec.extra_args.insert(spec.extra_args.begin(), general_.launcher_args.begin(),
                           general_.launcher_args.end());
    // The world asked for, so every rank can check the one MPI formed (common/launch_world.hpp).
    step.env["PREFLIGHT_EXPECT_RANKS"] = std::to_string(spec.ranks);
    if (spec.one_rank_per_node && !spec.hosts.empty()) {
      step.env["PREFLIGHT_EXPECT_NODES"] = std::to_string(spec.hosts.size());
    }
    for (const auto& [variable, value] : step.env) {
      if (value) {
        spec.forward_env.push_back(variable);
      }
    }
    step.argv = launch_argv(launcher_, spec, command);
    step.launcher = std::string(to_string(launcher_));
    if (find_executable(step.argv.front()).empty()) {
      step.skip_reason = fmt::format("{} is not installed (not on PATH)", step.argv.front());
    }
    return step;
  }

  const StepOutcome& run(StepSpec step, std::size_t planned_total) {
    const std::size_t index = outcomes_.size();
    outcomes_.push_back(runner_.run(std::move(step), index, std::max(planned_total, index + 1)));
    return outcomes_.back();
  }

  [[nodiscard]] const std::vector<StepOutcome>& outcomes() const { return outcomes_; }

  // Marks step `index` as broken by a cause the plan found and worked around (StepOutcome).
  void supersede(std::size_t index, std::string why) {
    outcomes_.at(index).superseded_by = std::move(why);
  }

  // The suite report from the steps so far; plan-specific details are added by the caller.
  [[nodiscard]] reports::Report suite(std::string_view plan) const {
    std::vector<const char*> argv;
    argv.reserve(general_.argv.size());
    for (const auto& argument : general_.argv) {
      argv.push_back(argument.c_str());
    }
    auto report = reports::start_report("preflight", static_cast<int>(argv.size()), argv.data(),
                                        general_.common.deterministic);
    report.details["plan"] = std::string(plan);
    report.details["launcher"] = std::string(to_string(launcher_));
    report.details["elapsed_s"] = runner_.elapsed_s();
    if (general_.keep_work_dir) {
      report.details["work_dir"] = work_.path().string();
    }
    if (runner_.interrupted()) {
      report.details["interrupted"] = true;
    }
    add_steps_to_suite(report, outcomes_);
    report.inventory.env = reports::allowlisted_environment(::environ);
    return report;
  }

 private:
  const GeneralOptions& general_;
  WorkDirectory work_;
  StepRunner runner_;
  LauncherKind launcher_;
  std::vector<StepOutcome> outcomes_;
};

}  // namespace preflight::cli
