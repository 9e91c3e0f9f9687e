// The world that was asked for. A launcher tells each process what it started through its
// environment (Open MPI's mpirun: OMPI_COMM_WORLD_SIZE; Slurm's srun: SLURM_STEP_NUM_TASKS,
// SLURM_PROCID; PMI launchers: PMI_SIZE; the `preflight` plans: PREFLIGHT_EXPECT_RANKS and
// PREFLIGHT_EXPECT_NODES). MPI sees the world its process-management interface (PMIx, PMI-2)
// gives it; a launch without one leaves N processes that are each a world of one, which would
// "pass" with one rank. Every MPI-launched binary checks the two against each other: before
// MPI_Init (srun without PMI: Open MPI would abort in MPI_Init or run singletons) and after it
// (the world's size and node count), and stops with exit 4 and the fix when they differ.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/bootstrap.hpp"

namespace preflight {

struct LaunchRequest {
  // The launcher that started this process, as its variables show: "mpirun" (Open MPI's),
  // "srun", "pmi" (a PMI-1/PMI-2 launcher such as MPICH's hydra), or "" (none).
  std::string launcher;
  std::optional<int> ranks;           // what that launcher started
  std::string ranks_source;           // "SLURM_STEP_NUM_TASKS=4"
  std::optional<int> rank;            // this process's rank as the launcher numbers it
  std::optional<int> plan_ranks;      // PREFLIGHT_EXPECT_RANKS
  std::optional<int> plan_nodes;      // PREFLIGHT_EXPECT_NODES
  bool has_pmix = false;              // PMIX_RANK / PMIX_NAMESPACE
  bool has_pmi2 = false;              // PMI_FD / PMI_RANK (PMI-2, or PMI-1 through a socket)
  std::string slurm_mpi_type;         // SLURM_MPI_TYPE: what srun's --mpi (or MpiDefault) gave
  std::vector<std::string> problems;  // variables that are set but not numbers
};

using EnvironmentReader = std::function<const char*(const char*)>;

// Reads the request from the environment (`read` defaults to getenv; call before threads start).
[[nodiscard]] LaunchRequest read_launch_request(const EnvironmentReader& read = {});

// Whether this process was started as one rank of a launch (so MPI must be initialised), as
// opposed to a plain start of one process.
[[nodiscard]] bool launched_as_rank(const LaunchRequest& request);

// What the MPI library of this build needs from srun to join its ranks into one world.
enum class PmiNeeds {
  nothing,       // it can also use Slurm's PMI-1 library (MPICH): judged after MPI_Init only
  pmix_or_pmi2,  // Open MPI built with its PMI-2 (s2) component
  pmix,          // Open MPI without it (Debian's 4.1; Open MPI 5): PMI-2 makes MPI_Init abort
};

// Before MPI_Init: a launch by srun that gives the tasks nothing MPI can use. Returns the problem
// and its fix, or nullopt.
[[nodiscard]] std::optional<std::string> launch_problem_before_init(const LaunchRequest& request,
                                                                    PmiNeeds needs);

// After MPI_Init: the world MPI formed (`world_ranks`, and `world_nodes` distinct hosts when
// known) against the request. Returns the mismatch and its fix, or nullopt.
[[nodiscard]] std::optional<std::string> world_mismatch(const LaunchRequest& request,
                                                        int world_ranks,
                                                        std::optional<int> world_nodes);

// After MPI_Init, collective over `world`: gathers every rank's host name and checks the world
// against the request (world_mismatch). Every rank gets the same answer.
[[nodiscard]] std::optional<std::string> check_launched_world(Bootstrap& world,
                                                              const LaunchRequest& request);

// Whether this process should write the job's report when the world is wrong: the launcher's
// rank 0, or any process when the launcher numbers none.
[[nodiscard]] bool reports_for_the_launch(const LaunchRequest& request);

}  // namespace preflight
