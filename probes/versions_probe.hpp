// preflight-versions as a library call: options in, report out (the main only parses and prints).
#pragma once

#include "probes/gather_versions.hpp"
#include "probes/probe_support.hpp"
#include "reports/report.hpp"

namespace preflight::probes {

inline constexpr std::string_view kVersionsTool = "preflight-versions";

struct VersionsRun {
  reports::Report report;
  VersionFacts facts;
};

[[nodiscard]] VersionsRun run_versions(const ProbeOptions& options, bool query_libraries = true);

}  // namespace preflight::probes
