// preflight-p2p's library entry point: run(options) -> report. Measurement only; rendering is
// p2p/render.hpp's job and main's.
//
// Ranks and nodes. Ranks are grouped into nodes by node name (--node-name / PREFLIGHT_NODE_NAME,
// "{rank}" replaced by the rank; default the host name), exchanged through the bootstrap.
// --pattern pair tests ranks 0 and 1; all-pairs and ring test nodes, one rank per node (the
// lowest rank of each node), in rounds of disjoint pairs (p2p/survey.hpp); the other ranks only
// take part in the exchanges.
//
// Every rank ends with the same report: after each size the initiators' result rows are
// allgathered, so the verdict (and the exit code) agrees everywhere; rank 0 writes the partial
// report after every size and renders the final one.
//
// Deadlines: every phase (init, each size of each pair test, each exchange, teardown) runs under
// the benchmark harness (harness/guard.hpp) with --timeout; on expiry the partial report
// gets a BENCH_TIMEOUT check naming the phase and the peer, is written, and the process exits 124.
// A peer that goes away is seen through the bootstrap (TCP rendezvous: the connection closes), CQ
// error entries and MPI errors, and ends the run with PEER_LOST (exit 4) naming the peer's rank and
// host.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "common/bootstrap.hpp"
#include "common/gpu_libraries.hpp"
#include "harness/guard.hpp"
#include "p2p/channel.hpp"
#include "p2p/options.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

namespace preflight::p2p {

// The progress event of a finished step, e.g. "latency 4K rank 0 <-> rank 1".
using harness::ProgressEvent;

struct RunEnvironment {
  // The ranks of the run; null for --loopback / --all-devices (the runner pairs two threads of
  // this process over a TCP rendezvous on 127.0.0.1 itself).
  Bootstrap* bootstrap = nullptr;
  // From the bootstrap when it can tell that the peer is gone (TCP rendezvous); may be empty.
  PeerLivenessCheck liveness;
  bool mpi_initialised = false;  // the MPI transport needs it
  // Where rank 0 writes the partial reports (and the watchdog the timed-out one); may be null.
  reports::IncrementalReportWriter* writer = nullptr;
  harness::ProgressSink progress;  // between sizes, never while timing
  // main blocked SIGTERM in every thread: run() waits for it on a thread of its own and ends the
  // run with the partial report (exit 4) instead of dying without a word.
  bool watch_termination = false;
  // Ends every rank of the job (MPI_Abort), so the launcher exits too after the report of a
  // timeout is written; set by main under an MPI launch.
  std::function<void(int)> abort_job;
  // The MPI world is not the one the launcher was asked for (common/launch_world.hpp): the run
  // measures nothing and reports LAUNCH_WORLD_MISMATCH (error, exit 4) with this text.
  std::string launch_problem;
  // --transport nccl / --mem cuda: NCCL and the CUDA runtime main loaded (null otherwise).
  const GpuLibraries* gpu = nullptr;
};

// Runs the measurement. `report` is the envelope started by main (tool, run, argv). Throws
// UsageError (exit 2) and FeatureUnavailable (exit 3); every other failure becomes a check in
// the returned report (its verdict says error, skip, fail or pass).
[[nodiscard]] reports::Report run(const P2pOptions& options, reports::Report report,
                                  const RunEnvironment& environment);

}  // namespace preflight::p2p
