// The reading of both inputs, and the report's rows, are in import_nccl_tests_*.cpp (see
// import_nccl_tests_parsed.hpp); this file infers what the output does not say, and builds the
// report: run, inventory, checks and details.
#include "reports/import_nccl_tests.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

#include "common/error.hpp"
#include "common/text.hpp"
#include "domain/collective.hpp"
#include "domain/dtype.hpp"
#include "preflight/build_config.hpp"
#include "reports/import_nccl_log.hpp"
#include "reports/import_nccl_tests_parsed.hpp"
#include "reports/import_nccl_tests_rows.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {

using nlohmann::json;

namespace nccl_tests_import {
namespace {

// ---- inference -------------------------------------------------------------------------------

// Half a unit of the last printed digit: "0.81" -> 0.005, "1234.5" -> 0.05, "66132" -> 0.5.
double half_unit_of_last_digit(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find_first_of("eE") != std::string_view::npos) {
    return 0.5;
  }
  return 0.5 * std::pow(10.0, -static_cast<double>(token.size() - dot - 1));
}

struct Inferred {
  std::string benchmark;
  std::string benchmark_from;
  int ranks = 0;
  std::string ranks_from;
  std::string ranks_unknown_why;  // "": the rank count is known, or there are no rows
};

const TableRow* largest_row(const std::deque<TableRow>& rows) {
  const TableRow* best = nullptr;
  for (const auto& row : rows) {
    if (row.count > 0 && (best == nullptr || row.size > best->size)) {
      best = &row;
    }
  }
  return best;
}

std::string infer_benchmark(const Parsed& parsed, std::string& from) {
  if (!parsed.program.empty()) {
    const std::string name = benchmark_from_program(parsed.program);
    if (!name.empty()) {
      from = "program name " + parsed.program;
      return name;
    }
  }
  const TableRow* row = largest_row(parsed.rows);
  if (row == nullptr) {
    return {};
  }
  const std::size_t element = printed_type_bytes(row->type);
  if (element == 0) {
    return {};
  }
  const bool full_count = row->count * element == row->size;
  const bool reduces = row->redop != "none";
  const bool rooted = row->root >= 0;
  const bool in_place_unchecked =
      std::all_of(parsed.rows.begin(), parsed.rows.end(), [](const TableRow& r) {
        return r.in_place && r.in_place->wrong_not_checked &&
               (!r.out_of_place || !r.out_of_place->wrong_not_checked);
      });
  if (reduces) {
    from = "rows: a reduction";
    if (rooted) {
      from += " with a root";
      return "reduce";
    }
    from += full_count ? " over the full count" : " over a per-rank count";
    return full_count ? "all_reduce" : "reduce_scatter";
  }
  if (rooted) {
    if (full_count) {
      from = "rows: no reduction, a root, the full count";
      return "broadcast";
    }
    return {};  // gather or scatter: the rows cannot tell
  }
  if (full_count) {
    from = "rows: no reduction, no root, the full count";
    return "sendrecv";
  }
  if (in_place_unchecked) {
    from =
        "rows: no reduction, no root, a per-rank count, in-place #wrong N/A (only alltoall "
        "skips the in-place check)";
    return "alltoall";
  }
  from = "rows: no reduction, no root, a per-rank count";
  return "all_gather";
}

int infer_ranks(const Parsed& parsed, std::string_view benchmark, std::string& from) {
  std::set<int> ranks;
  for (const auto& device : parsed.devices) {
    ranks.insert(device.rank);
  }
  if (!ranks.empty()) {
    from = parsed.format == "text" ? "'# Using devices' rows" : "/config/devices";
    return static_cast<int>(ranks.size());
  }
  const TableRow* row = largest_row(parsed.rows);
  if (row == nullptr) {
    return 0;
  }
  const std::size_t element = printed_type_bytes(row->type);
  const bool per_rank_count = benchmark == "all_gather" || benchmark == "reduce_scatter" ||
                              benchmark == "alltoall" || benchmark == "gather" ||
                              benchmark == "scatter";
  if (per_rank_count && element > 0 && row->count > 0 && row->size % (row->count * element) == 0) {
    from = "size / (count x element size) of the largest row";
    return static_cast<int>(row->size / (row->count * element));
  }
  // busbw / algbw is the bus factor f, which grows with n for all_reduce and the per-rank-count
  // benchmarks (domain/collective.hpp). Both columns are printed rounded, so each row bounds f to
  // an interval, hence n to an interval; the rows together must leave exactly one integer.
  if (!nccl_tests_ranks_for_factor(benchmark, 0)) {
    return 0;  // the factor does not depend on n
  }
  const auto n_of = [&](double f) {
    return std::min(1e9, *nccl_tests_ranks_for_factor(benchmark, f));
  };
  double n_lo = 1;
  double n_hi = 1e9;
  int rows_used = 0;
  for (const auto& r : parsed.rows) {
    for (const auto& p : {r.out_of_place, r.in_place}) {
      if (!p) {
        continue;
      }
      const auto algbw = parse_double(p->algbw);
      const auto busbw = parse_double(p->busbw);
      if (!algbw || !busbw) {
        continue;
      }
      const double a_tol = half_unit_of_last_digit(p->algbw);
      const double b_tol = half_unit_of_last_digit(p->busbw);
      if (*algbw <= 2 * a_tol) {
        continue;  // 0.00: says nothing
      }
      const double f_lo = std::max(0.0, (*busbw - b_tol) / (*algbw + a_tol));
      const double f_hi = (*busbw + b_tol) / (*algbw - a_tol);
      n_lo = std::max(n_lo, n_of(f_lo));
      n_hi = std::min(n_hi, n_of(f_hi));
      ++rows_used;
    }
  }
  if (rows_used == 0) {
    return 0;
  }
  const double first = std::ceil(n_lo - 1e-9);
  if (first > n_hi + 1e-9 || first + 1 <= n_hi + 1e-9 || first > 1e7) {
    return 0;  // no integer fits every row (noise, a wrong guess of the benchmark), or several do
  }
  from = fmt::format("busbw/algbw of {} rows (printed to their last digit) fits only n = {:.0f}",
                     rows_used, first);
  return static_cast<int>(first);
}

// The benchmark and rank count, from the options or else from the output.
Inferred infer(const Parsed& parsed, std::string_view origin,
               const NcclTestsImportOptions& options) {
  Inferred inferred;
  if (!options.benchmark.empty()) {
    inferred.benchmark = options.benchmark;
    inferred.benchmark_from = "--benchmark";
  } else {
    inferred.benchmark = infer_benchmark(parsed, inferred.benchmark_from);
  }
  if (inferred.benchmark.empty() && !parsed.rows.empty()) {
    throw UsageError(fmt::format(
        "{}: cannot tell which nccl-tests benchmark wrote the table (no program name in the "
        "output; a rooted collective without reduction could be gather or scatter): pass "
        "--benchmark",
        origin));
  }
  if (options.ranks > 0) {
    inferred.ranks = options.ranks;
    inferred.ranks_from = "--ranks";
  } else {
    inferred.ranks = infer_ranks(parsed, inferred.benchmark, inferred.ranks_from);
  }
  // Without the rank count the log still states its times and printed bandwidths: they are
  // imported with ranks 0 (unknown) and a warning, never refused.
  if (inferred.ranks == 0 && !parsed.rows.empty()) {
    inferred.ranks_unknown_why = fmt::format(
        "no '# Using devices' rows, and {}",
        inferred.benchmark == "all_reduce" || inferred.benchmark == "all_gather" ||
                inferred.benchmark == "reduce_scatter" || inferred.benchmark == "alltoall"
            ? "busbw/algbw of the rows does not pin one rank count (bandwidths printed as 0.00 "
              "say nothing)"
            : "the bus factor of " + inferred.benchmark + " does not depend on it");
    inferred.ranks_from = "unknown: " + inferred.ranks_unknown_why;
  }
  return inferred;
}

// ---- the report ------------------------------------------------------------------------------

// Refuses input in which nothing is nccl-tests': a header or a failure line alone still makes a
// report (a hang, a crash), a text with none of them is another tool's output.
void require_nccl_tests_output(const Parsed& parsed, std::string_view content,
                               std::string_view origin) {
  const bool anything = !parsed.rows.empty() || parsed.header.seen || !parsed.devices.empty() ||
                        parsed.header_line_seen || !parsed.failures.empty();
  if (anything) {
    return;
  }
  if (!parsed.malformed_lines.empty()) {
    throw UsageError(fmt::format("{}:{}: not an nccl-tests result row (unexpected column count)",
                                 origin, parsed.malformed_lines.front()));
  }
  const bool nccl_debug_lines = content.find("NCCL INFO") != std::string_view::npos ||
                                content.find("NCCL WARN") != std::string_view::npos;
  throw UsageError(fmt::format(
      "{}: no nccl-tests output found: no result table, no '# nThread' header, no '# Using "
      "devices' rows and no test failure lines in {} lines{}",
      origin, parsed.lines,
      nccl_debug_lines ? "; it holds NCCL debug lines: 'preflight-report import nccl-log' "
                         "judges those alone"
                       : ""));
}

// The tool and the run: id, command line, ranks, start time.
void describe_run(Report& report, const Parsed& parsed, std::string_view content,
                  const Inferred& inferred) {
  report.tool.name = "nccl-tests";
  report.tool.version = parsed.nccl_tests_version;
  report.run.id = fmt::format("nccl-tests-{:016x}", text_fingerprint(content));
  report.run.argv = parsed.argv;
  report.run.ranks = inferred.ranks;  // 0: unknown
  if (!parsed.start_time.empty()) {
    report.run.started_at = to_rfc3339_local(parsed.start_time);
  } else if (!parsed.rows.empty() && !parsed.rows.front().timestamp_date.empty()) {
    report.run.started_at = to_rfc3339_local(timestamp_of(parsed.rows.front()));
  }
}

// The devices: a GPU of the inventory each, the run's hosts, and its nodes when every rank is
// listed.
void describe_devices(Report& report, const Parsed& parsed, const NcclTestsImportOptions& options,
                      const Inferred& inferred) {
  std::vector<std::string> hosts;
  for (const auto& device : parsed.devices) {
    if (std::find(hosts.begin(), hosts.end(), device.host) == hosts.end()) {
      hosts.push_back(device.host);
    }
    report.inventory.gpus.push_back({{"rank", device.rank},
                                     {"host", device.host},
                                     {"device", device.device},
                                     {"pci_bus_id", device.bus},
                                     {"name", device.name},
                                     {"pid", device.pid}});
  }
  report.run.hosts = hosts;
  if (options.nodes > 0) {
    report.run.nodes = options.nodes;
  } else if (!hosts.empty() && parsed.devices.size() == static_cast<std::size_t>(inferred.ranks)) {
    report.run.nodes = static_cast<int>(hosts.size());
  }
}

// Instance type, versions and the allow-listed environment.
void describe_inventory(Report& report, const Parsed& parsed,
                        const NcclTestsImportOptions& options) {
  report.inventory.instance_type =
      !options.instance_type.empty() ? options.instance_type : parsed.instance_type;
  if (!parsed.nccl_version.empty()) {
    report.inventory.versions["nccl"] = parsed.nccl_version;
    const auto cuda = parsed.nccl_version.find("+cuda");
    if (cuda != std::string::npos) {
      report.inventory.versions["cuda"] = parsed.nccl_version.substr(cuda + 5);
    }
  }
  if (!parsed.nccl_tests_version.empty()) {
    report.inventory.versions["nccl_tests"] = parsed.nccl_tests_version;
  }
  if (!parsed.ofi_version.empty()) {
    report.inventory.versions["aws_ofi_nccl"] = parsed.ofi_version;
  }
  std::vector<std::string> entries;
  for (const auto& [name, value] : parsed.env) {
    entries.push_back(name + "=" + value);
  }
  report.inventory.env = allowlisted_entries(entries);
}

// What the rows say: imported, ranks unknown, wrong elements.
void add_row_checks(Report& report, const Parsed& parsed, std::string_view origin,
                    const Inferred& inferred, const ImportedRows& rows) {
  const std::string what = inferred.benchmark.empty() ? "nccl-tests" : inferred.benchmark;
  if (!report.results.empty()) {
    report.checks.push_back(
        pass_check("NCCL_TESTS_IMPORTED",
                   finding_message("NCCL_TESTS_IMPORTED", report.results.size(), what, origin),
                   {{"rows", report.results.size()},
                    {"sizes", rows.sizes},
                    {"table_rows", parsed.rows.size()},
                    {"repeats_max", rows.repeats_max},
                    {"rows_with_wrong_count_checked", rows.wrong.checked_rows}}));
  }
  if (!inferred.ranks_unknown_why.empty()) {
    report.checks.push_back(
        fire_check("NCCL_TESTS_RANKS_UNKNOWN",
                   finding_message("NCCL_TESTS_RANKS_UNKNOWN", origin, inferred.ranks_unknown_why),
                   {{"benchmark", inferred.benchmark}, {"rows", report.results.size()}}));
  }
  const std::vector<std::string>& wrong_rows = rows.wrong.rows;
  const std::int64_t wrong_total = rows.wrong.total;
  if (wrong_total > 0 || (parsed.out_of_bounds && *parsed.out_of_bounds > 0)) {
    const std::string detail = wrong_rows.empty()
                                   ? fmt::format("nccl-tests counted {} out-of-bounds values",
                                                 parsed.out_of_bounds.value_or(0))
                                   : join(wrong_rows, "; ");
    report.checks.push_back(
        fire_check("RESULT_WRONG",
                   finding_message("RESULT_WRONG",
                                   wrong_total > 0 ? wrong_total : parsed.out_of_bounds.value_or(0),
                                   rows.wrong.first_size, detail),
                   {{"rows", wrong_rows}, {"out_of_bounds", parsed.out_of_bounds.value_or(-1)}}));
  }
}

// Whether the test ran to its end: failure lines, no rows (a hang or a crash), or a sweep that
// stops short.
void add_completion_check(Report& report, const Parsed& parsed, std::string_view origin) {
  if (!parsed.failures.empty() || !parsed.errors.empty()) {
    std::vector<std::string> lines = parsed.failures;
    for (const auto& error : parsed.errors) {
      lines.push_back("# error: " + error);
    }
    report.checks.push_back(
        judged_check("NCCL_TESTS_FAILED", Status::error,
                     finding_message("NCCL_TESTS_FAILED", origin, lines.front()),
                     {{"lines", lines}, {"nccl_warnings", parsed.warnings}}));
  } else if (parsed.rows.empty()) {
    std::string where = "after the header";
    if (!parsed.devices.empty()) {
      where = fmt::format("after the device list ({} ranks)", parsed.devices.size());
    } else if (parsed.header_line_seen) {
      where = "after the column header";
    }
    report.checks.push_back(judged_check(
        "NCCL_TESTS_INCOMPLETE", Status::error,
        finding_message("NCCL_TESTS_INCOMPLETE", origin,
                        fmt::format("no result rows: the output ends {} (a hang or a crash "
                                    "before the first size)",
                                    where)),
        {{"lines", parsed.lines}, {"nccl_warnings", parsed.warnings}}));
  } else if (parsed.header.seen && parsed.header.max_bytes > 0 && !parsed.avg_busbw_gbps) {
    // A sweep that stops before maxBytes without its summary line did not finish.
    std::uint64_t last = 0;
    for (const auto& row : parsed.rows) {
      last = std::max(last, row.size);
    }
    const std::uint64_t next = parsed.header.step_is_factor
                                   ? last * std::max<std::uint64_t>(parsed.header.step, 2)
                                   : last + std::max<std::uint64_t>(parsed.header.step, 1);
    if (next <= parsed.header.max_bytes) {
      report.checks.push_back(fire_check(
          "NCCL_TESTS_INCOMPLETE",
          finding_message("NCCL_TESTS_INCOMPLETE", origin,
                          fmt::format("the table stops at {} B of maxBytes {} B and has no "
                                      "summary line; the sizes measured are kept",
                                      last, parsed.header.max_bytes)),
          {{"last_size_bytes", last}, {"max_bytes", parsed.header.max_bytes}}));
    }
  }
}

// NCCL's own lines in the log (NCCL_DEBUG=INFO) judged as a live run's: a table measured over
// NET/Socket, or with the plugin failing, fails however good its figures look.
std::optional<ImportedTransport> judge_transport(Report& report, const Parsed& parsed,
                                                 std::string_view content) {
  std::optional<ImportedTransport> transport;
  if (parsed.format == "text") {
    transport = judge_imported_nccl_lines(content, report.inventory.instance_type);
    report.checks.insert(report.checks.end(), transport->checks.begin(), transport->checks.end());
    if (transport->row_transport) {
      for (auto& row : report.results) {
        row.transport = *transport->row_transport;
      }
    }
  }
  return transport;
}

// Provenance and what was inferred, for people and for `validate`.
json import_details(const Parsed& parsed, std::string_view origin,
                    const NcclTestsImportOptions& options, const Inferred& inferred,
                    std::size_t repeats_max, const std::optional<ImportedTransport>& transport) {
  json details{
      {"format", parsed.format},
      {"source", std::string(origin)},
      {"importer",
       options.deterministic
           ? std::string("preflight-report")
           : fmt::format("preflight-report {} ({})", PREFLIGHT_VERSION_STRING, PREFLIGHT_GIT_SHA)},
      {"benchmark", inferred.benchmark},
      {"benchmark_from", inferred.benchmark_from},
      {"ranks_from", inferred.ranks_from},
      {"line_prefixes", describe_prefixes(parsed.prefixes)},
      {"time_stats",
       parsed.samples_s.empty()
           ? "time_s is nccl-tests' mean over the timed iterations (one value per row; its "
             "CI is that value); with -I the min, max, p99 and stdev come from the "
             "per-iteration columns"
           : "time_s from the per-iteration samples (-I), after the skipped iterations; "
             "algbw and busbw as nccl-tests computed them from the loop mean"}};
  if (repeats_max > 1) {
    details["repeats"] = {
        {"most_per_size", repeats_max},
        {"folded", !options.keep_repeats},
        {"time_stats",
         options.keep_repeats
             ? "--keep-repeats: every printed row kept"
             : "each size's repeats folded into one row: time_s statistics over the repeats "
               "(n = repeats; each repeat is nccl-tests' mean over its timed iterations), "
               "algbw and busbw the medians of the printed figures, wrong_elements the sum"}};
  }
  if (parsed.header.seen) {
    details["header"] = {{"nthread", parsed.header.nthread},
                         {"ngpus", parsed.header.ngpus},
                         {"min_bytes", parsed.header.min_bytes},
                         {"max_bytes", parsed.header.max_bytes},
                         {"step", parsed.header.step},
                         {"step_is_factor", parsed.header.step_is_factor},
                         {"warmup_iters", parsed.header.warmup_iters},
                         {"iters", parsed.header.iters},
                         {"agg_iters", parsed.header.agg_iters},
                         {"validation", parsed.header.validation},
                         {"graph", parsed.header.graph}};
  }
  if (parsed.layout.old_error) {
    details["columns"] = "old: 'error' is a max relative error, not a count of wrong elements";
  }
  if (parsed.layout.cputime) {
    details["time_column"] = "cputime (-C): host time per iteration";
  }
  if (parsed.avg_busbw_gbps) {
    details["avg_bus_bandwidth_gbps"] = *parsed.avg_busbw_gbps;
  }
  if (parsed.out_of_bounds) {
    details["out_of_bounds"] = *parsed.out_of_bounds;
  }
  if (!parsed.network.empty()) {
    details["nccl_network"] = parsed.network;
  }
  if (parsed.elided > 0) {
    details["elided_lines"] = parsed.elided;
  }
  if (!parsed.malformed_lines.empty()) {
    std::vector<std::size_t> first(
        parsed.malformed_lines.begin(),
        parsed.malformed_lines.begin() +
            static_cast<std::ptrdiff_t>(std::min<std::size_t>(parsed.malformed_lines.size(), 10)));
    details["skipped_malformed_rows"] = {{"count", parsed.malformed_lines.size()},
                                         {"lines", first}};
  }
  if (!parsed.warnings.empty()) {
    details["nccl_warnings"] = parsed.warnings;
  }
  if (transport && transport->details.at("facts").value("nccl_lines", 0) > 0) {
    details["nccl_transport"] = transport->details;
  }
  return details;
}

Report build_report(const Parsed& parsed, std::string_view content, std::string_view origin,
                    const NcclTestsImportOptions& options) {
  require_nccl_tests_output(parsed, content, origin);
  const Inferred inferred = infer(parsed, origin, options);
  Report report;
  describe_run(report, parsed, content, inferred);
  describe_devices(report, parsed, options, inferred);
  describe_inventory(report, parsed, options);
  const double factor = nccl_tests_busbw_factor(inferred.benchmark, inferred.ranks);
  const std::size_t n_per_row =
      parsed.header.iters > 0 ? static_cast<std::size_t>(parsed.header.iters) : 1;
  const RowContext context{parsed,         origin, options.backend, inferred.benchmark,
                           inferred.ranks, factor, n_per_row};
  const ImportedRows rows = add_result_rows(context, options.keep_repeats, report.results);
  add_row_checks(report, parsed, origin, inferred, rows);
  add_completion_check(report, parsed, origin);
  const std::optional<ImportedTransport> transport = judge_transport(report, parsed, content);
  report.verdict = compute_verdict(report.checks, false);
  report.details["nccl_tests"] =
      import_details(parsed, origin, options, inferred, rows.repeats_max, transport);
  return report;
}

}  // namespace
}  // namespace nccl_tests_import

Report import_nccl_tests(std::string_view content, std::string_view origin,
                         const NcclTestsImportOptions& options) {
  nccl_tests_import::Parsed parsed;
  std::deque<std::string> storage;  // JSON figures spelled as text; outlives `parsed`'s views
  const auto first = content.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && content[first] == '{') {
    const json document = parse_json_text(content, origin);
    nccl_tests_import::parse_json(document, origin, parsed, storage);
  } else {
    nccl_tests_import::parse_text(content, parsed);
  }
  return nccl_tests_import::build_report(parsed, content, origin, options);
}

Report import_nccl_tests_file(const std::filesystem::path& path,
                              const NcclTestsImportOptions& options) {
  const std::string text = read_text_file(path);
  return import_nccl_tests(text, path == "-" ? "stdin" : path.string(), options);
}

}  // namespace preflight::reports
