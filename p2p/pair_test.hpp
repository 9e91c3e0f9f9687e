// The measurement of one message size between two ranks, over any PairChannel.
//
// Protocol (every step driven by the initiator through control messages, so the responder never
// needs to agree on iteration counts in advance):
//   verify x check_iterations  (untimed) the producers fill payloads, the consumers poison their
//                              receive buffers, the responder says "ready", one iteration of the
//                              test runs, each consumer counts wrong bytes and wrong lengths,
//                              and the responder reports "verified" (until then the initiator
//                              refills nothing: a bibw peer may still be reading its buffers);
//   run warm-up                (untimed, discarded, counted; at most half the time budget
//                              unless the iteration count is fixed);
//   run k, run k', ...         (timed) batches of iterations: the initiator takes one reading of
//                              the sample clock per iteration into a preallocated array and feeds
//                              the samples to the shared AdaptiveSampler between batches, which
//                              decides when to stop (precision, time budget, iteration cap, or a
//                              fixed count);
//   run m                      (timed as a whole) the batched mean: m iterations back to back
//                              between two clock readings (as many as samples were taken, --iters
//                              N: N, at most about a quarter of the time budget), the mean OSU
//                              and fi_pingpong print;
//   stop -> result             the responder returns the wrong lengths it counted.
// Samples are per iteration: a round trip (latency over send/write; the one-way time is half of
// it), one read (latency over read), or one window (bw, bibw).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/sampler.hpp"
#include "p2p/channel.hpp"

namespace preflight::p2p {

struct PairTestSpec {
  TestKind test = TestKind::latency;
  std::size_t bytes = 1;
  int window = 64;
  int check_iterations = 1;
  SamplingPolicy sampling;
  // The initiator's timed iterations so far, after each batch (never inside the timed region):
  // where this rank is, for rank 0's view of the job (common/progress_channel.hpp).
  std::function<void(std::int64_t)> on_iterations;
};

struct PairSizeOutcome {
  std::vector<double> samples_s;  // per iteration, as defined above
  StopReason stop_reason = StopReason::running;
  std::size_t warmup_iterations = 0;
  std::uint64_t wrong_bytes = 0;  // both sides
  std::uint64_t size_errors = 0;  // both sides, verification and timed iterations
  std::uint64_t verified_messages = 0;
  std::uint64_t timed_iterations = 0;  // run, including any past the sampler's stop
  double batch_mean_s = 0;             // per iteration, of the batched-mean run
  std::size_t batch_mean_iterations = 0;
};

// Which side's payload each test moves: for send and write the initiator's data goes to the
// responder (and back for latency and bibw); for read the initiator reads the responder's.
struct DataFlows {
  bool initiator_to_responder = false;
  bool responder_to_initiator = false;
};
[[nodiscard]] DataFlows data_flows(TestKind test, DataOp op);

// Messages (one direction) per iteration: 1 for latency, the window for bw and bibw.
[[nodiscard]] int messages_per_iteration(const PairTestSpec& spec);

// Runs one size; returns when the responder has reported back.
[[nodiscard]] PairSizeOutcome run_initiator(PairChannel& channel, const PairTestSpec& spec);
// Serves the initiator until it says stop.
void run_responder(PairChannel& channel, const PairTestSpec& spec);

}  // namespace preflight::p2p
