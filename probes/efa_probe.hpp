// preflight-efa as a library call: options in, report out.
#pragma once

#include "probes/gather_efa.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {

inline constexpr std::string_view kEfaTool = "preflight-efa";

struct EfaOptions {
  ProbeOptions probe;
  std::string baseline_counters;  // --baseline-counters FILE
  std::string save_counters;      // --save-counters FILE
};

struct EfaRun {
  reports::Report report;
  EfaFacts facts;
};

[[nodiscard]] EfaRun run_efa(const EfaOptions& options, bool query_libraries = true);

}  // namespace preflight::probes
