// nccl-tests output -> preflight.report/1 (`preflight-report import nccl-tests FILE`).
//
// Text (stdout of all_reduce_perf & co.), any version seen in the field:
//   - columns: `#wrong` (current), `error` (before 2.10, a max relative error), `N/A` where a test
//     does not check (alltoall/sendrecv in-place), the `root` column or its absence, `cputime`
//     (-C), a trailing `-S` timestamp, and `-I` per-iteration columns (i_min i_max i_p99 i_cv%);
//   - line prefixes, also stacked: `mpirun --tag-output` (`[1,0]<stdout>:`), `srun -l` (`0: `),
//     launcher tags like SkyPilot's `(head, rank=0, pid=3808) `, `[2026-01-02 10:24:27] `
//     timestamps, indentation from pasted Markdown;
//   - headers: `# nccl-tests version`, `# Collective test starting:`, `# nThread ...`,
//     `# Using devices` rows (-> hosts, nodes, GPUs), `NCCL version`, aws-ofi-nccl version,
//     `NCCL_* set by environment` (-> allow-listed env);
//   - failures (`Test failure`, `Test CUDA failure`, mpirun abort banners) and hangs (a header
//     and no table, or a table that stops before maxBytes) become a report whose verdict is
//     error/fail naming why.
// JSON (`-J FILE`, JSON_FILE_VERSION 1-3 of nccl-tests' src/util.cu writer): config, devices,
// results with out_of_place/in_place and the per-iteration sections (-I, version >= 2).
//
// Figures are kept exactly as printed: "15.95" GB/s becomes 15950000000 B/s. Repeats of a size
// fold into one row (see NcclTestsImportOptions::keep_repeats). A log that does not say how many
// ranks ran (no device rows, bandwidths printed as 0.00) imports with ranks 0 (unknown) and a
// NCCL_TESTS_RANKS_UNKNOWN warning.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "reports/report.hpp"

namespace preflight::reports {

struct NcclTestsImportOptions {
  std::string instance_type;  // nccl-tests never prints it
  int nodes = 0;              // 0: from the `# Using devices` hosts, else unknown
  int ranks = 0;              // 0: from the devices, else inferred from the rows
  std::string benchmark;      // "": from the program name, else inferred from the rows
  std::string backend = "nccl";
  bool deterministic = false;  // leave the importer's version out (golden files)
  // Repeated tables (-R, -N, several sweeps in one log) fold into one row per (size, dtype, op,
  // root, placement) whose time_s holds the statistics over the repeats; true keeps every
  // printed row.
  bool keep_repeats = false;
};

// Imports text or JSON (detected from the first non-blank character). `origin` names the input
// in messages. Throws UsageError naming the origin and line (text) or line:column / JSON pointer
// (JSON) when the input is not nccl-tests output or cannot be understood.
[[nodiscard]] Report import_nccl_tests(std::string_view content, std::string_view origin,
                                       const NcclTestsImportOptions& options);

// Reads `path` (bounded by kMaxInputFileBytes; "-" for stdin) and imports it.
[[nodiscard]] Report import_nccl_tests_file(const std::filesystem::path& path,
                                            const NcclTestsImportOptions& options);

}  // namespace preflight::reports
