// What one entry of the findings catalog says: its id, what the operator should do with a node
// that has it (severity), its category, its message template and its remediation. The entries
// are in common/finding_catalog.hpp; the API over them in common/findings.hpp.
#pragma once

#include <string_view>

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
  // An fmt format string, checked against the arguments where the finding is fired.
  std::string_view message_template;
  std::string_view remediation;
};

}  // namespace preflight
