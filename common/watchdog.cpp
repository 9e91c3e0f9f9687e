#include "common/watchdog.hpp"

namespace preflight {

Watchdog::Watchdog(ExpiryHandler on_expiry)
    : on_expiry_(std::move(on_expiry)), thread_([this] { run(); }) {}

Watchdog::~Watchdog() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void Watchdog::arm(std::string phase, double deadline_s) {
  {
    const std::lock_guard lock(mutex_);
    phase_ = std::move(phase);
    deadline_s_ = deadline_s;
    armed_ = deadline_s > 0;
    expires_at_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(deadline_s));
  }
  changed_.notify_all();
}

void Watchdog::disarm() {
  {
    const std::lock_guard lock(mutex_);
    armed_ = false;
  }
  changed_.notify_all();
}

std::string Watchdog::current_phase() const {
  const std::lock_guard lock(mutex_);
  return phase_;
}

bool Watchdog::fired() const {
  const std::lock_guard lock(mutex_);
  return fired_;
}

void Watchdog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (!armed_) {
      changed_.wait(lock, [this] { return stopping_ || armed_; });
      continue;
    }
    const auto expires_at = expires_at_;
    if (changed_.wait_until(lock, expires_at,
                            [&] { return stopping_ || !armed_ || expires_at_ != expires_at; })) {
      continue;  // stopped, disarmed or re-armed
    }
    fired_ = true;
    armed_ = false;
    const std::string phase = phase_;
    const double deadline_s = deadline_s_;
    lock.unlock();
    on_expiry_(phase, deadline_s);
    lock.lock();
  }
}

}  // namespace preflight
