// Internal to the nccl-tests importer (import_nccl_tests.hpp): the parsed form that both inputs
// are read into, and the steps that share it, one file per responsibility.
//   import_nccl_tests_parsed.cpp  figures as printed (exact decimal scaling), evidence lines
//   import_nccl_tests_text.cpp    nccl-tests' stdout: line prefixes, headers, the results table
//   import_nccl_tests_json.cpp    nccl-tests' JSON output (-J)
//   import_nccl_tests_rows.cpp    the report's result rows: one a table row, or repeats folded
//   import_nccl_tests.cpp         what the rows imply (benchmark, ranks), checks, inventory
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace preflight::reports::nccl_tests_import {

// ---- figures as printed (import_nccl_tests_parsed.cpp) ----------------------------------------

// The whole of `text` as a number; nullopt when any of it is not (parse_double: or not finite).
[[nodiscard]] std::optional<std::uint64_t> parse_u64(std::string_view text);
[[nodiscard]] std::optional<std::int64_t> parse_i64(std::string_view text);
[[nodiscard]] std::optional<double> parse_double(std::string_view text);
// The printed decimal `text` times 10^exponent, correctly rounded ("15.95", 9 -> 15950000000).
[[nodiscard]] std::optional<double> parse_scaled(std::string_view text, int exponent);

// all_reduce_perf, ./build/all_gather_perf_mpi -> all_reduce, all_gather; "" for another program.
[[nodiscard]] std::string benchmark_from_program(std::string_view program);

// Appends the start of `text` to `lines`, up to a bounded number of lines (a failing log repeats
// its failure on every rank).
void keep_evidence(std::vector<std::string>& lines, std::string_view text);

// The allow-listed ones of `entries` ("NAME=value"), as the report's inventory keeps them.
[[nodiscard]] std::map<std::string, std::string> allowlisted_entries(
    const std::vector<std::string>& entries);

// ---- the table -------------------------------------------------------------------------------

struct Layout {
  bool known = false;  // from a header line
  bool has_root = true;
  bool old_error = false;  // `error` (max relative error) instead of `#wrong`
  bool per_iter = false;   // -I: i_min i_max i_p99 i_cv% after each placement
  bool timestamp = false;  // -S: "YYYY-MM-DD HH:MM:SS" after the in-place group
  bool cputime = false;    // -C: the time column is CPU time

  [[nodiscard]] std::size_t lead() const { return has_root ? 5 : 4; }
  [[nodiscard]] std::size_t group() const { return per_iter ? 8 : 4; }
  [[nodiscard]] std::size_t tokens() const { return lead() + 2 * group() + (timestamp ? 2 : 0); }
};

struct Placement {
  std::string_view time;
  std::string_view algbw;
  std::string_view busbw;
  std::string_view wrong;
  std::string_view i_min;
  std::string_view i_max;
  std::string_view i_p99;
  std::string_view i_cv;
  // Parsed as soon as the row is read, while its line is in the cache: in a long log the rows
  // are long gone from it when the report is built (that first touch was most of an import).
  // NaN: unreadable, reported with the printed text when the row is used.
  double time_s = std::numeric_limits<double>::quiet_NaN();
  double algbw_Bps = std::numeric_limits<double>::quiet_NaN();
  double busbw_Bps = std::numeric_limits<double>::quiet_NaN();
  bool wrong_not_checked = false;  // "N/A"
  bool wrong_fractional = false;   // "5e-07", "0.01": old nccl-tests' max relative error
  std::optional<double> wrong_value;
};

// Reads the placement's printed figures into its numbers (NaN where unreadable).
void parse_figures(Placement& p);

// Views into the input (text) or into the importer's storage (JSON), which outlive the rows.
struct TableRow {
  std::uint64_t size = 0;
  std::uint64_t count = 0;
  std::string_view type;
  std::string_view redop;
  std::int64_t root = -1;
  std::optional<Placement> out_of_place;
  std::optional<Placement> in_place;
  std::string_view timestamp_date;  // -S: "YYYY-MM-DD" and "HH:MM:SS"
  std::string_view timestamp_time;
  std::size_t line = 0;
};

// -S: "YYYY-MM-DD HH:MM:SS" (local time, as printed).
[[nodiscard]] std::string timestamp_of(const TableRow& row);
// "2025-10-28 12:34:56" (local time, zone not printed) -> "2025-10-28T12:34:56".
[[nodiscard]] std::string to_rfc3339_local(std::string_view stamp);

// ---- what the whole output says -----------------------------------------------------------

struct Device {
  int rank = -1;
  int group = -1;
  long long pid = -1;
  std::string host;
  int device = -1;
  std::string bus;
  std::string name;
};

struct Header {
  bool seen = false;
  int nthread = 0;
  int ngpus = 0;
  std::uint64_t min_bytes = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t step = 0;
  bool step_is_factor = true;
  int warmup_iters = -1;
  int iters = -1;
  int agg_iters = -1;
  int validation = -1;
  int graph = -1;
};

struct Parsed {
  std::string format = "text";
  Header header;
  std::vector<Device> devices;
  // A deque: a long log grows it without copying the rows it already holds.
  std::deque<TableRow> rows;
  Layout layout;
  bool header_line_seen = false;
  std::string program;  // all_reduce_perf
  std::vector<std::string> argv;
  std::string nccl_tests_version;
  std::string nccl_version;
  std::string ofi_version;
  std::string instance_type;  // "Running on p4d.24xlarge platform"
  std::string network;        // "Using network AWS Libfabric"
  std::map<std::string, std::string> env;
  std::optional<std::int64_t> out_of_bounds;
  std::optional<double> avg_busbw_gbps;
  std::string start_time;
  std::vector<std::string> failures;
  std::vector<std::string> warnings;  // NCCL WARN lines (evidence)
  std::vector<std::string> errors;    // `# error:` lines
  std::size_t elided = 0;
  std::vector<std::size_t> malformed_lines;
  unsigned prefixes = 0;
  std::size_t lines = 0;
  std::vector<std::string> notes;
  // JSON only: per-iteration samples per row index and placement.
  std::map<std::pair<std::size_t, bool>, std::vector<double>> samples_s;
  std::map<std::pair<std::size_t, bool>, int> skipped_iterations;
};

// ---- the two inputs ---------------------------------------------------------------------------

// nccl-tests' stdout, any version and launcher (import_nccl_tests_text.cpp): every line of
// `content` into `parsed`, whose views point into `content`.
void parse_text(std::string_view content, Parsed& parsed);
// The line prefixes parse_text stripped (Parsed::prefixes), named for the report's details.
[[nodiscard]] std::vector<std::string> describe_prefixes(unsigned seen);

// nccl-tests' JSON output (import_nccl_tests_json.cpp). The rows' views point into `storage`,
// which must be kept while they are read. Throws UsageError naming the JSON pointer of what it
// cannot read.
void parse_json(const nlohmann::json& document, std::string_view origin, Parsed& parsed,
                std::deque<std::string>& storage);

}  // namespace preflight::reports::nccl_tests_import
