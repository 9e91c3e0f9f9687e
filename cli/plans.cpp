#include "cli/plans.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "cli/cluster_verdict.hpp"
#include "cli/suite.hpp"
#include "common/atomic_file.hpp"
#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/spawn.hpp"
#include "common/text.hpp"
#include "reports/json_schema.hpp"
#include "reports/render.hpp"
#include "reports/report_io.hpp"

namespace preflight::cli {
namespace {

constexpr double kQuickBudget_s = 10;
constexpr double kNodeBudget_s = 60;
constexpr double kClusterStepTimeout_s = 300;
// Acceptance blames a node or link (and fails the run) only when it delivers less than a
// quarter of the cluster's level (latency: more than 1.75x). A broken NIC, cable or throttle is
// many times off, while healthy links on busy hosts were seen spread over 4x (105-450 MB/s on
// the virtual cluster), which makes a MAD-based band wider than the level itself; so the band is
// the relative floor alone. Smaller deviations stay visible as preflight-p2p's own warnings.
const p2p::OutlierPolicy kAcceptancePolicy{.mad_multiplier = 0.0,
                                           .min_relative_deviation = 0.75,
                                           .node_slow_fraction = 0.75,
                                           .min_partners = 2};

bool running_as_root() {
  return ::geteuid() == 0;
}

// Ranks on this machine only.
LaunchSpec local_launch(int ranks, bool oversubscribe) {
  LaunchSpec spec;
  spec.ranks = ranks;
  spec.oversubscribe = oversubscribe;
  return spec;
}

// One rank on each of `hosts`.
LaunchSpec per_node_launch(const std::vector<std::string>& hosts) {
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
                general.show_progress),
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
    if (!launch) {
      step.argv = std::move(command);
      return step;
    }
    LaunchSpec spec = *launch;
    spec.allow_run_as_root = running_as_root();
    spec.extra_args.insert(spec.extra_args.begin(), general_.launcher_args.begin(),
                           general_.launcher_args.end());
    for (const auto& [variable, value] : env) {
      if (value) {
        spec.forward_env.push_back(variable);
      }
    }
    step.argv = launch_argv(launcher_, spec, command);
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

const std::vector<std::string> kProbes{"versions", "drivers", "topology", "env", "efa"};

// The platform's baseline for the instance type the probes found, compared by preflight-report.
void compare_with_platform_baseline(PlanRun& run, reports::Report& suite) {
  const auto& instance_type = suite.inventory.instance_type;
  nlohmann::json baseline = {{"status", "none"}};
  if (instance_type.empty()) {
    baseline["reason"] = "no instance type known (not on EC2, or the probes did not run)";
    suite.details["baseline"] = baseline;
    return;
  }
  std::filesystem::path found;
  for (const auto& directory : run.general().baseline_dirs) {
    const auto candidate = std::filesystem::path(directory) / (instance_type + ".json");
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) {
      found = candidate;
      break;
    }
  }
  if (found.empty()) {
    baseline["reason"] = fmt::format("no baseline for {} in {}", instance_type,
                                     join(run.general().baseline_dirs, ", "));
    suite.details["baseline"] = baseline;
    return;
  }
  baseline = {{"status", "compared"}, {"path", found.string()}};
  suite.details["baseline"] = baseline;
}

}  // namespace

LocalHardware detect_local_hardware(const std::filesystem::path& root) {
  LocalHardware hardware;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(root / "proc/driver/nvidia/gpus", error)) {
    (void)entry;
    ++hardware.gpu_count;
  }
  hardware.efa_devices = efa_device_names(RootFs(root));
  return hardware;
}

