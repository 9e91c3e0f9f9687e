// `preflight node`: every probe, then the collectives and point-to-point checks this machine can
// run (NCCL over its GPUs and EFA where they exist, MPI and libfabric shm/tcp where they do not).
#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <string_view>

#include "cli/plan_run.hpp"
#include "cli/plans.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "reports/baseline_match.hpp"

namespace preflight::cli {
namespace {

constexpr double kQuickBudget_s = 10;
constexpr double kNodeBudget_s = 60;

// The EFA loopback (preflight-p2p --loopback --all-devices): every device in turn, through the
// NIC, one bandwidth size. A healthy device takes about 0.2 s (two endpoints, a verified window,
// 50 ms of timed windows); the allowance is several times that, and the step's timeout grows with
// the devices a node has (p4d 4, p5en 16, p5 32) instead of one figure for all: 32 devices within
// a 60 s node plan. Each phase of a device (set-up, the size) has its own deadline, so a hung
// device is named by the step's report before the step's timeout ends it.
constexpr double kLoopbackBase_s = 5;         // process, libfabric and efa provider start
constexpr double kLoopbackPerDevice_s = 1.5;  // allowance per device
constexpr double kLoopbackPhaseDeadline_s = 10;

double efa_loopback_timeout_s(std::size_t devices) {
  return kLoopbackBase_s + static_cast<double>(devices) * kLoopbackPerDevice_s;
}

StepSpec efa_loopback_step(const PlanRun& run, const LocalHardware& hardware) {
  auto step = run.tool_step("efa-loopback", "preflight-p2p",
                            {"--transport",     "libfabric",
                             "--provider",      "efa",
                             "--loopback",      "--all-devices",
                             "--test",          "bw",
                             "--sizes",         "1M",
                             "--window",        "16",
                             "--warmup-iters",  "2",
                             "--min-iters",     "3",
                             "--time-per-size", "0.05",
                             "--timeout",       fmt::format("{:g}", kLoopbackPhaseDeadline_s)},
                            efa_loopback_timeout_s(hardware.efa_devices.size()));
  if (hardware.efa_devices.empty() && step.skip_reason.empty()) {
    step.skip_reason = "no EFA device";
  }
  return step;
}

constexpr std::array<std::string_view, 5> kProbes{"versions", "drivers", "topology", "env", "efa"};

}  // namespace

std::vector<std::string> node_nccl_sweep_args(const NodeOptions& options) {
  std::vector<std::string> sweep{"--backend", "nccl", "--sizes", "1M:256M:x4", "--check", "1"};
  if (!options.nccl_library.empty()) {
    sweep.insert(sweep.end(), {"--nccl-lib", options.nccl_library});
  }
  return sweep;
}

reports::Report run_node_plan(const GeneralOptions& general, const NodeOptions& options) {
  if (std::error_code error;
      !options.nccl_library.empty() && !std::filesystem::exists(options.nccl_library, error)) {
    throw UsageError(fmt::format("--nccl-lib {}: no such file", options.nccl_library));
  }
  PlanRun run(general, options.quick ? kQuickBudget_s : kNodeBudget_s);
  const LocalHardware hardware = detect_local_hardware(options.root);
  std::vector<StepSpec> steps;
  steps.reserve(kProbes.size());
  for (const std::string_view probe : kProbes) {
    steps.push_back(run.tool_step(fmt::format("probe-{}", probe),
                                  fmt::format("preflight-{}", probe), {}, options.quick ? 8 : 20));
  }
  if (!options.quick) {
    // Each NIC through a loopback first, right after the probes: it is the cheapest signal that
    // moves (the efa driver reports every port ACTIVE whatever the link does), and the
    // collectives after it may take the rest of the budget.
    if (hardware.gpu_count > 0 || !hardware.efa_devices.empty()) {
      steps.push_back(efa_loopback_step(run, hardware));
    }
    if (hardware.gpu_count > 0) {
      const LaunchSpec gpus = local_launch(hardware.gpu_count, false);
      const std::vector<std::string> sweep = node_nccl_sweep_args(options);
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
  if (!options.nccl_library.empty()) {
    suite.details["nccl_library"] = options.nccl_library;
  }
  if (!options.quick && (hardware.gpu_count > 0 || !hardware.efa_devices.empty())) {
    suite.details["efa_loopback"] = {
        {"devices", hardware.efa_devices.size()},
        {"base_s", kLoopbackBase_s},
        {"per_device_s", kLoopbackPerDevice_s},
        {"phase_deadline_s", kLoopbackPhaseDeadline_s},
        {"planned_timeout_s", efa_loopback_timeout_s(hardware.efa_devices.size())}};
  }
  // The platform's baselines, found by what they match (instance type, nodes, benchmark,
  // backend), for every step that measured something.
  std::vector<std::filesystem::path> directories(general.baseline_dirs.begin(),
                                                 general.baseline_dirs.end());
  add_baseline_comparisons(suite, run.outcomes(), reports::load_baselines(directories));
  reports::finish_report(suite, general.common.warn_as_fail, general.common.deterministic);
  return suite;
}

}  // namespace preflight::cli
