// Regression history: every report recorded in an embedded SQLite database, listed, shown, and
// trended. `trend` flags a regression when a metric leaves the band of the previous N comparable
// runs: median +- max(k * MAD, min_band * median), direction-aware, and names what changed in the
// stack between the last run inside the band and the first one outside it.
//
// Safety: the database file is created 0600 without following a symlink planted at its path;
// WAL journaling, a busy timeout and BEGIN IMMEDIATE transactions let concurrent writers
// (a Slurm prolog on many nodes sharing a home directory) add runs without losing any.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "reports/report.hpp"

struct sqlite3;

namespace preflight::reports {

// $XDG_DATA_HOME/preflight/history.db when XDG_DATA_HOME is an absolute path, else
// ~/.local/share/preflight/history.db.
[[nodiscard]] std::filesystem::path default_history_path();

struct HistoryRun {
  std::int64_t id = 0;
  std::string added_at;
  std::string started_at;
  std::string tool;
  std::string run_id;
  std::string instance_type;
  int nodes = 0;
  int ranks = 0;
  std::string verdict;
  std::string summary;
  std::string source;
  std::int64_t results = 0;
};

struct HistoryFilter {
  std::string benchmark;
  std::string instance_type;
  std::string tool;
  int limit = 20;
};

struct TrendOptions {
  std::int64_t run = 0;    // 0: the latest run
  int window = 10;         // N previous comparable runs
  double k = 3;            // band half-width in MADs
  double min_band = 0.01;  // relative floor of the half-width (MAD is 0 for identical runs)
  int min_runs = 3;        // fewer previous runs: "insufficient", not a verdict
  std::string benchmark;
  std::string metric = "auto";  // auto: time_s up to 64 KiB, busbw (else algbw) above
};

struct TrendRow {
  std::string series;
  std::uint64_t size_bytes = 0;
  std::string metric;
  double value = 0;
  double median = 0;
  double mad = 0;
  double lo = 0;
  double hi = 0;
  int previous_runs = 0;
  std::string verdict;  // pass | regression | improved | insufficient
  // A regression: the last run inside the band before the row left it, the first run outside it
  // (this run, or the start of a streak of runs all outside it), and what differs between their
  // reports: versions (NCCL, aws-ofi-nccl, libfabric, EFA installer, drivers, ...), FI_* and
  // NCCL_* (and RDMAV_*, OMPI_MCA_*, CUDA_*) environment, the hosts. last_in_band_run 0: no run
  // of the window was inside the band.
  std::int64_t last_in_band_run = 0;
  std::int64_t first_out_of_band_run = 0;
  std::vector<std::string> changes;
};

// What differs between two runs' reports, most likely culprits first: versions ("nccl 2.18.5 ->
// 2.21.5"), then the environment that steers NCCL and libfabric ("env NCCL_PROTO (unset) ->
// simple"), then the host set. Empty when nothing recorded differs.
[[nodiscard]] std::vector<std::string> describe_changes(const Report& before, const Report& after);

struct Trend {
  std::int64_t run = 0;
  std::string run_started_at;
  TrendOptions options;
  std::vector<TrendRow> rows;
  Status status = Status::skip;
  std::string summary;
};
void to_json(nlohmann::json& j, const Trend& trend);
// One line per pair of runs that regressed rows left the band between, naming what changed.
[[nodiscard]] std::vector<std::string> change_points(const Trend& trend);

class HistoryStore {
 public:
  // Opens (and with `create`, creates) the database. Throws UsageError when the path is a
  // symlink, not a regular file, or (without `create`) does not exist; preflight::Error when
  // SQLite fails.
  static HistoryStore open(const std::filesystem::path& path, bool create);
  ~HistoryStore();
  HistoryStore(HistoryStore&&) noexcept;
  HistoryStore& operator=(HistoryStore&&) noexcept;
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  struct Added {
    std::int64_t id = 0;
    bool duplicate = false;  // the same report (byte-identical JSON) was already recorded
    std::size_t results = 0;
  };
  // Records a report in one transaction.
  Added add(const Report& report, std::string_view source);

  [[nodiscard]] std::vector<HistoryRun> list(const HistoryFilter& filter) const;
  // The stored report; throws UsageError when there is no run `id`.
  [[nodiscard]] Report show(std::int64_t id) const;
  [[nodiscard]] Trend trend(const TrendOptions& options) const;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  struct Handle;
  HistoryStore(std::filesystem::path path, std::unique_ptr<Handle> handle);
  std::filesystem::path path_;
  std::unique_ptr<Handle> handle_;
};

}  // namespace preflight::reports
