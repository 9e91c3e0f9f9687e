// A deadline per phase (init, each size, teardown) enforced from a separate thread, so it fires
// even while the main thread is blocked inside MPI, NCCL or libfabric. On expiry it calls the
// handler once from the watchdog thread; the usual handler aborts the communicator, writes the
// partial report and ends the process with exit code 124 (_exit: the main thread is stuck and
// must not run destructors that would block on the same dead peer).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace preflight {

class Watchdog {
 public:
  // Called with the phase name and its deadline in seconds. Runs on the watchdog thread.
  using ExpiryHandler = std::function<void(const std::string& phase, double deadline_s)>;

  explicit Watchdog(ExpiryHandler on_expiry);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  Watchdog(Watchdog&&) = delete;
  Watchdog& operator=(Watchdog&&) = delete;
  ~Watchdog();

  // Starts (or replaces) the deadline of `phase`; deadline_s <= 0 disarms.
  void arm(std::string phase, double deadline_s);
  void disarm();
  [[nodiscard]] std::string current_phase() const;
  [[nodiscard]] bool fired() const;

 private:
  void run();

  ExpiryHandler on_expiry_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string phase_;
  double deadline_s_ = 0;
  std::chrono::steady_clock::time_point expires_at_{};
  bool armed_ = false;
  bool fired_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after every member above is initialised
};

}  // namespace preflight
