#include "collectives/faults.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "collectives/sweep_plan.hpp"
#include "common/error.hpp"
#include "common/size_spec.hpp"

namespace preflight::collectives {
namespace {

std::optional<std::string> variable(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before threads
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

std::optional<int> rank_variable(const char* name) {
  const auto text = variable(name);
  if (!text) {
    return std::nullopt;
  }
  try {
    std::size_t used = 0;
    const int rank = std::stoi(*text, &used);
    if (used == text->size() && rank >= 0) {
      return rank;
    }
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{}={}: expected a rank number", name, *text));
}

std::optional<std::uint64_t> size_variable(const char* name) {
  const auto text = variable(name);
  if (!text) {
    return std::nullopt;
  }
  try {
    return parse_size(*text);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}={}: {}", name, *text, e.what()));
  }
}

}  // namespace

nlohmann::json FaultInjection::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  j["note"] = "test-only fault hooks were active in this run";
  if (flip_rank) {
    j["flip_rank"] = *flip_rank;
    j["flip_size_bytes"] =
        flip_size_bytes ? nlohmann::json(*flip_size_bytes) : nlohmann::json("all");
  }
  if (hang_rank) {
    j["hang_rank"] = *hang_rank;
    j["hang_size_bytes"] =
        hang_size_bytes ? nlohmann::json(*hang_size_bytes) : nlohmann::json("second size");
  }
  return j;
}

FaultInjection fault_injection_from_environment() {
  FaultInjection faults;
  faults.flip_rank = rank_variable("PREFLIGHT_FAULT_FLIP_RANK");
  faults.flip_size_bytes = size_variable("PREFLIGHT_FAULT_FLIP_SIZE");
  faults.hang_rank = rank_variable("PREFLIGHT_FAULT_HANG_RANK");
  faults.hang_size_bytes = size_variable("PREFLIGHT_FAULT_HANG_SIZE");
  return faults;
}

FaultInjectingBackend::FaultInjectingBackend(std::unique_ptr<CollectiveBackend> real,
                                             const FaultInjection& faults, int world_rank,
                                             std::uint64_t hang_bytes, std::string tool)
    : real_(std::move(real)),
      hang_(faults.hang_rank == world_rank),
      hang_bytes_(hang_bytes),
      flip_(faults.flip_rank == world_rank),
      flip_bytes_(faults.flip_size_bytes),
      tool_(std::move(tool)),
      world_rank_(world_rank) {}

void FaultInjectingBackend::hang_if_due(const CollectiveCall& call) const {
  if (!hang_ || call.requested_bytes != hang_bytes_) {
    return;
  }
  std::fprintf(stderr, "%s: rank %d: PREFLIGHT_FAULT_HANG_RANK: hanging (test-only hook)\n",
               tool_.c_str(), world_rank_);
  while (true) {
    std::this_thread::sleep_for(std::chrono::hours(1));
  }
}

// The sweep asks this first for every placement of a size: the hang starts the size.
std::optional<std::string> FaultInjectingBackend::unsupported(const CollectiveCall& call) const {
  hang_if_due(call);
  return real_->unsupported(call);
}

void FaultInjectingBackend::prepare(const CollectiveCall& call) {
  hang_if_due(call);
  current_requested_bytes_ = call.requested_bytes;
  real_->prepare(call);
}

// Outputs are read back only by the checks: the flip lands after the call, before the compare.
void FaultInjectingBackend::read_output(std::span<std::byte> output) {
  real_->read_output(output);
  if (flip_ && !output.empty() && (!flip_bytes_ || *flip_bytes_ == current_requested_bytes_)) {
    output[0] ^= std::byte{1};
  }
}

void install_fault_injection(RunEnvironment& environment, const FaultInjection& faults,
                             const CollectiveOptions& options) {
  if (!faults.active()) {
    return;
  }
  environment.extra_details["fault_injection"] = faults.to_json();
  const int world_rank = environment.world.rank();
  auto make_real = std::move(environment.make_backend);
  environment.make_backend = [make_real = std::move(make_real), faults, options,
                              world_rank](const SplitGroups& groups) {
    // The default hang is at the second size of the sweep, as it is planned for these groups.
    const std::vector<PlannedSize> plan = plan_sweep(options, groups.group_size).sizes;
    const std::uint64_t hang_bytes = faults.hang_size_bytes.value_or(
        plan.size() > 1 ? plan[1].requested_bytes : (plan.empty() ? 0 : plan[0].requested_bytes));
    return std::make_unique<FaultInjectingBackend>(
        make_real(groups), faults, world_rank, hang_bytes,
        std::string(collective_info(options.collective).tool));
  };
}

}  // namespace preflight::collectives
