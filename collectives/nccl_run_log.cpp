#include "collectives/nccl_run_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "collectives/runner.hpp"
#include "common/findings.hpp"
#include "common/text.hpp"
#include "domain/nccl_log.hpp"
#include "domain/platform.hpp"

namespace preflight::collectives {

using reports::Check;
using reports::judged_check;
using reports::Report;
using reports::ResultRow;
using reports::skip_check;

namespace {

// NCCL logs larger than this are judged on their first part only.
constexpr std::size_t kMaxLogBytes = 64U << 20U;

Status worse(Status a, Status b) {
  const std::array<Status, 2> both{a, b};
  return combine_statuses(both);
}

// This rank's judgement of its own log, as JSON: {facts, findings} or {not_judged}.
nlohmann::json judge_own_log(const Report& report, const CollectiveOptions& options,
                             const std::string& log_file, bool efa_expected) {
  nlohmann::json mine = nlohmann::json::object();
  const auto text = read_text_file(log_file, kMaxLogBytes);
  if (!text) {
    mine["not_judged"] = fmt::format("cannot read the NCCL log {}", log_file);
    return mine;
  }
  const NcclLogFacts facts = parse_nccl_log(*text);
  mine["facts"] = facts.to_json();
  TransportExpectation expectation;
  expectation.platform = report.inventory.instance_type;
  expectation.efa_nics = options.expect_efa_nics;
  if (!expectation.efa_nics) {
    if (const Platform* platform = find_platform(report.inventory.instance_type)) {
      expectation.efa_nics = platform->efa_count;
    }
  }
  const TransportJudgement judgement = judge_nccl_transport(facts, expectation);
  if (!efa_expected) {
    mine["not_judged"] = "no EFA device on this node (and no --expect-efa-nics)";
  } else if (!judgement.judged) {
    mine["not_judged"] = judgement.not_judged_reason;
  } else {
    mine["findings"] = nlohmann::json::array();
    for (const auto& finding : judgement.findings) {
      mine["findings"].push_back({{"id", finding.id},
                                  {"status", to_string(finding.status)},
                                  {"message", finding.message},
                                  {"evidence", finding.evidence}});
    }
  }
  return mine;
}

// The algorithm and protocol NCCL chose for each row, from every rank's TUNING lines (each
// communicator's rank 0 prints them): a bus bandwidth above the ring's ceiling is then explained
// (NVLS, CollNet, tree). Rows of sizes without such lines are left unlabelled.
void label_nccl_algorithms(Report& report, CollectiveKind kind,
                           const std::vector<std::string>& judgements) {
  std::vector<TuningChoice> all;
  for (const std::string& text : judgements) {
    const auto judgement = nlohmann::json::parse(text);
    if (!judgement.contains("facts") || !judgement["facts"].contains("tuning")) {
      continue;
    }
    for (const auto& entry : judgement["facts"]["tuning"]) {
      all.push_back({entry.value("function", ""), entry.value("bytes", std::uint64_t{0}),
                     entry.value("algorithm", ""), entry.value("protocol", ""),
                     entry.value("calls", std::size_t{0})});
    }
  }
  if (all.empty()) {
    return;
  }
  std::set<std::string> used;
  for (ResultRow& row : report.results) {
    const std::uint64_t bytes =
        row.count * element_bytes(parse_data_type(row.dtype).value_or(DataType::float32));
    std::set<std::string> algorithms;
    std::set<std::string> protocols;
    for (const TuningChoice& choice : tuning_choices(all, kind, bytes)) {
      algorithms.insert(choice.algorithm);
      protocols.insert(choice.protocol);
      used.insert(choice.algorithm);
    }
    if (algorithms.empty()) {
      continue;
    }
    const auto joined = [](const std::set<std::string>& names) {
      return join(std::vector<std::string>(names.begin(), names.end()), ",");
    };
    row.labels["nccl_algorithm"] = joined(algorithms);
    row.labels["nccl_protocol"] = joined(protocols);
    row.labels["nccl_algorithm_source"] = "NCCL_DEBUG_SUBSYS=TUNING";
    const auto any_of = [&](std::string_view prefix) {
      return std::any_of(algorithms.begin(), algorithms.end(),
                         [&](const std::string& name) { return starts_with(name, prefix); });
    };
    row.labels["nccl_nvls"] = any_of("NVLS") ? "yes" : "no";
    row.labels["nccl_collnet"] = any_of("CollNet") ? "yes" : "no";
  }
  report.details["nccl_algorithms_used"] = std::vector<std::string>(used.begin(), used.end());
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path, std::size_t limit) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    return std::nullopt;
  }
  std::string text(limit, '\0');
  stream.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(stream.gcount()));
  return text;
}

