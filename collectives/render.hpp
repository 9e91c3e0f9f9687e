// Text output of a collectives report: the run's parameters and devices, nccl-tests' table and
// its two footer lines (printed by reports/nccl_tests_table.hpp, the one printer of that table,
// shared with `preflight-report render`), then the peak bus bandwidth and where it was reached,
// the checks and the verdict. Formatting only: everything comes from the report.
#pragma once

#include <string>

#include "reports/report.hpp"

namespace preflight::collectives {

[[nodiscard]] std::string render_collective_text(const reports::Report& report);

}  // namespace preflight::collectives
