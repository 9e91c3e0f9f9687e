// Finding the baselines that apply to a run by what they match (instance type, node count,
// benchmark, backend; `match` in preflight.baseline/1), not by file name, and comparing the run
// with each. The plans (node, ci, cluster) compare every step's report this way; a baseline
// directory may hold baselines of many platforms, shapes and benchmarks side by side.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "reports/baseline.hpp"
#include "reports/compare.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

struct BaselineFile {
  std::filesystem::path path;
  Baseline baseline;
};

// The baselines under a set of paths, in search order.
struct BaselineLibrary {
  std::vector<BaselineFile> files;
  std::vector<std::string> searched;  // the paths, as given
  std::vector<std::string> problems;  // files that are not valid baselines, with the reason
};

// Reads every `*.json` of each directory (sorted by name) and each file named directly. A file
// that is not a valid baseline is named in `problems` and skipped (a stray report in a baseline
// directory must not stop the others); a missing path is skipped too, when `missing_is_error` is
// false, else it is a problem as well.
[[nodiscard]] BaselineLibrary load_baselines(const std::vector<std::filesystem::path>& paths,
                                             bool missing_is_error = false);

// What one kind of rows of a report is, for matching: its run's instance type and node count,
// and the rows' benchmark and backend.
struct RunKey {
  std::string instance_type;
  int nodes = 0;
  std::string benchmark;
  std::string backend;
  [[nodiscard]] std::string describe() const;  // "all_reduce/nccl on 1x p5.48xlarge"
};

// One key per distinct (benchmark, backend) among the report's rows, in order of appearance.
[[nodiscard]] std::vector<RunKey> run_keys(const Report& report);

// Whether `match` applies to `key`: every field it sets (instance type, nodes, benchmark,
// backend) equals the key's; an instance type or node count the report does not state never
// matches one the baseline sets (a baseline is not applied on a guess).
[[nodiscard]] bool baseline_matches(const BaselineMatch& match, const RunKey& key);

// One baseline applied to a report.
struct BaselineUse {
  std::filesystem::path path;
  Comparison comparison;
};

struct BaselineMatching {
  std::vector<BaselineUse> compared;  // at most one per key: the first in search order that fits
  // Why a key got no comparison: no baseline matched it, or the ones that matched were not
  // comparable (another rank count, dtype, ...), each named.
  std::vector<std::string> unmatched;
  std::vector<RunKey> unmatched_keys;  // the keys of `unmatched`, in the same order
};

// Compares `report` with the first baseline of `library` that matches each of its keys and is
// comparable with it (compare_to_baseline does not refuse it).
[[nodiscard]] BaselineMatching compare_with_matching_baselines(const Report& report,
                                                               const BaselineLibrary& library,
                                                               std::string_view origin);

}  // namespace preflight::reports