reports::Report run_node_plan(const GeneralOptions& general, const NodeOptions& options) {
  PlanRun run(general, options.quick ? kQuickBudget_s : kNodeBudget_s);
  const LocalHardware hardware = detect_local_hardware();
  std::vector<StepSpec> steps;
  for (const auto& probe : kProbes) {
    steps.push_back(
        run.tool_step("probe-" + probe, "preflight-" + probe, {}, options.quick ? 8 : 20));
  }
  if (!options.quick) {
    if (hardware.gpu_count > 0) {
      const LaunchSpec gpus = local_launch(hardware.gpu_count, false);
      const std::vector<std::string> sweep{"--backend",  "nccl",    "--sizes",
                                           "1M:256M:x4", "--check", "1"};
      steps.push_back(run.tool_step("nccl-allreduce", "preflight-allreduce", sweep, 30, gpus));
      steps.push_back(run.tool_step("nccl-allgather", "preflight-allgather", sweep, 30, gpus));
      auto over_efa = run.tool_step("nccl-allreduce-over-efa", "preflight-allreduce", sweep, 30,
                                    gpus, {{"NCCL_P2P_DISABLE", "1"}, {"NCCL_SHM_DISABLE", "1"}});
      if (hardware.efa_devices.empty() && over_efa.skip_reason.empty()) {
        over_efa.skip_reason = "no EFA device: NCCL traffic cannot be sent across EFA";
      }
      steps.push_back(std::move(over_efa));
      auto loopback = run.tool_step("efa-loopback", "preflight-p2p",
                                    {"--transport", "libfabric", "--provider", "efa", "--loopback",
                                     "--all-devices", "--test", "bw", "--sizes", "8:4M:x8"},
                                    20);
      if (hardware.efa_devices.empty() && loopback.skip_reason.empty()) {
        loopback.skip_reason = "no EFA device";
      }
      steps.push_back(std::move(loopback));
    } else {
      // No GPU: the same plan still means something, on host memory and local transports.
      const LaunchSpec local = local_launch(options.local_ranks, true);
      // Small sizes and short budgets: this proves the MPI path and the local transports
      // work and are correct; bandwidth at scale is the GPU/EFA runs' and the cluster plan's job.
      const std::vector<std::string> sweep{"--backend", "mpi", "--sizes",         "8:64K:x8",
                                           "--check",   "1",   "--time-per-size", "0.1"};
      steps.push_back(run.tool_step("mpi-allreduce", "preflight-allreduce", sweep, 20, local));
      steps.push_back(run.tool_step("mpi-allgather", "preflight-allgather", sweep, 20, local));
      for (const std::string provider : {"shm", "tcp"}) {
        steps.push_back(
            run.tool_step("p2p-" + provider, "preflight-p2p",
                          {"--transport", "libfabric", "--provider", provider, "--test", "latency",
                           "--pattern", "pair", "--sizes", "1:64K:x16", "--time-per-size", "0.1"},
                          15, local_launch(2, true)));
      }
    }
  }
  const std::size_t total = steps.size();
  for (auto& step : steps) {
    run.run(std::move(step), total);
  }
  auto suite = run.suite("node");
  suite.details["quick"] = options.quick;
  suite.details["hardware"] = {{"gpus", hardware.gpu_count}, {"efa_devices", hardware.efa_devices}};
  compare_with_platform_baseline(run, suite);
  reports::finish_report(suite, general.common.warn_as_fail, general.common.deterministic);
  return suite;
}

namespace {

// Which hosts answer a trivial launch, tested in parallel batches, each within `timeout_s`.
nlohmann::json check_reachability(const PlanRun& run, const std::vector<std::string>& hosts,
                                  double timeout_s, std::vector<std::string>& unreachable) {
  constexpr std::size_t kBatch = 32;
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t first = 0; first < hosts.size(); first += kBatch) {
    const std::size_t last = std::min(hosts.size(), first + kBatch);
    std::vector<ChildProcess> children;
    for (std::size_t i = first; i < last; ++i) {
      LaunchSpec spec = per_node_launch({hosts[i]});
      spec.allow_run_as_root = running_as_root();
      spec.extra_args = run.general().launcher_args;
      ProcessOptions options;
      options.stderr_path = "/dev/null";
      children.push_back(ChildProcess::start(launch_argv(run.launcher(), spec, {"true"}), {},
                                             "/dev/null", options));
    }
    Stopwatch clock;
    for (std::size_t i = first; i < last; ++i) {
      const double left_s = std::max(0.1, timeout_s - clock.elapsed_s());
      auto& child = children[i - first];
      // wait() measures from the child's start; all started together, so the deadline holds.
      const ProcessResult result = child.wait(left_s + clock.elapsed_s());
      const bool reached = result.started && !result.timed_out && result.exit_code == 0;
      if (!reached) {
        unreachable.push_back(hosts[i]);
      }
      results.push_back({{"host", hosts[i]},
                         {"reached", reached},
                         {"exit_code", shell_style_exit_code(result)},
                         {"timed_out", result.timed_out},
                         {"duration_s", result.duration_s}});
    }
  }
  return results;
}

std::vector<std::string> without(const std::vector<std::string>& hosts,
                                 const std::vector<std::string>& removed) {
  std::vector<std::string> kept;
  std::copy_if(hosts.begin(), hosts.end(), std::back_inserter(kept), [&](const std::string& h) {
    return std::find(removed.begin(), removed.end(), h) == removed.end();
  });
  return kept;
}

nlohmann::json pairs_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [a, b] : pairs) {
    list.push_back({a, b});
  }
  return list;
}

}  // namespace

