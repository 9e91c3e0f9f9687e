// The benchmark harness, part 1 of 3: the report of a run while it is running. Every benchmark
// (collectives/, p2p/) keeps its report here as it finishes steps, so that the watchdog and the
// termination watch (harness/guard.hpp) can write what is finished at any moment; after
// each finished step the harness checkpoints it, marked BENCH_INCOMPLETE, so a report left behind
// by a killed run never reads as a pass. The partial reports of a stopped run (timeout, lost rank)
// are built here too. docs/ARCHITECTURE.md describes how a tool plugs into the harness.
#pragma once

#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/sampler.hpp"
#include "reports/report.hpp"

namespace preflight::harness {

// The report under construction, readable from the watchdog and signal threads at any moment.
class LiveReport {
 public:
  explicit LiveReport(reports::Report report = {}) : report_(std::move(report)) {}

  void set(const reports::Report& report) {
    const std::lock_guard lock(mutex_);
    report_ = report;
  }
  template <typename Update>
  void update(const Update& update) {
    const std::lock_guard lock(mutex_);
    update(report_);
  }
  [[nodiscard]] reports::Report snapshot() const {
    const std::lock_guard lock(mutex_);
    return report_;
  }
  void add_check(reports::Check check) {
    const std::lock_guard lock(mutex_);
    report_.checks.push_back(std::move(check));
  }
  // The peer the rank works with now ("rank 1 (host)"), named when the run stops; "" for none.
  void set_peer(std::string peer) {
    const std::lock_guard lock(mutex_);
    peer_ = std::move(peer);
  }
  [[nodiscard]] std::string peer() const {
    const std::lock_guard lock(mutex_);
    return peer_;
  }

 private:
  mutable std::mutex mutex_;
  reports::Report report_;
  std::string peer_;
};

// How a tool counts its steps in a checkpoint's BENCH_INCOMPLETE check: the evidence keys and the
// note in its message.
struct StepCount {
  std::string_view done_key;
  std::string_view planned_key;
  std::string_view note;
  bool honour_warn_as_fail = false;  // the checkpoint's verdict with --warn-as-fail
};
// The collectives' sweep: sizes.
inline constexpr StepCount kSweepSizes{"sizes_finished", "sizes_planned",
                                       "the run is still going, or was killed before it finished",
                                       false};
// preflight-p2p: (test, size) steps of its rounds.
inline constexpr StepCount kPairSteps{
    "steps_done", "steps_planned",
    "partial report: the run is still going, or ended before it finished", true};

// A checkpoint: `base` plus a BENCH_INCOMPLETE check (status error), with its verdict.
[[nodiscard]] reports::Report incomplete_report(reports::Report base, std::string_view tool,
                                                std::size_t finished, std::size_t planned,
                                                bool deterministic,
                                                const StepCount& count = kSweepSizes,
                                                bool warn_as_fail = false);

// Whether the report of a stopped run keeps the time it was written as `finished_at`.
enum class FinishedAt { cleared, stamped };

// The report of a run that stopped before its end: `base` (without its BENCH_INCOMPLETE check)
// plus `check`, with its verdict.
[[nodiscard]] reports::Report stopped_report(reports::Report base, reports::Check check,
                                             bool warn_as_fail, bool deterministic,
                                             FinishedAt finished_at);

// details.sampling: how a benchmark's samples were taken (the tool adds what is its own).
[[nodiscard]] nlohmann::json sampling_details(const SamplingPolicy& policy);

// "rank 2 (ip-10-0-0-1, pid 4711, exited); rank 3 (..., stopped, silent 7.5 s at '...',
// iteration 37)", or "" when none; `ranks` as common/progress_channel.hpp's to_json writes them.
[[nodiscard]] std::string describe_ranks(const nlohmann::json& ranks, bool deterministic);

// The partial report the watchdog writes: `base` plus a BENCH_TIMEOUT check, with its verdict.
// `local_ranks_not_running` ([{rank, host, pid, state, ...}]) names the ranks that are stopped,
// gone, unreachable or behind (from the progress channel on any host; without it, this host's
// ranks from /proc), the likely reason of the stall.
[[nodiscard]] reports::Report timeout_report(
    reports::Report base, std::string_view tool, const std::string& phase, double deadline_s,
    int rank, const std::string& host, bool deterministic,
    const nlohmann::json& local_ranks_not_running = nlohmann::json::array());

// The partial report of a rank the launcher terminated (SIGTERM) because another rank died: `base`
// plus a PEER_LOST check (status error) naming the lost ranks when there are any.
[[nodiscard]] reports::Report lost_rank_report(reports::Report base, std::string_view tool,
                                               const std::string& phase, int rank,
                                               const std::string& host, bool deterministic,
                                               const nlohmann::json& local_ranks_not_running);

}  // namespace preflight::harness
