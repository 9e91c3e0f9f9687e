#include "common/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <utility>

namespace preflight {

std::string_view to_string(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::automatic:
      return "auto";
    case ProgressMode::tty:
      return "tty";
    case ProgressMode::plain:
      return "plain";
    case ProgressMode::none:
      return "none";
  }
  return "auto";
}

std::optional<ProgressMode> parse_progress_mode(std::string_view name) {
  for (const ProgressMode mode :
       {ProgressMode::automatic, ProgressMode::tty, ProgressMode::plain, ProgressMode::none}) {
    if (name == to_string(mode)) {
      return mode;
    }
  }
  return std::nullopt;
}

ProgressMode resolve_progress_mode(ProgressMode requested, bool quiet, bool stderr_is_terminal) {
  if (requested != ProgressMode::automatic) {
    return requested;
  }
  if (quiet) {
    return ProgressMode::none;
  }
  return stderr_is_terminal ? ProgressMode::tty : ProgressMode::plain;
}

ProgressMode resolve_progress_mode(ProgressMode requested, bool quiet) {
  return resolve_progress_mode(requested, quiet, ::isatty(STDERR_FILENO) == 1);
}

std::optional<std::string_view> progress_text(std::string_view line) {
  const std::size_t marker = line.find(kProgressMarker);
  if (marker == std::string_view::npos) {
    return std::nullopt;
  }
  // The tool's name runs up to the marker: "preflight-allreduce", behind any launcher prefix.
  const std::size_t name_start = line.rfind("preflight", marker);
  if (name_start == std::string_view::npos) {
    return std::nullopt;
  }
  for (std::size_t i = name_start; i < marker; ++i) {
    const char c = line[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return std::nullopt;
    }
  }
  std::string_view text = line.substr(marker + kProgressMarker.size());
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string without_progress_lines(std::string_view text) {
  std::string kept;
  kept.reserve(text.size());
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = end == std::string_view::npos ? text : text.substr(0, end + 1);
    if (!progress_text(line)) {
      kept.append(line);
    }
    text.remove_prefix(line.size());
  }
  return kept;
}

ProgressPrinter::ProgressPrinter(std::string tool, ProgressMode mode, std::FILE* stream,
                                 ProgressTiming timing)
    : tool_(std::move(tool)),
      mode_(mode == ProgressMode::automatic ? ProgressMode::none : mode),
      stream_(stream),
      timing_(timing),
      last_line_(MonotonicClock::now()) {
  if (active() && timing_.heartbeat_s > 0) {
    heartbeat_ = std::thread([this] { heartbeat_loop(); });
  }
}

ProgressPrinter::~ProgressPrinter() {
  finish();
}

void ProgressPrinter::write_locked(std::string_view text) {
  // One fwrite per line (stderr is unbuffered: one write(2)), so lines of other writers to the
  // same log never land inside it.
  const std::string line = mode_ == ProgressMode::tty
                               ? fmt::format("\r\033[K{}: {}", tool_, text)
                               : fmt::format("{}{}{}\n", tool_, kProgressMarker, text);
  std::fwrite(line.data(), 1, line.size(), stream_);
  std::fflush(stream_);
  printed_ = true;
  last_line_ = MonotonicClock::now();
}

void ProgressPrinter::update(std::string_view text, bool last) {
  if (!active()) {
    return;
  }
  const std::lock_guard lock(mutex_);
  if (finished_) {
    return;
  }
  last_text_ = text;
  const double since_s = seconds_between(last_line_, MonotonicClock::now());
  if (mode_ == ProgressMode::plain && printed_ && !last && since_s < timing_.min_interval_s) {
    return;
  }
  write_locked(text);
}

void ProgressPrinter::finish() {
  {
    const std::lock_guard lock(mutex_);
    if (finished_) {
      return;
    }
    finished_ = true;
    if (mode_ == ProgressMode::tty && printed_) {
      std::fputs("\r\033[K", stream_);
      std::fflush(stream_);
    }
  }
  wake_.notify_all();
  if (heartbeat_.joinable()) {
    heartbeat_.join();
  }
}

void ProgressPrinter::heartbeat_loop() {
  std::unique_lock lock(mutex_);
  const auto period = std::chrono::duration<double>(timing_.heartbeat_s);
  while (!finished_) {
    const auto due = last_line_ + std::chrono::duration_cast<MonotonicClock::duration>(period);
    if (wake_.wait_until(lock, due, [this] { return finished_; })) {
      return;
    }
    if (MonotonicClock::now() <
        last_line_ + std::chrono::duration_cast<MonotonicClock::duration>(period)) {
      continue;  // a line went out meanwhile
    }
    const std::string after =
        last_text_.empty() ? std::string("starting") : fmt::format("last: {}", last_text_);
    write_locked(
        fmt::format("still running, {:.0f} s elapsed ({})", run_clock_.elapsed_s(), after));
  }
}

}  // namespace preflight
