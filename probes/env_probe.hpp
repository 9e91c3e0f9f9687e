// preflight-env as a library call: options in, report out.
#pragma once

#include "probes/gather_env.hpp"
#include "probes/probe_support.hpp"

namespace preflight::probes {

inline constexpr std::string_view kEnvTool = "preflight-env";

struct EnvOptions {
  ProbeOptions probe;
  std::string env_file;  // --env-file FILE: lint this instead of the process environment
};

struct EnvRun {
  reports::Report report;
  EnvFacts facts;
  std::string text;
};

[[nodiscard]] EnvRun run_env(const EnvOptions& options, bool query_libraries = true);

}  // namespace preflight::probes