reports::Report run_cluster_plan(const GeneralOptions& general, const ClusterOptions& options) {
  if (options.hosts.size() < 2) {
    throw UsageError(fmt::format(
        "cluster needs at least two hosts, got {} (--hosts, --hostfile or a Slurm allocation)",
        options.hosts.size()));
  }
  PlanRun run(general, 0);
  const LocalHardware hardware = detect_local_hardware();
  const std::string provider =
      !options.provider.empty()
          ? options.provider
          : (hardware.efa_devices.empty() ? std::string("tcp") : std::string("efa"));
  const auto p2p_step = [&](const std::string& name, const std::vector<std::string>& hosts) {
    std::vector<std::string> args{"--transport", "libfabric",      "--provider", provider,
                                  "--test",      options.p2p_test, "--pattern",  "all-pairs",
                                  "--sizes",     options.p2p_sizes};
    args.insert(args.end(), options.p2p_args.begin(), options.p2p_args.end());
    return run.tool_step(name, "preflight-p2p", args, kClusterStepTimeout_s, per_node_launch(hosts),
                         {{"FI_PROVIDER", provider}});
  };
  constexpr std::size_t kPlannedSteps = 3;

  // Reachability: one trivial launch across every host, within the reach timeout. A launcher
  // waits forever for a daemon on a dead host; only when this launch fails are the hosts tried
  // one by one (in parallel) to name the dead ones, and the pair tests then skip them.
  std::vector<std::string> reachable = options.hosts;
  std::vector<std::string> unreachable;
  nlohmann::json reachability = nlohmann::json::object();
  {
    LaunchSpec spec = per_node_launch(options.hosts);
    spec.allow_run_as_root = running_as_root();
    spec.extra_args = general.launcher_args;
    ProcessOptions quiet;
    quiet.stderr_path = "/dev/null";
    const auto argv = launch_argv(run.launcher(), spec, {"true"});
    const ProcessResult all =
        find_executable(argv.front()).empty()
            ? ProcessResult{}
            : run_process(argv, {}, options.reach_timeout_s, "/dev/null", quiet);
    reachability["all_hosts"] = {{"argv", argv},
                                 {"exit_code", shell_style_exit_code(all)},
                                 {"timed_out", all.timed_out},
                                 {"duration_s", all.duration_s}};
    if (all.started && !all.timed_out && all.exit_code == 0) {
      reachability["status"] = "all reached";
    } else if (all.started && !run.runner().interrupted()) {
      reachability["per_host"] =
          check_reachability(run, options.hosts, options.reach_timeout_s, unreachable);
      reachability["status"] = unreachable.empty() ? "all reached one by one" : "some unreachable";
      reachable = without(options.hosts, unreachable);
    } else {
      reachability["status"] = "not checked: the launcher could not be started";
    }
  }

  // Pass 1: every pair of nodes, one launch.
  StepSpec first_step = p2p_step("p2p-all-pairs", reachable);
  if (reachable.size() < 2 && first_step.skip_reason.empty()) {
    first_step.skip_reason = fmt::format("{} of {} hosts reachable: no pair to test",
                                         reachable.size(), options.hosts.size());
  }
  const std::size_t first_index = run.outcomes().size();
  const StepOutcome& first = run.run(std::move(first_step), kPlannedSteps);
  std::vector<HostPairMeasurement> measurements = pairs_from_p2p_report(first.report_json);
  const bool first_broke = first.status == Status::error || first.status == Status::timeout;
  const auto every_pair_measured = [&] {
    for (std::size_t a = 0; a < reachable.size(); ++a) {
      for (std::size_t b = a + 1; b < reachable.size(); ++b) {
        const bool measured = std::any_of(
            measurements.begin(), measurements.end(), [&](const HostPairMeasurement& m) {
              return (m.host_a == reachable[a] && m.host_b == reachable[b]) ||
                     (m.host_a == reachable[b] && m.host_b == reachable[a]);
            });
        if (!measured) {
          return false;
        }
      }
    }
    return true;
  };
  if (first_broke && !run.runner().interrupted()) {
    // The job could not run across every host (one died or was cut off since the reachability
    // check, perhaps after some of its pairs were measured): find which hosts do not answer, then
    // measure the others where the first pass did not get to them, so one dead node costs its own
    // verdict, not everyone's.
    std::vector<std::string> lost;
    reachability["after_first_pass"] =
        check_reachability(run, reachable, options.reach_timeout_s, lost);
    if (!lost.empty()) {
      unreachable.insert(unreachable.end(), lost.begin(), lost.end());
      reachable = without(reachable, lost);
      const bool measure_again = reachable.size() >= 2 && !every_pair_measured();
      run.supersede(first_index,
                    fmt::format("{} stopped answering during the step and {} named unreachable; "
                                "the pairs between the others are kept{}",
                                join(lost, ", "), lost.size() == 1 ? "is" : "are",
                                measure_again ? " and the missing ones measured again" : ""));
      if (measure_again) {
        const auto& retry = run.run(p2p_step("p2p-all-pairs-reachable", reachable), kPlannedSteps);
        const auto more = pairs_from_p2p_report(retry.report_json);
        measurements.insert(measurements.end(), more.begin(), more.end());
      }
    }
  }

  if (options.collective && reachable.size() >= 2) {
    run.run(
        run.tool_step("allreduce-all-nodes", "preflight-allreduce",
                      {"--sizes", options.collective_sizes, "--check", "1"}, kClusterStepTimeout_s,
                      per_node_launch(reachable), {{"FI_PROVIDER", provider}}),
        kPlannedSteps);
  }

  // Pass 2: the suspects of pass 1 against known-good partners.
  const ClusterVerdict first_verdict = judge_cluster(reachable, measurements, kAcceptancePolicy);
  auto second_hosts = second_pass_hosts(first_verdict, reachable, options.partners_per_suspect);
  std::string second_pass_note;
  if (first_verdict.suspects.empty()) {
    second_pass_note = "no suspects after the first pass";
  } else if (second_hosts.empty()) {
    second_pass_note = "no known-good partner to re-test the suspects against";
  } else if (std::is_permutation(second_hosts.begin(), second_hosts.end(), reachable.begin(),
                                 reachable.end())) {
    // All pairs of these very hosts were just measured (and preflight-p2p re-tests its suspects
    // within the run): a second launch would repeat the first.
    second_pass_note = "the first pass already paired every suspect with every known-good host";
    second_hosts.clear();
  }
  if (!second_hosts.empty()) {
    const auto& second = run.run(p2p_step("p2p-second-pass", second_hosts), kPlannedSteps);
    const auto more = pairs_from_p2p_report(second.report_json);
    measurements.insert(measurements.end(), more.begin(), more.end());
  }
  const ClusterVerdict verdict = judge_cluster(reachable, measurements, kAcceptancePolicy);

  auto suite = run.suite("cluster");
  for (const auto& host : unreachable) {
    suite.checks.push_back(reports::make_check(
        "NODE_UNREACHABLE", Status::fail,
        finding_message("NODE_UNREACHABLE", host,
                        fmt::format("a {} launch did not answer within {:.0f} s",
                                    to_string(run.launcher()), options.reach_timeout_s)),
        {{"host", host}}));
  }
  const auto display = [&](double value) {
    return verdict.metric == "latency_s" ? fmt::format("{:.1f} us", value * 1e6)
                                         : fmt::format("{:.2f} GB/s", value / 1e9);
  };
  for (const auto& node : verdict.bad_nodes) {
    const auto& evidence = verdict.evidence["nodes"][node];
    suite.checks.push_back(reports::make_check(
        "P2P_NODE_OUTLIER", Status::fail,
        finding_message(
            "P2P_NODE_OUTLIER", node,
            fmt::format("typical {} vs cluster {}", display(evidence.value("typical", 0.0)),
                        display(verdict.reference))),
        {{"host", node}, {"metric", verdict.metric}, {"detail", evidence}}));
  }
  for (const auto& [a, b] : verdict.bad_links) {
    const auto& evidence = verdict.evidence["links"][a + "<->" + b];
    suite.checks.push_back(reports::make_check(
        "P2P_LINK_OUTLIER", Status::fail,
        finding_message("P2P_LINK_OUTLIER", a, b,
                        fmt::format("{} vs cluster {}", display(evidence.value("value", 0.0)),
                                    display(verdict.reference))),
        {{"hosts", {a, b}}, {"metric", verdict.metric}, {"detail", evidence}}));
  }
  for (const auto& [a, b] : verdict.suspect_pairs) {
    suite.checks.push_back(reports::make_check(
        "CLUSTER_LINK_SUSPECT", Status::warn,
        finding_message("CLUSTER_LINK_SUSPECT", a, b, "too few partners to tell node from link"),
        {{"hosts", {a, b}}}));
  }
  if (verdict.pairs_measured > 0 && verdict.bad_nodes.empty() && verdict.bad_links.empty() &&
      verdict.suspect_pairs.empty()) {
    suite.checks.push_back(reports::make_check(
        "CLUSTER_PAIRS_HEALTHY", Status::pass,
        finding_message("CLUSTER_PAIRS_HEALTHY", verdict.pairs_measured,
                        fmt::format("{} around {}", verdict.metric, display(verdict.reference))),
        {{"metric", verdict.metric}, {"reference", verdict.reference}}));
  }
  suite.run.nodes = static_cast<int>(options.hosts.size());
  suite.details["cluster"] = {
      {"hosts", options.hosts},
      {"hosts_source", options.hosts_source},
      {"provider", provider},
      {"metric", verdict.metric},
      {"reference", verdict.reference},
      {"pairs_measured", verdict.pairs_measured},
      {"unreachable", unreachable},
      {"bad_nodes", verdict.bad_nodes},
      {"bad_links", pairs_json(verdict.bad_links)},
      {"suspect_pairs", pairs_json(verdict.suspect_pairs)},
      {"suspects", verdict.suspects},
      {"known_good", verdict.known_good},
      {"first_pass",
       {{"hosts", reachable},
        {"bad_nodes", first_verdict.bad_nodes},
        {"bad_links", pairs_json(first_verdict.bad_links)}}},
      {"second_pass_hosts", second_hosts},
      {"second_pass_note", second_pass_note},
      {"reachability", reachability},
      {"evidence", verdict.evidence},
  };
  reports::finish_report(suite, general.common.warn_as_fail, general.common.deterministic);
  return suite;
}

