// The three plans of the `preflight` umbrella. Each is a library function of immutable options
// that runs the other preflight binaries as steps and returns the suite report; main() only parses
// options and writes outputs, so tests can drive the plans directly.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/launcher.hpp"
#include "common/cli.hpp"
#include "reports/report.hpp"

namespace preflight::cli {

struct GeneralOptions {
  CommonOptions common;   // --json, --quiet, --deterministic, --warn-as-fail
  std::string html_path;  // --html
  std::string junit_path;
  std::string textfile_dir;       // --textfile-dir: preflight_<plan>.prom for node_exporter
  std::filesystem::path bin_dir;  // where the step binaries are (default: next to preflight)
  std::optional<LauncherKind> launcher;
  std::vector<std::string> launcher_args;  // verbatim, split on whitespace from --launcher-args
  std::string srun_mpi;  // srun --mpi=VALUE (resolved by main: --srun-mpi, MpiDefault=none: pmix)
  double budget_s = 0;   // whole plan; 0: the plan's default
  double step_timeout_s = 0;   // per step; 0: the plan's default
  bool keep_work_dir = false;  // keep the step reports and logs (path in details.work_dir)
  ProgressMode progress = ProgressMode::none;  // --progress resolved (tty, plain or none)
  bool report_via_stdout = false;              // launched steps print their report (`--json -`)
  std::vector<std::string> argv;               // for run.argv
  std::vector<std::string> baseline_dirs;      // baselines matched by what they match
};

struct NodeOptions {
  bool quick = false;                // probes only, <= 10 s
  int local_ranks = 2;               // ranks of the host collectives / p2p when there is no GPU
  std::string nccl_library;          // --nccl-lib: the libnccl the GPU steps test (the job's own)
  std::filesystem::path root = "/";  // where the GPUs and EFA devices are read (tests: a fixture)
};

// The arguments of the node plan's NCCL sweeps (with --nccl-lib when one is given).
[[nodiscard]] std::vector<std::string> node_nccl_sweep_args(const NodeOptions& options);

struct ClusterOptions {
  std::vector<std::string> hosts;  // resolved by main: --hosts, --hostfile, Slurm, MPI operator
  std::string hosts_source;        // where the list came from, for the report
  // libfabric provider of the pair tests; empty: "auto", each rank choosing on its own node.
  std::string provider;
  std::string p2p_test = "bw";
  std::string p2p_sizes = "1M";
  std::vector<std::string> p2p_args;  // extra preflight-p2p arguments, each one argument
  std::string rails = "auto";         // preflight-p2p --rails: auto, all, none or rail indices
  // The survey (preflight-p2p's own defaults when not given).
  std::optional<int> max_rounds;            // all pairs while nodes - 1 <= this
  std::optional<int> retest_rounds;         // confirm-before-blame budget
  std::optional<double> slow_fraction;      // slow: below (1 - this) x the reference
  std::optional<int> partners_per_suspect;  // known-good partners a suspect node is slow with
  double reach_timeout_s = 20;
  bool collective = true;
  std::string collective_sizes = "8:64M:x8";
};

// A CI plan (reports/schema/plan.schema.json), read and checked by read_ci_plan.
struct CiStep {
  std::string name;
  std::string tool;  // a preflight binary name (preflight-allreduce, ...), found in bin_dir
  std::vector<std::string> args;
  int ranks = 1;  // > 1 or hosts: launched through the launcher
  bool one_rank_per_node = false;
  bool oversubscribe = false;
  std::vector<std::string> hosts;
  double timeout_s = 120;
  std::map<std::string, std::string> env;
};

// `history.trend` of a plan: the recorded run against the previous comparable runs
// (`preflight-report history trend`), as a step after the record.
struct CiTrend {
  bool enabled = true;
  int window = 10;
  double k = 3;
  std::string min_band = "1%";
  int min_runs = 3;
};

struct CiPlan {
  std::string name;
  double budget_s = 0;
  std::vector<CiStep> steps;
  // A baseline file or a directory of baselines, matched to the steps by what they match; empty:
  // the --baseline-dir directories (the shipped baselines by default).
  std::string baseline_path;
  std::string history_db;  // recorded with `preflight-report history add` when set
  bool history_record = false;
  CiTrend trend;
  std::string json_path;  // outputs named by the plan; the command line wins
  std::string junit_path;
  std::string html_path;
  bool warn_as_fail = false;
};

// Reads the plan file at `path` ("-": stdin) and parses it with parse_ci_plan.
[[nodiscard]] CiPlan read_ci_plan(const std::filesystem::path& path);
// A plan from the text of a plan file: `path` names it in messages, gives the default name (its
// stem) and the folder relative paths in the plan are resolved against. Throws UsageError when
// the text is not a valid plan, naming the path and the JSON pointer (or line:column).
[[nodiscard]] CiPlan parse_ci_plan(std::string_view text, const std::filesystem::path& path);

[[nodiscard]] reports::Report run_node_plan(const GeneralOptions& general,
                                            const NodeOptions& options);
[[nodiscard]] reports::Report run_cluster_plan(const GeneralOptions& general,
                                               const ClusterOptions& options);
[[nodiscard]] reports::Report run_ci_plan(const GeneralOptions& general, const CiPlan& plan);

// Validates a plan document against reports/schema/plan.schema.json and the rules the schema
// cannot say (unique step names); throws UsageError naming `origin` and the pointer.
void validate_plan(const nlohmann::json& plan, const std::string& origin);

// Writes --json (atomic), --junit, --html (through the reports library's HTML renderer when it
// is built in, else skipped with a note) and prints the text summary; returns the exit code.
[[nodiscard]] int write_outputs(reports::Report& suite, const GeneralOptions& general);

// Facts about this machine the node plan decides on.
struct LocalHardware {
  int gpu_count = 0;
  std::vector<std::string> efa_devices;
};
[[nodiscard]] LocalHardware detect_local_hardware(const std::filesystem::path& root = "/");

}  // namespace preflight::cli
