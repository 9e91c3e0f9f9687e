#include "cli/suite.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/error.hpp"
#include "common/text.hpp"
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
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  input.seekg(static_cast<std::streamoff>(start));
  std::string text((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());
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

std::string xml_escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          escaped += '?';
        } else {
          escaped += c;
        }
    }
  }
  return escaped;
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

StepRunner::StepRunner(std::filesystem::path work_dir, double budget_s, bool show_progress)
    : work_dir_(std::move(work_dir)), budget_s_(budget_s), show_progress_(show_progress) {}

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
    if (show_progress_) {
      std::cerr << fmt::format("{}: skip ({})\n", prefix, outcome.note);
    }
    return outcome;
  }
  // A timed-out step gets a grace period after SIGTERM: keep it inside the plan's budget too.
  const ProcessOptions defaults;
  const double timeout_s =
      std::min(outcome.spec.timeout_s, std::max(0.5, remaining_s() - defaults.kill_grace_s));
  outcome.spec.timeout_s = timeout_s;
  if (show_progress_) {
    std::cerr << fmt::format("{}: running (timeout {:.0f} s, elapsed {:.1f} s)\n", prefix,
                             timeout_s, clock_.elapsed_s());
  }
  const auto stem = work_dir_ / outcome.spec.name;
  ProcessOptions options;
  options.stderr_path = stem.string() + ".stderr";
  const std::filesystem::path stdout_path = outcome.spec.report_on_stdout
                                                ? outcome.spec.report_path
                                                : std::filesystem::path(stem.string() + ".stdout");
  const ProcessResult result =
      run_process(outcome.spec.argv, outcome.spec.env, timeout_s, stdout_path, options);
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
  if (outcome.status == Status::pass && !outcome.spec.report_path.empty() && !outcome.report) {
    // Exit 0 without a readable report is not a pass: nothing says what was checked.
    outcome.status = Status::error;
    outcome.note = "exit 0 but " + outcome.report_error;
  }
  if (outcome.status != Status::pass) {
    outcome.stderr_tail = read_tail(options.stderr_path, 4096, 12);
  }
  if (show_progress_) {
    std::cerr << fmt::format("{}: {} (exit {}) in {:.1f} s, elapsed {:.1f} s\n", prefix,
                             to_string(outcome.status), outcome.exit_code, outcome.duration_s,
                             clock_.elapsed_s());
  }
  return outcome;
}

nlohmann::json step_to_json(const StepOutcome& outcome) {
  nlohmann::json step = {
      {"name", outcome.spec.name},        {"argv", outcome.spec.argv},
      {"exit_code", outcome.exit_code},   {"status", std::string(to_string(outcome.status))},
      {"duration_s", outcome.duration_s}, {"timeout_s", outcome.spec.timeout_s},
      {"timed_out", outcome.timed_out},   {"report", outcome.report_json},
  };
  if (!outcome.spec.env.empty()) {
    nlohmann::json env = nlohmann::json::object();
    for (const auto& [name, value] : outcome.spec.env) {
      env[name] = value ? nlohmann::json(*value) : nlohmann::json(nullptr);
    }
    step["env"] = env;
  }
  if (!outcome.superseded_by.empty()) {
    step["superseded_by"] = outcome.superseded_by;
  }
  if (!outcome.note.empty()) {
    step["note"] = outcome.note;
  }
  if (!outcome.report_error.empty()) {
    step["report_error"] = outcome.report_error;
  }
  if (!outcome.stderr_tail.empty()) {
    step["stderr_tail"] = outcome.stderr_tail;
  }
  return step;
}