void validate_plan(const nlohmann::json& plan, const std::string& origin) {
  const reports::JsonSchema schema(nlohmann::json::parse(reports::embedded_schema_text("plan")));
  const auto errors = schema.validate(plan, 10);
  if (!errors.empty()) {
    std::vector<std::string> lines;
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
    plan.history_db = document.at("history").value("db", std::string());
    plan.history_record = document.at("history").value("record", true);
  }
  if (document.contains("outputs")) {
    const auto& outputs = document.at("outputs");
    plan.json_path = relative_to_plan(outputs.value("json", std::string()));
    plan.junit_path = relative_to_plan(outputs.value("junit", std::string()));
    plan.html_path = relative_to_plan(outputs.value("html", std::string()));
  }
  return plan;
}

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
  const bool compare = !plan.baseline_path.empty();
  const bool record = plan.history_record && !plan.history_db.empty();
  const std::size_t total = steps.size() + (compare ? 1 : 0) + (record ? 1 : 0);
  for (auto& step : steps) {
    run.run(std::move(step), total);
  }
  // The follow-up steps read the suite so far, written to the work directory.
  const auto interim = run.runner().work_dir() / "suite.json";
  {
    auto so_far = run.suite("ci");
    reports::finish_report(so_far, plan.warn_as_fail || general.common.warn_as_fail,
                           general.common.deterministic);
    write_file_atomic(interim, reports::dump_report(so_far));
  }
  if (compare) {
    run.run(run.tool_step("baseline-compare", "preflight-report",
                          {"compare", "--baseline", plan.baseline_path, interim.string()}, 60),
            total);
  }
  if (record) {
    run.run(run.tool_step("history-record", "preflight-report",
                          {"history", "record", "--db", plan.history_db, interim.string()}, 60),
            total);
  }
  auto suite = run.suite("ci");
  suite.details["ci"] = {
      {"name", plan.name}, {"baseline", plan.baseline_path}, {"history_db", plan.history_db}};
  reports::finish_report(suite, plan.warn_as_fail || general.common.warn_as_fail,
                         general.common.deterministic);
  return suite;
}

int write_outputs(reports::Report& suite, const GeneralOptions& general) {
  nlohmann::json outputs = nlohmann::json::object();
  std::string html;
  if (!general.html_path.empty()) {
    outputs["html"] = {{"status", "written"}, {"path", general.html_path}};
  }
  if (!general.junit_path.empty()) {
    outputs["junit"] = {{"status", "written"}, {"path", general.junit_path}};
  }
  if (!outputs.empty()) {
    suite.details["outputs"] = outputs;
  }
  if (!general.junit_path.empty()) {
    write_file_atomic(general.junit_path, render_junit(suite));
  }
  if (!general.html_path.empty()) {
    write_file_atomic(general.html_path, reports::render_html(suite, nullptr));
  }
  if (!general.common.json_path.empty()) {
    reports::write_report(suite, general.common.json_path);
  }
  if (!general.common.quiet && general.common.json_path != "-") {
    std::cout << render_suite_text(suite) << std::flush;
  }
  return suite.verdict.exit_code;
}

}  // namespace preflight::cli
