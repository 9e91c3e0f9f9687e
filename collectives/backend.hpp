// What the runner needs from a collective implementation: buffers laid out for one call, the call
// itself (untimed for warm-up and checks, timed for samples), access to the logical input and
// output for the checks, and an abort that works from the watchdog thread. Backends: mpi (host
// memory, MPI collectives), nccl (GPU memory), local (one process without a launcher: the
// collectives of a single rank are copies).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "domain/collective.hpp"
#include "domain/dtype.hpp"

namespace preflight::collectives {

// The backend cannot run on this machine (no GPU for --backend nccl): the run is a skip with this
// reason, never a pass.
class BackendUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CollectiveCall {
  CollectiveKind kind = CollectiveKind::all_reduce;
  DataType dtype = DataType::float32;
  ReduceOp op = ReduceOp::sum;
  bool in_place = false;
  int root = 0;
  CollectiveLayout layout;
  std::uint64_t requested_bytes = 0;  // the --sizes entry the layout was made from
};

struct IterationTime {
  double sample_s = 0;  // what the sampler gets: device time (CUDA events) or host monotonic time
  double host_s = 0;    // host wall clock from launch to completion
};

// One timed batch: `iterations` calls launched back to back, timed as a whole (nccl-tests'
// method). Totals for the batch, not per call.
struct BatchTime {
  double device_s = 0;  // between events around all the calls (host monotonic time for host
                        // memory)
  double host_s = 0;    // host wall clock from the first launch to completion
};

class CollectiveBackend {
 public:
  CollectiveBackend() = default;
  CollectiveBackend(const CollectiveBackend&) = delete;
  CollectiveBackend& operator=(const CollectiveBackend&) = delete;
  CollectiveBackend(CollectiveBackend&&) = delete;
  CollectiveBackend& operator=(CollectiveBackend&&) = delete;
  virtual ~CollectiveBackend() = default;

  [[nodiscard]] virtual std::string name() const = 0;       // "mpi", "nccl"
  [[nodiscard]] virtual std::string transport() const = 0;  // "host-memory", "self", "nccl"
  [[nodiscard]] virtual int rank() const = 0;               // in my group
  [[nodiscard]] virtual int size() const = 0;               // of my group
  // Device, library versions, ... for the report.
  [[nodiscard]] virtual nlohmann::json describe() const = 0;

  // Why `call` cannot run on this backend (e.g. NCCL has no in-place alltoall); nullopt: it can.
  [[nodiscard]] virtual std::optional<std::string> unsupported(
      const CollectiveCall& call) const = 0;
  // Sizes the buffers for `call` (growing only) and makes it the current call.
  virtual void prepare(const CollectiveCall& call) = 0;
  // The logical input (layout.send_count elements), written where the call reads it (the send
  // buffer, or its in-place position in the receive buffer).
  virtual void write_input(std::span<const std::byte> input) = 0;
  // The logical output (layout.recv_count elements), written where the call leaves its result:
  // the runner poisons it before a check.
  virtual void write_output(std::span<const std::byte> output) = 0;
  virtual void read_output(std::span<std::byte> output) = 0;
  // One complete call, untimed (warm-up, checks).
  virtual void run() = 0;
  // One complete call, timed; nothing but the call and its completion is inside the timed region.
  virtual IterationTime run_timed() = 0;
  // `iterations` calls launched back to back and timed as one batch (the caller has just passed
  // a barrier). Host-memory backends: one host clock around the calls.
  virtual BatchTime run_batch(std::size_t iterations);
  // The normal end, on the thread that used the backend (e.g. ncclCommFinalize). The destructor
  // alone is the error end: it must not wait for peers.
  virtual void finish() {}
  // Asks the backend, from another thread (the watchdog), to stop: it must return at once and
  // never call into the communication library itself (calls on one communicator are not
  // thread-safe); the thread using the backend acts on the request at its next wait.
  virtual void abort() noexcept = 0;
};

// Where the watchdog finds the backend to abort. The registration ends (under the lock) before
// the backend is destroyed, on every path, so an abort never reaches a backend being torn down.
class AbortSlot {
 public:
  void set(CollectiveBackend* backend) {
    const std::lock_guard lock(mutex_);
    backend_ = backend;
  }
  // Requests an abort of the registered backend, if any.
  void abort() noexcept {
    const std::lock_guard lock(mutex_);
    if (backend_ != nullptr) {
      backend_->abort();
    }
  }

 private:
  std::mutex mutex_;
  CollectiveBackend* backend_ = nullptr;
};

// Registers a backend for the lifetime of this object: declare it after the owning pointer.
class AbortRegistration {
 public:
  AbortRegistration(AbortSlot& slot, CollectiveBackend& backend) : slot_(slot) {
    slot_.set(&backend);
  }
  AbortRegistration(const AbortRegistration&) = delete;
  AbortRegistration& operator=(const AbortRegistration&) = delete;
  AbortRegistration(AbortRegistration&&) = delete;
  AbortRegistration& operator=(AbortRegistration&&) = delete;
  ~AbortRegistration() { slot_.set(nullptr); }

 private:
  AbortSlot& slot_;
};

}  // namespace preflight::collectives
