// Where every rank of a job is, seen from rank 0, whatever host it runs on. Each rank reports its
// position (phase, step, iteration) to rank 0 over a TCP side channel of its own, twice a second,
// on a thread of its own; rank 0 answers with its view of the job. So when a watchdog fires or a
// peer is lost, the rank that writes the report names the host, rank, PID and position of every
// rank that is stuck or gone:
//   running      heard from within the silence limit
//   behind       running, but at the lowest position while others are further and nothing else
//                (stopped, cut off, gone) explains a stall: the straggler the others wait for
//   stopped      silent, while its host still acknowledges what rank 0 sends (SIGSTOP, a
//                debugger, a process that no longer gets to run)
//   unreachable  silent, and its host acknowledges nothing (cut off, down)
//   exited       its connection closed without a goodbye (killed, crashed)
//   finished     said goodbye at the end of its run
//   unknown      never reported (it could not reach rank 0)
// The channel is opened collectively over the job's bootstrap (the addresses and a random token
// travel through it). Network trouble never throws: a rank that cannot reach rank 0 is just
// silent there. The channel costs a thread and one connection per rank.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/bootstrap.hpp"

namespace preflight {

struct RankPosition {
  std::string phase;       // e.g. "all_reduce float sum 1048576 B: timing out-of-place"
  std::int64_t step = -1;  // index of the size (or round) in the run; -1 before the first
  std::int64_t iteration = 0;
};

enum class RankState { running, behind, stopped, unreachable, exited, finished, unknown };
[[nodiscard]] std::string_view to_string(RankState state);

struct RankProgress {
  int rank = 0;
  std::string host;
  long pid = 0;
  RankPosition position;
  double silent_s = 0;  // since rank 0 last heard from it
  RankState state = RankState::unknown;
};

struct ProgressChannelOptions {
  double interval_s = 0.5;  // how often a rank reports (and rank 0 answers)
  double silence_s = 2.5;   // silent longer than this: stopped or unreachable
  // Positions are comparable across ranks (collectives: every rank makes the same calls), so a
  // rank behind the others is a straggler.
  bool comparable_positions = false;
};

class ProgressChannel {
 public:
  // Collective over `bootstrap`. Returns a channel even when the network is unusable (it then
  // reports nothing), so callers never need a second path.
  [[nodiscard]] static std::unique_ptr<ProgressChannel> open(Bootstrap& bootstrap,
                                                             ProgressChannelOptions options = {});
  ProgressChannel(const ProgressChannel&) = delete;
  ProgressChannel& operator=(const ProgressChannel&) = delete;
  ProgressChannel(ProgressChannel&&) = delete;
  ProgressChannel& operator=(ProgressChannel&&) = delete;
  virtual ~ProgressChannel() = default;

  // This rank's position; cheap, from any thread. set_iteration is an atomic store (safe to call
  // once per timed iteration, outside the timed region).
  virtual void set_phase(const std::string& phase, std::int64_t step) = 0;
  virtual void set_iteration(std::int64_t iteration) = 0;
  // Rank 0: every rank as last heard, classified; other ranks: empty.
  [[nodiscard]] virtual std::vector<RankProgress> snapshot() const = 0;
  // Whether some rank's host stopped answering: rank 0 from its own view, the others from what
  // rank 0 last told them.
  [[nodiscard]] virtual bool some_rank_unreachable() const = 0;
  // Other ranks: rank 0 is gone (it closed this rank's connection, or nothing came from it for
  // longer than the silence limit: it exited, stopped, or its host was cut off), so it will write
  // no report and end no job. Rank 0, and a channel that never reached it: false.
  [[nodiscard]] virtual bool rank0_gone() const = 0;
  // Rank 0: waits (at most `max_wait_s`) until no rank is in the middle of going quiet (silent
  // for more than two report intervals but not yet the silence limit), so that a snapshot taken
  // next tells a stopped or cut-off rank from a slow one. Others: returns at once.
  virtual void settle(double max_wait_s) const = 0;

 protected:
  ProgressChannel() = default;
};

// The ranks to name when a run stalls: every rank that is not running (or finished), and
// stragglers. Sorted by rank.
[[nodiscard]] std::vector<RankProgress> ranks_not_progressing(
    const std::vector<RankProgress>& ranks);
// "rank 2 (vc3, pid 4711) stopped: silent 7.5 s at 'all_reduce ... timing out-of-place', step 3,
// iteration 37" (`deterministic`: no host or pid).
[[nodiscard]] std::string describe(const RankProgress& rank, bool deterministic = false);
// [{rank, host, pid, state, phase, step, iteration, silent_s}] (`deterministic`: no host, pid).
[[nodiscard]] nlohmann::json to_json(const std::vector<RankProgress>& ranks,
                                     bool deterministic = false);

}  // namespace preflight
