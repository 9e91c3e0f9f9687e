#include "collectives/main.hpp"

#include <fmt/format.h>
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): POSIX setenv
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <variant>

#include "collectives/faults.hpp"
#include "collectives/host_backend.hpp"
#include "collectives/nccl_backend.hpp"
#include "collectives/options.hpp"
#include "collectives/render.hpp"
#include "collectives/runner.hpp"
#include "common/cli.hpp"
#include "common/cuda.hpp"
#include "common/error.hpp"
#include "common/gpu_libraries.hpp"
#include "common/launch_world.hpp"
#include "common/termination_watch.hpp"
#include "preflight/build_config.hpp"
#include "reports/report_io.hpp"

#if PREFLIGHT_HAVE_MPI
#include "collectives/mpi_backend.hpp"
#include "common/mpi.hpp"
#endif

extern char** environ;  // NOLINT: POSIX

namespace preflight::collectives {
namespace {

struct BackendDecision {
  BackendChoice choice = BackendChoice::mpi;
  std::string selection;
};

// auto: NCCL where NCCL and the CUDA runtime load and a GPU is visible, else MPI on host memory.
BackendDecision decide_backend(BackendChoice requested, const GpuLibraries& libraries) {
  if (requested == BackendChoice::nccl) {
    return {BackendChoice::nccl, "--backend nccl"};
  }
  if (requested == BackendChoice::mpi) {
    return {BackendChoice::mpi, "--backend mpi"};
  }
  if (const std::string missing = libraries.missing(true); !missing.empty()) {
    // The first reason is enough here; the whole search is in --backend nccl's skip message.
    return {BackendChoice::mpi, fmt::format("auto: {}, so host memory over MPI",
                                            missing.substr(0, missing.find("; ")))};
  }
  if (const int devices = cuda_device_count(*libraries.cuda()); devices > 0) {
    return {BackendChoice::nccl,
            fmt::format("auto: NCCL {} and {} CUDA device(s) visible",
                        version_from_nccl_code(libraries.nccl()->version_code).text, devices)};
  }
  return {BackendChoice::mpi, "auto: no CUDA device visible, so host memory over MPI"};
}

// NCCL reads its debug settings once, at its first call: set them before anything touches NCCL.
// Each rank logs to its own file, named by the launcher's rank.
std::string configure_nccl_log(const std::string& path) {
  if (path.empty()) {
    return {};
  }
  const int rank = current_process_identity().rank;
  std::string file = rank >= 0 ? fmt::format("{}.rank{}", path, rank) : path;
  ::setenv("NCCL_DEBUG", "INFO", 1);
  // TUNING: one line per call on each communicator's rank 0 naming the algorithm and protocol
  // NCCL chose, for the rows (a line-buffered write per call: small calls read slower).
  ::setenv("NCCL_DEBUG_SUBSYS", "INIT,NET,TUNING", 1);
  ::setenv("NCCL_DEBUG_FILE", file.c_str(), 1);
  return file;
}

// How this rank makes its backend: NCCL (with the libraries main loaded), MPI under a launch, or
// one process's local copies.
void wire_backend(RunEnvironment& environment, BackendChoice choice,
                  const CollectiveOptions& options, const GpuLibraries& libraries, bool launched) {
  Bootstrap& world = environment.world;
  const int local_rank = environment.local_rank;
  if (choice == BackendChoice::nccl) {
    // Without a library (or a GPU) this rank cannot take part: every rank learns it before any
    // enters a communicator, and the run is a skip naming what is missing.
    environment.backend_unavailable = [&libraries]() -> std::optional<std::string> {
      if (const std::string missing = libraries.missing(true); !missing.empty()) {
        return "--backend nccl: " + missing;
      }
      if (auto reason = cuda_unavailable_reason(*libraries.cuda())) {
        return "--backend nccl: " + *reason;
      }
      return std::nullopt;
    };
    environment.make_backend =
        [&world, &libraries, local_rank, cuda_graph = options.cuda_graph](
            const SplitGroups& groups) -> std::unique_ptr<CollectiveBackend> {
      GpuApis apis{libraries.cuda(), libraries.nccl(), libraries.facts()};
      return std::make_unique<NcclBackend>(world, groups, local_rank, std::move(apis),
                                           NcclBackendOptions{cuda_graph});
    };
    if (const auto& nccl = libraries.nccl_library()) {
      environment.versions["nccl"] = nccl->version().text;
      environment.versions["nccl_library"] = nccl->path();
    }
    if (const auto& runtime = libraries.cuda_library()) {
      environment.versions["cuda_runtime"] = runtime->version().text;
    }
  } else if (launched) {
#if PREFLIGHT_HAVE_MPI
    environment.make_backend =
        [&world](const SplitGroups& groups) -> std::unique_ptr<CollectiveBackend> {
      return std::make_unique<MpiBackend>(MPI_COMM_WORLD, groups.color, world.rank());
    };
#endif
  } else {
    environment.backend_selection +=
        "; single process without a launcher: MPI not initialised, one rank's collectives are "
        "local copies";
    environment.make_backend = [](const SplitGroups&) -> std::unique_ptr<CollectiveBackend> {
      return std::make_unique<LocalBackend>("mpi");
    };
  }
}

int run_binary(CollectiveKind kind, int argc, char** argv) {
  auto parsed = parse_collective_options(kind, argc, argv);
  if (const int* code = std::get_if<int>(&parsed)) {
    return *code;
  }
  const CollectiveOptions options = std::move(std::get<CollectiveOptions>(parsed));
  const FaultInjection faults = fault_injection_from_environment();
  const std::string tool(collective_info(kind).tool);
  // NCCL reads its debug settings once, when loaded: set them first. Loading NCCL and the CUDA
  // runtime only when they may be used; a bad --nccl-lib is a usage error (exit 2) here.
  const bool may_use_nccl = options.backend != BackendChoice::mpi;
  const std::string nccl_log_file = may_use_nccl ? configure_nccl_log(options.nccl_log_path) : "";
  GpuLibraries libraries;
  if (may_use_nccl) {
    libraries.load(true, options.nccl_library);
  }
  const BackendDecision decision = decide_backend(options.backend, libraries);
  if (!options.nccl_log_path.empty() && decision.choice != BackendChoice::nccl) {
    std::fprintf(stderr, "%s: note: --nccl-log applies to --backend nccl only; ignored\n",
                 tool.c_str());
  }
  if (!options.nccl_library.empty() && decision.choice != BackendChoice::nccl) {
    std::fprintf(stderr, "%s: note: --nccl-lib applies to --backend nccl only; ignored\n",
                 tool.c_str());
  }
  if (faults.active()) {
    std::fprintf(stderr, "%s: WARNING: test-only PREFLIGHT_FAULT_* hooks are active\n",
                 std::string(collective_info(kind).tool).c_str());
  }

  // The world asked for (common/launch_world.hpp): a launch that cannot form it measures nothing.
  const LaunchRequest launch_request = read_launch_request();
  std::string launch_problem;
#if PREFLIGHT_HAVE_MPI
  launch_problem = launch_problem_before_init(launch_request, mpi_pmi_needs()).value_or("");
  const bool launched = launched_as_mpi_rank() && launch_problem.empty();
  std::optional<MpiSession> session;
  if (launched) {
    // SIGTERM is taken by the runner's termination watch (partial report naming the lost rank,
    // exit 4): blocked before MPI starts its threads, which inherit the mask.
    block_termination_signal();
    // MPI_THREAD_SINGLE, as nccl-tests and the OSU benchmarks: only the main thread ever calls
    // MPI (the watchdog thread never does). Open MPI 4.1 turns on its internal locking for every
    // level above SINGLE, which costs about 30 ns per call: 12% of an 8-byte all-reduce between
    // two ranks here (bench/results/collectives.md).
    session.emplace(&argc, &argv, MPI_THREAD_SINGLE);
  }
  std::unique_ptr<Bootstrap> world = launched ? make_mpi_bootstrap() : make_single_bootstrap();
  if (launched) {
    launch_problem = check_launched_world(*world, launch_request).value_or("");
  }
  std::optional<MpiMaxReducer> reducer;
  int local_rank = 0;
  if (launched) {
    reducer.emplace(MPI_COMM_WORLD);
    const MpiCommunicator node = split_node_local(MPI_COMM_WORLD);
    check_mpi(MPI_Comm_rank(node.get(), &local_rank), "MPI_Comm_rank", "node-local comm");
  }
#else
  if (launched_as_rank(launch_request)) {
    throw FeatureUnavailable("launching by mpirun/srun (MPI bootstrap)", "PREFLIGHT_WITH_MPI");
  }
  const bool launched = false;
  std::unique_ptr<Bootstrap> world = make_single_bootstrap();
  const int local_rank = 0;
#endif

  RunEnvironment environment(*world);
  environment.local_rank = local_rank;
  environment.watch_termination = launched;
  environment.launch_problem = launch_problem;
  environment.environment = environ;
  environment.nccl_log_file = decision.choice == BackendChoice::nccl ? nccl_log_file : "";
  environment.backend_name = std::string(to_string(decision.choice));
  environment.backend_selection = decision.selection;
#if PREFLIGHT_HAVE_MPI
  if (launched) {
    // After a timeout the rank that wrote the report ends the whole job, a stopped rank included,
    // so the launcher exits too (MPI_Abort: mpirun kills every rank; srun's PMIx the step).
    environment.abort_job = [](int code) { MPI_Abort(MPI_COMM_WORLD, code); };
  }
  if (reducer) {
    environment.max_over_ranks = [&reducer](std::span<double> values) { (*reducer)(values); };
    environment.versions["mpi"] = mpi_library_version();
  }
#endif
  wire_backend(environment, decision.choice, options, libraries, launched);
  install_fault_injection(environment, faults, options);
  // A launch without PMI leaves N worlds of one: only the launcher's rank 0 speaks for the job.
  const bool rank0 =
      world->rank() == 0 && (launch_problem.empty() || reports_for_the_launch(launch_request));
  ProgressPrinter progress(
      tool, rank0 ? resolve_progress_mode(options.common.progress, options.common.quiet)
                  : ProgressMode::none);
  if (progress.active()) {
    environment.on_progress = [&progress](const harness::ProgressEvent& event) {
      progress.update(fmt::format("[{}/{}] {} done, {:.1f} s elapsed", event.done, event.total,
                                  event.step, event.elapsed_s),
                      event.done == event.total);
    };
  }

  const reports::Report report = run_collective(options, environment);
  progress.finish();
  if (launched) {
    unblock_termination_signal();  // a SIGTERM that came after the run acts as usual now
  }

  if (rank0) {
    if (!options.common.quiet && options.common.json_path != "-") {
      std::cout << render_collective_text(report) << std::flush;
    }
    reports::write_report(report, options.common.json_path);
  }
  return report.verdict.exit_code;
}

}  // namespace

int collective_main(CollectiveKind kind, int argc, char** argv) {
  return run_guarded(collective_info(kind).tool, [&] { return run_binary(kind, argc, argv); });
}

}  // namespace preflight::collectives
