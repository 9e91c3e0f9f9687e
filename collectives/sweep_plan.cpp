#include "collectives/sweep_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "common/error.hpp"
#include "common/size_spec.hpp"

namespace preflight::collectives {

SweepPlan plan_sweep(const CollectiveOptions& options, int group_size) {
  SweepPlan plan;
  for (const DataType dtype : options.dtypes) {
    for (const ReduceOp op : options.ops) {
      std::optional<CollectiveLayout> previous;
      for (const std::uint64_t requested : options.sizes_bytes) {
        const CollectiveLayout layout =
            collective_layout(options.collective, requested, element_bytes(dtype), group_size);
        if (previous && *previous == layout) {
          plan.skipped_as_duplicates.push_back({{"dtype", to_string(dtype)},
                                                {"op", to_string(op)},
                                                {"requested_bytes", requested},
                                                {"same_as_bytes", layout.size_bytes()}});
          continue;
        }
        previous = layout;
        plan.sizes.push_back({dtype, op, requested, layout});
      }
    }
  }
  return plan;
}

std::vector<bool> planned_placements(const CollectiveOptions& options) {
  std::vector<bool> placements;
  if (options.out_of_place) {
    placements.push_back(false);
  }
  if (options.in_place) {
    placements.push_back(true);
  }
  return placements;
}

void check_host_memory(const std::vector<PlannedSize>& plan, const std::string& backend_name,
                       const RootFs& sysfs, std::uint64_t ranks_here, const std::string& host) {
  std::uint64_t largest_bytes = 0;
  std::uint64_t largest_requested = 0;
  for (const PlannedSize& size : plan) {
    if (size.layout.size_bytes() > largest_bytes) {
      largest_bytes = size.layout.size_bytes();
      largest_requested = size.requested_bytes;
    }
  }
  const std::uint64_t buffers = backend_name == "nccl" ? 2 : 4;
  const auto available = available_memory_bytes(sysfs);
  if (!available || largest_bytes == 0) {
    return;
  }
  // Overflow-safe: compare per rank.
  const std::uint64_t per_rank_available = *available / std::max<std::uint64_t>(ranks_here, 1);
  if (largest_bytes > per_rank_available / buffers) {
    throw UsageError(fmt::format(
        "--sizes: the largest size, {} ({} B per rank), needs about {} x {} B of host memory on "
        "each of the {} rank(s) of {}, which has {} B available (MemAvailable); choose a smaller "
        "maximum size",
        format_size(largest_requested), largest_bytes, buffers, largest_bytes, ranks_here, host,
        *available));
  }
}

}  // namespace preflight::collectives
