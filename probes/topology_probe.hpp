// preflight-topology as a library call: options in, report (and text) out.
#pragma once

#include "probes/gather_topology.hpp"
#include "probes/judge_topology.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {

inline constexpr std::string_view kTopologyTool = "preflight-topology";

struct TopologyOptions {
  ProbeOptions probe;
  std::string hwloc_xml;        // --hwloc-xml FILE
  std::string format = "text";  // text | matrix
};

struct TopologyRun {
  reports::Report report;
  TopologyFacts facts;
  TopologyAnalysis analysis;
  std::string text;  // the probe-specific part of the text output (before the checks)
};

[[nodiscard]] TopologyRun run_topology(const TopologyOptions& options);

}  // namespace preflight::probes
