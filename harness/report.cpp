#include "harness/report.hpp"

#include <fmt/format.h>

#include <vector>

#include "common/findings.hpp"
#include "common/text.hpp"

namespace preflight::harness {

using reports::Check;
using reports::judged_check;
using reports::Report;

Report incomplete_report(Report base, std::string_view tool, std::size_t finished,
                         std::size_t planned, bool deterministic, const StepCount& count,
                         bool warn_as_fail) {
  base.checks.push_back(judged_check(
      "BENCH_INCOMPLETE", Status::error,
      finding_message("BENCH_INCOMPLETE", tool, finished, planned, count.note),
      {{std::string(count.done_key), finished}, {std::string(count.planned_key), planned}}));
  reports::finish_report(base, count.honour_warn_as_fail && warn_as_fail, deterministic);
  base.run.finished_at.clear();
  return base;
}

Report stopped_report(Report base, Check check, bool warn_as_fail, bool deterministic,
                      FinishedAt finished_at) {
  std::erase_if(base.checks, [](const Check& entry) { return entry.id == "BENCH_INCOMPLETE"; });
  base.checks.push_back(std::move(check));
  reports::finish_report(base, warn_as_fail, deterministic);
  if (finished_at == FinishedAt::cleared) {
    base.run.finished_at.clear();  // still a partial report
  }
  return base;
}

nlohmann::json sampling_details(const SamplingPolicy& policy) {
  return nlohmann::json{{"warmup_iterations", policy.warmup_iterations},
                        {"min_iterations", policy.min_iterations},
                        {"max_iterations", policy.max_iterations},
                        {"target_precision", policy.target_precision},
                        {"time_per_size_s", policy.time_budget_s},
                        {"fixed", policy.fixed}};
}

std::string describe_ranks(const nlohmann::json& ranks, bool deterministic) {
  std::vector<std::string> parts;
  for (const auto& entry : ranks) {
    std::string where;
    if (entry.contains("phase") && !entry.at("phase").get<std::string>().empty()) {
      where = fmt::format(", silent {:.1f} s at '{}', iteration {}", entry.value("silent_s", 0.0),
                          entry.at("phase").get<std::string>(), entry.value("iteration", 0));
    }
    parts.push_back(deterministic
                        ? fmt::format("rank {} ({}{})", entry.at("rank").get<int>(),
                                      entry.at("state").get<std::string>(), where)
                        : fmt::format("rank {} ({}, pid {}, {}{})", entry.at("rank").get<int>(),
                                      entry.at("host").get<std::string>(),
                                      entry.at("pid").get<long>(),
                                      entry.at("state").get<std::string>(), where));
  }
  return join(parts, "; ");
}

Report timeout_report(Report base, std::string_view tool, const std::string& phase,
                      double deadline_s, int rank, const std::string& host, bool deterministic,
                      const nlohmann::json& local_ranks_not_running) {
  const std::string stalled = describe_ranks(local_ranks_not_running, deterministic);
  const std::size_t rows = base.results.size();
  const std::string detail = fmt::format(
      "rank {}{} gave up waiting{}; the report holds the {} result rows finished before", rank,
      deterministic ? std::string() : fmt::format(" on {}", host),
      stalled.empty() ? std::string() : fmt::format(" (not progressing: {})", stalled), rows);
  nlohmann::json evidence{{"phase", phase},
                          {"deadline_s", deadline_s},
                          {"rank", rank},
                          {"rows_finished", rows},
                          {"local_ranks_not_running", local_ranks_not_running}};
  if (!deterministic) {
    evidence["host"] = host;
  }
  Check check = judged_check("BENCH_TIMEOUT", Status::timeout,
                             finding_message("BENCH_TIMEOUT", tool, deadline_s, phase, detail),
                             std::move(evidence));
  return stopped_report(std::move(base), std::move(check), false, deterministic,
                        FinishedAt::cleared);
}

Report lost_rank_report(Report base, std::string_view tool, const std::string& phase, int rank,
                        const std::string& host, bool deterministic,
                        const nlohmann::json& local_ranks_not_running) {
  const std::string gone = describe_ranks(local_ranks_not_running, deterministic);
  const std::string peer =
      gone.empty() ? std::string("(a rank on another host; the launcher's message names it)")
                   : gone;
  const std::size_t rows = base.results.size();
  const std::string detail = fmt::format(
      "{} rank {}{} was terminated (SIGTERM) in phase '{}': the launcher ends a job this way "
      "when one of its ranks dies; the report holds the {} result rows finished before",
      tool, rank, deterministic ? std::string() : fmt::format(" on {}", host), phase, rows);
  nlohmann::json evidence{{"phase", phase},
                          {"rank", rank},
                          {"signal", "SIGTERM"},
                          {"rows_finished", rows},
                          {"local_ranks_not_running", local_ranks_not_running}};
  if (!deterministic) {
    evidence["host"] = host;
  }
  Check check = judged_check("PEER_LOST", Status::error, finding_message("PEER_LOST", peer, detail),
                             std::move(evidence));
  return stopped_report(std::move(base), std::move(check), false, deterministic,
                        FinishedAt::cleared);
}

}  // namespace preflight::harness
