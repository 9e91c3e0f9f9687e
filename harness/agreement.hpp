// The benchmark harness, part 3 of 3: the all-ranks agreement on whether a run can go on. Set-up
// steps that are collective (a communicator, an endpoint exchange) must be reached by every rank
// or by none: each rank contributes its own outcome of the step before it, every rank learns
// every rank's, and all of them stop together (skip or error) naming the ranks and their reasons.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/bootstrap.hpp"

namespace preflight::harness {

// One rank's outcome of a set-up step.
struct SetupOutcome {
  enum class Kind { ok, skip, error };
  Kind kind = Kind::ok;
  std::string finding_id;  // skip: the finding that reports it (STEP_SKIPPED, ...)
  std::string reason;

  [[nodiscard]] static SetupOutcome ok() { return {}; }
  [[nodiscard]] static SetupOutcome skip(std::string finding_id, std::string reason) {
    return {Kind::skip, std::move(finding_id), std::move(reason)};
  }
  [[nodiscard]] static SetupOutcome error(std::string reason) {
    return {Kind::error, "", std::move(reason)};
  }
};

// Every rank's outcome, the same on every rank.
struct AgreedOutcome {
  std::vector<std::string> skips;   // "rank 2: reason" (or "rank 2 (host): reason")
  std::string skip_id;              // the finding of the highest rank that skips
  std::vector<std::string> errors;  // "rank 1: reason"
  [[nodiscard]] bool go_on() const { return skips.empty() && errors.empty(); }
};

// Collective over `bootstrap`. `hosts` (one per rank, or empty) names each skipping rank's host.
[[nodiscard]] AgreedOutcome agree_on_outcome(Bootstrap& bootstrap, const SetupOutcome& mine,
                                             std::span<const std::string> hosts = {});

}  // namespace preflight::harness
