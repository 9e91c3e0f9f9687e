// Text rendering of reports for people at a terminal.
#pragma once

#include <string>

#include "reports/report.hpp"

namespace preflight::reports {

// One line per check: status, id, message; remediation indented under failing checks; then the
// verdict line. Skips are shown as SKIP with their reason, never folded into passes.
[[nodiscard]] std::string render_checks_text(const Report& report);

// The results and comparison tables live in reports/render.hpp (render_text,
// render_results_text, render_comparison_text).

}  // namespace preflight::reports