void add_steps_to_suite(reports::Report& suite, const std::vector<StepOutcome>& outcomes) {
  auto& steps = suite.details["steps"];
  steps = nlohmann::json::array();
  bool have_inventory = false;
  for (const auto& outcome : outcomes) {
    steps.push_back(step_to_json(outcome));
    const auto& name = outcome.spec.name;
    const bool superseded = !outcome.superseded_by.empty();
    // A superseded step's failures stay visible, as warnings naming what superseded them.
    const auto demoted = [&](Status status) {
      return superseded && (status == Status::fail || status == Status::error ||
                            status == Status::timeout)
                 ? Status::warn
                 : status;
    };
    if (outcome.report) {
      for (auto check : outcome.report->checks) {
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
      if (!have_inventory &&
          (!inventory.instance_type.empty() || !inventory.gpus.empty() || !inventory.efa.empty())) {
        suite.inventory.instance_type = inventory.instance_type;
        suite.inventory.gpus = inventory.gpus;
        suite.inventory.efa = inventory.efa;
        have_inventory = true;
      }
    }
    std::string detail = !outcome.note.empty()           ? outcome.note
                         : !outcome.report_error.empty() ? outcome.report_error
                         : outcome.report                ? outcome.report->verdict.summary
                                                         : std::string("no report");
    nlohmann::json evidence = {{"step", name}, {"exit_code", outcome.exit_code}};
    if (superseded) {
      detail += fmt::format(" (superseded: {})", outcome.superseded_by);
      evidence["superseded_by"] = outcome.superseded_by;
    }
    const auto step_check = [&](std::string_view id, Status status, std::string message) {
      suite.checks.push_back(
          reports::make_check(std::string(id), demoted(status), std::move(message), evidence));
    };
    switch (outcome.status) {
      case Status::pass:
      case Status::warn:
      case Status::usage:
        break;
      case Status::skip:
        suite.checks.push_back(reports::make_check("STEP_SKIPPED", Status::skip,
                                                   fmt::format("step {} skipped: {}", name, detail),
                                                   evidence));
        break;
      case Status::fail:
        step_check("STEP_FAILED", Status::fail,
                   finding_message("STEP_FAILED", name, outcome.exit_code, detail));
        break;
      case Status::error:
        step_check(
            "STEP_ERROR", Status::error,
            finding_message("STEP_ERROR", name, outcome.exit_code,
                            outcome.stderr_tail.empty()
                                ? detail
                                : detail + "; stderr: " +
                                      std::string(trim(split_lines(outcome.stderr_tail).back()))));
        break;
      case Status::timeout:
        step_check("STEP_TIMEOUT", Status::timeout,
                   finding_message("STEP_TIMEOUT", name,
                                   fmt::format("{:.0f}", outcome.spec.timeout_s), detail));
        break;
    }
  }
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
  const auto& steps =
      suite.details.contains("steps") ? suite.details.at("steps") : nlohmann::json::array();
  text << fmt::format("preflight {}: {} step(s)\n",
                      suite.details.value("plan", std::string("suite")), steps.size());
  for (const auto& step : steps) {
    std::string status = to_upper(step.value("status", std::string("?")));
    std::string tail;
    if (step.contains("note")) {
      tail = step.at("note").get<std::string>();
    } else if (step.contains("report") && step.at("report").is_object()) {
      tail = step.at("report").at("verdict").value("summary", std::string());
    } else if (step.contains("report_error")) {
      tail = step.at("report_error").get<std::string>();
    }
    text << fmt::format("  {:<8} {:<28} exit {:>3} {:>7.2f} s  {}\n", status,
                        step.value("name", std::string()), step.value("exit_code", -1),
                        step.value("duration_s", 0.0), tail);
  }
  if (suite.details.contains("cluster")) {
    // The cluster plan's one summary of its verdict (cli/cluster_verdict.hpp).
    text << "cluster: " << suite.details.at("cluster").value("summary", std::string("no verdict"))
         << "\n";
  }
  text << render_checks_text(suite);
  return text.str();
}

std::string render_junit(const reports::Report& suite) {
  const auto& steps =
      suite.details.contains("steps") ? suite.details.at("steps") : nlohmann::json::array();
  int failures = 0;
  int errors = 0;
  int skipped = 0;
  double total_s = 0;
  std::ostringstream cases;
  const std::string suite_name = "preflight." + suite.details.value("plan", std::string("suite"));
  for (const auto& step : steps) {
    const auto status =
        parse_status(step.value("status", std::string("error"))).value_or(Status::error);
    const double duration_s = step.value("duration_s", 0.0);
    total_s += duration_s;
    const std::string name = step.value("name", std::string());
    std::string message = step.value("note", std::string());
    if (message.empty() && step.contains("report") && step.at("report").is_object()) {
      message = step.at("report").at("verdict").value("summary", std::string());
    }
    cases << fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n",
                         xml_escape(suite_name), xml_escape(name), duration_s);
    const std::string detail =
        xml_escape(fmt::format("exit {}: {}\n{}", step.value("exit_code", -1), message,
                               step.value("stderr_tail", std::string())));
    switch (status) {
      case Status::pass:
      case Status::warn:
        break;
      case Status::skip:
        ++skipped;
        cases << fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(message));
        break;
      case Status::fail:
        ++failures;
        cases << fmt::format("      <failure message=\"{}\" type=\"fail\">{}</failure>\n",
                             xml_escape(message), detail);
        break;
      default:
        ++errors;
        cases << fmt::format("      <error message=\"{}\" type=\"{}\">{}</error>\n",
                             xml_escape(message), to_string(status), detail);
    }
    cases << "    </testcase>\n";
  }
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml << fmt::format(
      "<testsuites name=\"preflight\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      steps.size(), failures, errors, skipped, total_s);
  xml << fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{:.3f}\">\n",
      xml_escape(suite_name), steps.size(), failures, errors, skipped, total_s);
  xml << cases.str();
  xml << "  </testsuite>\n</testsuites>\n";
  return xml.str();
}

}  // namespace preflight::cli
