// Text rendering of a preflight-p2p report for people (formatting only; reads the report).
#pragma once

#include <string>

#include "reports/report.hpp"

namespace preflight::p2p {

// One table per (test, pair): size, iterations, latency percentiles in us, or bandwidth in GB/s
// (10^9 B/s) and message rate in millions per second; all-pairs/ring add the node x node
// matrices and the outliers; then the checks and the verdict.
[[nodiscard]] std::string render_text(const reports::Report& report);

}  // namespace preflight::p2p
