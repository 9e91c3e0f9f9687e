#include "collectives/host_backend.hpp"

#include <cstring>
#include <stdexcept>

#include "common/timer.hpp"

namespace preflight::collectives {

BatchTime CollectiveBackend::run_batch(std::size_t iterations) {
  const Stopwatch clock;
  for (std::size_t i = 0; i < iterations; ++i) {
    run();
  }
  const double elapsed_s = clock.elapsed_s();
  return {elapsed_s, elapsed_s};
}

IterationTime HostMemoryBackend::run_timed() {
  const SampleClock::Ticks start = clock_.now();
  run();
  const SampleClock::Ticks end = clock_.now();
  const double elapsed_s = clock_.seconds(start, end);
  return {elapsed_s, elapsed_s};
}

BatchTime HostMemoryBackend::run_batch(std::size_t iterations) {
  const SampleClock::Ticks start = clock_.now();
  for (std::size_t i = 0; i < iterations; ++i) {
    run();
  }
  const double elapsed_s = clock_.seconds(start, clock_.now());
  return {elapsed_s, elapsed_s};
}

void HostMemoryBackend::prepare(const CollectiveCall& call) {
  call_ = call;
  placement_ = place_call(call, rank(), convention_);
  const std::size_t bytes = call.layout.size_bytes();
  send_.reserve(bytes);
  recv_.reserve(bytes);
}

std::byte* HostMemoryBackend::address(const Region& region) const {
  return (region.buffer == Buffer::send ? send_.data() : recv_.data()) + region.offset_bytes;
}

void HostMemoryBackend::write_input(std::span<const std::byte> input) {
  if (input.size() != placement_.input.length_bytes) {
    throw std::invalid_argument("write_input: size differs from the call's input");
  }
  if (!input.empty()) {  // an empty span's data() may be null, which memcpy must never get
    std::memcpy(address(placement_.input), input.data(), input.size());
  }
}

void HostMemoryBackend::write_output(std::span<const std::byte> output) {
  if (output.size() != placement_.output.length_bytes) {
    throw std::invalid_argument("write_output: size differs from the call's output");
  }
  if (!output.empty()) {
    std::memcpy(address(placement_.output), output.data(), output.size());
  }
}

void HostMemoryBackend::read_output(std::span<std::byte> output) {
  if (output.size() != placement_.output.length_bytes) {
    throw std::invalid_argument("read_output: size differs from the call's output");
  }
  if (!output.empty()) {
    std::memcpy(output.data(), address(placement_.output), output.size());
  }
}

LocalBackend::LocalBackend(std::string requested_name)
    : HostMemoryBackend(Convention::nccl), name_(std::move(requested_name)) {}

nlohmann::json LocalBackend::describe() const {
  return {{"memory", "host"},
          {"clock", clock().describe()},
          {"note",
           "single process without a launcher: MPI is not initialised and the "
           "collectives of one rank are copies of its input"}};
}

std::optional<std::string> LocalBackend::unsupported(const CollectiveCall& /*call*/) const {
  return std::nullopt;
}

void LocalBackend::run() {
  // With one rank every collective's result is its input (avg divides by 1); in place the input
  // already is the output.
  const std::byte* source = address(placement().input);
  std::byte* destination = address(placement().output);
  if (source != destination) {
    std::memmove(destination, source, placement().output.length_bytes);
  }
}

}  // namespace preflight::collectives
