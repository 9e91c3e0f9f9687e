// What the collectives sweep makes of its measurements: the result row of one size and placement
// (the row builder the harness leaves to each tool), the per-size tally of wrong elements and its
// RESULT_WRONG check, and the closing COLLECTIVE_MEASURED summary.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "collectives/backend.hpp"
#include "collectives/expected.hpp"
#include "collectives/options.hpp"
#include "collectives/split.hpp"
#include "collectives/sweep_plan.hpp"
#include "collectives/timing.hpp"
#include "reports/report.hpp"

namespace preflight::collectives {

// This rank's measurement of one size in one placement.
struct PlacementOutcome {
  std::vector<double> samples_s;  // max over ranks, one per iteration
  std::string stop_reason;
  double own_median_s = 0;
  double host_median_s = 0;
  std::optional<BatchedMean> batched;  // per-iteration timing: the batched mean of the same call
  std::int64_t wrong = -1;             // this rank's wrong elements, -1 when not checked
  std::int64_t first_wrong_element = -1;
};

// What every rank contributes to a row.
struct RankOutcome {
  double own_median_s = 0;
  double host_median_s = 0;
  std::int64_t wrong = -1;
  std::int64_t first_wrong_element = -1;  // index in the output of the first wrong element
};

// The fixed facts every row of the run shares.
struct RowContext {
  const CollectiveOptions& options;
  const CollectiveBackend& backend;
  int group_size = 0;
  // Host per world rank; empty for --deterministic reports (rows name no host).
  std::vector<std::string> hosts;
};

// The row of one size and placement from every rank's outcome (`outcomes`, by world rank) and
// this rank's samples (identical on every rank).
[[nodiscard]] reports::ResultRow build_row(const RowContext& context, const PlannedSize& planned,
                                           bool in_place, const PlacementOutcome& outcome,
                                           const std::vector<RankOutcome>& outcomes);

// The index of the first element of `actual` that differs from the expected output, -1 when none.
[[nodiscard]] std::int64_t first_wrong_element(const ReferenceData& reference, int rank,
                                               const CollectiveLayout& layout,
                                               std::span<const std::byte> actual);

// The wrong elements of one size, per rank and placement.
class WrongTally {
 public:
  // Adds the row's ranks; returns the row's wrong elements (0 when every element was right).
  std::int64_t add(const std::vector<RankOutcome>& outcomes, bool in_place);
  [[nodiscard]] std::int64_t total() const { return total_; }
  // RESULT_WRONG (fail) for the size, naming every rank with its counts; nullopt when all right.
  [[nodiscard]] std::optional<reports::Check> check(const PlannedSize& planned,
                                                    std::span<const std::string> hosts) const;

 private:
  std::int64_t total_ = 0;
  std::map<int, std::pair<std::int64_t, std::int64_t>> by_rank_;  // out of place, in place
  std::map<int, std::int64_t> first_by_rank_;
};

// COLLECTIVE_MEASURED (pass): the row count and the peak bus bandwidth; nullopt without rows.
[[nodiscard]] std::optional<reports::Check> measured_check(const reports::Report& report,
                                                           const CollectiveInfo& info,
                                                           std::size_t sizes_planned,
                                                           int group_size,
                                                           const std::string& backend_name);

}  // namespace preflight::collectives
