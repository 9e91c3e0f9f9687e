// Judge for preflight-versions: version facts x platform -> checks (catalog ids). Pure.
#pragma once

#include <vector>

#include "domain/platform.hpp"
#include "probes/gather_versions.hpp"
#include "reports/report.hpp"

namespace preflight::probes {

[[nodiscard]] std::vector<reports::Check> judge_versions(const VersionFacts& facts,
                                                         const Platform* platform);

// The inventory.versions map of a report ("nccl" -> "2.28.9", ...): present components only.
[[nodiscard]] std::map<std::string, std::string> versions_inventory(const VersionFacts& facts);

}  // namespace preflight::probes
