// preflight-drivers as a library call: options in, report out.
#pragma once

#include "probes/gather_drivers.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {

inline constexpr std::string_view kDriversTool = "preflight-drivers";

struct DriversRun {
  reports::Report report;
  DriverFacts facts;
};

[[nodiscard]] DriversRun run_drivers(const ProbeOptions& options);

}  // namespace preflight::probes
