// Text rendering of reports for people at a terminal.
#pragma once

#include <string>

#include "reports/report.hpp"

namespace preflight::reports {

// One line per finding: status, id, message; checks that say the same (same id and message, from
// several steps of a plan) are printed once at the worst of their statuses, with the steps they
// came from ("[steps probe-drivers, probe-topology]"; a plain report's repeats as "(x3)"). The
// remediation is indented under failing and warning findings with the catalog's severity
// ("-> isolate: ..."); then the verdict line. Skips are shown as SKIP with their reason, never
// folded into passes.
[[nodiscard]] std::string render_checks_text(const Report& report);

// The results and comparison tables live in reports/render.hpp (render_text,
// render_results_text, render_comparison_text).

}  // namespace preflight::reports
