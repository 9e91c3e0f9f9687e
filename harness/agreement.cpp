#include "harness/agreement.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace preflight::harness {

AgreedOutcome agree_on_outcome(Bootstrap& bootstrap, const SetupOutcome& mine,
                               std::span<const std::string> hosts) {
  const nlohmann::json encoded{
      {"kind", static_cast<int>(mine.kind)}, {"id", mine.finding_id}, {"reason", mine.reason}};
  const std::vector<std::string> all = bootstrap.allgather_strings(encoded.dump());
  AgreedOutcome agreed;
  for (std::size_t rank = 0; rank < all.size(); ++rank) {
    const nlohmann::json outcome = nlohmann::json::parse(all[rank]);
    const auto kind = static_cast<SetupOutcome::Kind>(outcome.at("kind").get<int>());
    const std::string reason = outcome.at("reason").get<std::string>();
    if (kind == SetupOutcome::Kind::skip) {
      agreed.skip_id = outcome.at("id").get<std::string>();
      agreed.skips.push_back(rank < hosts.size()
                                 ? fmt::format("rank {} ({}): {}", rank, hosts[rank], reason)
                                 : fmt::format("rank {}: {}", rank, reason));
    } else if (kind == SetupOutcome::Kind::error) {
      agreed.errors.push_back(fmt::format("rank {}: {}", rank, reason));
    }
  }
  return agreed;
}

}  // namespace preflight::harness
