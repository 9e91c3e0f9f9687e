#include "cli/suite.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/error.hpp"
#include "common/text.hpp"
#include "reports/compare.hpp"
#include "reports/format.hpp"
#include "reports/history_format.hpp"
#include "reports/json_schema.hpp"
#include "reports/render_text.hpp"
#include "reports/report_io.hpp"

namespace preflight::cli {
namespace {

std::string read_tail(const std::filesystem::path& path, std::size_t max_bytes,
                      std::size_t max_lines) {
  std::ifstream input(path, std::ios::binary);
  if (!input) {
    return {};
  }
  input.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(0, input.tellg()));
  // The step's progress lines say nothing about why it broke: read far enough back to find
  // max_bytes of everything else.
  const std::size_t read_bytes = std::max<std::size_t>(max_bytes, std::size_t{1} << 20U);
  const std::size_t start = size > read_bytes ? size - read_bytes : 0;
  input.seekg(static_cast<std::streamoff>(start));
  std::string text = without_progress_lines(
      std::string((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>()));
  if (text.size() > max_bytes) {
    text.erase(0, text.size() - max_bytes);
  }
  auto lines = split_lines(text);
  while (!lines.empty() && trim(lines.back()).empty()) {
    lines.pop_back();
  }
  const std::size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::vector<std::string> kept(lines.begin() + static_cast<std::ptrdiff_t>(first), lines.end());
  return join(kept, "\n");
}

// A launcher may print its own lines around the rank's JSON on stdout: take the text from the
// first line that opens an object.
nlohmann::json parse_report_text(const std::string& text, const std::string& origin) {
  try {
    return reports::parse_json_text(text, origin);
  } catch (const UsageError&) {
    const auto start = text.find("\n{");
    if (start == std::string::npos) {
      throw;
    }
    return reports::parse_json_text(std::string_view(text).substr(start + 1), origin);
  }
}

void load_report(StepOutcome& outcome) {
  const auto& path = outcome.spec.report_path;
  if (path.empty()) {
    return;
  }
  std::error_code error;
  if (!std::filesystem::exists(path, error) || std::filesystem::file_size(path, error) == 0) {
    outcome.report_error = "the step wrote no report";
    return;
  }
  try {
    if (outcome.spec.report_on_stdout) {
      std::ifstream input(path, std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(input)),
                             std::istreambuf_iterator<char>());
      outcome.report_json = parse_report_text(text, path.string());
    } else {
      outcome.report_json = reports::read_json_file(path);
    }
    const auto errors = reports::report_schema().validate(outcome.report_json, 5);
    if (!errors.empty()) {
      outcome.report_error = fmt::format("report does not match preflight.report/1: {}: {}",
                                         errors.front().pointer, errors.front().message);
      return;
    }
    outcome.report = outcome.report_json.get<reports::Report>();
  } catch (const std::exception& e) {
    outcome.report_error = e.what();
  }
}

// The verdict summary of a step's report, of its own checks only when it judges earlier steps.
std::string own_summary(const StepOutcome& outcome) {
  const auto& own = outcome.spec.own_check_ids;
  if (own.empty()) {
    return outcome.report->verdict.summary;
  }
  std::vector<reports::Check> checks;
  for (const auto& check : outcome.report->checks) {
    if (std::find(own.begin(), own.end(), check.id) != own.end()) {
      checks.push_back(check);
    }
  }
  return reports::compute_verdict(checks, false).summary;
}

std::string baseline_and_trend_text(const reports::Report& suite) {
  std::ostringstream text;
  if (const auto baseline = reports::suite_baseline(suite)) {
    for (const auto& use : baseline->comparisons) {
      text << fmt::format("baseline: step {} against {} ({}): {}\n", use.step, use.baseline,
                          use.path, use.summary);
      for (const auto& row : use.failed_rows) {
        text << "  " << row << "\n";
      }
    }
    if (baseline->comparisons.empty()) {
      text << "baseline: none: " << baseline->reason << "\n";
    }
  }
  if (suite.details.contains("trend")) {
    const auto& trend = suite.details.at("trend");
    text << "trend: " << trend.value("summary", std::string()) << "\n";
    for (const auto& line : reports::regressed_trend_rows(trend)) {
      text << "  regression: " << line << "\n";
    }
  }
  return text.str();
}

}  // namespace

