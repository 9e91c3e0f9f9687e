// `preflight node`: every probe, then the collectives and point-to-point checks this machine can
// run (NCCL over its GPUs and EFA where they exist, MPI and libfabric shm/tcp where they do not).
#include <fmt/format.h>

#include <filesystem>

#include "cli/plan_run.hpp"
#include "cli/plans.hpp"
#include "common/text.hpp"
#include "reports/baseline_match.hpp"

namespace preflight::cli {
namespace {

constexpr double kQuickBudget_s = 10;
constexpr double kNodeBudget_s = 60;

const std::vector<std::string> kProbes{"versions", "drivers", "topology", "env", "efa"};

}  // namespace

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
      // The platform's baselines measured NVLink: this run measures EFA instead.
      over_efa.compare_with_baselines = false;
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
  // The platform's baselines, found by what they match (instance type, nodes, benchmark,
  // backend), for every step that measured something.
  std::vector<std::filesystem::path> directories(general.baseline_dirs.begin(),
                                                 general.baseline_dirs.end());
  add_baseline_comparisons(suite, run.outcomes(), reports::load_baselines(directories));
  reports::finish_report(suite, general.common.warn_as_fail, general.common.deterministic);
  return suite;
}

}  // namespace preflight::cli
