// The benchmark harness, part 2 of 3: what ends a run that cannot finish. A RunGuard owns
//   - the per-phase deadlines: one Watchdog deadline per phase (init, each size or step,
//     teardown); a step inside a phase keeps the phase's deadline and only renames it, so a
//     timeout says where inside the size the run stalled;
//   - this rank's place in the job's progress channel (common/progress_channel.hpp), set with
//     every phase, and the view of the ranks that are not progressing when the run stops;
//   - the termination watch: SIGTERM, which a launcher sends the surviving ranks when one of
//     them dies, taken as a lost peer;
//   - the stop itself: the first of the two to fire writes the partial report (the second waits
//     for it, common/job_end.hpp), then the process ends (124 on a timeout, 4 on a lost peer);
//   - the checkpoints after every finished step, and the progress events.
// The tool says what a stop reports (StopHandlers): its partial report and its line on stderr,
// and how its process leaves. docs/ARCHITECTURE.md, "The benchmark harness", shows the whole.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/job_end.hpp"
#include "common/progress_channel.hpp"
#include "common/termination_watch.hpp"
#include "common/timer.hpp"
#include "common/watchdog.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

namespace preflight::harness {

// One finished step of a run, for the progress line (rank 0, between steps, never while timing).
struct ProgressEvent {
  std::string step;  // "float sum 1048576 B", "latency 4K rank 0 <-> rank 1"
  std::size_t done = 0;
  std::size_t total = 0;
  double elapsed_s = 0;  // since the first step began
};
using ProgressSink = std::function<void(const ProgressEvent&)>;

// What a stop reports: the partial report (written where this rank writes reports) and the line
// for stderr (none when empty).
struct StopNotice {
  std::optional<reports::Report> partial;
  std::string message;
};

struct StopHandlers {
  // A phase ran past its deadline (seconds); runs on the watchdog thread.
  std::function<StopNotice(const std::string& phase, double deadline_s)> timed_out;
  // SIGTERM arrived in `phase`; runs on the termination watch's thread.
  std::function<StopNotice(const std::string& phase)> terminated;
  // Ends the process once the report is written (or returns, for ranks that are threads of a
  // test); `code` is 124 after a timeout, 4 after SIGTERM.
  std::function<void(int code)> leave_after_timeout;
  std::function<void(int code)> leave_after_termination;
};

struct GuardSettings {
  std::string tool;      // "preflight-allreduce", for messages
  double timeout_s = 0;  // each phase's deadline; 0: no watchdog
  // Where this rank writes the report (rank 0); null on the others.
  reports::IncrementalReportWriter* writer = nullptr;
  ProgressSink on_progress;
};

class RunGuard {
 public:
  explicit RunGuard(GuardSettings settings);
  RunGuard(const RunGuard&) = delete;
  RunGuard& operator=(const RunGuard&) = delete;
  RunGuard(RunGuard&&) = delete;
  RunGuard& operator=(RunGuard&&) = delete;
  ~RunGuard();

  // Set before the first phase begins.
  void set_stop_handlers(StopHandlers handlers) { handlers_ = std::move(handlers); }
  // Starts taking SIGTERM (the process must have called block_termination_signal()).
  void watch_termination();

  // Phases: begin() starts a phase with its own deadline (`step`: the step number for the
  // progress channel, -1 for none); step() renames it within the same deadline; end() disarms.
  void begin(std::string phase, std::int64_t step = -1);
  void step(std::string_view what);
  void end();
  [[nodiscard]] std::string current_phase() const { return watchdog_.current_phase(); }

  // The progress channel (collective over `bootstrap`), kept until close_progress(): closing it
  // says goodbye, so that rank 0 sees this rank finished, not lost.
  void open_progress(Bootstrap& bootstrap, ProgressChannelOptions options = {});
  void close_progress();
  [[nodiscard]] ProgressChannel* progress() const { return progress_.load(); }
  // The ranks not progressing, from the progress channel once it has told a rank that just went
  // quiet from a slow one; nullopt without a view (no channel, or a rank other than 0).
  [[nodiscard]] std::optional<std::vector<RankProgress>> not_progressing() const;

  // After a finished step: the checkpoint (`partial()`, built on the rank that writes only) and
  // the progress event. The step clock starts at construction or at restart_step_clock().
  void finish_step(const std::function<reports::Report()>& partial, std::string step,
                   std::size_t done, std::size_t total);
  void checkpoint(const reports::Report& partial);
  void restart_step_clock() { step_clock_.restart(); }
  [[nodiscard]] bool writes_report() const { return settings_.writer != nullptr; }

 private:
  void stop(int code, const std::function<StopNotice()>& notice,
            const std::function<void(int)>& leave);
  void show_phase(const std::string& phase) const;

  GuardSettings settings_;
  StopHandlers handlers_;
  // Declared before the watchdog and the termination watch, which read them: they outlive both.
  std::unique_ptr<ProgressChannel> progress_owner_;
  std::atomic<ProgressChannel*> progress_{nullptr};
  JobEnding ending_;
  Watchdog watchdog_;
  std::optional<TerminationWatch> termination_watch_;
  std::string phase_;
  std::int64_t step_ = -1;
  Stopwatch phase_clock_;
  Stopwatch step_clock_;
};

}  // namespace preflight::harness
