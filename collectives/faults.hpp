// TEST-ONLY fault hooks, compiled into every build so that the shipped binaries can be proven to
// report corruption and hangs; never set these variables in production. The report records any
// active hook (details.fault_injection) and stderr warns about it. The hooks are a backend that
// wraps the real one (FaultInjectingBackend), installed only where a hook is set: the sweep itself
// knows nothing of them.
//
//   PREFLIGHT_FAULT_FLIP_RANK=r   rank r (world rank) flips the lowest bit of the first element of
//                                 its result after every checked iteration, before the check
//   PREFLIGHT_FAULT_FLIP_SIZE=B   ... only at requested size B (default: every size)
//   PREFLIGHT_FAULT_HANG_RANK=r   rank r sleeps forever at the start of one size (its first call
//                                 into the backend for that size)
//   PREFLIGHT_FAULT_HANG_SIZE=B   ... that size (default: the second size of the sweep)
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "collectives/backend.hpp"
#include "collectives/options.hpp"
#include "collectives/runner.hpp"

namespace preflight::collectives {

struct FaultInjection {
  std::optional<int> flip_rank;
  std::optional<std::uint64_t> flip_size_bytes;
  std::optional<int> hang_rank;
  std::optional<std::uint64_t> hang_size_bytes;

  [[nodiscard]] bool active() const { return flip_rank.has_value() || hang_rank.has_value(); }
  [[nodiscard]] nlohmann::json to_json() const;
};

// Reads the PREFLIGHT_FAULT_* variables; a malformed value is a UsageError naming it.
[[nodiscard]] FaultInjection fault_injection_from_environment();

// The real backend with the hooks of `faults` that name `world_rank`: it hangs at the start of
// the size whose requested bytes are `hang_bytes`, and flips the lowest bit of the first element
// of every output read back for a check (at --sizes entry flip_size_bytes, or every size).
class FaultInjectingBackend final : public CollectiveBackend {
 public:
  FaultInjectingBackend(std::unique_ptr<CollectiveBackend> real, const FaultInjection& faults,
                        int world_rank, std::uint64_t hang_bytes, std::string tool);

  [[nodiscard]] std::string name() const override { return real_->name(); }
  [[nodiscard]] std::string transport() const override { return real_->transport(); }
  [[nodiscard]] int rank() const override { return real_->rank(); }
  [[nodiscard]] int size() const override { return real_->size(); }
  [[nodiscard]] nlohmann::json describe() const override { return real_->describe(); }
  [[nodiscard]] std::optional<std::string> unsupported(const CollectiveCall& call) const override;
  void prepare(const CollectiveCall& call) override;
  void write_input(std::span<const std::byte> input) override { real_->write_input(input); }
  void write_output(std::span<const std::byte> output) override { real_->write_output(output); }
  void read_output(std::span<std::byte> output) override;
  void run() override { real_->run(); }
  IterationTime run_timed() override { return real_->run_timed(); }
  BatchTime run_batch(std::size_t iterations) override { return real_->run_batch(iterations); }
  void finish() override { real_->finish(); }
  void abort() noexcept override { real_->abort(); }

 private:
  void hang_if_due(const CollectiveCall& call) const;

  std::unique_ptr<CollectiveBackend> real_;
  bool hang_ = false;
  std::uint64_t hang_bytes_ = 0;
  bool flip_ = false;
  std::optional<std::uint64_t> flip_bytes_;
  std::uint64_t current_requested_bytes_ = 0;
  std::string tool_;
  int world_rank_ = 0;
};

// Where a hook is set: wraps environment.make_backend in FaultInjectingBackend and records the
// hooks in the report (details.fault_injection). Without one, leaves `environment` as it is.
void install_fault_injection(RunEnvironment& environment, const FaultInjection& faults,
                             const CollectiveOptions& options);

}  // namespace preflight::collectives
