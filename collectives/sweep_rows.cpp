#include "collectives/sweep_rows.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/findings.hpp"
#include "common/stats.hpp"
#include "common/text.hpp"

namespace preflight::collectives {

using reports::ResultRow;

namespace {

std::string placement_name(bool in_place) {
  return in_place ? "in-place" : "out-of-place";
}

int slowest_rank_of(const std::vector<RankOutcome>& outcomes) {
  int slowest = 0;
  for (std::size_t rank = 1; rank < outcomes.size(); ++rank) {
    if (outcomes[rank].own_median_s > outcomes[static_cast<std::size_t>(slowest)].own_median_s) {
      slowest = static_cast<int>(rank);
    }
  }
  return slowest;
}

// The labels that say how the row's time was taken: the host clock next to the device's, and the
// batched mean next to a per-iteration distribution.
void label_timing(ResultRow& row, const RowContext& context, const PlacementOutcome& outcome,
                  const std::vector<RankOutcome>& outcomes) {
  const CollectiveOptions& options = context.options;
  const bool nccl = context.backend.name() == "nccl";
  if (options.timing == TimingMode::batch) {
    // nccl-tests' time is the mean over ranks (our samples); the slowest rank's own median is
    // what its -a 3 would print. The host clock, from the first launch to completion, is
    // nccl-tests' own measuring instrument.
    row.labels["batch_iterations"] = std::to_string(batch_length(options));
    double host_sum_s = 0;
    for (const auto& rank_outcome : outcomes) {
      host_sum_s += rank_outcome.host_median_s;
    }
    row.labels["host_time_s"] =
        fmt::format("{:.9g}", host_sum_s / static_cast<double>(outcomes.size()));
  } else if (nccl) {
    std::vector<double> host_medians;
    host_medians.reserve(outcomes.size());
    for (const auto& rank_outcome : outcomes) {
      host_medians.push_back(rank_outcome.host_median_s);
    }
    row.labels["host_time_median_s"] =
        fmt::format("{:.9g}", *std::max_element(host_medians.begin(), host_medians.end()));
  }
  if (outcome.batched) {
    row.labels["batch_mean_time_s"] = fmt::format("{:.9g}", outcome.batched->mean_s);
    row.labels["batch_mean_iterations"] = std::to_string(outcome.batched->iterations);
    if (nccl) {
      row.labels["batch_mean_host_time_s"] = fmt::format("{:.9g}", outcome.batched->host_mean_s);
    }
  }
}

}  // namespace

ResultRow build_row(const RowContext& context, const PlannedSize& planned, bool in_place,
                    const PlacementOutcome& outcome, const std::vector<RankOutcome>& outcomes) {
  const CollectiveOptions& options = context.options;
  const CollectiveInfo& info = collective_info(options.collective);
  const int slowest = slowest_rank_of(outcomes);
  const SampleSummary summary = summarize(outcome.samples_s);
  const Bandwidth bandwidth =
      compute_bandwidth(options.collective, planned.layout, context.group_size, summary.median);
  ResultRow row;
  row.benchmark = std::string(info.name);
  row.backend = context.backend.name();
  row.transport = context.backend.transport();
  row.dtype = std::string(to_string(planned.dtype));
  row.op = std::string(to_string(planned.op));
  row.in_place = in_place;
  row.size_bytes = planned.layout.size_bytes();
  row.count = planned.layout.param_count;
  row.ranks = context.group_size;
  row.time_s = reports::to_time_stats(summary);
  row.algbw_Bps = bandwidth.algbw_Bps;
  row.busbw_Bps = bandwidth.busbw_Bps;
  row.busbw_factor = bandwidth.factor;
  row.slowest_rank = slowest;
  if (!context.hosts.empty()) {
    row.slowest_host = context.hosts.at(static_cast<std::size_t>(slowest));
  }
  row.warmup_iterations = options.sampling.warmup_iterations;
  row.stop_reason = outcome.stop_reason;
  row.labels["placement"] = placement_name(in_place);
  row.labels["root"] = info.rooted ? std::to_string(options.root) : "-1";
  row.labels["requested_bytes"] = std::to_string(planned.requested_bytes);
  row.labels["timing"] = std::string(to_string(options.timing));
  row.labels["slowest_rank_time_s"] =
      fmt::format("{:.9g}", outcomes[static_cast<std::size_t>(slowest)].own_median_s);
  label_timing(row, context, outcome, outcomes);
  if (options.split) {
    row.labels["split"] = options.split->text;
  }
  if (options.keep_samples) {
    row.samples_s = outcome.samples_s;
  }
  return row;
}

std::int64_t first_wrong_element(const ReferenceData& reference, int rank,
                                 const CollectiveLayout& layout,
                                 std::span<const std::byte> actual) {
  const std::size_t size = layout.element_bytes;
  std::array<std::byte, 8> expected{};
  for (std::uint64_t i = 0; i < layout.recv_count && (i + 1) * size <= actual.size(); ++i) {
    encode_element(reference.dtype(), reference.expected_value(rank, i, layout), expected.data());
    if (std::memcmp(expected.data(), actual.data() + i * size, size) != 0) {
      return static_cast<std::int64_t>(i);
    }
  }
  return -1;
}

std::int64_t WrongTally::add(const std::vector<RankOutcome>& outcomes, bool in_place) {
  std::int64_t row_wrong = 0;
  for (std::size_t rank = 0; rank < outcomes.size(); ++rank) {
    const std::int64_t wrong = outcomes[rank].wrong;
    row_wrong += wrong;
    if (wrong > 0) {
      auto& counts = by_rank_[static_cast<int>(rank)];
      (in_place ? counts.second : counts.first) += wrong;
      first_by_rank_.emplace(static_cast<int>(rank), outcomes[rank].first_wrong_element);
    }
  }
  total_ += row_wrong;
  return row_wrong;
}

std::optional<reports::Check> WrongTally::check(const PlannedSize& planned,
                                                std::span<const std::string> hosts) const {
  if (total_ <= 0) {
    return std::nullopt;
  }
  std::vector<std::string> parts;
  nlohmann::json by_rank = nlohmann::json::object();
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& [rank, counts] : by_rank_) {
    const std::int64_t first = first_by_rank_.at(rank);
    const auto index = static_cast<std::size_t>(rank);
    parts.push_back(fmt::format("rank {}{}: {} out-of-place, {} in-place, first at element {}",
                                rank,
                                hosts.empty() ? std::string() : fmt::format(" ({})", hosts[index]),
                                counts.first, counts.second, first));
    by_rank[std::to_string(rank)] = {{"out_of_place", counts.first},
                                     {"in_place", counts.second},
                                     {"first_wrong_element", first}};
    if (!hosts.empty()) {
      by_rank[std::to_string(rank)]["host"] = hosts[index];
    }
    ranks.push_back(rank);
  }
  return reports::fire_check("RESULT_WRONG",
                             finding_message("RESULT_WRONG", total_, planned.layout.size_bytes(),
                                             fmt::format("{} {}: {}", to_string(planned.dtype),
                                                         to_string(planned.op), join(parts, "; "))),
                             {{"size_bytes", planned.layout.size_bytes()},
                              {"dtype", to_string(planned.dtype)},
                              {"op", to_string(planned.op)},
                              {"wrong_elements", total_},
                              {"wrong_by_rank", by_rank},
                              {"ranks", ranks}});
}

std::optional<reports::Check> measured_check(const reports::Report& report,
                                             const CollectiveInfo& info, std::size_t sizes_planned,
                                             int group_size, const std::string& backend_name) {
  if (report.results.empty()) {
    return std::nullopt;
  }
  const auto peak = std::max_element(
      report.results.begin(), report.results.end(),
      [](const ResultRow& a, const ResultRow& b) { return a.busbw_Bps < b.busbw_Bps; });
  const std::string summary = fmt::format(
      "{} rows ({} sizes) on backend {}; peak bus bandwidth {:.2f} GB/s at {} B ({} {}, {})",
      report.results.size(), sizes_planned, backend_name, peak->busbw_Bps / 1e9, peak->size_bytes,
      peak->dtype, peak->op, peak->labels.at("placement"));
  return reports::pass_check("COLLECTIVE_MEASURED",
                             finding_message("COLLECTIVE_MEASURED", info.name, group_size, summary),
                             {{"peak_busbw_Bps", peak->busbw_Bps},
                              {"peak_size_bytes", peak->size_bytes},
                              {"peak_dtype", peak->dtype},
                              {"peak_op", peak->op},
                              {"peak_placement", peak->labels.at("placement")}});
}

}  // namespace preflight::collectives
