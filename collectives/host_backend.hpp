// Shared part of the backends whose buffers live in host memory (mpi, local): buffer management
// and access to the logical input and output of the current call.
#pragma once

#include "collectives/backend.hpp"
#include "collectives/host_buffer.hpp"
#include "collectives/placement.hpp"
#include "common/timer.hpp"

namespace preflight::collectives {

// Timed calls are read on the process's sample clock (common/timer.hpp: the TSC where the kernel
// says it is invariant), described with the rank's device as "clock".
class HostMemoryBackend : public CollectiveBackend {
 public:
  void prepare(const CollectiveCall& call) override;
  void write_input(std::span<const std::byte> input) override;
  void write_output(std::span<const std::byte> output) override;
  void read_output(std::span<std::byte> output) override;
  // Two clock readings around run(), nothing else.
  IterationTime run_timed() override;
  BatchTime run_batch(std::size_t iterations) override;

 protected:
  explicit HostMemoryBackend(Convention convention)
      : convention_(convention), clock_(process_sample_clock()) {}
  [[nodiscard]] const SampleClock& clock() const { return clock_; }
  [[nodiscard]] std::byte* address(const Region& region) const;
  [[nodiscard]] const CollectiveCall& call() const { return call_; }
  [[nodiscard]] const CallPlacement& placement() const { return placement_; }
  [[nodiscard]] std::byte* send_buffer() const { return send_.data(); }
  [[nodiscard]] std::byte* recv_buffer() const { return recv_.data(); }

 private:
  Convention convention_;
  const SampleClock& clock_;
  HostBuffer send_;
  HostBuffer recv_;
  CollectiveCall call_;
  CallPlacement placement_;
};

// One process, no launcher: the collectives of a single rank are copies of its input.
class LocalBackend final : public HostMemoryBackend {
 public:
  explicit LocalBackend(std::string requested_name);
  [[nodiscard]] std::string name() const override { return name_; }
  [[nodiscard]] std::string transport() const override { return "self"; }
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  [[nodiscard]] nlohmann::json describe() const override;
  [[nodiscard]] std::optional<std::string> unsupported(const CollectiveCall& call) const override;
  void run() override;
  void abort() noexcept override {}

 private:
  std::string name_;
};

}  // namespace preflight::collectives
