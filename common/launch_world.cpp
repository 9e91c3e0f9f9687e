#include "common/launch_world.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <set>
#include <string_view>

#include "common/error.hpp"

namespace preflight {
namespace {

const char* from_environment(const char* name) {
  return std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before threads start
}

std::optional<int> number(const EnvironmentReader& read, const char* name,
                          std::vector<std::string>& problems) {
  const char* text = read(name);
  if (text == nullptr || *text == '\0') {
    return std::nullopt;
  }
  const std::string_view value(text);
  int parsed = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (error != std::errc() || end != value.data() + value.size() || parsed < 0) {
    problems.push_back(fmt::format("{}='{}' is not a count", name, value));
    return std::nullopt;
  }
  return parsed;
}

bool is_set(const EnvironmentReader& read, const char* name) {
  const char* text = read(name);
  return text != nullptr && *text != '\0';
}

// A launcher that gives the world's size and this process's rank a variable each.
struct SizeAndRankVariables {
  std::string_view launcher;
  const char* size;
  const char* rank;
};

constexpr SizeAndRankVariables kOpenMpiMpirun{"mpirun", "OMPI_COMM_WORLD_SIZE",
                                              "OMPI_COMM_WORLD_RANK"};
constexpr SizeAndRankVariables kPmiLauncher{"pmi", "PMI_SIZE", "PMI_RANK"};

// Fills `request` from `variables` when their size is set (a value that is not a count goes to its
// problems); false when it is not.
bool read_size_and_rank(const EnvironmentReader& read, const SizeAndRankVariables& variables,
                        LaunchRequest& request) {
  const auto size = number(read, variables.size, request.problems);
  if (!size) {
    return false;
  }
  request.launcher = variables.launcher;
  request.ranks = size;
  request.ranks_source = fmt::format("{}={}", variables.size, *size);
  request.rank = number(read, variables.rank, request.problems);
  return true;
}

constexpr std::string_view kSrunFix =
    "launch with srun --mpi=pmix (`srun --mpi=list` shows what this Slurm has; --mpi=pmi2 where "
    "the MPI supports PMI-2), set MpiDefault=pmix in slurm.conf, or use `preflight ... "
    "--launcher srun --srun-mpi pmix`";

}  // namespace

LaunchRequest read_launch_request(const EnvironmentReader& reader) {
  const EnvironmentReader read = reader ? reader : EnvironmentReader(from_environment);
  LaunchRequest request;
  request.has_pmix = is_set(read, "PMIX_RANK") || is_set(read, "PMIX_NAMESPACE");
  request.has_pmi2 = is_set(read, "PMI_FD") || is_set(read, "PMI_RANK");
  if (const char* type = read("SLURM_MPI_TYPE")) {
    request.slurm_mpi_type = type;
  }
  request.plan_ranks = number(read, "PREFLIGHT_EXPECT_RANKS", request.problems);
  request.plan_nodes = number(read, "PREFLIGHT_EXPECT_NODES", request.problems);
  // Open MPI's launcher first: its ranks inherit the SLURM_* variables of the step that started
  // its daemons (one task per node), which describe the daemons, not the ranks.
  if (read_size_and_rank(read, kOpenMpiMpirun, request)) {
    return request;
  }
  const auto slurm_rank = number(read, "SLURM_PROCID", request.problems);
  const auto step_tasks = number(read, "SLURM_STEP_NUM_TASKS", request.problems);
  const auto tasks = number(read, "SLURM_NTASKS", request.problems);
  if (step_tasks || (slurm_rank && tasks)) {
    request.launcher = "srun";
    request.ranks = step_tasks ? step_tasks : tasks;
    request.ranks_source = step_tasks ? fmt::format("SLURM_STEP_NUM_TASKS={}", *step_tasks)
                                      : fmt::format("SLURM_NTASKS={}", *tasks);
    request.rank = slurm_rank;
    return request;
  }
  if (read_size_and_rank(read, kPmiLauncher, request)) {
    return request;
  }
  if (request.has_pmix) {
    request.launcher = "pmi";
    request.rank = number(read, "PMIX_RANK", request.problems);
  }
  return request;
}

bool launched_as_rank(const LaunchRequest& request) {
  return !request.launcher.empty() || request.has_pmi2 || request.plan_ranks.has_value();
}

bool reports_for_the_launch(const LaunchRequest& request) {
  return !request.rank || *request.rank == 0;
}

std::optional<std::string> launch_problem_before_init(const LaunchRequest& request,
                                                      PmiNeeds needs) {
  if (!request.problems.empty()) {
    return fmt::format("the launch environment cannot be read: {}",
                       fmt::join(request.problems, "; "));
  }
  if (needs == PmiNeeds::nothing || request.launcher != "srun" || request.ranks.value_or(1) <= 1 ||
      request.has_pmix) {
    return std::nullopt;
  }
  const std::string mpi_type = request.slurm_mpi_type.empty()
                                   ? std::string()
                                   : fmt::format("; SLURM_MPI_TYPE={}", request.slurm_mpi_type);
  if (!request.has_pmi2) {
    return fmt::format(
        "srun started {} tasks ({}) but gave them no process-management interface (no PMIx or "
        "PMI-2 in the environment{}): MPI cannot join them into one world (each would be a "
        "world of 1, or MPI_Init aborts); {}",
        *request.ranks, request.ranks_source, mpi_type, kSrunFix);
  }
  if (needs == PmiNeeds::pmix) {
    return fmt::format(
        "srun started {} tasks ({}) with PMI-2 (PMI_FD/PMI_RANK{}), which this build's Open MPI "
        "cannot use (it has no PMI-2 component, so MPI_Init would abort): launch with srun "
        "--mpi=pmix, set MpiDefault=pmix in slurm.conf, or use `preflight ... --launcher srun "
        "--srun-mpi pmix`",
        *request.ranks, request.ranks_source, mpi_type);
  }
  return std::nullopt;
}

std::optional<std::string> world_mismatch(const LaunchRequest& request, int world_ranks,
                                          std::optional<int> world_nodes) {
  if (request.ranks && *request.ranks != world_ranks) {
    std::string fix;
    if (request.launcher == "srun") {
      fix = std::string(kSrunFix);
    } else if (request.launcher == "mpirun") {
      fix =
          "every rank must run the same Open MPI as mpirun; check Open MPI's MCA settings (ess, "
          "pmix; `ompi_info --all`) and, in containers, that the launcher's PMIx server is "
          "reachable from the rank";
    } else {
      fix = "check the launcher's PMI settings; every rank must use the MPI it was built with";
    }
    return fmt::format("MPI formed a world of {} rank(s), but {} started {} ({}): {}", world_ranks,
                       request.launcher, *request.ranks, request.ranks_source, fix);
  }
  if (request.plan_ranks && *request.plan_ranks != world_ranks) {
    return fmt::format(
        "MPI formed a world of {} rank(s), but the plan asked the launcher for {} "
        "(PREFLIGHT_EXPECT_RANKS={}): the launcher started fewer or more ranks than asked, or "
        "gave them no process-management interface (srun: --mpi=pmix)",
        world_ranks, *request.plan_ranks, *request.plan_ranks);
  }
  if (request.plan_nodes && world_nodes && *request.plan_nodes != *world_nodes) {
    return fmt::format(
        "the {} rank(s) run on {} node(s), but the plan asked for {} (PREFLIGHT_EXPECT_NODES={}): "
        "the launcher placed them otherwise (mpirun: --map-by node and a hostfile with every "
        "host; srun: --nodes and --ntasks-per-node=1)",
        world_ranks, *world_nodes, *request.plan_nodes, *request.plan_nodes);
  }
  return std::nullopt;
}

std::optional<std::string> check_launched_world(Bootstrap& world, const LaunchRequest& request) {
  const std::vector<std::string> hosts = world.allgather_strings(host_name());
  const std::set<std::string> distinct(hosts.begin(), hosts.end());
  return world_mismatch(request, world.size(), static_cast<int>(distinct.size()));
}

}  // namespace preflight
