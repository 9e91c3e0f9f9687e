// Internal to the nccl-tests importer (its files: import_nccl_tests_parsed.hpp): the report's
// result rows from the parsed table, one per table row or one per size whose repeats are folded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/import_nccl_tests_parsed.hpp"
#include "reports/report.hpp"

namespace preflight::reports::nccl_tests_import {

// What every result row of one import shares.
struct RowContext {
  const Parsed& parsed;
  std::string_view origin;
  const std::string& backend;
  const std::string& benchmark;
  int ranks = 0;  // 0: unknown
  double factor = 0;
  std::size_t n_per_row = 1;
};

// Rows with wrong elements, for the RESULT_WRONG check.
struct WrongTally {
  std::size_t checked_rows = 0;
  std::vector<std::string> rows;
  std::int64_t total = 0;
  std::uint64_t first_size = 0;

  void add(const ResultRow& row, bool in_place, std::size_t repeats);
};

// What the rows of one import came to: table sizes (groups of repeats), the most repeats of one
// size, and the rows with wrong elements.
struct ImportedRows {
  std::size_t sizes = 0;
  std::size_t repeats_max = 1;
  WrongTally wrong;
};

// Rows: one per (size, dtype, op, root, placement), appended to `results`. Repeated tables (-R,
// -N, or a log holding several runs of the same sweep) fold into one row whose time_s carries the
// statistics over the repeats, unless `keep_repeats` (--keep-repeats) asks for the rows as
// printed. Throws UsageError naming the line of a row whose figures cannot be read.
[[nodiscard]] ImportedRows add_result_rows(const RowContext& context, bool keep_repeats,
                                           std::vector<ResultRow>& results);

}  // namespace preflight::reports::nccl_tests_import
