#include "probes/library_search.hpp"

namespace preflight::probes {

std::string env_value(const std::map<std::string, std::string>& environment,
                      std::string_view name) {
  const auto it = environment.find(std::string(name));
  return it == environment.end() ? std::string() : it->second;
}

}  // namespace preflight::probes
