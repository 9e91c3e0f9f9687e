// The one runner of every collective: a sweep over data types, ops and sizes, each size measured
// out of place and in place as nccl-tests does. Per size and placement:
//   warm-up   --warmup-iters untimed calls, discarded and counted in the row;
//   timing    each iteration times one call on every rank, then (outside the timed region) the
//             ranks take the maximum of their times: that maximum is the sample, identical on every
//             rank, so every rank's AdaptiveSampler stops at the same iteration; the row reports
//             the samples' median, mean, min, max, p90, p99, stdev and the median's 95% CI;
//   check     --check untimed calls on fresh integer-valued data, compared bit-exactly with the
//             closed-form expected result; wrong elements are counted per rank and in total.
// The slowest rank of a size is the rank whose own per-iteration times have the largest median.
// Every rank builds the same report; rank 0 writes it after every finished size (a partial report
// with a BENCH_INCOMPLETE check) and at the end. The benchmark harness (harness/guard.hpp)
// bounds every phase (init, each size, teardown) by --timeout: on expiry it writes the partial
// report with a BENCH_TIMEOUT check naming the phase, aborts the backend's communicator and ends
// the process with exit code 124. The sweep supplies the harness its plan (collectives/
// sweep_plan.hpp), its measure step (below) and its row builder (collectives/sweep_rows.hpp).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "collectives/backend.hpp"
#include "collectives/options.hpp"
#include "collectives/split.hpp"
#include "common/bootstrap.hpp"
#include "common/sysfs.hpp"
#include "harness/guard.hpp"
#include "reports/report.hpp"

namespace preflight::collectives {

struct RunEnvironment {
  explicit RunEnvironment(Bootstrap& world_bootstrap) : world(world_bootstrap) {}

  Bootstrap& world;
  // Element-wise maximum over every rank of the job, in place; every rank gets the same values.
  // Default: through the bootstrap's allgather.
  std::function<void(std::span<double>)> max_over_ranks;
  int local_rank = 0;  // index on the node, for the GPU
  // Why the backend cannot run on this rank (no GPU), checked on every rank before it is created.
  std::function<std::optional<std::string>()> backend_unavailable;
  // Creates the backend of my split group; collective over the world (every rank calls it).
  std::function<std::unique_ptr<CollectiveBackend>(const SplitGroups&)> make_backend;
  std::string backend_name;       // "mpi", "nccl": named in the report even when it cannot start
  std::string backend_selection;  // how the backend was chosen, for the report
  nlohmann::json versions = nlohmann::json::object();  // library versions for the inventory
  const char* const* environment = nullptr;            // envp for the allow-listed report env
  RootFs sysfs{"/"};                                   // EFA counters and the instance type
  // Added to the report's details as they are (e.g. "fault_injection" where a test installed
  // the fault-injecting backend, collectives/faults.hpp).
  nlohmann::json extra_details = nlohmann::json::object();
  std::string nccl_log_file;          // this rank's NCCL_DEBUG_FILE when the log is captured
  harness::ProgressSink on_progress;  // rank 0, between sizes
  // How the watchdog ends the process after writing the partial report (default: end the whole
  // job, common/job_end.hpp, through abort_job).
  std::function<void(int)> exit_process;
  // Ends every rank of the job (MPI_Abort), so the launcher exits too; set by main under a launch.
  std::function<void(int)> abort_job;
  // Take SIGTERM as a lost peer (partial report, PEER_LOST, exit 4); main must have called
  // block_termination_signal() before any thread started.
  bool watch_termination = false;
  // The MPI world is not the one the launcher was asked for (common/launch_world.hpp): the run
  // measures nothing and reports LAUNCH_WORLD_MISMATCH (error, exit 4) with this text.
  std::string launch_problem;
};

// Runs the sweep and returns the report (the same verdict on every rank; only rank 0's report is
// written). Throws UsageError for options that do not fit the job (root out of range, uneven
// split).
[[nodiscard]] reports::Report run_collective(const CollectiveOptions& options,
                                             RunEnvironment& environment);

}  // namespace preflight::collectives
