// preflight-report: compare, diff, render, import nccl-tests output, record and trend history,
// create and validate baselines. main() parses options into immutable structs and hands them to
// library functions; every subcommand returns the exit code of the common table.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/size_spec.hpp"
#include "common/status.hpp"
#include "common/text.hpp"
#include "preflight/build_config.hpp"
#include "reports/baseline.hpp"
#include "reports/baseline_model.hpp"
#include "reports/compare.hpp"
#include "reports/format.hpp"
// Without SQLite too: the history flags bind to its plain option structs (HistoryFilter,
// TrendOptions); only HistoryStore, used under PREFLIGHT_HAVE_SQLITE, needs the library.
#include "reports/history.hpp"
#include "reports/history_format.hpp"
#include "reports/import_nccl_log.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/json_reader.hpp"
#include "reports/render.hpp"
#include "reports/report_io.hpp"
#include "reports/validate.hpp"

namespace preflight::reports {
namespace {

constexpr std::string_view kTool = "preflight-report";

// "10%" -> 0.10; "0.1" -> 0.1. A bare number of 1 or more is refused: is "10" 10% or 1000%?
double parse_fraction(const std::string& text, std::string_view flag) {
  std::string_view body = trim(text);
  const bool percent = !body.empty() && body.back() == '%';
  if (percent) {
    body.remove_suffix(1);
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (body.empty() || ec != std::errc() || end != body.data() + body.size() || value < 0 ||
      !std::isfinite(value)) {
    throw UsageError(
        fmt::format("{} '{}': expected a percentage like 10% or a fraction like 0.1", flag, text));
  }
  if (!percent && value >= 1) {
    throw UsageError(
        fmt::format("{} '{}': write a percentage (10%) or a fraction below 1 (0.1)", flag, text));
  }
  return percent ? value / 100 : value;
}

// "10us", "1.5ms", "0.002s", "2e-5" (seconds) -> seconds.
double parse_duration(const std::string& text, std::string_view flag) {
  std::string_view body = trim(text);
  double scale = 1;
  for (const auto& [suffix, factor] :
       {std::pair{"ns", 1e-9}, std::pair{"us", 1e-6}, std::pair{"ms", 1e-3}, std::pair{"s", 1.0}}) {
    const std::string_view s(suffix);
    if (body.size() > s.size() && body.substr(body.size() - s.size()) == s) {
      body.remove_suffix(s.size());
      scale = factor;
      break;
    }
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (body.empty() || ec != std::errc() || end != body.data() + body.size() || value < 0 ||
      !std::isfinite(value)) {
    throw UsageError(
        fmt::format("{} '{}': expected a duration like 10us, 1ms or 0.5s", flag, text));
  }
  return value * scale;
}

std::string origin_of(const std::string& path) {
  return path == "-" ? "stdin" : path;
}

void write_output(const std::string& path, std::string_view content) {
  if (path.empty() || path == "-") {
    std::cout << content << std::flush;
    return;
  }
  write_file_atomic(path, content, 0644);
}

// ---- options ---------------------------------------------------------------------------------
// What a flag gives as it is goes straight into the library's options struct (`options`); what
// needs parsing (percentages, sizes, durations) is kept as text and parsed by the subcommand.

struct CompareOptions {
  std::string report;
  std::string baseline;
};

struct DiffCliOptions {
  std::string a;
  std::string b;
  DiffOptions options;
  std::string band = "5%";
  std::string fail_band = "10%";
  std::string latency_max_size = "64K";
  std::string latency_floor = "0us";
};

struct BaselineCliOptions {
  std::vector<std::string> from;
  std::string output;
  BaselineCreateOptions options;
  std::string band = "10%";
  std::string fail_band;
  std::string latency_max_size = "64K";
  std::string latency_floor = "0us";
};

struct ModelCliOptions {
  BaselineModelOptions options;
  std::string min_size = "8";
  std::string max_size = "16G";
  std::string output;
};

struct HistoryCliOptions {
  std::string db;
  std::vector<std::string> reports;
  std::string source;  // history add: what the runs are recorded as coming from
  std::int64_t show = 0;
  HistoryFilter list;  // history list
  TrendOptions trend;  // history trend
  std::string min_band = "1%";
};

struct RenderCliOptions {
  std::string report;
  std::string format;
  std::string baseline;
  std::string output = "-";
};

struct ImportCliOptions {
  std::string file;
  NcclTestsImportOptions options;
};

struct NcclLogCliOptions {
  std::string file;
  NcclLogImportOptions options;
};

struct ValidateCliOptions {
  std::vector<std::string> files;
};

// ---- subcommands -----------------------------------------------------------------------------

int run_compare(const CompareOptions& options, const CommonOptions& common) {
  Report report = read_report(options.report);
  const Baseline baseline = read_baseline(options.baseline);
  const Comparison comparison = compare_to_baseline(report, baseline, origin_of(options.report));
  if (!common.json_path.empty()) {
    attach_comparison(report, comparison, common.warn_as_fail);
    write_report(report, common.json_path);
  } else {
    // Only the verdict is needed: skip building details.comparison (a DOM of every row).
    report.checks.push_back(comparison_check(comparison));
    report.verdict = compute_verdict(report.checks, common.warn_as_fail);
  }
  if (!common.quiet && common.json_path != "-") {
    std::cout << render_comparison_text(comparison);
    std::cout << fmt::format("verdict: {} (exit {})\n", report.verdict.summary,
                             report.verdict.exit_code);
  }
  return report.verdict.exit_code;
}

int run_diff(const DiffCliOptions& cli, const CommonOptions& common) {
  DiffOptions options = cli.options;
  options.warn_relative = parse_fraction(cli.band, "--band");
  options.fail_relative = parse_fraction(cli.fail_band, "--fail-band");
  options.latency_max_size_bytes = parse_size(cli.latency_max_size);
  options.latency_floor_s = parse_duration(cli.latency_floor, "--latency-floor");
  const Report a = read_report(cli.a);
  Report b = read_report(cli.b);
  const Comparison comparison = diff_reports(a, b, origin_of(cli.a), origin_of(cli.b), options);
  if (!common.json_path.empty()) {
    attach_comparison(b, comparison, common.warn_as_fail);
    write_report(b, common.json_path);
  }
  if (!common.quiet && common.json_path != "-") {
    std::cout << render_comparison_text(comparison);
  }
  return exit_code_for(comparison.status, common.warn_as_fail);
}

int run_baseline_create(const BaselineCliOptions& cli, const CommonOptions& common) {
  BaselineCreateOptions options = cli.options;
  options.warn_relative = parse_fraction(cli.band, "--band");
  if (!cli.fail_band.empty()) {
    options.fail_relative = parse_fraction(cli.fail_band, "--fail-band");
  }
  if (options.sizes_allowed_to_miss < 0) {
    throw UsageError("--budget must be 0 or more");
  }
  options.latency_max_size_bytes = parse_size(cli.latency_max_size);
  options.latency_floor_s = parse_duration(cli.latency_floor, "--latency-floor");
  options.deterministic = common.deterministic;
  std::vector<Report> reports;
  std::vector<std::string> origins;
  for (const auto& path : cli.from) {
    reports.push_back(read_report(path));
    origins.push_back(origin_of(path));
  }
  const Baseline baseline = create_baseline(reports, origins, options);
  // What we write must be what we would accept.
  const auto errors = validate_baseline_document(nlohmann::json(baseline));
  if (!errors.empty()) {
    throw Error("preflight-report", "create_baseline", "",
                errors.front().pointer + ": " + errors.front().message, 0);
  }
  write_output(cli.output, dump_baseline(baseline));
  if (!common.quiet && cli.output != "-") {
    std::cerr << fmt::format("{}: wrote baseline '{}' ({} sizes from {} report(s)) to {}\n", kTool,
                             baseline.name, baseline.rows.size(), reports.size(), cli.output);
  }
  return exit_code::pass;
}

int run_baseline_model(const ModelCliOptions& cli, const CommonOptions& common) {
  BaselineModelOptions options = cli.options;
  if (options.nodes < 1) {
    throw UsageError("--nodes: at least 1");
  }
  if (options.ranks_per_node < 0) {
    throw UsageError("--ranks-per-node: at least 1");
  }
  options.min_size_bytes = parse_size(cli.min_size);
  options.max_size_bytes = parse_size(cli.max_size);
  options.deterministic = common.deterministic;
  if (options.benchmark != "all_reduce") {
    throw UsageError(fmt::format("--benchmark {}: the model is fitted to all_reduce runs only",
                                 options.benchmark));
  }
  const PlatformModel model = fit_platform_model(options.instance_type);
  const Baseline baseline = model_baseline(options, model);
  // What we write must be what we would accept.
  const auto errors = validate_baseline_document(nlohmann::json(baseline));
  if (!errors.empty()) {
    throw Error("preflight-report", "model_baseline", "",
                errors.front().pointer + ": " + errors.front().message, 0);
  }
  write_output(cli.output, dump_baseline(baseline));
  if (!common.quiet) {
    std::cerr << fmt::format(
        "{}: wrote baseline '{}' ({} sizes, {} node(s) x {} ranks) to {}; model fitted on {}\n",
        kTool, baseline.name, baseline.rows.size(), baseline.match.nodes,
        baseline.match.ranks_per_node, cli.output == "-" ? "stdout" : cli.output, model.fitted_on);
    std::cerr << fmt::format(
        "{}: error on the published points held out of the fit "
        "(largest {:.1f}%):\n",
        kTool, model.worst_held_out_error() * 100);
    for (const auto& point : model.points) {
      if (point.use != ModelPoint::Use::held_out) {
        continue;
      }
      const bool time = point.metric == kMetricTime;
      std::cerr << fmt::format(
          "  {:<40} {:>12} B  {:<6} {:>9.2f} measured {:>9.2f} model "
          "{:>+6.1f}%  ({} {})\n",
          point.run.substr(0, 40), point.size_bytes, time ? "us" : "GB/s",
          point.measured * (time ? 1e6 : 1e-9), point.predicted * (time ? 1e6 : 1e-9),
          point.error * 100, point.algorithm, point.protocol);
    }
  }
  return exit_code::pass;
}

int run_render(const RenderCliOptions& cli, const CommonOptions& common) {
  const auto format = parse_render_format(cli.format);
  if (!format) {
    throw UsageError(fmt::format(
        "--format '{}': expected text, markdown, html, junit or prometheus", cli.format));
  }
  Report report = read_report(cli.report);
  std::optional<Comparison> comparison;
  if (!cli.baseline.empty()) {
    const Baseline baseline = read_baseline(cli.baseline);
    comparison = compare_to_baseline(report, baseline, origin_of(cli.report));
    attach_comparison(report, *comparison, common.warn_as_fail);
  } else {
    comparison = stored_comparison(report);
  }
  write_output(cli.output, render_report(report, *format, comparison ? &*comparison : nullptr));
  return exit_code::pass;
}

// The imported report's warnings and failures on stderr, each with its fix.
void print_findings(const Report& report) {
  for (const auto& check : report.checks) {
    if (check.status == Status::warn || check.status == Status::fail) {
      std::cerr << fmt::format(
          "{}: {}: {}: {}{}\n", kTool, check.status == Status::warn ? "warning" : "FAIL", check.id,
          check.message, check.remediation.empty() ? "" : " (" + check.remediation + ")");
    }
  }
}

int run_import(const ImportCliOptions& cli, const CommonOptions& common) {
  NcclTestsImportOptions options = cli.options;
  if (options.nodes < 0 || options.ranks < 0) {
    throw UsageError("--nodes and --ranks must be positive");
  }
  options.deterministic = common.deterministic;
  const Report report = import_nccl_tests_file(cli.file, options);
  write_report(report, common.json_path.empty() ? std::string("-") : common.json_path);
  if (!common.quiet) {
    const RunShape shape = run_shape(report);
    std::cerr << fmt::format(
        "{}: imported {} rows of {} ({}{}) from {}: {}\n", kTool, report.results.size(),
        report.results.empty() ? std::string("nccl-tests") : report.results.front().benchmark,
        shape.ranks > 0 ? fmt::format("{} ranks", shape.ranks) : std::string("ranks unknown"),
        shape.nodes > 0 ? fmt::format(", {} nodes", shape.nodes) : "", origin_of(cli.file),
        report.verdict.summary);
    print_findings(report);
  }
  return report.verdict.exit_code;
}

int run_import_nccl_log(const NcclLogCliOptions& cli, const CommonOptions& common) {
  NcclLogImportOptions options = cli.options;
  options.deterministic = common.deterministic;
  const Report report = import_nccl_log_file(cli.file, options);
  write_report(report, common.json_path.empty() ? std::string("-") : common.json_path);
  if (!common.quiet) {
    std::cerr << fmt::format("{}: {}: {}\n", kTool, report.checks.front().message,
                             report.verdict.summary);
    print_findings(report);
  }
  return report.verdict.exit_code;
}

int run_validate(const ValidateCliOptions& cli, const CommonOptions& common) {
  bool all_valid = true;
  for (const auto& path : cli.files) {
    const std::string origin = origin_of(path);
    Validation validation;
    try {
      validation = validate_text(read_padded_file(path), origin);
    } catch (const UsageError& e) {
      std::cout << e.what() << "\n";
      all_valid = false;
      continue;
    }
    if (validation.valid()) {
      if (!common.quiet) {
        std::cout << fmt::format("{}: valid {}\n", origin, validation.schema);
      }
      continue;
    }
    all_valid = false;
    std::cout << fmt::format("{}: not a valid {} ({} error{}):\n", origin,
                             validation.schema.empty() ? "preflight document" : validation.schema,
                             validation.errors.size(), validation.errors.size() == 1 ? "" : "s");
    for (const auto& error : validation.errors) {
      std::cout << fmt::format("{}: {}: {}\n", origin, error.pointer, error.message);
    }
  }
  return all_valid ? exit_code::pass : exit_code::usage;
}

#if PREFLIGHT_HAVE_SQLITE
std::filesystem::path history_path(const HistoryCliOptions& cli) {
  return cli.db.empty() ? default_history_path() : std::filesystem::path(cli.db);
}

int run_history_add(const HistoryCliOptions& cli, const CommonOptions& common) {
  // Read and validate every report before writing anything.
  std::vector<Report> reports;
  for (const auto& path : cli.reports) {
    reports.push_back(read_report(path));
  }
  HistoryStore store = HistoryStore::open(history_path(cli), true);
  // With --json, a report of what was recorded (the plans read the run ids from it).
  std::vector<const char*> no_argv;
  Report recorded = start_report(kTool, 0, no_argv.data(), common.deterministic);
  nlohmann::json runs = nlohmann::json::array();
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const std::string source = cli.source.empty() ? origin_of(cli.reports[i]) : cli.source;
    const auto added = store.add(reports[i], source);
    runs.push_back({{"id", added.id},
                    {"source", source},
                    {"duplicate", added.duplicate},
                    {"results", added.results}});
    recorded.checks.push_back(pass_check(
        "HISTORY_RECORDED",
        finding_message("HISTORY_RECORDED", source, added.id, store.path().string()) +
            (added.duplicate ? " (already recorded: the same report)" : ""),
        {{"run", added.id}, {"db", store.path().string()}, {"duplicate", added.duplicate}}));
    if (!common.quiet && common.json_path != "-") {
      if (added.duplicate) {
        std::cout << fmt::format("{}: already recorded as run {}\n", origin_of(cli.reports[i]),
                                 added.id);
      } else {
        std::cout << fmt::format("{}: recorded as run {} ({} result rows)\n",
                                 origin_of(cli.reports[i]), added.id, added.results);
      }
    }
  }
  if (!common.json_path.empty()) {
    recorded.details["history"] = {{"db", store.path().string()}, {"runs", runs}};
    finish_report(recorded, common.warn_as_fail, common.deterministic);
    write_report(recorded, common.json_path);
  }
  return exit_code::pass;
}

int run_history_list(const HistoryCliOptions& cli, const CommonOptions& common) {
  const HistoryStore store = HistoryStore::open(history_path(cli), false);
  const auto runs = store.list(cli.list);
  if (!common.json_path.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& run : runs) {
      list.push_back({{"id", run.id},
                      {"added_at", run.added_at},
                      {"started_at", run.started_at},
                      {"tool", run.tool},
                      {"run_id", run.run_id},
                      {"instance_type", run.instance_type},
                      {"nodes", run.nodes},
                      {"ranks", run.ranks},
                      {"results", run.results},
                      {"verdict", run.verdict},
                      {"summary", run.summary},
                      {"source", run.source}});
    }
    write_output(common.json_path, list.dump(2) + "\n");
    return exit_code::pass;
  }
  std::cout << fmt::format("{:>5}  {:<24}  {:<22}  {:<15}  {:>5}  {:>5}  {:>6}  {:<7}  {}\n", "id",
                           "added (UTC)", "tool", "instance", "nodes", "ranks", "rows", "verdict",
                           "summary");
  for (const auto& run : runs) {
    std::cout << fmt::format("{:>5}  {:<24}  {:<22}  {:<15}  {:>5}  {:>5}  {:>6}  {:<7}  {}\n",
                             run.id, run.added_at.substr(0, 24), run.tool.substr(0, 22),
                             run.instance_type.empty() ? "-" : run.instance_type.substr(0, 15),
                             run.nodes > 0 ? std::to_string(run.nodes) : "-", run.ranks,
                             run.results, run.verdict, run.summary.substr(0, 80));
  }
  if (runs.empty()) {
    std::cout << "(no runs recorded)\n";
  }
  return exit_code::pass;
}

int run_history_show(const HistoryCliOptions& cli, const CommonOptions& common) {
  const HistoryStore store = HistoryStore::open(history_path(cli), false);
  const Report report = store.show(cli.show);
  if (!common.json_path.empty()) {
    write_report(report, common.json_path);
    return exit_code::pass;
  }
  const auto comparison = stored_comparison(report);
  std::cout << render_text(report, comparison ? &*comparison : nullptr);
  return exit_code::pass;
}

int run_history_trend(const HistoryCliOptions& cli, const CommonOptions& common) {
  const HistoryStore store = HistoryStore::open(history_path(cli), false);
  TrendOptions options = cli.trend;
  options.min_band = parse_fraction(cli.min_band, "--min-band");
  const Trend trend = store.trend(options);
  if (!common.json_path.empty()) {
    // A report, so the trend renders and gates like any other run.
    Report report = store.show(trend.run);
    nlohmann::json evidence = trend;
    const std::string run = fmt::format("run {}", trend.run);
    // Only a failed trend is a regression; a passing or skipped one is HISTORY_PASS with its
    // status.
    if (trend.status == Status::fail) {
      report.checks.push_back(judged_check(
          "HISTORY_REGRESSION", trend.status,
          finding_message("HISTORY_REGRESSION", run, options.window, trend.summary), evidence));
    } else {
      report.checks.push_back(judged_check(
          "HISTORY_PASS", trend.status,
          finding_message("HISTORY_PASS", run, options.window, trend.summary), evidence));
    }
    report.details["trend"] = evidence;
    report.verdict = compute_verdict(report.checks, common.warn_as_fail);
    write_report(report, common.json_path);
  }
  if (!common.quiet && common.json_path != "-") {
    std::cout << fmt::format(
        "# trend of run {} against up to {} previous comparable runs "
        "(median +- max({} MAD, {}))\n",
        trend.run, options.window, options.k, cli.min_band);
    // The series column as wide as the longest series, in words (reports/history_format.hpp).
    std::size_t width = std::string_view("# series").size();
    for (const auto& row : trend.rows) {
      width = std::max(width, readable_series(row.series).size());
    }
    std::cout << fmt::format("{:<{}} {:>14} {:<6} {:>12} {:>12} {:>25} {:>5}  {}\n", "# series",
                             width, "size (B)", "metric", "value", "median", "band", "runs",
                             "verdict");
    for (const auto& row : trend.rows) {
      const auto shown = [&](double v) {
        return fmt::format("{:.2f}", metric_display_value(row.metric, v));
      };
      std::cout << fmt::format(
          "{:<{}} {:>14} {:<6} {:>12} {:>12} {:>25} {:>5}  {}\n", readable_series(row.series),
          width, row.size_bytes, metric_label(row.metric), shown(row.value),
          row.verdict == "insufficient" ? "-" : shown(row.median),
          row.verdict == "insufficient" ? "-"
                                        : fmt::format("[{}, {}]", shown(row.lo), shown(row.hi)),
          row.previous_runs, row.verdict);
    }
    std::cout << "trend: " << trend.summary << "\n";
  }
  return exit_code_for(trend.status, common.warn_as_fail);
}
#endif

// A subcommand: its command line, and what runs it once that command line is parsed. The options
// the one fills and the other reads are owned by both (shared), so each add_*_command below
// holds everything about its subcommand.
struct Subcommand {
  CLI::App* command = nullptr;
  std::function<int(const CommonOptions&)> run;
};
using Subcommands = std::vector<Subcommand>;

// The runner of a subcommand: `run` on `options`, once the command line has filled them.
template <typename Options>
std::function<int(const CommonOptions&)> runner(int (*run)(const Options&, const CommonOptions&),
                                                std::shared_ptr<Options> options) {
  return [run, options = std::move(options)](const CommonOptions& common) {
    return run(*options, common);
  };
}

// Adds subcommand `name` to `parent`, run by `run` on `options`; returns it, for its flags to be
// bound to `options`.
template <typename Options>
CLI::App* add_runnable_command(CLI::App& parent, Subcommands& subcommands,
                               int (*run)(const Options&, const CommonOptions&),
                               std::shared_ptr<Options> options, std::string name,
                               std::string description) {
  CLI::App* command = parent.add_subcommand(std::move(name), std::move(description));
  subcommands.push_back({command, runner(run, std::move(options))});
  return command;
}

// Adds the subcommands of `adders` to `app`, which requires exactly one of them.
using AddCommand = void (*)(CLI::App& parent, Subcommands& subcommands);
void add_commands(CLI::App& app, Subcommands& subcommands,
                  std::initializer_list<AddCommand> adders) {
  app.require_subcommand(1);
  for (const AddCommand add : adders) {
    add(app, subcommands);
  }
}

void add_compare_command(CLI::App& parent, Subcommands& subcommands) {
  auto options = std::make_shared<CompareOptions>();
  auto* compare_cmd = add_runnable_command(
      parent, subcommands, run_compare, options, "compare",
      "Compare a report with a baseline: per size pass|warn|fail|improved|inconclusive|"
      "missing; exit 0 pass/warn, 1 fail, 2 not comparable");
  compare_cmd->add_option("report", options->report, "preflight.report/1 file ('-': stdin)")
      ->required();
  compare_cmd->add_option("--baseline,-b", options->baseline, "preflight.baseline/1 file")
      ->required();
}

void add_diff_command(CLI::App& parent, Subcommands& subcommands) {
  auto options = std::make_shared<DiffCliOptions>();
  auto* diff_cmd = add_runnable_command(
      parent, subcommands, run_diff, options, "diff",
      "A/B comparison of two reports (B against A): the same verdicts per row and a "
      "one-screen summary");
  diff_cmd->add_option("a", options->a, "reference report (A)")->required();
  diff_cmd->add_option("b", options->b, "report compared with A (B)")->required();
  diff_cmd->add_option("--band", options->band, "warn when worse by more than this (default 5%)");
  diff_cmd->add_option("--fail-band", options->fail_band,
                       "fail when worse by more than this (10%)");
  diff_cmd->add_option("--metric", options->options.metric,
                       "busbw_Bps, algbw_Bps, time_s, message_rate_per_s or auto");
  diff_cmd->add_option("--latency-max-size", options->latency_max_size,
                       "auto metric: time up to this size, bandwidth above (64K)");
  diff_cmd->add_option("--latency-floor", options->latency_floor,
                       "absolute allowance for times, e.g. 2us (0)");
}

void add_baseline_create_command(CLI::App& parent, Subcommands& subcommands) {
  auto cli = std::make_shared<BaselineCliOptions>();
  BaselineCreateOptions& options = cli->options;
  auto* create_cmd = add_runnable_command(
      parent, subcommands, run_baseline_create, cli, "create",
      "A baseline from one or more reports of your own cluster: the median across "
      "runs, bands widened by the observed spread");
  create_cmd->add_option("--from", cli->from, "reports of comparable runs")
      ->required()
      ->expected(1, -1);
  create_cmd->add_option("--output,-o", cli->output, "baseline file to write ('-': stdout)")
      ->required();
  create_cmd->add_option("--band", cli->band, "warn band (default 10%)");
  create_cmd->add_option("--fail-band", cli->fail_band, "fail band (default twice --band)");
  create_cmd->add_option("--budget", options.sizes_allowed_to_miss,
                         "sizes allowed to fail (default 0)");
  create_cmd->add_option("--name", options.name, "baseline name");
  create_cmd->add_option("--source", options.source, "where the numbers come from");
  create_cmd->add_option("--benchmark", options.benchmark,
                         "which benchmark when the reports hold several");
  create_cmd->add_option("--placement", options.placement, "out_of_place (default) or in_place");
  create_cmd->add_option("--metric", options.metric,
                         "busbw_Bps, algbw_Bps, time_s, message_rate_per_s or auto (default)");
  create_cmd->add_option("--latency-max-size", cli->latency_max_size,
                         "auto metric: time up to this size, bandwidth above (64K)");
  create_cmd->add_option("--latency-floor", cli->latency_floor,
                         "absolute warn allowance for times, e.g. 10us on EFA (0; fail: twice)");
}

void add_baseline_model_command(CLI::App& parent, Subcommands& subcommands) {
  auto cli = std::make_shared<ModelCliOptions>();
  BaselineModelOptions& options = cli->options;
  auto* model_cmd = add_runnable_command(
      parent, subcommands, run_baseline_model, cli, "model",
      "An expected all_reduce curve for any node count: a latency-bandwidth model (ring and "
      "tree, NVLink inside a node, EFA between nodes) fitted to published runs; wider bands");
  model_cmd->add_option("--instance-type", options.instance_type, "e.g. p5.48xlarge")->required();
  model_cmd->add_option("--nodes", options.nodes, "node count")->required();
  model_cmd->add_option("--ranks-per-node", options.ranks_per_node,
                        "ranks per node (default: one per GPU)");
  model_cmd->add_option("--benchmark", options.benchmark, "all_reduce (the only one modelled)");
  model_cmd->add_option("--min-size", cli->min_size, "smallest size (8)");
  model_cmd->add_option("--max-size", cli->max_size, "largest size, doubling (16G)");
  model_cmd->add_option("--name", options.name, "baseline name");
  model_cmd->add_option("--output,-o", cli->output, "baseline file to write ('-': stdout)")
      ->required();
}

void add_baseline_commands(CLI::App& parent, Subcommands& subcommands) {
  add_commands(*parent.add_subcommand("baseline", "Baselines"), subcommands,
               {add_baseline_create_command, add_baseline_model_command});
}

void add_history_commands(CLI::App& parent, Subcommands& subcommands) {
  auto options = std::make_shared<HistoryCliOptions>();
  auto* history_cmd = parent.add_subcommand(
      "history", "Regression history in SQLite (default $XDG_DATA_HOME/preflight/history.db)");
  history_cmd->require_subcommand(1);
  history_cmd->add_option("--db", options->db, "history database file");
  auto* add_cmd = history_cmd->add_subcommand("add", "Record reports (one transaction each)");
  add_cmd->add_option("reports", options->reports, "report files")->required()->expected(1, -1);
  add_cmd->add_option("--source", options->source,
                      "what the runs are recorded as coming from (default: the file name)");
  HistoryFilter& list = options->list;
  auto* list_cmd = history_cmd->add_subcommand("list", "List recorded runs, newest first");
  list_cmd->add_option("--limit", list.limit, "at most this many runs (20; 0: all)");
  list_cmd->add_option("--benchmark", list.benchmark, "runs with rows of this benchmark");
  list_cmd->add_option("--instance-type", list.instance_type, "runs on this instance type");
  list_cmd->add_option("--tool", list.tool, "runs of this tool");
  auto* show_cmd = history_cmd->add_subcommand("show", "Show one recorded run");
  show_cmd->add_option("run", options->show, "run id (from history list)")->required();
  TrendOptions& trend = options->trend;
  auto* trend_cmd = history_cmd->add_subcommand(
      "trend", "Flag rows that left the band (median +- k MAD) of the previous N comparable runs");
  trend_cmd->add_option("--run", trend.run, "run to judge (default: the latest)");
  trend_cmd->add_option("--window", trend.window, "N previous comparable runs (10)");
  trend_cmd->add_option("--k", trend.k, "band half-width in MADs (3)");
  trend_cmd->add_option("--min-band", options->min_band,
                        "smallest half-width relative to the median (1%)");
  trend_cmd->add_option("--min-runs", trend.min_runs,
                        "fewer previous runs than this: no verdict (3)");
  trend_cmd->add_option("--benchmark", trend.benchmark, "only this benchmark");
  trend_cmd->add_option("--metric", trend.metric,
                        "busbw_Bps, algbw_Bps, time_s, message_rate_per_s or auto");
#if PREFLIGHT_HAVE_SQLITE
  subcommands.push_back({add_cmd, runner(run_history_add, options)});
  subcommands.push_back({list_cmd, runner(run_history_list, options)});
  subcommands.push_back({show_cmd, runner(run_history_show, options)});
  subcommands.push_back({trend_cmd, runner(run_history_trend, options)});
#else
  subcommands.push_back({history_cmd, [](const CommonOptions&) -> int {
                           throw FeatureUnavailable("history (SQLite)", "PREFLIGHT_WITH_SQLITE");
                         }});
#endif
}

void add_render_command(CLI::App& parent, Subcommands& subcommands) {
  auto options = std::make_shared<RenderCliOptions>();
  auto* render_cmd =
      add_runnable_command(parent, subcommands, run_render, options, "render",
                           "Render a report as text, markdown, html, junit or prometheus");
  render_cmd->add_option("report", options->report, "preflight.report/1 file ('-': stdin)")
      ->required();
  render_cmd->add_option("--format,-f", options->format, "text|markdown|html|junit|prometheus")
      ->required();
  render_cmd->add_option("--baseline,-b", options->baseline,
                         "compare with this baseline and show it (bands in the HTML plots)");
  render_cmd->add_option("--output,-o", options->output, "file to write ('-': stdout, default)");
}

void add_import_nccl_tests_command(CLI::App& parent, Subcommands& subcommands) {
  auto cli = std::make_shared<ImportCliOptions>();
  NcclTestsImportOptions& options = cli->options;
  auto* nccl_cmd = add_runnable_command(
      parent, subcommands, run_import, cli, "nccl-tests",
      "nccl-tests stdout (any version, mpirun/srun prefixes) or -J JSON (v1-3) -> "
      "preflight.report/1 on --json (default stdout); exit code of its verdict");
  nccl_cmd->add_option("file", cli->file, "nccl-tests output ('-': stdin)")->required();
  nccl_cmd->add_option("--instance-type", options.instance_type, "e.g. p5.48xlarge");
  nccl_cmd->add_option("--nodes", options.nodes, "node count (default: from '# Using devices')");
  nccl_cmd->add_option("--ranks", options.ranks, "rank count (default: from the output)");
  nccl_cmd->add_option("--benchmark", options.benchmark,
                       "all_reduce, all_gather, ... (default: from the output)");
  nccl_cmd->add_option("--backend", options.backend, "backend name for the rows (nccl)");
  nccl_cmd->add_flag("--keep-repeats", options.keep_repeats,
                     "keep every printed row of repeated tables (-R, -N) instead of one row per "
                     "size with the statistics over the repeats");
}

void add_import_nccl_log_command(CLI::App& parent, Subcommands& subcommands) {
  auto cli = std::make_shared<NcclLogCliOptions>();
  auto* nccl_log_cmd = add_runnable_command(
      parent, subcommands, run_import_nccl_log, cli, "nccl-log",
      "An NCCL debug log alone (NCCL_DEBUG=INFO output of any job, any launcher prefix) -> a "
      "report of its transport: versions, provider, network, GDRDMA, NICs, WARN lines; socket "
      "fallback or a failed plugin exit 1");
  nccl_log_cmd->add_option("file", cli->file, "the log ('-': stdin)")->required();
  nccl_log_cmd->add_option("--instance-type", cli->options.instance_type, "e.g. p5.48xlarge");
}

void add_import_commands(CLI::App& parent, Subcommands& subcommands) {
  add_commands(*parent.add_subcommand("import", "Import other tools' output as a report"),
               subcommands, {add_import_nccl_tests_command, add_import_nccl_log_command});
}

void add_validate_command(CLI::App& parent, Subcommands& subcommands) {
  auto options = std::make_shared<ValidateCliOptions>();
  auto* validate_cmd = add_runnable_command(
      parent, subcommands, run_validate, options, "validate",
      "Check reports and baselines against their schema; name each error's JSON "
      "pointer; exit 2 when any is invalid");
  validate_cmd->add_option("files", options->files, "files ('-': stdin)")
      ->required()
      ->expected(1, -1);
}

}  // namespace

int main_report(int argc, char** argv) {
  CLI::App app{
      "Compare reports with baselines and with each other, render them (text, markdown, html, "
      "junit, prometheus), import nccl-tests output, record and trend history, validate files.",
      std::string(kTool)};
  CommonOptions common;
  add_common_options(app, common);
  app.fallthrough();  // before the subcommands, which inherit it
  Subcommands subcommands;
  // In the order --help lists them.
  add_commands(app, subcommands,
               {add_compare_command, add_diff_command, add_baseline_commands, add_history_commands,
                add_render_command, add_import_commands, add_validate_command});

  bind_environment(app);
  if (const auto code = parse_command_line(app, argc, argv, &common)) {
    return *code;
  }
  return run_guarded(kTool, [&]() -> int {
    for (const auto& subcommand : subcommands) {
      if (subcommand.command->parsed()) {
        return subcommand.run(common);
      }
    }
    throw UsageError("no subcommand given (run with --help)");
  });
}

}  // namespace preflight::reports

int main(int argc, char** argv) {
  return preflight::reports::main_report(argc, argv);
}
