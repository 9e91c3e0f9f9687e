// Small builders for synthetic reports and baselines used by the reports unit tests.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "reports/baseline.hpp"
#include "reports/report.hpp"

namespace preflight::reports::testing {

// A collective row: `time_s` median with a CI of +-`ci_fraction`, busbw = factor * size / time.
inline ResultRow collective_row(std::uint64_t size, double time_s, double ci_fraction = 0,
                                bool in_place = false, int ranks = 16,
                                std::string benchmark = "all_reduce") {
  ResultRow row;
  row.benchmark = std::move(benchmark);
  row.backend = "nccl";
  row.dtype = "float";
  row.op = "sum";
  row.in_place = in_place;
  row.size_bytes = size;
  row.count = size / 4;
  row.ranks = ranks;
  row.time_s.median = row.time_s.mean = row.time_s.min = row.time_s.max = time_s;
  row.time_s.p90 = row.time_s.p99 = time_s;
  row.time_s.ci95_lo = time_s * (1 - ci_fraction);
  row.time_s.ci95_hi = time_s * (1 + ci_fraction);
  row.time_s.n = 50;
  row.algbw_Bps = static_cast<double>(size) / time_s;
  row.busbw_factor = 2.0 * (ranks - 1) / ranks;
  row.busbw_Bps = row.algbw_Bps * row.busbw_factor;
  row.wrong_elements = 0;
  return row;
}

// A row with a given busbw (time derived from it).
inline ResultRow busbw_row(std::uint64_t size, double busbw_Bps, double ci_fraction = 0,
                           int ranks = 16) {
  const double factor = 2.0 * (ranks - 1) / ranks;
  const double time_s = static_cast<double>(size) * factor / busbw_Bps;
  ResultRow row = collective_row(size, time_s, ci_fraction, false, ranks);
  row.busbw_Bps = busbw_Bps;  // exact, not recomputed
  return row;
}

inline Report report_with(std::vector<ResultRow> rows, std::string instance_type = "p5.48xlarge",
                          int nodes = 2) {
  Report report;
  report.tool.name = "preflight-allreduce";
  report.run.id = "test";
  report.run.ranks = rows.empty() ? 1 : rows.front().ranks;
  report.run.nodes = nodes;
  report.inventory.instance_type = std::move(instance_type);
  report.results = std::move(rows);
  report.checks.push_back(pass_check("RESULT_CORRECT", "ok"));
  report.verdict = compute_verdict(report.checks, false);
  return report;
}

// A baseline for 2 x p5 all_reduce with busbw rows (10% warn, 20% fail) and an 8 B time row
// (25% / 50%, floors 20 / 40 us).
inline Baseline p5_baseline(int budget = 0) {
  Baseline b;
  b.name = "test-baseline";
  b.source = "unit test";
  b.match.instance_type = "p5.48xlarge";
  b.match.nodes = 2;
  b.match.ranks_per_node = 8;
  b.match.backend = "nccl";
  b.match.benchmark = "all_reduce";
  b.match.dtype = "float";
  b.match.op = "sum";
  b.match.placement = "out_of_place";
  b.metrics["busbw_Bps"] = {Direction::higher, {0.10, 0}, {0.20, 0}};
  b.metrics["time_s"] = {Direction::lower, {0.25, 20e-6}, {0.50, 40e-6}};
  b.sizes_allowed_to_miss = budget;
  BaselineRow latency;
  latency.size_bytes = 8;
  latency.metrics["time_s"].expected = 69.12e-6;
  b.rows.push_back(latency);
  for (const auto& [size, busbw] : {std::pair<std::uint64_t, double>{1048576, 15.95e9},
                                    {16777216, 105.52e9},
                                    {134217728, 289.16e9},
                                    {1073741824, 436.95e9}}) {
    BaselineRow row;
    row.size_bytes = size;
    row.metrics["busbw_Bps"].expected = busbw;
    b.rows.push_back(row);
  }
  return b;
}

// Rows matching p5_baseline exactly.
inline std::vector<ResultRow> p5_rows() {
  return {collective_row(8, 69.12e-6), busbw_row(1048576, 15.95e9), busbw_row(16777216, 105.52e9),
          busbw_row(134217728, 289.16e9), busbw_row(1073741824, 436.95e9)};
}

inline std::string slurp(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

inline std::filesystem::path fixtures_dir() {
  return std::filesystem::path(PREFLIGHT_FIXTURES_DIR) / "reports";
}

inline std::filesystem::path shipped_baselines_dir() {
  return std::filesystem::path(PREFLIGHT_REPO_DIR) / "reports" / "baselines";
}

inline std::filesystem::path corpus_dir() {
  return std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus";
}

// A fresh temporary directory per test, removed afterwards.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("preflight-reports-" + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace preflight::reports::testing
