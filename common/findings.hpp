// The findings catalog: every check a preflight binary reports has a stable id from one
// append-only table (finding_catalog.cpp). Dashboards and Slurm drain reasons key on the id,
// never on prose. Severity says what the operator should do with a node that has the finding.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace preflight {

enum class Severity {
  isolate,  // replace the instance / keep it out of jobs
  reboot,   // a reboot usually clears it
  reset,    // a GPU reset usually clears it
  monitor,  // degrades performance: watch, fix at the next maintenance window
  info,     // a fact, no action
};

enum class Category { driver, version, topology, environment, efa, nccl, benchmark, harness };

struct FindingDefinition {
  std::string_view id;
  Severity severity;
  Category category;
  // fmt-style template; the arguments are documented per entry in finding_catalog.cpp.
  std::string_view message_template;
  std::string_view remediation;
};

[[nodiscard]] std::span<const FindingDefinition> finding_catalog();
// Throws std::out_of_range for an id not in the catalog: a typo is a bug, found by the tests.
[[nodiscard]] const FindingDefinition& finding(std::string_view id);
[[nodiscard]] bool is_known_finding(std::string_view id);
// The status a fired finding gives its check: fail when the node should not take jobs as it is
// (isolate, reboot, reset), warn when it may (monitor, info). Every binary uses this, so one
// finding never fails in one tool and warns in another.
[[nodiscard]] Status finding_status(std::string_view id);

[[nodiscard]] std::string_view to_string(Severity severity);
[[nodiscard]] std::optional<Severity> parse_severity(std::string_view text);
[[nodiscard]] std::string_view to_string(Category category);

// The finding's message with its arguments substituted.
template <typename... Args>
[[nodiscard]] std::string finding_message(std::string_view id, Args&&... args) {
  return fmt::format(fmt::runtime(finding(id).message_template), std::forward<Args>(args)...);
}

}  // namespace preflight