std::vector<Check> judge_nccl_run_log(Bootstrap& world, Report& report,
                                      const CollectiveOptions& options, const std::string& log_file,
                                      bool efa_expected) {
  const nlohmann::json mine = judge_own_log(report, options, log_file, efa_expected);
  const std::vector<std::string> all_judgements = world.allgather_strings(mine.dump());
  nlohmann::json log_details = nlohmann::json::array();
  std::map<std::string, Check> merged;
  std::map<std::string, nlohmann::json> merged_ranks;
  std::vector<std::string> not_judged;
  for (std::size_t rank = 0; rank < all_judgements.size(); ++rank) {
    const auto judgement = nlohmann::json::parse(all_judgements[rank]);
    log_details.push_back(judgement);
    if (judgement.contains("not_judged")) {
      not_judged.push_back(
          fmt::format("rank {}: {}", rank, judgement["not_judged"].get<std::string>()));
      continue;
    }
    for (const auto& finding : judgement.value("findings", nlohmann::json::array())) {
      const std::string id = finding["id"].get<std::string>();
      const Status status =
          parse_status(finding["status"].get<std::string>()).value_or(Status::error);
      auto [it, inserted] = merged.try_emplace(
          id, judged_check(id, status, finding["message"].get<std::string>(), finding["evidence"]));
      if (!inserted) {
        it->second.status = worse(it->second.status, status);
      }
      merged_ranks[id].push_back(rank);
    }
  }
  std::vector<Check> checks;
  for (auto& [id, check] : merged) {
    check.evidence["ranks"] = merged_ranks[id];
    checks.push_back(std::move(check));
  }
  if (!not_judged.empty()) {
    checks.push_back(skip_check(
        "STEP_SKIPPED",
        finding_message("STEP_SKIPPED",
                        fmt::format("NCCL transport not judged on {} of {} ranks: {}",
                                    not_judged.size(), all_judgements.size(), not_judged.front())),
        {{"ranks", not_judged}}));
  }
  report.details["nccl_log"] = {{"file_pattern", options.nccl_log_path + ".rank<N>"},
                                {"ranks", log_details}};
  // The rows' transport is what the log proved.
  const auto uses = merged.find("NCCL_USES_EFA");
  const bool fallback = merged.contains("NCCL_FALLBACK_SOCKET");
  if (fallback ||
      (uses != merged.end() && merged_ranks["NCCL_USES_EFA"].size() == all_judgements.size())) {
    for (auto& row : report.results) {
      row.transport = fallback ? "socket" : "efa";
    }
  }
  label_nccl_algorithms(report, options.collective, all_judgements);
  return checks;
}

void label_requested_nccl_algorithms(Report& report, const char* const* environment,
                                     bool log_captured) {
  std::map<std::string, std::string> requested;
  for (const char* const* entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    for (const std::string_view name :
         {"NCCL_ALGO", "NCCL_PROTO", "NCCL_NVLS_ENABLE", "NCCL_COLLNET_ENABLE"}) {
      if (starts_with(text, name) && text.size() > name.size() && text[name.size()] == '=') {
        requested[std::string(name)] = std::string(text.substr(name.size() + 1));
      }
    }
  }
  for (ResultRow& row : report.results) {
    for (const auto& [name, value] : requested) {
      row.labels["requested_" + to_lower(name)] = value;
    }
  }
  if (!log_captured) {
    report.details["nccl_algorithms_used"] =
        "not recorded: --nccl-log FILE captures NCCL's TUNING lines, which name the algorithm "
        "and protocol of every call";
  }
}

}  // namespace preflight::collectives
