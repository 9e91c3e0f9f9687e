#include "harness/guard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

namespace preflight::harness {
namespace {

// How long the rank that writes waits for the progress channel to tell a rank that just went quiet
// from a slow one: past the channel's silence limit, so that a rank whose host was cut off is
// known as such before the job ends (mpirun, told of an exit, would wait for the cut-off host's
// daemon). The other ranks wait for the writer to end the job (common/job_end.hpp).
constexpr double kSettle_s = 3.5;

}  // namespace

RunGuard::RunGuard(GuardSettings settings)
    : settings_(std::move(settings)),
      watchdog_([this](const std::string& phase, double deadline_s) {
        stop(
            exit_code::timeout, [&] { return handlers_.timed_out(phase, deadline_s); },
            handlers_.leave_after_timeout);
      }) {}

RunGuard::~RunGuard() = default;

void RunGuard::watch_termination() {
  termination_watch_.emplace([this] {
    stop(
        exit_code::error, [&] { return handlers_.terminated(watchdog_.current_phase()); },
        handlers_.leave_after_termination);
  });
}

// The first of the watchdog and the termination watch writes its report; the second waits for it
// and leaves with the first one's code.
void RunGuard::stop(int code, const std::function<StopNotice()>& notice,
                    const std::function<void(int)>& leave) {
  if (!ending_.begin(code)) {
    ending_.leave_after_first();
  }
  const StopNotice said = notice();
  if (!said.message.empty()) {
    std::fprintf(stderr, "%s\n", said.message.c_str());
  }
  if (settings_.writer != nullptr && said.partial) {
    try {
      settings_.writer->finish(*said.partial);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: cannot write the partial report: %s\n", settings_.tool.c_str(),
                   e.what());
    }
  }
  ending_.report_written();
  std::fflush(stdout);
  std::fflush(stderr);
  leave(code);
}

void RunGuard::begin(std::string phase, std::int64_t step) {
  phase_ = std::move(phase);
  step_ = step;
  phase_clock_.restart();
  if (settings_.timeout_s > 0) {
    watchdog_.arm(phase_, settings_.timeout_s);
  }
  show_phase(phase_);
}

void RunGuard::step(std::string_view what) {
  const std::string phase = fmt::format("{}: {}", phase_, what);
  if (settings_.timeout_s > 0) {
    const double remaining_s = std::max(settings_.timeout_s - phase_clock_.elapsed_s(), 1e-3);
    watchdog_.arm(phase, remaining_s);
  }
  show_phase(phase);
}

void RunGuard::end() {
  watchdog_.disarm();
}

// Where this rank is, for rank 0's view of the job.
void RunGuard::show_phase(const std::string& phase) const {
  if (ProgressChannel* channel = progress_.load()) {
    channel->set_phase(phase, step_);
  }
}

void RunGuard::open_progress(Bootstrap& bootstrap, ProgressChannelOptions options) {
  progress_owner_ = ProgressChannel::open(bootstrap, options);
  progress_.store(progress_owner_.get());
}

void RunGuard::close_progress() {
  progress_.store(nullptr);
  progress_owner_.reset();
}

std::optional<std::vector<RankProgress>> RunGuard::not_progressing() const {
  if (const ProgressChannel* channel = progress_.load()) {
    // A rank that went quiet a moment ago is told apart (stopped, cut off) before it is named.
    channel->settle(kSettle_s);
    const std::vector<RankProgress> ranks = channel->snapshot();
    if (!ranks.empty()) {
      return ranks_not_progressing(ranks);
    }
  }
  return std::nullopt;
}

// Not const: writing the checkpoint is what the guard does, though through its writer.
// NOLINTNEXTLINE(readability-make-member-function-const)
void RunGuard::checkpoint(const reports::Report& partial) {
  if (settings_.writer != nullptr) {
    settings_.writer->checkpoint(partial);
  }
}

void RunGuard::finish_step(const std::function<reports::Report()>& partial, std::string step,
                           std::size_t done, std::size_t total) {
  if (settings_.writer != nullptr) {
    settings_.writer->checkpoint(partial());
  }
  if (settings_.on_progress) {
    settings_.on_progress({std::move(step), done, total, step_clock_.elapsed_s()});
  }
}

}  // namespace preflight::harness
