// `preflight cluster`: reachability, the pair survey between nodes (one preflight-p2p job that
// measures, re-tests its suspects beside a control pair and judges), an all-node all-reduce, and
// the verdict that names bad nodes, bad links, suspects and unreachable hosts: preflight-p2p's own,
// taken from its report (cli/cluster_verdict.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "cli/cluster_verdict.hpp"
#include "cli/plan_run.hpp"
#include "cli/plans.hpp"
#include "common/error.hpp"
#include "common/text.hpp"

namespace preflight::cli {
namespace {

constexpr double kClusterStepTimeout_s = 300;

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

// The preflight-p2p arguments of the pair survey: the test, the provider (the user's, or "auto":
// each rank picks its own node's, never the launch host's), the survey's settings, then the
// user's own arguments verbatim.
std::vector<std::string> survey_arguments(const ClusterOptions& options) {
  std::vector<std::string> args{"--transport", "libfabric",
                                "--provider",  options.provider.empty() ? "auto" : options.provider,
                                "--test",      options.p2p_test,
                                "--pattern",   "all-pairs",
                                "--sizes",     options.p2p_sizes,
                                "--rails",     options.rails};
  const auto add = [&](const char* flag, const auto& value) {
    if (value) {
      args.emplace_back(flag);
      args.push_back(fmt::format("{}", *value));
    }
  };
  add("--max-rounds", options.max_rounds);
  add("--retest-rounds", options.retest_rounds);
  add("--slow-fraction", options.slow_fraction);
  add("--retest-partners", options.partners_per_suspect);
  args.insert(args.end(), options.p2p_args.begin(), options.p2p_args.end());
  return args;
}

}  // namespace

reports::Report run_cluster_plan(const GeneralOptions& general, const ClusterOptions& options) {
  if (options.hosts.size() < 2) {
    throw UsageError(fmt::format(
        "cluster needs at least two hosts, got {} (--hosts, --hostfile or a Slurm allocation)",
        options.hosts.size()));
  }
  PlanRun run(general, 0);
  // FI_PROVIDER only when the user named a provider. Otherwise every rank chooses on its own
  // node, so an FI_PROVIDER of the launch host (a head node's own, often tcp) is taken out of the
  // launcher's environment: srun and a local mpirun would hand it to every rank, which would then
  // refuse it. A compute node's own FI_PROVIDER still reaches its rank and is honoured there.
  EnvironmentOverrides provider_env;
  const char* launch_host_provider = std::getenv("FI_PROVIDER");  // NOLINT(concurrency-mt-unsafe)
  if (!options.provider.empty()) {
    provider_env["FI_PROVIDER"] = options.provider;
  } else {
    provider_env["FI_PROVIDER"] = std::nullopt;
  }
  const auto p2p_step = [&](const std::string& name, const std::vector<std::string>& hosts) {
    return run.tool_step(name, "preflight-p2p", survey_arguments(options), kClusterStepTimeout_s,
                         per_node_launch(hosts), provider_env);
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

  // The survey: every pair of nodes, the re-tests and the verdict, in one launch.
  StepSpec first_step = p2p_step("p2p-all-pairs", reachable);
  if (reachable.size() < 2 && first_step.skip_reason.empty()) {
    first_step.skip_reason = fmt::format("{} of {} hosts reachable: no pair to test",
                                         reachable.size(), options.hosts.size());
  }
  const std::size_t first_index = run.outcomes().size();
  const StepOutcome& first = run.run(std::move(first_step), kPlannedSteps);
  std::optional<ClusterVerdict> verdict =
      verdict_from_p2p_report(first.report_json, "p2p-all-pairs");
  std::string not_judged = verdict ? std::string()
                                   : fmt::format("step p2p-all-pairs ended {} without a verdict",
                                                 to_string(first.status));
  const bool first_broke = first.status == Status::error || first.status == Status::timeout;
  if (first_broke && !run.runner().interrupted()) {
    // The job could not run across every host (one died or was cut off since the reachability
    // check): find which hosts do not answer, then survey the others again, so one dead node costs
    // its own verdict, not everyone's.
    std::vector<std::string> lost;
    reachability["after_first_pass"] =
        // NOLINTNEXTLINE(readability-suspicious-call-argument): the reachable hosts, re-checked
        check_reachability(run, reachable, options.reach_timeout_s, lost);
    if (!lost.empty()) {
      unreachable.insert(unreachable.end(), lost.begin(), lost.end());
      reachable = without(reachable, lost);
      const bool survey_again = reachable.size() >= 2;
      run.supersede(first_index,
                    fmt::format("{} stopped answering during the step and {} named unreachable{}",
                                join(lost, ", "), lost.size() == 1 ? "is" : "are",
                                survey_again ? "; the others were surveyed again" : ""));
      if (survey_again) {
        const auto& retry = run.run(p2p_step("p2p-all-pairs-reachable", reachable), kPlannedSteps);
        verdict = verdict_from_p2p_report(retry.report_json, "p2p-all-pairs-reachable");
        not_judged = verdict
                         ? std::string()
                         : fmt::format("step p2p-all-pairs-reachable ended {} without a verdict",
                                       to_string(retry.status));
      } else {
        not_judged = fmt::format("{} of {} hosts reachable: no pair to test", reachable.size(),
                                 options.hosts.size());
      }
    }
  }

  if (options.collective && reachable.size() >= 2) {
    run.run(run.tool_step("allreduce-all-nodes", "preflight-allreduce",
                          {"--sizes", options.collective_sizes, "--check", "1"},
                          kClusterStepTimeout_s, per_node_launch(reachable), provider_env),
            kPlannedSteps);
  }

  ClusterVerdict final_verdict = verdict.value_or(ClusterVerdict{});
  final_verdict.unreachable = unreachable;
  auto suite = run.suite("cluster");
  for (const auto& host : unreachable) {
    suite.checks.push_back(reports::fire_check(
        "NODE_UNREACHABLE",
        finding_message("NODE_UNREACHABLE", host,
                        fmt::format("a {} launch did not answer within {:.0f} s",
                                    to_string(run.launcher()), options.reach_timeout_s)),
        {{"host", host}}));
  }
  // A verdict over fewer nodes than the hosts that answered is no verdict on the others: the
  // survey never passes for a cluster it did not see whole.
  if (verdict && verdict->nodes.size() < reachable.size()) {
    suite.checks.push_back(reports::judged_check(
        "LAUNCH_WORLD_MISMATCH", Status::error,
        finding_message("LAUNCH_WORLD_MISMATCH",
                        fmt::format("the pair survey measured {} node(s) ({}) of the {} reachable "
                                    "hosts ({}): the launch did not place one rank on every host",
                                    verdict->nodes.size(), join(verdict->nodes, ", "),
                                    reachable.size(), join(reachable, ", "))),
        {{"nodes_measured", verdict->nodes}, {"hosts", reachable}}));
  }
  suite.run.nodes = static_cast<int>(options.hosts.size());
  nlohmann::json cluster = cluster_details(final_verdict, not_judged);
  cluster["hosts"] = options.hosts;
  cluster["hosts_source"] = options.hosts_source;
  cluster["provider"] = options.provider.empty() ? "auto" : options.provider;
  if (options.provider.empty() && launch_host_provider != nullptr) {
    cluster["launch_host_fi_provider"] = fmt::format(
        "{} (not passed on: each rank chose its node's own provider)", launch_host_provider);
  }
  cluster["reachability"] = reachability;
  suite.details["cluster"] = cluster;
  reports::finish_report(suite, general.common.warn_as_fail, general.common.deterministic);
  return suite;
}

}  // namespace preflight::cli
