// Judge for preflight-efa: EFA facts (and counter deltas) x platform -> checks. Pure.
#pragma once

#include <optional>
#include <vector>

#include "domain/platform.hpp"
#include "probes/efa_counters.hpp"
#include "probes/gather_efa.hpp"
#include "reports/report.hpp"

namespace preflight::probes {

struct EfaBaseline {
  CounterDeltas deltas;
  std::string taken_at;
  std::string path;
  std::optional<double> interval_s;  // from taken_at to now; unknown without a timestamp
};

[[nodiscard]] std::vector<reports::Check> judge_efa(const EfaFacts& facts, const Platform* platform,
                                                    const std::optional<EfaBaseline>& baseline);

// details.devices: ports, counters (absent ones listed, never zero), verbs attributes.
[[nodiscard]] nlohmann::json efa_details(const EfaFacts& facts);
[[nodiscard]] nlohmann::json efa_inventory(const EfaFacts& facts);

}  // namespace preflight::probes
