#include "cli/cluster_verdict.hpp"

#include <fmt/format.h>

#include "p2p/judgement_report.hpp"

namespace preflight::cli {

std::optional<ClusterVerdict> verdict_from_p2p_report(const nlohmann::json& report,
                                                      const std::string& step) {
  if (!report.is_object() || !report.contains("details") || !report.at("details").is_object()) {
    return std::nullopt;
  }
  const auto& details = report.at("details");
  if (!details.contains("survey") || !details.at("survey").is_object()) {
    return std::nullopt;
  }
  const auto& survey = details.at("survey");
  if (!survey.contains("verdict") || !survey.at("verdict").is_object()) {
    return std::nullopt;
  }
  try {
    ClusterVerdict verdict;
    verdict.judged = true;
    verdict.judged_by = step;
    verdict.verdict = survey.at("verdict");
    verdict.nodes = survey.at("nodes").get<std::vector<std::string>>();
    verdict.rounds = survey.value("rounds", 0);
    verdict.retest_rounds = survey.value("retest_rounds", 0);
    verdict.measurements = survey.value("measurements", nlohmann::json::array()).size();
    // The lists the summary and details.cluster read must be there and hold names.
    for (const char* key : {"bad_nodes", "suspect_nodes", "suspects", "known_good"}) {
      (void)verdict.verdict.at(key).get<std::vector<std::string>>();
    }
    for (const char* key : {"bad_links", "suspect_links"}) {
      (void)verdict.verdict.at(key).get<std::vector<std::vector<std::string>>>();
    }
    return verdict;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not a verdict this plan can read
  }
}

nlohmann::json cluster_details(const ClusterVerdict& verdict,
                               const std::string& not_judged_reason) {
  nlohmann::json details{{"judged", verdict.judged},
                         {"unreachable", verdict.unreachable},
                         {"bad_nodes", nlohmann::json::array()},
                         {"bad_links", nlohmann::json::array()},
                         {"suspect_nodes", nlohmann::json::array()},
                         {"suspect_links", nlohmann::json::array()},
                         {"suspects", nlohmann::json::array()},
                         {"known_good", nlohmann::json::array()},
                         {"bad_nics", nlohmann::json::array()},
                         {"unreachable_nics", nlohmann::json::array()},
                         {"settled", false}};
  if (verdict.judged) {
    for (const char* key :
         {"bad_nodes", "bad_links", "suspect_nodes", "suspect_links", "suspects", "known_good",
          "settled", "policy", "evidence", "bad_nics", "unreachable_nics", "nothing_carried",
          "node_aggregates", "aggregate_low"}) {
      if (verdict.verdict.contains(key)) {
        details[key] = verdict.verdict.at(key);
      }
    }
    details["judged_by"] = verdict.judged_by;
    details["nodes_measured"] = verdict.nodes;
    details["rounds"] = verdict.rounds;
    details["retest_rounds"] = verdict.retest_rounds;
    details["measurements"] = verdict.measurements;
    details["summary"] = p2p::verdict_summary(details);
  } else {
    details["not_judged"] = not_judged_reason;
    details["summary"] = fmt::format("not judged: {}; unreachable: {}", not_judged_reason,
                                     verdict.unreachable.empty()
                                         ? std::string("none")
                                         : fmt::format("{}", fmt::join(verdict.unreachable, ", ")));
  }
  return details;
}

}  // namespace preflight::cli
