// The plan of a collectives sweep: every (data type, op, size) to measure, in order, and the
// check that the largest of them fits in this host's memory before anything runs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collectives/options.hpp"
#include "common/sysfs.hpp"
#include "domain/collective.hpp"

namespace preflight::collectives {

struct PlannedSize {
  DataType dtype = DataType::float32;
  ReduceOp op = ReduceOp::sum;
  std::uint64_t requested_bytes = 0;
  CollectiveLayout layout;
};

struct SweepPlan {
  std::vector<PlannedSize> sizes;
  // Requested sizes that would repeat the previous row ([{dtype, op, requested_bytes,
  // same_as_bytes}]): nccl-tests would print the same row again (e.g. all_gather sizes below
  // 16 B per rank).
  nlohmann::json skipped_as_duplicates = nlohmann::json::array();
};

// The sweep over --dtypes x --ops x --sizes for a communicator of `group_size` ranks.
[[nodiscard]] SweepPlan plan_sweep(const CollectiveOptions& options, int group_size);

// The placements each size is measured in: out of place, then in place, as the options ask.
[[nodiscard]] std::vector<bool> planned_placements(const CollectiveOptions& options);

// A size the host cannot hold is a usage error (UsageError) before anything runs, not a bad_alloc
// (or the OOM killer) in the middle of the sweep. Per rank, the host holds the send and receive
// buffers (host-memory backends: every backend but nccl) and the check's staging copies of the
// input and the expected output; `ranks_here` ranks of `host` share its memory.
void check_host_memory(const std::vector<PlannedSize>& plan, const std::string& backend_name,
                       const RootFs& sysfs, std::uint64_t ranks_here, const std::string& host);

}  // namespace preflight::collectives
