// Rounds of pair tests: in each round every pair of ranks runs every (test, size) of the round at
// once, then all ranks exchange the rows, so every rank ends with the same report. With --rails a
// pair runs each size on all of its rails at once, one thread per rail; a rail that fails or
// stalls is given up for the round without ending the run. The row builder of preflight-p2p.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "p2p/judgement.hpp"
#include "p2p/pair_test.hpp"
#include "p2p/run_context.hpp"
#include "p2p/sessions.hpp"
#include "preflight/build_config.hpp"
#include "reports/report.hpp"

#if PREFLIGHT_HAVE_MPI
#include "common/mpi.hpp"
#endif

namespace preflight::p2p {

// Before each exchange of results every rank waits here, sleeping between polls: an MPI
// collective busy-polls, and on an oversubscribed machine (tests, the virtual cluster) the ranks
// that sit a round out would steal the CPU from the pairs still measuring. A no-op without MPI
// (the TCP rendezvous already blocks in poll()).
class StepBarrier {
 public:
  explicit StepBarrier(bool use_mpi) {
#if PREFLIGHT_HAVE_MPI
    if (use_mpi) {
      MPI_Comm duplicate = MPI_COMM_NULL;
      check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &duplicate), "MPI_Comm_dup", "step barrier");
      comm_ = MpiCommunicator(duplicate);
      check_mpi(MPI_Comm_set_errhandler(duplicate, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
                "step barrier");
    }
#else
    (void)use_mpi;
#endif
  }

  void wait() {
#if PREFLIGHT_HAVE_MPI
    if (comm_.get() == MPI_COMM_NULL) {
      return;
    }
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Ibarrier(comm_.get(), &request), "MPI_Ibarrier", "step barrier");
    int done = 0;
    while (true) {
      check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test", "step barrier");
      if (done != 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
#endif
  }

 private:
#if PREFLIGHT_HAVE_MPI
  MpiCommunicator comm_;
#endif
};

// A pair test between two ranks, with the node indices it stands for.
struct PairTask {
  int initiator_rank = 0;
  int responder_rank = 1;
  int initiator_node = 0;
  int responder_node = 1;
  MeasurementRole role = MeasurementRole::survey;  // why the survey measures the pair
};

struct GatheredResult {
  reports::ResultRow row;
  PairTask task;
  std::string test;
  int rail = kAllRails;
  bool failed = false;  // the rail gave up (the row is empty; `error` says why)
  std::string error;
};

// The steps of a run: how many are done, of how many planned.
struct StepCounter {
  std::size_t done = 0;
  std::size_t total = 0;
};

// Runs every (test, size) of one round: the rank's own pair test if it has one, then the
// exchange of the rows. Returns every pair's rows (identical on all ranks). `phase` names the
// survey round ("" for --pattern pair).
[[nodiscard]] std::vector<GatheredResult> run_round(RankContext& context, const NodeMap& map,
                                                    Session& session,
                                                    const std::vector<PairTask>& tasks,
                                                    const std::vector<TestKind>& tests,
                                                    const std::vector<std::uint64_t>& sizes,
                                                    const std::string& phase, StepCounter& steps);

// run_round over rails: this rank's pair test on each of its rails at once (`task_rails`: the
// rails of each task, empty for every rail), one result row per rail, labelled with it.
[[nodiscard]] std::vector<GatheredResult> run_rail_round(
    RankContext& context, const NodeMap& map, Session& session, const std::vector<PairTask>& tasks,
    const std::vector<std::vector<int>>& task_rails, const std::vector<TestKind>& tests,
    const std::vector<std::uint64_t>& sizes, const std::string& phase, StepCounter& steps);

}  // namespace preflight::p2p
