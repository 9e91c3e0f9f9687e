// The machinery every plan shares: run steps (other preflight binaries) one after another, each
// with a timeout and its own report file, then fold them into one suite report
// (preflight.report/1, tool "preflight") whose details.steps[] keeps every step's report, even a
// failed one's.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/progress.hpp"
#include "common/spawn.hpp"
#include "common/status.hpp"
#include "common/timer.hpp"
#include "reports/baseline_match.hpp"
#include "reports/report.hpp"
#include "reports/suite_details.hpp"

namespace preflight::cli {

struct StepSpec {
  std::string name;
  std::vector<std::string> argv;  // launcher prefix included; argv[0] resolved
  EnvironmentOverrides env;
  double timeout_s = 60;
  // Where the step writes its JSON report; empty when it writes none.
  std::filesystem::path report_path;
  // The report is the step's stdout (`--json -`), e.g. when rank 0 runs on another machine.
  bool report_on_stdout = false;
  // Non-empty: the step is not run and is recorded as skip with this reason.
  std::string skip_reason;
  // The launcher (mpirun, srun) when the step is launched through one: a launch that fails
  // before any rank writes a report is `error`, with the launcher's message.
  std::string launcher;
  // False: the step's rows are not compared with the platform's baselines (a run that changes
  // what the baseline measured, such as NCCL with P2P and SHM disabled).
  bool compare_with_baselines = true;
  // Non-empty: the step judges the steps before it (history trend) and its report repeats their
  // checks and rows; only its checks with these ids enter the suite, none of its rows.
  std::vector<std::string> own_check_ids;
};

struct StepOutcome {
  StepSpec spec;
  Status status = Status::skip;
  int exit_code = exit_code::skip;
  bool timed_out = false;
  double duration_s = 0;
  std::optional<reports::Report> report;  // the step's report when it is valid
  nlohmann::json report_json;             // the step's report as read (null: none)
  std::string report_error;               // why there is no report (missing, invalid)
  std::string stderr_tail;                // last lines of the step's stderr when it did not pass
  std::string cause;  // the launcher's or tool's message in stderr when the step broke
  std::string note;   // skip reason or start error
  // Non-empty: the step broke for a cause the plan then found and worked around (a node lost
  // mid-step, whose pairs were measured again without it). Its failing checks enter the suite as
  // warnings that say so; the cause itself is the plan's own finding.
  std::string superseded_by;
};

// The status of a step from its exit code (the common table); other codes (signals, 127) are
// `error`.
[[nodiscard]] Status status_for_exit_code(int exit_code);

// A private directory for step reports and logs, removed on destruction unless kept.
class WorkDirectory {
 public:
  explicit WorkDirectory(bool keep);
  WorkDirectory(const WorkDirectory&) = delete;
  WorkDirectory& operator=(const WorkDirectory&) = delete;
  WorkDirectory(WorkDirectory&&) = delete;
  WorkDirectory& operator=(WorkDirectory&&) = delete;
  ~WorkDirectory();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_;
};

class StepRunner {
 public:
  // budget_s <= 0: no overall budget. `progress` (resolved: tty, plain or none) shapes what goes
  // to stderr: a line when a step starts and ends, the step's own progress lines relayed while
  // it runs (in place on a terminal), and a heartbeat after `heartbeat_s` without a line.
  StepRunner(std::filesystem::path work_dir, double budget_s, ProgressMode progress,
             double heartbeat_s = 10);

  // Runs (or skips) one step; its timeout is cut to what is left of the budget.
  StepOutcome run(StepSpec spec, std::size_t index, std::size_t total);
  [[nodiscard]] double elapsed_s() const { return clock_.elapsed_s(); }
  [[nodiscard]] double remaining_s() const;
  // A SIGINT/SIGTERM/SIGHUP arrived during a step: the plan should stop and report.
  [[nodiscard]] bool interrupted() const { return interrupted_; }
  [[nodiscard]] const std::filesystem::path& work_dir() const { return work_dir_; }

 private:
  std::filesystem::path work_dir_;
  double budget_s_;
  ProgressMode progress_;
  double heartbeat_s_;
  Stopwatch clock_;
  bool interrupted_ = false;
};

// One step as details.steps[i] keeps it (reports/suite_details.hpp).
[[nodiscard]] reports::SuiteStep suite_step(const StepOutcome& outcome);

// Adds the steps to `suite`: details.steps, the union of the steps' checks (evidence.step names
// the step) and results (labels.step), a STEP_* check per step that did not pass, and the
// inventory of the first step that has one.
void add_steps_to_suite(reports::Report& suite, const std::vector<StepOutcome>& outcomes);

// Compares every step's report (unless the step opts out) with the baselines of `library` that
// match it (reports/baseline_match.hpp) and adds to `suite`: one BASELINE_* check per comparison
// (evidence: step, baseline path), details.steps[i].comparison, and details.baseline: status
// `compared` with the comparisons, or `none` with the reason. A baseline the plan named
// explicitly (`named`) that matches no step is an error of the plan (HARNESS_ERROR), never a
// silent pass.
void add_baseline_comparisons(reports::Report& suite, const std::vector<StepOutcome>& outcomes,
                              const reports::BaselineLibrary& library, bool named = false);

// The launcher's or the tool's own message in a step's stderr: the first line that says
// "error", else the first paragraph (Open MPI's banners), on one line.
[[nodiscard]] std::string cause_from_stderr(const std::string& stderr_text);
// Whether a launcher's stderr shows Open MPI 4.x's exit race: "process rank N with PID 0 on node
// ... exiting improperly" for a rank that had finished (the launcher lost track of it).
[[nodiscard]] bool open_mpi_exit_race(const std::string& stderr_text);

// A step's binary: `bin_dir`/name when executable there, else empty.
[[nodiscard]] std::filesystem::path find_tool(const std::filesystem::path& bin_dir,
                                              const std::string& name);
// The directory this executable lives in (build/bin or the install's bin).
[[nodiscard]] std::filesystem::path own_bin_dir();

// Text for people: one line per step, the baseline comparisons and the trend, then the checks
// and the verdict.
[[nodiscard]] std::string render_suite_text(const reports::Report& suite);

}  // namespace preflight::cli
