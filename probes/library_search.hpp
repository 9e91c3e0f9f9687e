// Loading optional libraries at run time: the search itself is common/library_search.hpp (the
// collectives and preflight-p2p load NCCL and the CUDA runtime the same way); the probes add the
// lookup of a variable in a captured environment.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/library_search.hpp"

namespace preflight::probes {

using preflight::describe_location;
using preflight::library_candidates;
using preflight::library_path_of;
using preflight::matching_directories;
using preflight::open_first_library;
using preflight::OpenedLibrary;

// Value of an environment variable in `environment`, empty when unset.
[[nodiscard]] std::string env_value(const std::map<std::string, std::string>& environment,
                                    std::string_view name);

}  // namespace preflight::probes
