// The cluster plan's verdict. The judgement of nodes and links is preflight-p2p's own (the survey
// and its confirmation rounds run inside the one all-pairs job, p2p/judgement.hpp): the plan takes
// the verdict from that step's report as it is, adds the hosts the launcher could not reach, and
// writes details.cluster and the summary line from it, so the pair step's findings, the summary,
// details.cluster and the exit code cannot disagree.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace preflight::cli {

struct ClusterVerdict {
  bool judged = false;
  std::string judged_by;           // the step whose report holds the verdict
  std::vector<std::string> nodes;  // the nodes the survey measured (the ranks' names)
  nlohmann::json verdict = nlohmann::json::object();  // p2p::judgement_json()
  std::vector<std::string> unreachable;
  int rounds = 0;
  int retest_rounds = 0;
  std::size_t measurements = 0;
};

// The verdict of a preflight-p2p all-pairs/ring report (details.survey), or nullopt when the
// report holds none (the step broke before judging, or the report is of another shape).
[[nodiscard]] std::optional<ClusterVerdict> verdict_from_p2p_report(const nlohmann::json& report,
                                                                    const std::string& step);

// details.cluster: the verdict's lists (bad_nodes, bad_links, suspect_nodes, suspect_links,
// suspects, known_good), unreachable, settled, the evidence and the summary line ("bad nodes:
// vc3; bad links: none; unreachable: none; suspects: none", or "not judged: <why>").
[[nodiscard]] nlohmann::json cluster_details(const ClusterVerdict& verdict,
                                             const std::string& not_judged_reason);

}  // namespace preflight::cli