Status status_for_exit_code(int exit_code) {
  switch (exit_code) {
    case exit_code::pass:
      return Status::pass;
    case exit_code::fail:
      return Status::fail;
    case exit_code::skip:
      return Status::skip;
    case exit_code::timeout:
      return Status::timeout;
    default:
      // usage (2) from a step means the plan built a bad command line: the harness broke.
      return Status::error;
  }
}

WorkDirectory::WorkDirectory(bool keep) : keep_(keep) {
  std::string pattern = (std::filesystem::temp_directory_path() / "preflight.XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    check_errno(-1, "mkdtemp", pattern);
  }
  path_ = pattern;
}

WorkDirectory::~WorkDirectory() {
  if (!keep_) {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
}

StepRunner::StepRunner(std::filesystem::path work_dir, double budget_s, ProgressMode progress,
                       double heartbeat_s)
    : work_dir_(std::move(work_dir)),
      budget_s_(budget_s),
      progress_(progress),
      heartbeat_s_(heartbeat_s) {}

namespace {

// While a step runs: its progress lines (from its stderr file, as it writes them) relayed under
// the step's prefix, and a heartbeat after heartbeat_s without a line, so a long step is never
// silent in a log. On a terminal the relayed line is rewritten in place and erased at the end.
class StepProgressRelay {
 public:
  StepProgressRelay(ProgressMode mode, std::string prefix, std::filesystem::path stderr_path,
                    double timeout_s, double heartbeat_s)
      : mode_(mode),
        prefix_(std::move(prefix)),
        stderr_path_(std::move(stderr_path)),
        timeout_s_(timeout_s),
        heartbeat_s_(heartbeat_s) {}
  StepProgressRelay(const StepProgressRelay&) = delete;
  StepProgressRelay& operator=(const StepProgressRelay&) = delete;
  StepProgressRelay(StepProgressRelay&&) = delete;
  StepProgressRelay& operator=(StepProgressRelay&&) = delete;
  ~StepProgressRelay() { erase_tty_line(); }

  void tick() {
    std::optional<std::string> latest;
    for (const std::string& line : new_lines()) {
      if (const auto text = progress_text(line)) {
        latest = std::string(*text);
        if (mode_ == ProgressMode::plain) {
          print_line(fmt::format("{}: {}\n", prefix_, *text));
        }
      }
    }
    if (latest && mode_ == ProgressMode::tty) {
      last_text_ = *latest;
      print_line(fmt::format("\r\033[K{}: {}", prefix_, *latest));
      tty_line_ = true;
    }
    if (since_line_.elapsed_s() >= heartbeat_s_) {
      const std::string heartbeat = fmt::format("{}: still running, {:.0f} s of {:.0f} s", prefix_,
                                                clock_.elapsed_s(), timeout_s_);
      if (mode_ == ProgressMode::tty) {
        print_line(fmt::format("\r\033[K{}{}", heartbeat,
                               last_text_.empty() ? "" : " (" + last_text_ + ")"));
        tty_line_ = true;
      } else {
        print_line(heartbeat + "\n");
      }
    }
  }

  void erase_tty_line() {
    if (tty_line_) {
      std::fputs("\r\033[K", stderr);
      std::fflush(stderr);
      tty_line_ = false;
    }
  }

 private:
  void print_line(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    since_line_.restart();
  }

  // Whole lines written to the step's stderr since the last call.
  std::vector<std::string> new_lines() {
    std::vector<std::string> lines;
    std::ifstream input(stderr_path_, std::ios::binary);
    if (!input) {
      return lines;
    }
    input.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
    const std::size_t end = chunk.rfind('\n');
    if (end == std::string::npos) {
      return lines;
    }
    offset_ += end + 1;
    for (const auto line : split(std::string_view(chunk).substr(0, end), '\n')) {
      lines.emplace_back(line);
    }
    return lines;
  }

  ProgressMode mode_;
  std::string prefix_;
  std::filesystem::path stderr_path_;
  double timeout_s_;
  double heartbeat_s_;
  std::size_t offset_ = 0;
  Stopwatch clock_;
  Stopwatch since_line_;
  std::string last_text_;
  bool tty_line_ = false;
};

}  // namespace

double StepRunner::remaining_s() const {
  return budget_s_ > 0 ? budget_s_ - clock_.elapsed_s() : 1e9;
}

StepOutcome StepRunner::run(StepSpec spec, std::size_t index, std::size_t total) {
  StepOutcome outcome;
  outcome.spec = std::move(spec);
  const auto prefix = fmt::format("[{}/{}] {}", index + 1, total, outcome.spec.name);
  if (interrupted_) {
    outcome.spec.skip_reason = "the run was interrupted by a signal";
  } else if (outcome.spec.skip_reason.empty() && remaining_s() < 0.5) {
    outcome.spec.skip_reason = fmt::format("the plan's budget of {:.0f} s is spent", budget_s_);
  }
  if (!outcome.spec.skip_reason.empty()) {
    outcome.note = outcome.spec.skip_reason;
    if (progress_ != ProgressMode::none) {
      std::cerr << fmt::format("{}: skip ({})\n", prefix, outcome.note);
    }
    return outcome;
  }
  // A timed-out step gets a grace period after SIGTERM: keep it inside the plan's budget too.
  const ProcessOptions defaults;
  const double timeout_s =
      std::min(outcome.spec.timeout_s, std::max(0.5, remaining_s() - defaults.kill_grace_s));
  outcome.spec.timeout_s = timeout_s;
  if (progress_ != ProgressMode::none) {
    std::cerr << fmt::format("{}: running (timeout {:.0f} s, elapsed {:.1f} s)\n", prefix,
                             timeout_s, clock_.elapsed_s());
  }
  const auto stem = work_dir_ / outcome.spec.name;
  ProcessOptions options;
  options.stderr_path = stem.string() + ".stderr";
  const std::filesystem::path stdout_path = outcome.spec.report_on_stdout
                                                ? outcome.spec.report_path
                                                : std::filesystem::path(stem.string() + ".stdout");
  ChildProcess child =
      ChildProcess::start(outcome.spec.argv, outcome.spec.env, stdout_path, options);
  ProcessResult result;
  if (progress_ == ProgressMode::none) {
    result = child.wait(timeout_s);
  } else {
    StepProgressRelay relay(progress_, prefix, options.stderr_path, timeout_s, heartbeat_s_);
    result = child.wait(
        timeout_s, [&relay] { relay.tick(); }, 0.25);
    relay.tick();  // the lines written last
  }
  outcome.duration_s = result.duration_s;
  outcome.timed_out = result.timed_out;
  if (!result.started) {
    outcome.status = Status::error;
    outcome.exit_code = exit_code::error;
    outcome.note = "could not start: " + result.start_error;
  } else if (result.timed_out || result.interrupted) {
    outcome.status = Status::timeout;
    outcome.exit_code = exit_code::timeout;
    outcome.note = result.interrupted ? "interrupted by a signal; the step's group was killed"
                                      : fmt::format("killed after {:.0f} s", timeout_s);
    interrupted_ = interrupted_ || result.interrupted;
  } else {
    outcome.exit_code = result.exit_code;
    outcome.status = status_for_exit_code(result.exit_code);
    if (result.signaled) {
      outcome.note = fmt::format("killed by signal {}", result.signal_number);
    }
  }
  load_report(outcome);
  if (outcome.report && !outcome.spec.launcher.empty() && !result.timed_out &&
      !result.interrupted && !result.signaled && !outcome.report->run.finished_at.empty() &&
      outcome.exit_code != outcome.report->verdict.exit_code &&
      open_mpi_exit_race(read_tail(options.stderr_path, 16384, 80))) {
    // Open MPI 4.x's exit race: after the job finished (its report complete, with a verdict),
    // mpirun said a rank "with PID 0" exited improperly, having lost track of it, and exited
    // non-zero. The report's verdict stands; the note keeps what the launcher said.
    outcome.note = fmt::format(
        "{} exited {} after the report was complete, saying a rank 'with PID 0' exited "
        "improperly (Open MPI 4.x losing track of a finished rank); the report's verdict stands",
        outcome.spec.launcher, outcome.exit_code);
    outcome.exit_code = outcome.report->verdict.exit_code;
    outcome.status = status_for_exit_code(outcome.exit_code);
  }
  const bool no_report = !outcome.spec.report_path.empty() && !outcome.report;
  if (outcome.status == Status::pass && no_report) {
    // Exit 0 without a readable report is not a pass: nothing says what was checked.
    outcome.status = Status::error;
    outcome.note = "exit 0 but " + outcome.report_error;
  } else if (outcome.status == Status::fail && no_report) {
    // Exit 1 without a report names no failed check: the launch or the tool broke (mpirun's
    // "not enough slots", srun's "Unable to allocate resources").
    outcome.status = Status::error;
  }
  if (outcome.status != Status::pass) {
    outcome.stderr_tail = read_tail(options.stderr_path, 4096, 12);
  }
  if (outcome.status == Status::error) {
    outcome.cause = cause_from_stderr(read_tail(options.stderr_path, 16384, 80));
  }
  if (outcome.status == Status::error && no_report && outcome.note.empty()) {
    const std::string& cause = outcome.cause;
    outcome.note = outcome.spec.launcher.empty()
                       ? fmt::format("exit {} without a report{}", outcome.exit_code,
                                     cause.empty() ? "" : ": " + cause)
                       : fmt::format("launch failed ({} exit {}){}", outcome.spec.launcher,
                                     outcome.exit_code, cause.empty() ? "" : ": " + cause);
  }
  if (progress_ != ProgressMode::none) {
    std::cerr << fmt::format("{}: {} (exit {}) in {:.1f} s, elapsed {:.1f} s\n", prefix,
                             to_string(outcome.status), outcome.exit_code, outcome.duration_s,
                             clock_.elapsed_s());
  }
  return outcome;
}

reports::SuiteStep suite_step(const StepOutcome& outcome) {
  reports::SuiteStep step;
  step.name = outcome.spec.name;
  step.argv = outcome.spec.argv;
  step.exit_code = outcome.exit_code;
  step.status = outcome.status;
  step.duration_s = outcome.duration_s;
  step.timeout_s = outcome.spec.timeout_s;
  step.timed_out = outcome.timed_out;
  step.report = outcome.report_json;
  step.env = outcome.spec.env;
  step.superseded_by = outcome.superseded_by;
  step.own_check_ids = outcome.spec.own_check_ids;
  if (!outcome.spec.own_check_ids.empty() && outcome.report) {
    step.own_summary = own_summary(outcome);
  }
  step.note = outcome.note;
  step.report_error = outcome.report_error;
  step.stderr_tail = outcome.stderr_tail;
  return step;
}

void add_steps_to_suite(reports::Report& suite, const std::vector<StepOutcome>& outcomes) {
  auto& steps = suite.details["steps"];
  steps = nlohmann::json::array();
  bool have_inventory = false;
  for (const auto& outcome : outcomes) {
    steps.push_back(suite_step(outcome));
    const auto& name = outcome.spec.name;
    const bool superseded = !outcome.superseded_by.empty();
    // A superseded step's failures stay visible, as warnings naming what superseded them.
    const auto demoted = [&](Status status) {
      return superseded && (status == Status::fail || status == Status::error ||
                            status == Status::timeout)
                 ? Status::warn
                 : status;
    };
    const auto& own_ids = outcome.spec.own_check_ids;
    const bool judge = !own_ids.empty();
    if (outcome.report) {
      for (auto check : outcome.report->checks) {
        if (judge && std::find(own_ids.begin(), own_ids.end(), check.id) == own_ids.end()) {
          continue;  // a check of an earlier step, repeated in the judge's report
        }
        if (!check.evidence.is_object()) {
          check.evidence = nlohmann::json::object();
        }
        check.evidence["step"] = name;
        if (demoted(check.status) != check.status) {
          check.evidence["status_before_superseded"] = to_string(check.status);
          check.evidence["superseded_by"] = outcome.superseded_by;
          check.status = Status::warn;
          check.message += fmt::format(" (superseded: {})", outcome.superseded_by);
        }
        suite.checks.push_back(std::move(check));
      }
      for (auto row : outcome.report->results) {
        if (judge) {
          break;
        }
        row.labels["step"] = name;
        suite.results.push_back(std::move(row));
      }
      for (const auto& [device, counters] : outcome.report->hw_counters_delta) {
        for (const auto& [counter, value] : counters) {
          suite.hw_counters_delta[device][counter] += value;
        }
      }
      const auto& inventory = outcome.report->inventory;
      for (const auto& [key, value] : inventory.versions) {
        suite.inventory.versions.emplace(key, value);
      }
      if (!have_inventory && !judge &&
          (!inventory.instance_type.empty() || !inventory.gpus.empty() || !inventory.efa.empty())) {
        suite.inventory.instance_type = inventory.instance_type;
        suite.inventory.gpus = inventory.gpus;
        suite.inventory.efa = inventory.efa;
        have_inventory = true;
      }
    }
    std::string detail = !outcome.note.empty()           ? outcome.note
                         : !outcome.report_error.empty() ? outcome.report_error
                         : outcome.report                ? own_summary(outcome)
                                                         : std::string("no report");
    nlohmann::json evidence = {{"step", name}, {"exit_code", outcome.exit_code}};
    if (superseded) {
      detail += fmt::format(" (superseded: {})", outcome.superseded_by);
      evidence["superseded_by"] = outcome.superseded_by;
    }
    const auto step_check = [&](std::string_view id, Status status, std::string message) {
      suite.checks.push_back(
          reports::judged_check(std::string(id), demoted(status), std::move(message), evidence));
    };
    switch (outcome.status) {
      case Status::pass:
      case Status::warn:
      case Status::usage:
        break;
      case Status::skip:
        suite.checks.push_back(reports::skip_check(
            "STEP_SKIPPED", fmt::format("step {} skipped: {}", name, detail), evidence));
        break;
      case Status::fail:
        step_check("STEP_FAILED", Status::fail,
                   finding_message("STEP_FAILED", name, outcome.exit_code, detail));
        break;
      case Status::error: {
        // The note already carries the cause when the step wrote no report.
        const std::string& cause = outcome.cause;
        step_check("STEP_ERROR", Status::error,
                   finding_message("STEP_ERROR", name, outcome.exit_code,
                                   cause.empty() || detail.find(cause) != std::string::npos
                                       ? detail
                                       : fmt::format("{}; stderr: {}", detail, cause)));
        break;
      }
      case Status::timeout:
        step_check("STEP_TIMEOUT", Status::timeout,
                   finding_message("STEP_TIMEOUT", name,
                                   fmt::format("{:.0f}", outcome.spec.timeout_s), detail));
        break;
    }
  }
}

bool open_mpi_exit_race(const std::string& stderr_text) {
  return stderr_text.find("with PID 0 on") != std::string::npos &&
         stderr_text.find("exiting improperly") != std::string::npos;
}

std::string cause_from_stderr(const std::string& stderr_text) {
  constexpr std::size_t kMaxCause = 400;
  const auto lines = split_lines(stderr_text);
  const auto is_rule = [](std::string_view line) {
    const std::string_view text = trim(line);
    return text.size() >= 3 && text.find_first_not_of("-=*_") == std::string_view::npos;
  };
  std::string cause;
  for (const auto& line : lines) {
    const std::string lowered = to_lower(line);
    if (lowered.find("error") != std::string::npos && !is_rule(line)) {
      cause = std::string(trim(line));
      break;
    }
  }
  if (cause.empty()) {
    // Open MPI prints its launch failures between rules of dashes: the first paragraphs say
    // what went wrong and what to do.
    constexpr int kParagraphs = 3;
    std::vector<std::string> words;
    int paragraphs = 0;
    bool in_paragraph = false;
    for (const auto& line : lines) {
      if (is_rule(line)) {
        if (!words.empty()) {
          break;
        }
        continue;
      }
      const std::string_view text = trim(line);
      if (text.empty()) {
        in_paragraph = false;
        continue;
      }
      if (!in_paragraph && ++paragraphs > kParagraphs) {
        break;
      }
      in_paragraph = true;
      words.emplace_back(text);
    }
    cause = join(words, " ");
  }
  if (cause.size() > kMaxCause) {
    cause = cause.substr(0, kMaxCause - 3) + "...";
  }
  return cause;
}

void add_baseline_comparisons(reports::Report& suite, const std::vector<StepOutcome>& outcomes,
                              const reports::BaselineLibrary& library, bool named) {
  reports::SuiteBaseline baseline;
  baseline.searched = library.searched;
  baseline.problems = library.problems;
  std::vector<std::string>& unmatched = baseline.not_compared;
  bool instance_type_known = false;
  auto& steps = suite.details["steps"];
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& outcome = outcomes[i];
    if (!outcome.report || outcome.report->results.empty() ||
        !outcome.spec.compare_with_baselines || !outcome.spec.own_check_ids.empty()) {
      continue;
    }
    const auto& name = outcome.spec.name;
    const auto matching = reports::compare_with_matching_baselines(*outcome.report, library,
                                                                   fmt::format("step {}", name));
    for (const auto& reason : matching.unmatched) {
      unmatched.push_back(fmt::format("{}: {}", name, reason));
    }
    for (const auto& key : matching.unmatched_keys) {
      instance_type_known = instance_type_known || !key.instance_type.empty();
    }
    for (const auto& use : matching.compared) {
      auto check = reports::comparison_check(use.comparison);
      check.evidence["step"] = name;
      check.evidence["baseline_path"] = use.path.string();
      suite.checks.push_back(std::move(check));
      if (i < steps.size()) {
        steps[i]["comparison"] = use.comparison;
      }
      std::vector<std::string> failed_rows;
      for (const auto& row : use.comparison.rows) {
        if ((row.verdict == reports::RowVerdict::fail && !row.within_budget) ||
            row.verdict == reports::RowVerdict::missing) {
          failed_rows.push_back(fmt::format("{} B: {}: {}", row.size_bytes,
                                            reports::to_string(row.verdict), row.reason));
        }
      }
      baseline.comparisons.push_back({name, use.comparison.reference, use.path.string(),
                                      std::string(to_string(use.comparison.status)),
                                      use.comparison.summary, std::move(failed_rows)});
    }
  }
  if (baseline.comparisons.empty()) {
    const std::string where = library.searched.empty() ? std::string("no baseline directory")
                                                       : join(library.searched, ", ");
    baseline.reason =
        library.files.empty() ? fmt::format("no baseline found in {}", where)
        : unmatched.empty()   ? std::string("no step measured anything a baseline could match")
        : !instance_type_known
            ? std::string(
                  "the instance type is unknown (not an EC2 instance, or "
                  "PREFLIGHT_INSTANCE_TYPE unset): no platform baseline applies")
            : fmt::format("no baseline in {} matches: {}", where, join(unmatched, "; "));
    if (named) {
      suite.checks.push_back(
          reports::judged_check("HARNESS_ERROR", Status::error,
                                fmt::format("the plan's baseline {} was compared with no step: {}",
                                            where, baseline.reason),
                                {{"baseline", library.searched}, {"problems", library.problems}}));
    }
  }
  suite.details["baseline"] = baseline;
}

std::filesystem::path find_tool(const std::filesystem::path& bin_dir, const std::string& name) {
  const auto candidate = bin_dir / name;
  return ::access(candidate.c_str(), X_OK) == 0 ? candidate : std::filesystem::path();
}

std::filesystem::path own_bin_dir() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::current_path() : self.parent_path();
}

std::string render_suite_text(const reports::Report& suite) {
  std::ostringstream text;
  const auto steps = reports::suite_steps(suite);
  text << fmt::format("preflight {}: {} step(s)\n", reports::suite_plan(suite), steps.size());
  for (const auto& step : steps) {
    text << fmt::format("  {:<8} {:<28} exit {:>3} {:>7.2f} s  {}\n",
                        step.status ? to_upper(to_string(*step.status)) : std::string("?"),
                        step.name, step.exit_code, step.duration_s, step.summary());
  }
  if (suite.details.contains("cluster")) {
    // The cluster plan's one summary of its verdict (cli/cluster_verdict.hpp).
    text << "cluster: " << suite.details.at("cluster").value("summary", std::string("no verdict"))
         << "\n";
  }
  text << baseline_and_trend_text(suite);
  text << render_checks_text(suite);
  return text.str();
}

}  // namespace preflight::cli
