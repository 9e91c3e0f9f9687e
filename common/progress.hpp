// Progress of long runs on stderr, shaped for where stderr goes (--progress):
//   tty    one status line rewritten in place ("\r", erase to the end): a terminal
//   plain  whole lines, each written with one write and flushed, at a modest rate (one per
//          finished size or step, at most one a second, a heartbeat after 10 s of silence): a
//          Slurm output file, `kubectl logs -f`, a CI log, a pipe
//   none   nothing
//   auto   tty when stderr is a terminal, plain otherwise; none under --quiet
// A plain line reads "<tool>: progress: <text>", so a process that reads another's stderr (the
// `preflight` plans relay their steps' progress) tells progress apart from messages, also behind
// launcher prefixes ("[1,0]<stderr>:", srun -l's "0: ").
#pragma once

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "common/timer.hpp"

namespace preflight {

enum class ProgressMode { automatic, tty, plain, none };

// "auto", "tty", "plain", "none".
[[nodiscard]] std::string_view to_string(ProgressMode mode);
[[nodiscard]] std::optional<ProgressMode> parse_progress_mode(std::string_view name);

// What `requested` means here: auto becomes none under --quiet, else tty when stderr is a
// terminal and plain when it is not. An explicit mode stays what it is, --quiet or not.
[[nodiscard]] ProgressMode resolve_progress_mode(ProgressMode requested, bool quiet,
                                                 bool stderr_is_terminal);
// The same for this process's stderr.
[[nodiscard]] ProgressMode resolve_progress_mode(ProgressMode requested, bool quiet);

inline constexpr std::string_view kProgressMarker = ": progress: ";

// The text of a plain progress line (after the marker), or nullopt for any other line.
[[nodiscard]] std::optional<std::string_view> progress_text(std::string_view line);
// `text` without its progress lines (what a step's stderr says besides its progress).
[[nodiscard]] std::string without_progress_lines(std::string_view text);

struct ProgressTiming {
  double min_interval_s = 1.0;  // plain: at most one line per interval, except a `last` one
  double heartbeat_s = 10.0;    // a "still running" line after this long without one
};

// Prints the progress of one run in the resolved `mode` (tty, plain or none; auto is taken as
// none). Thread-safe: a heartbeat thread (tty and plain only) prints "still running" after
// `heartbeat_s` without a line, so a long size or step is never silent in a log.
class ProgressPrinter {
 public:
  ProgressPrinter(std::string tool, ProgressMode mode, std::FILE* stream = stderr,
                  ProgressTiming timing = {});
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;
  ProgressPrinter(ProgressPrinter&&) = delete;
  ProgressPrinter& operator=(ProgressPrinter&&) = delete;
  ~ProgressPrinter();

  [[nodiscard]] bool active() const {
    return mode_ == ProgressMode::tty || mode_ == ProgressMode::plain;
  }
  [[nodiscard]] ProgressMode mode() const { return mode_; }

  // A finished unit (a size, a pair): "[3/18] float sum 1048576 B done, 0.4 s elapsed". In plain
  // mode it is dropped when a line went out less than min_interval_s ago, unless `last`.
  void update(std::string_view text, bool last = false);
  // Ends the run's progress: erases the tty line, stops the heartbeat. Also done on destruction.
  void finish();

 private:
  void heartbeat_loop();
  void write_locked(std::string_view text);

  std::string tool_;
  ProgressMode mode_;
  std::FILE* stream_;
  ProgressTiming timing_;
  Stopwatch run_clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  bool printed_ = false;
  MonotonicClock::time_point last_line_;
  std::string last_text_;
  std::thread heartbeat_;
};

}  // namespace preflight
