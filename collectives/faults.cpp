#include "collectives/faults.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <string>

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

}  // namespace preflight::collectives
