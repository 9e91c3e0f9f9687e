#include "reports/import_nccl_tests.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "common/error.hpp"
#include "common/stats.hpp"
#include "common/text.hpp"
#include "common/version.hpp"
#include "preflight/build_config.hpp"
#include "reports/import_nccl_log.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {

using nlohmann::json;

namespace {

// ---- small parsing helpers -------------------------------------------------------------------

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> parse_i64(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// A printed decimal scaled by 10^exponent with one correctly rounded conversion, so "15.95" GB/s
// becomes exactly the double nearest 15950000000 and "69.12" us the double nearest 6.912e-05 —
// the same doubles a baseline file spelling those numbers holds.
std::optional<double> parse_scaled(std::string_view text, int exponent) {
  if (text.empty() || text.size() > 64) {
    return std::nullopt;
  }
  // Fast path for what nccl-tests prints ("123.45", "66132"): the digits as an integer below
  // 2^53 and a power of ten up to 10^22 are both exact doubles, so one multiplication or
  // division rounds correctly (Clinger's fast path): the same double as from_chars, 10x faster.
  {
    std::uint64_t digits = 0;
    int decimals = 0;
    int count = 0;
    bool dot = false;
    bool plain = true;
    for (const char c : text) {
      if (c >= '0' && c <= '9') {
        digits = digits * 10 + static_cast<std::uint64_t>(c - '0');
        decimals += dot ? 1 : 0;
        ++count;
      } else if (c == '.' && !dot) {
        dot = true;
      } else {
        plain = false;
        break;
      }
    }
    static constexpr std::array<double, 23> kPowers{1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const int scale = exponent - decimals;
    if (plain && count > 0 && count <= 15 && scale >= -22 && scale <= 22) {
      const auto value = static_cast<double>(digits);
      return scale >= 0 ? value * kPowers[static_cast<std::size_t>(scale)]
                        : value / kPowers[static_cast<std::size_t>(-scale)];
    }
  }
  if (text.find_first_of("eE") != std::string_view::npos) {
    const auto value = parse_double(text);
    if (!value) {
      return std::nullopt;
    }
    return *value * std::pow(10.0, exponent);
  }
  // "<digits>e<exponent>" in a stack buffer: this runs for every figure of every row.
  std::array<char, 80> spelled{};
  std::copy(text.begin(), text.end(), spelled.begin());
  std::size_t length = text.size();
  spelled[length++] = 'e';
  const auto [end, ec] =
      std::to_chars(spelled.data() + length, spelled.data() + spelled.size(), exponent);
  if (ec != std::errc()) {
    return std::nullopt;
  }
  return parse_double(
      std::string_view(spelled.data(), static_cast<std::size_t>(end - spelled.data())));
}

// Half a unit of the last printed digit: "0.81" -> 0.005, "1234.5" -> 0.05, "66132" -> 0.5.
double half_unit_of_last_digit(std::string_view token) {
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || token.find_first_of("eE") != std::string_view::npos) {
    return 0.5;
  }
  return 0.5 * std::pow(10.0, -static_cast<double>(token.size() - dot - 1));
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string_view trim_left(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  return text;
}

// Element size of the nccl-tests type names, old and new; 0 when unknown.
std::size_t type_size(std::string_view type) {
  static constexpr std::array<std::pair<std::string_view, std::size_t>, 18> kTypes{{
      {"int8", 1},
      {"uint8", 1},
      {"char", 1},
      {"int32", 4},
      {"int", 4},
      {"uint32", 4},
      {"int64", 8},
      {"uint64", 8},
      {"half", 2},
      {"float16", 2},
      {"float", 4},
      {"float32", 4},
      {"double", 8},
      {"float64", 8},
      {"bfloat16", 2},
      {"f8e4m3", 1},
      {"f8e5m2", 1},
      {"fp8", 1},
  }};
  for (const auto& [name, size] : kTypes) {
    if (name == type) {
      return size;
    }
  }
  return 0;
}

bool is_type_name(std::string_view token) {
  return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
  }) && !is_digit(token.front());
}

// ---- line prefixes ---------------------------------------------------------------------------

enum PrefixKind : unsigned {
  kPrefixIndent = 1U << 0U,
  kPrefixMpirunTag = 1U << 1U,
  kPrefixSrun = 1U << 2U,
  kPrefixLauncherTag = 1U << 3U,
  kPrefixTimestamp = 1U << 4U,
};

// `[1,0]<stdout>:` -> the rest; nullopt when `line` does not start with such a tag.
std::optional<std::string_view> strip_mpirun_tag(std::string_view line) {
  // [jobid,rank]<stdout>: or <stderr>:
  std::size_t i = 1;
  const auto digits = [&]() {
    const std::size_t start = i;
    while (i < line.size() && is_digit(line[i])) {
      ++i;
    }
    return i > start;
  };
  if (line.size() < 14 || line[0] != '[' || !digits() || i >= line.size() || line[i] != ',') {
    return std::nullopt;
  }
  ++i;
  if (!digits() || i >= line.size() || line[i] != ']') {
    return std::nullopt;
  }
  ++i;
  for (const std::string_view tag : {"<stdout>:", "<stderr>:", "<stddiag>:"}) {
    if (line.substr(i, tag.size()) == tag) {
      return line.substr(i + tag.size());
    }
  }
  return std::nullopt;
}

// `[2026-01-02 10:24:27] ` or `[2026-01-02T10:24:27.123Z] `
std::optional<std::string_view> strip_bracket_timestamp(std::string_view line) {
  if (line.size() < 21 || line[0] != '[' || !is_digit(line[1]) || !is_digit(line[4]) ||
      line[5] != '-' || line[8] != '-') {
    return std::nullopt;
  }
  const auto close = line.find(']');
  if (close == std::string_view::npos || close > 40) {
    return std::nullopt;
  }
  return line.substr(close + 1);
}

// srun -l: `12: `
std::optional<std::string_view> strip_srun_label(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && i < 8 && is_digit(line[i])) {
    ++i;
  }
  if (i == 0 || i + 1 >= line.size() || line[i] != ':' ||
      (line[i + 1] != ' ' && line[i + 1] != '\t')) {
    return std::nullopt;
  }
  return line.substr(i + 1);
}

// Launcher tags such as SkyPilot's `(head, rank=0, pid=3808) ` or `(worker1, rank=1, ...)`.
std::optional<std::string_view> strip_launcher_tag(std::string_view line) {
  if (line.empty() || line[0] != '(') {
    return std::nullopt;
  }
  const auto close = line.find(')');
  if (close == std::string_view::npos || close > 200) {
    return std::nullopt;
  }
  const std::string_view inside = line.substr(1, close - 1);
  if (inside.find("rank=") == std::string_view::npos &&
      inside.find("pid=") == std::string_view::npos) {
    return std::nullopt;
  }
  return line.substr(close + 1);
}

std::string_view strip_prefixes(std::string_view line, unsigned& seen) {
  for (int round = 0; round < 8; ++round) {
    const std::string_view trimmed = trim_left(line);
    if (trimmed.size() != line.size() && round == 0) {
      seen |= kPrefixIndent;
    }
    line = trimmed;
    if (line.empty()) {
      return line;
    }
    std::optional<std::string_view> rest;
    if (line[0] == '[') {
      if ((rest = strip_mpirun_tag(line))) {
        seen |= kPrefixMpirunTag;
      } else if ((rest = strip_bracket_timestamp(line))) {
        seen |= kPrefixTimestamp;
      }
    } else if (line[0] == '(') {
      if ((rest = strip_launcher_tag(line))) {
        seen |= kPrefixLauncherTag;
      }
    } else if (is_digit(line[0])) {
      if ((rest = strip_srun_label(line))) {
        seen |= kPrefixSrun;
      }
    }
    if (!rest) {
      return line;
    }
    line = *rest;
  }
  return trim_left(line);
}

std::vector<std::string> describe_prefixes(unsigned seen) {
  std::vector<std::string> names;
  if ((seen & kPrefixMpirunTag) != 0) {
    names.emplace_back("mpirun --tag-output");
  }
  if ((seen & kPrefixSrun) != 0) {
    names.emplace_back("srun -l");
  }
  if ((seen & kPrefixLauncherTag) != 0) {
    names.emplace_back("launcher tag (name, rank=, pid=)");
  }
  if ((seen & kPrefixTimestamp) != 0) {
    names.emplace_back("[timestamp]");
  }
  if ((seen & kPrefixIndent) != 0) {
    names.emplace_back("indentation");
  }
  return names;
}

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

Layout layout_from_header(const std::vector<std::string_view>& names) {
  Layout layout;
  layout.known = true;
  const auto has = [&](std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  layout.has_root = has("root");
  layout.old_error = has("error") && !has("#wrong");
  layout.per_iter = has("i_min");
  layout.timestamp = has("timestamp");
  layout.cputime = has("cputime");
  return layout;
}

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

void parse_figures(Placement& p) {
  constexpr double kUnreadable = std::numeric_limits<double>::quiet_NaN();
  p.time_s = parse_scaled(p.time, -6).value_or(kUnreadable);
  p.algbw_Bps = parse_scaled(p.algbw, 9).value_or(kUnreadable);
  p.busbw_Bps = parse_scaled(p.busbw, 9).value_or(kUnreadable);
  p.wrong_not_checked = p.wrong == "N/A";
  p.wrong_fractional =
      p.wrong.find('.') != std::string_view::npos || p.wrong.find("e-") != std::string_view::npos;
  p.wrong_value = parse_double(p.wrong);
}

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

// Row layouts nccl-tests has printed, by token count, for tables without a header line.
std::optional<Layout> layout_from_tokens(const std::vector<std::string_view>& tokens) {
  Layout layout;
  const auto looks_float = [](std::string_view token) {
    return token.find_first_of(".eE") != std::string_view::npos;
  };
  switch (tokens.size()) {
    case 13:
      return layout;
    case 15:
      layout.timestamp = true;
      return layout;
    case 21:
      layout.per_iter = true;
      return layout;
    case 23:
      layout.per_iter = true;
      layout.timestamp = true;
      return layout;
    case 12:
      // No root column: old nccl-tests, whose check column is the max error ("5e-07").
      layout.has_root = false;
      layout.old_error = looks_float(tokens[7]);
      return layout;
    case 14:
      layout.has_root = false;
      layout.timestamp = true;
      layout.old_error = looks_float(tokens[7]);
      return layout;
    default:
      return std::nullopt;
  }
}

Placement placement_at(const std::vector<std::string_view>& tokens, std::size_t at,
                       const Layout& layout) {
  Placement p;
  p.time = tokens[at];
  p.algbw = tokens[at + 1];
  p.busbw = tokens[at + 2];
  p.wrong = tokens[at + 3];
  if (layout.per_iter) {
    p.i_min = tokens[at + 4];
    p.i_max = tokens[at + 5];
    p.i_p99 = tokens[at + 6];
    p.i_cv = tokens[at + 7];
  }
  parse_figures(p);
  return p;
}

// The leading fields of a data row: size, count, type, redop (and root). nullopt when the line
// is not a data row at all.
bool looks_like_row(const std::vector<std::string_view>& tokens) {
  return tokens.size() >= 8 && all_digits(tokens[0]) && all_digits(tokens[1]) &&
         is_type_name(tokens[2]) && is_type_name(tokens[3]);
}

std::optional<TableRow> parse_row(const std::vector<std::string_view>& tokens, Layout layout) {
  std::size_t count = layout.tokens();
  bool in_place_only = false;
  if (tokens.size() != count) {
    // A header-less table, or a layout the header did not announce: infer from the count.
    if (const auto inferred = layout_from_tokens(tokens); inferred && !layout.known) {
      layout = *inferred;
      count = layout.tokens();
    } else if (tokens.size() == layout.lead() + layout.group() + (layout.timestamp ? 2 : 0)) {
      in_place_only = true;  // trace replay prints no out-of-place body
    } else {
      return std::nullopt;
    }
  }
  TableRow row;
  const auto size = parse_u64(tokens[0]);
  const auto elements = parse_u64(tokens[1]);
  if (!size || !elements) {
    return std::nullopt;
  }
  row.size = *size;
  row.count = *elements;
  row.type = tokens[2];
  row.redop = tokens[3];
  if (layout.has_root) {
    const auto root = parse_i64(tokens[4]);
    if (!root) {
      return std::nullopt;
    }
    row.root = *root;
  }
  std::size_t at = layout.lead();
  if (!in_place_only) {
    row.out_of_place = placement_at(tokens, at, layout);
    at += layout.group();
  }
  row.in_place = placement_at(tokens, at, layout);
  at += layout.group();
  if (layout.timestamp && at + 1 < tokens.size()) {
    row.timestamp_date = tokens[at];
    row.timestamp_time = tokens[at + 1];
  }
  return row;
}

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

void parse_nthread_header(const std::vector<std::string_view>& tokens, Header& header) {
  header.seen = true;
  for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
    const std::string_view key = tokens[i];
    const std::string_view value = tokens[i + 1];
    const auto as_int = [&]() { return static_cast<int>(parse_i64(value).value_or(-1)); };
    if (key == "nThread") {
      header.nthread = as_int();
    } else if (key == "nGpus") {
      header.ngpus = as_int();
    } else if (key == "minBytes") {
      header.min_bytes = parse_u64(value).value_or(0);
    } else if (key == "maxBytes") {
      header.max_bytes = parse_u64(value).value_or(0);
    } else if (key == "step:") {
      const auto open = value.find('(');
      header.step = parse_u64(value.substr(0, open)).value_or(0);
      header.step_is_factor = value.find("factor") != std::string_view::npos;
    } else if (key == "iters:") {
      const std::string_view before = i > 0 ? tokens[i - 1] : std::string_view();
      if (before == "warmup") {
        header.warmup_iters = as_int();
      } else if (before == "agg") {
        header.agg_iters = as_int();
      } else {
        header.iters = as_int();
      }
    } else if (key == "validation:") {
      header.validation = as_int();
    } else if (key == "graph:") {
      header.graph = as_int();
    }
  }
}

// `#  Rank  0 Group  0 Pid   6899 on host device  0 [0000:04:00] NVIDIA H100 80GB HBM3`
// (older: no Group; bus id `[0x10]`).
std::optional<Device> parse_device(std::string_view content) {
  const auto tokens = split_whitespace(content);
  Device device;
  std::size_t i = 0;
  const auto next_int = [&](std::string_view key) -> bool {
    if (i + 1 >= tokens.size() || tokens[i] != key) {
      return false;
    }
    const auto value = parse_i64(tokens[i + 1]);
    if (!value) {
      return false;
    }
    i += 2;
    if (key == "Rank") {
      device.rank = static_cast<int>(*value);
    } else if (key == "Group") {
      device.group = static_cast<int>(*value);
    } else if (key == "Pid") {
      device.pid = *value;
    } else if (key == "device") {
      device.device = static_cast<int>(*value);
    }
    return true;
  };
  if (!tokens.empty() && tokens[0] == "#") {
    i = 1;
  }
  if (!next_int("Rank")) {
    return std::nullopt;
  }
  (void)next_int("Group");
  if (!next_int("Pid") || i + 1 >= tokens.size() || tokens[i] != "on") {
    return std::nullopt;
  }
  device.host = std::string(tokens[i + 1]);
  i += 2;
  if (!next_int("device")) {
    return device;
  }
  if (i < tokens.size() && tokens[i].size() >= 2 && tokens[i].front() == '[') {
    std::string_view bus = tokens[i];
    bus.remove_prefix(1);
    if (!bus.empty() && bus.back() == ']') {
      bus.remove_suffix(1);
    }
    device.bus = std::string(bus);
    ++i;
  }
  std::vector<std::string> name;
  for (; i < tokens.size(); ++i) {
    name.emplace_back(tokens[i]);
  }
  device.name = join(name, " ");
  return device;
}

// all_reduce_perf, ./build/all_gather_perf_mpi -> all_reduce, all_gather
std::string benchmark_from_program(std::string_view program) {
  const auto slash = program.find_last_of('/');
  if (slash != std::string_view::npos) {
    program.remove_prefix(slash + 1);
  }
  for (const std::string_view suffix : {"_perf_mpi", "_perf"}) {
    if (program.size() > suffix.size() &&
        program.substr(program.size() - suffix.size()) == suffix) {
      return std::string(program.substr(0, program.size() - suffix.size()));
    }
  }
  return {};
}

// A shell line naming an nccl-tests program: its tokens from the program on.
void note_command_line(std::string_view content, Parsed& parsed) {
  if (!parsed.argv.empty()) {
    return;
  }
  const auto tokens = split_whitespace(content);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string name = benchmark_from_program(tokens[i]);
    if (!name.empty() && name.find_first_of("=:") == std::string::npos) {
      for (std::size_t k = i; k < tokens.size() && tokens[k] != "\\"; ++k) {
        parsed.argv.emplace_back(tokens[k]);
      }
      if (parsed.program.empty()) {
        parsed.program = std::string(tokens[i]);
      }
      return;
    }
  }
}

std::string after(std::string_view text, std::string_view marker) {
  const auto at = text.find(marker);
  if (at == std::string_view::npos) {
    return {};
  }
  return std::string(trim(text.substr(at + marker.size())));
}

std::string first_token(std::string_view text) {
  const auto tokens = split_whitespace(text);
  return tokens.empty() ? std::string() : std::string(tokens.front());
}

bool is_failure_line(std::string_view content) {
  static constexpr std::array<std::string_view, 10> kMarkers{
      "Test failure",
      "Test CUDA failure",
      "Test NCCL failure",
      "NCCL failure",
      "mpirun detected that one or more processes exited with non-zero status",
      "mpirun noticed that process",
      "srun: error:",
      "terminate called after throwing",
      "Segmentation fault",
      "Bus error",
  };
  return std::any_of(kMarkers.begin(), kMarkers.end(), [&](std::string_view marker) {
    return content.find(marker) != std::string_view::npos;
  });
}

constexpr std::size_t kMaxEvidenceLines = 12;
constexpr std::size_t kMaxEvidenceChars = 400;

void keep_evidence(std::vector<std::string>& lines, std::string_view text) {
  if (lines.size() < kMaxEvidenceLines) {
    lines.emplace_back(text.substr(0, kMaxEvidenceChars));
  }
}

void parse_text(std::string_view content, Parsed& parsed) {
  std::size_t line_number = 0;
  std::size_t start = 0;
  std::vector<std::string_view> row_tokens;
  row_tokens.reserve(32);
  while (start <= content.size()) {
    const auto end = content.find('\n', start);
    std::string_view raw =
        content.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? content.size() + 1 : end + 1;
    ++line_number;
    if (end == std::string_view::npos && raw.empty()) {
      break;
    }
    const std::string_view line = trim_right(strip_prefixes(raw, parsed.prefixes));
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      const std::string_view body = trim(line.substr(1));
      if (starts_with(body, "nThread")) {
        parse_nthread_header(split_whitespace(body), parsed.header);
      } else if (starts_with(body, "Rank")) {
        if (auto device = parse_device(body)) {
          parsed.devices.push_back(std::move(*device));
        }
      } else if (starts_with(body, "nccl-tests version")) {
        const auto tokens = split_whitespace(body);
        if (tokens.size() >= 3) {
          parsed.nccl_tests_version = std::string(tokens[2]);
        }
        for (const auto& token : tokens) {
          if (starts_with(token, "nccl-library=")) {
            const auto code = parse_i64(token.substr(13));
            if (code && *code > 0 && parsed.nccl_version.empty()) {
              parsed.nccl_version = version_from_nccl_code(static_cast<int>(*code)).numeric();
            }
          }
        }
      } else if (starts_with(body, "Collective test starting:")) {
        parsed.program = after(body, ":");
      } else if (starts_with(body, "Out of bounds values")) {
        // Named: split_whitespace returns views into its argument.
        const std::string rest = after(body, ":");
        const auto value = split_whitespace(rest);
        if (!value.empty()) {
          parsed.out_of_bounds = parse_i64(value.front());
        }
      } else if (starts_with(body, "Avg bus bandwidth")) {
        const std::string rest = after(body, ":");
        const auto value = split_whitespace(rest);
        if (!value.empty()) {
          parsed.avg_busbw_gbps = parse_double(value.front());
        }
      } else if (starts_with(body, "error:")) {
        const std::string message = after(body, "error:");
        if (!message.empty()) {
          keep_evidence(parsed.errors, message);
        }
      } else {
        const auto tokens = split_whitespace(body);
        if (tokens.size() >= 6 && tokens[0] == "size" && tokens[1] == "count") {
          parsed.layout = layout_from_header(tokens);
          parsed.header_line_seen = true;
        }
      }
      continue;
    }
    if (line == "..." || line == "…") {
      ++parsed.elided;
      continue;
    }
    if (is_digit(line[0])) {
      split_whitespace(line, row_tokens);
      if (looks_like_row(row_tokens)) {
        if (auto row = parse_row(row_tokens, parsed.layout)) {
          row->line = line_number;
          parsed.rows.push_back(std::move(*row));
        } else {
          parsed.malformed_lines.push_back(line_number);
        }
        continue;
      }
    }
    // Everything else: NCCL INFO/WARN lines, launcher banners, shell commands.
    if (is_failure_line(line)) {
      keep_evidence(parsed.failures, line);
    } else if (line.find("NCCL WARN") != std::string_view::npos) {
      keep_evidence(parsed.warnings, line);
    }
    if (parsed.nccl_version.empty() && line.find("NCCL version ") != std::string_view::npos) {
      parsed.nccl_version = first_token(after(line, "NCCL version "));
    }
    if (parsed.ofi_version.empty()) {
      for (const std::string_view marker : {"Initializing aws-ofi-nccl ", "Using aws-ofi-nccl "}) {
        if (line.find(marker) != std::string_view::npos) {
          parsed.ofi_version = first_token(after(line, marker));
        }
      }
    }
    if (parsed.network.empty() && line.find("Using network ") != std::string_view::npos) {
      const std::string network = after(line, "Using network ");
      parsed.network = std::string(trim(network));
    }
    if (parsed.instance_type.empty() &&
        line.find("NET/OFI Running on ") != std::string_view::npos) {
      const std::string platform = first_token(after(line, "NET/OFI Running on "));
      // "p4d.24xlarge" names an instance type; "P4d" (old plugins) names only a family.
      if (platform.find('.') != std::string::npos) {
        parsed.instance_type = platform;
      }
    }
    if (line.find(" set by environment to ") != std::string_view::npos) {
      const auto tokens = split_whitespace(line);
      for (std::size_t i = 0; i + 4 < tokens.size(); ++i) {
        if (tokens[i + 1] == "set" && tokens[i + 2] == "by" && tokens[i + 3] == "environment" &&
            tokens[i + 4] == "to" && i + 5 < tokens.size()) {
          std::string value(tokens[i + 5]);
          if (!value.empty() && value.back() == '.') {
            value.pop_back();
          }
          parsed.env.emplace(std::string(tokens[i]), value);
        }
      }
    }
    if (line.find("_perf") != std::string_view::npos) {
      note_command_line(line, parsed);
    }
  }
  parsed.lines = line_number;
}

// ---- JSON (-J) -------------------------------------------------------------------------------

[[noreturn]] void json_error(std::string_view origin, const std::string& pointer,
                             std::string_view message) {
  throw UsageError(fmt::format("{}: {}: {}", origin, pointer.empty() ? "/" : pointer, message));
}

const json& member(const json& object, std::string_view key, const std::string& pointer,
                   std::string_view origin) {
  if (!object.is_object()) {
    json_error(origin, pointer, fmt::format("expected an object, found {}", object.type_name()));
  }
  const auto found = object.find(std::string(key));
  if (found == object.end()) {
    json_error(origin, pointer, fmt::format("missing required property \"{}\"", key));
  }
  return *found;
}

// The writer prints doubles with %lf, NaN as the string "nan", and booleans as strings.
std::optional<double> json_number(const json& value) {
  if (value.is_number()) {
    const double number = value.get<double>();
    return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
  }
  return std::nullopt;
}

double require_number(const json& object, std::string_view key, const std::string& pointer,
                      std::string_view origin) {
  const json& value = member(object, key, pointer, origin);
  const auto number = json_number(value);
  if (!number) {
    json_error(origin, pointer + "/" + std::string(key),
               fmt::format("expected a finite number, found {}", value.dump()));
  }
  return *number;
}

std::string require_string(const json& object, std::string_view key, const std::string& pointer,
                           std::string_view origin) {
  const json& value = member(object, key, pointer, origin);
  if (!value.is_string()) {
    json_error(origin, pointer + "/" + std::string(key),
               fmt::format("expected a string, found {}", value.type_name()));
  }
  return value.get<std::string>();
}

// "%lf" keeps six decimals: print the number back the way the writer did and reuse the exact
// decimal scaling of the text path.
std::string writer_spelling(double value) {
  return fmt::format("{:.6f}", value);
}

Placement json_placement(const json& body, const std::string& pointer, std::string_view origin,
                         std::deque<std::string>& storage) {
  Placement p;
  const bool cpu = body.is_object() && body.contains("cpu_time");
  const double time = require_number(body, cpu ? "cpu_time" : "time", pointer, origin);
  const double algbw = require_number(body, "alg_bw", pointer, origin);
  const double busbw = require_number(body, "bus_bw", pointer, origin);
  const json& wrong = member(body, "nwrong", pointer, origin);
  // string_views into `storage`, which the caller keeps alive (a deque never moves its strings).
  storage.push_back(writer_spelling(time));
  p.time = storage.back();
  storage.push_back(writer_spelling(algbw));
  p.algbw = storage.back();
  storage.push_back(writer_spelling(busbw));
  p.busbw = storage.back();
  if (wrong.is_null()) {
    storage.emplace_back("N/A");
  } else if (const auto number = json_number(wrong)) {
    storage.push_back(fmt::format("{:.0f}", *number));
  } else {
    json_error(origin, pointer + "/nwrong",
               fmt::format("expected a number or null, found {}", wrong.dump()));
  }
  p.wrong = storage.back();
  parse_figures(p);
  return p;
}

void parse_json(const json& document, std::string_view origin, Parsed& parsed,
                std::deque<std::string>& storage) {
  if (!document.is_object()) {
    json_error(origin, "",
               fmt::format("expected an nccl-tests JSON object, found {}", document.type_name()));
  }
  const json& version = member(document, "version", "", origin);
  if (!version.is_number_integer() || version.get<int>() < 1 || version.get<int>() > 3) {
    json_error(origin, "/version",
               fmt::format("unsupported nccl-tests JSON file version {} (1 to 3 are known)",
                           version.dump()));
  }
  parsed.format = fmt::format("json v{}", version.get<int>());
  parsed.start_time = document.value("start_time", "");
  if (document.contains("args") && document.at("args").is_array()) {
    for (const auto& arg : document.at("args")) {
      if (arg.is_string()) {
        parsed.argv.push_back(arg.get<std::string>());
      }
    }
    if (!parsed.argv.empty()) {
      parsed.program = parsed.argv.front();
    }
  }
  if (document.contains("env") && document.at("env").is_array()) {
    std::vector<std::string> entries;
    for (const auto& entry : document.at("env")) {
      if (entry.is_string()) {
        entries.push_back(entry.get<std::string>());
      }
    }
    std::vector<const char*> pointers;
    pointers.reserve(entries.size() + 1);
    for (const auto& entry : entries) {
      pointers.push_back(entry.c_str());
    }
    pointers.push_back(nullptr);
    parsed.env = allowlisted_environment(pointers.data());
  }
  if (document.contains("nccl_version") && document.at("nccl_version").is_number_integer()) {
    const int code = document.at("nccl_version").get<int>();
    if (code > 0) {
      parsed.nccl_version = version_from_nccl_code(code).numeric();
    }
  }
  if (document.contains("config")) {
    const json& config = document.at("config");
    if (!config.is_object()) {
      json_error(origin, "/config", "expected an object");
    }
    Header& header = parsed.header;
    header.seen = true;
    header.nthread = config.value("nthreads", 0);
    header.ngpus = config.value("ngpus", 0);
    header.min_bytes = config.value("minimum_bytes", std::uint64_t{0});
    header.max_bytes = config.value("maximum_bytes", std::uint64_t{0});
    if (config.contains("step_factor")) {
      header.step = config.value("step_factor", std::uint64_t{0});
      header.step_is_factor = true;
    } else {
      header.step = config.value("step_bytes", std::uint64_t{0});
      header.step_is_factor = false;
    }
    header.warmup_iters = config.value("warmup_iters", -1);
    header.iters = config.value("iterations", -1);
    header.agg_iters = config.value("aggregated_iterations", -1);
    header.validation = config.value("validation", -1);
    header.graph = config.value("graph", -1);
    if (config.contains("devices")) {
      const json& devices = config.at("devices");
      if (!devices.is_array()) {
        json_error(origin, "/config/devices", "expected an array");
      }
      for (std::size_t i = 0; i < devices.size(); ++i) {
        const json& d = devices[i];
        if (!d.is_object()) {
          json_error(origin, fmt::format("/config/devices/{}", i), "expected an object");
        }
        Device device;
        device.rank = d.value("rank", -1);
        device.group = d.value("group", -1);
        device.pid = d.value("pid", -1LL);
        device.host = d.value("hostname", "");
        device.device = d.value("device", -1);
        device.bus = d.value("device_hex", "");
        device.name = d.value("device_info", "");
        parsed.devices.push_back(std::move(device));
      }
    }
  }
  const json& results = member(document, "results", "", origin);
  if (!results.is_array()) {
    json_error(origin, "/results", fmt::format("expected an array, found {}", results.type_name()));
  }
  parsed.layout.known = true;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string pointer = fmt::format("/results/{}", i);
    const json& r = results[i];
    TableRow row;
    row.size = static_cast<std::uint64_t>(require_number(r, "size", pointer, origin));
    row.count = static_cast<std::uint64_t>(require_number(r, "count", pointer, origin));
    storage.push_back(require_string(r, "type", pointer, origin));
    row.type = storage.back();
    storage.push_back(require_string(r, "redop", pointer, origin));
    row.redop = storage.back();
    const json& root = member(r, "root", pointer, origin);
    if (root.is_string()) {
      const std::string text = root.get<std::string>();
      row.root = parse_i64(trim(text)).value_or(-1);
    } else if (root.is_number_integer()) {
      row.root = root.get<std::int64_t>();
    }
    row.line = i;
    for (const bool in_place : {false, true}) {
      const std::string key = in_place ? "in_place" : "out_of_place";
      if (!r.contains(key) || r.at(key).is_null()) {
        continue;
      }
      Placement p = json_placement(r.at(key), pointer + "/" + key, origin, storage);
      const std::string iter_key = key + "_per_iter";
      if (r.contains(iter_key) && r.at(iter_key).is_object()) {
        const json& per_iter = r.at(iter_key);
        std::vector<double> samples;
        if (per_iter.contains("times_us") && per_iter.at("times_us").is_array()) {
          for (std::size_t k = 0; k < per_iter.at("times_us").size(); ++k) {
            const auto value = json_number(per_iter.at("times_us")[k]);
            if (!value || *value < 0) {
              json_error(origin, fmt::format("{}/{}/times_us/{}", pointer, iter_key, k),
                         "expected a non-negative number");
            }
            samples.push_back(*value * 1e-6);
          }
        }
        if (!samples.empty()) {
          parsed.samples_s[{parsed.rows.size(), in_place}] = std::move(samples);
          parsed.skipped_iterations[{parsed.rows.size(), in_place}] =
              per_iter.value("skipped_iterations", 0);
        }
      }
      (in_place ? row.in_place : row.out_of_place) = p;
    }
    parsed.rows.push_back(std::move(row));
  }
  if (document.contains("out_of_bounds") && document.at("out_of_bounds").is_object()) {
    const json& count = document.at("out_of_bounds").value("count", json());
    if (const auto number = json_number(count)) {
      parsed.out_of_bounds = static_cast<std::int64_t>(*number);
    }
  }
  // Version 1 spelled it "average_bus_bandwidith" / "bandwidith".
  for (const char* key : {"average_bus_bandwidth", "average_bus_bandwidith"}) {
    if (document.contains(key) && document.at(key).is_object()) {
      const json& avg = document.at(key);
      const json& value =
          avg.contains("bandwidth") ? avg.at("bandwidth") : avg.value("bandwidith", json());
      if (const auto number = json_number(value)) {
        parsed.avg_busbw_gbps = number;
      }
    }
  }
  if (document.contains("errors") && document.at("errors").is_array()) {
    for (const auto& error : document.at("errors")) {
      if (error.is_string() && !error.get<std::string>().empty()) {
        keep_evidence(parsed.errors, error.get<std::string>());
      }
    }
  }
}

// ---- inference and the report ----------------------------------------------------------------

struct Inferred {
  std::string benchmark;
  std::string benchmark_from;
  int ranks = 0;
  std::string ranks_from;
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
  const std::size_t element = type_size(row->type);
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
  const std::size_t element = type_size(row->type);
  const bool per_rank_count = benchmark == "all_gather" || benchmark == "reduce_scatter" ||
                              benchmark == "alltoall" || benchmark == "gather" ||
                              benchmark == "scatter";
  if (per_rank_count && element > 0 && row->count > 0 && row->size % (row->count * element) == 0) {
    from = "size / (count x element size) of the largest row";
    return static_cast<int>(row->size / (row->count * element));
  }
  // busbw / algbw is the bus factor f: 2(n-1)/n for all_reduce, (n-1)/n for the gathers. Both
  // columns are printed rounded, so each row bounds f to an interval, hence n to an interval;
  // the rows together must leave exactly one integer.
  const bool all_reduce = benchmark == "all_reduce";
  if (!all_reduce && !per_rank_count) {
    return 0;
  }
  const auto n_of = [&](double f) {
    const double limit = all_reduce ? 2.0 : 1.0;
    if (f <= 0) {
      return 1.0;
    }
    if (f >= limit) {
      return 1e9;
    }
    return limit / (limit - f);
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

TimeStats point_stats(double time_s, std::size_t n) {
  TimeStats t;
  t.median = t.mean = t.min = t.max = t.p90 = t.p99 = time_s;
  t.ci95_lo = t.ci95_hi = time_s;
  t.n = n;
  return t;
}

std::string to_rfc3339_local(std::string_view stamp) {
  // "2025-10-28 12:34:56" (local time, zone not printed) -> "2025-10-28T12:34:56".
  std::string text(trim(stamp));
  if (text.size() >= 19 && text[10] == ' ') {
    text[10] = 'T';
  }
  return text;
}

// -S: "YYYY-MM-DD HH:MM:SS" (local time, as printed).
std::string timestamp_of(const TableRow& row) {
  return fmt::format("{} {}", row.timestamp_date, row.timestamp_time);
}

// ---- rows of the report ----------------------------------------------------------------------

// What every result row of one import shares.
struct RowContext {
  const Parsed& parsed;
  std::string_view origin;
  const std::string& backend;
  const std::string& benchmark;
  int ranks = 0;  // 0: unknown
  double factor = 0;
  std::size_t n_per_row = 1;
};

std::vector<std::vector<std::size_t>> single_row_groups(std::size_t rows) {
  std::vector<std::vector<std::size_t>> groups(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    groups[i].push_back(i);
  }
  return groups;
}

// Table rows measuring the same thing (size, dtype, op, root), in the order of first appearance.
std::vector<std::vector<std::size_t>> repeat_groups(const std::deque<TableRow>& rows) {
  struct Key {
    std::uint64_t size;
    std::string_view type;
    std::string_view redop;
    std::int64_t root;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const {
      std::size_t hash = std::hash<std::uint64_t>()(key.size);
      hash = hash * 31 + std::hash<std::string_view>()(key.type);
      hash = hash * 31 + std::hash<std::string_view>()(key.redop);
      return hash * 31 + std::hash<std::int64_t>()(key.root);
    }
  };
  std::unordered_map<Key, std::size_t, KeyHash> index;
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TableRow& row = rows[i];
    const auto [found, added] =
        index.try_emplace(Key{row.size, row.type, row.redop, row.root}, groups.size());
    if (added) {
      groups.emplace_back();
    }
    groups[found->second].push_back(i);
  }
  return groups;
}

const Placement& placement_in(const TableRow& row, bool in_place) {
  return in_place ? *row.in_place : *row.out_of_place;
}

std::string row_position(const RowContext& context, const TableRow& row) {
  return context.parsed.format == "text" ? fmt::format("{}", row.line)
                                         : fmt::format("/results/{}", row.line);
}

struct Figures {
  double time_s = 0;
  double algbw_Bps = 0;
  double busbw_Bps = 0;
};

Figures figures_of(const RowContext& context, const TableRow& row, bool in_place) {
  const Placement& placement = placement_in(row, in_place);
  // NaN (unreadable) fails every comparison.
  if (!(placement.time_s >= 0 && placement.algbw_Bps >= 0 && placement.busbw_Bps >= 0)) {
    throw UsageError(fmt::format(
        "{}:{}: unreadable time or bandwidth in the {} columns ('{}', '{}', '{}')", context.origin,
        row_position(context, row), in_place ? "in-place" : "out-of-place", placement.time,
        placement.algbw, placement.busbw));
  }
  return {placement.time_s, placement.algbw_Bps, placement.busbw_Bps};
}

// The #wrong column: a count of wrong elements, N/A (not checked), or with old nccl-tests a max
// relative error (`max_error`, kept as printed; not a count).
struct Wrong {
  std::int64_t elements = -1;  // -1: not checked
  std::string max_error;
};

Wrong wrong_of(const RowContext& context, const TableRow& row, bool in_place) {
  const Placement& placement = placement_in(row, in_place);
  Wrong wrong;
  if (placement.wrong_not_checked) {
    return wrong;
  }
  if (context.parsed.layout.old_error || placement.wrong_fractional) {
    wrong.max_error = std::string(placement.wrong);
    return wrong;
  }
  if (!placement.wrong_value || *placement.wrong_value < 0) {
    throw UsageError(fmt::format("{}:{}: unreadable #wrong value '{}'", context.origin, row.line,
                                 placement.wrong));
  }
  wrong.elements = static_cast<std::int64_t>(std::llround(*placement.wrong_value));
  return wrong;
}

ResultRow row_identity(const RowContext& context, const TableRow& table_row, bool in_place) {
  ResultRow row;
  row.benchmark = context.benchmark;
  row.backend = context.backend;
  row.dtype = table_row.type;
  row.op = table_row.redop;  // "none" for collectives without a reduction, as printed
  row.in_place = in_place;
  row.size_bytes = table_row.size;
  row.count = table_row.count;
  row.ranks = context.ranks;  // 0: unknown (the schema's "ranks unknown")
  if (table_row.root >= 0) {
    row.labels["root"] = std::to_string(table_row.root);
  }
  if (!table_row.timestamp_date.empty()) {
    row.labels["timestamp"] = to_rfc3339_local(timestamp_of(table_row));
  }
  const Header& header = context.parsed.header;
  row.warmup_iterations =
      header.warmup_iters > 0 ? static_cast<std::size_t>(header.warmup_iters) : 0;
  row.stop_reason = "fixed";
  return row;
}

double busbw_factor_of(const RowContext& context, double algbw, double busbw) {
  if (context.factor > 0) {
    return context.factor;
  }
  return algbw > 0 ? busbw / algbw : 0;
}

// One table row as printed.
ResultRow single_result_row(const RowContext& context, std::size_t index, bool in_place) {
  const TableRow& table_row = context.parsed.rows[index];
  const Placement& placement = placement_in(table_row, in_place);
  ResultRow row = row_identity(context, table_row, in_place);
  const Figures figures = figures_of(context, table_row, in_place);
  const auto samples = context.parsed.samples_s.find({index, in_place});
  if (samples != context.parsed.samples_s.end()) {
    const int skip = std::clamp(context.parsed.skipped_iterations.at({index, in_place}), 0,
                                static_cast<int>(samples->second.size()) - 1);
    const std::span<const double> kept(samples->second.data() + skip,
                                       samples->second.size() - static_cast<std::size_t>(skip));
    row.time_s = to_time_stats(summarize(kept));
    row.samples_s = samples->second;
  } else {
    row.time_s = point_stats(figures.time_s, context.n_per_row);
    if (!placement.i_min.empty()) {
      // -I text columns: extremes, p99 and the coefficient of variation of the iterations.
      // A negative figure is garbled output: the row's time stands in (a cv of 0).
      const auto column = [&](std::string_view text) {
        const auto value = parse_scaled(text, -6);
        return value && *value >= 0 ? *value : figures.time_s;
      };
      row.time_s.min = column(placement.i_min);
      row.time_s.max = column(placement.i_max);
      row.time_s.p99 = column(placement.i_p99);
      row.time_s.stdev =
          std::max(0.0, parse_double(placement.i_cv).value_or(0)) / 100 * figures.time_s;
    }
  }
  row.algbw_Bps = figures.algbw_Bps;
  row.busbw_Bps = figures.busbw_Bps;
  row.busbw_factor = busbw_factor_of(context, figures.algbw_Bps, figures.busbw_Bps);
  Wrong wrong = wrong_of(context, table_row, in_place);
  row.wrong_elements = wrong.elements;
  if (!wrong.max_error.empty()) {
    row.labels["max_error"] = std::move(wrong.max_error);
  }
  return row;
}

// The median of `values` (reordered), as common/stats' median: the mean of the middle two for an
// even count. O(n), where median() sorts a copy.
double median_in_place(std::vector<double>& values) {
  const std::size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle),
                   values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) {
    return upper;
  }
  return (*std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle)) +
          upper) /
         2;
}

// Repeats of one size folded: time_s holds the statistics over the repeats (each repeat is
// nccl-tests' mean over its timed iterations; with -J -I, over every kept iteration of every
// repeat), algbw and busbw the medians of the printed figures, wrong_elements the sum over the
// repeats that were checked, the first repeat's timestamp.
ResultRow folded_result_row(const RowContext& context, const std::vector<std::size_t>& members,
                            bool in_place) {
  const TableRow& first = context.parsed.rows[members.front()];
  ResultRow row = row_identity(context, first, in_place);
  std::vector<double> times;
  std::vector<double> algbw;
  std::vector<double> busbw;
  times.reserve(members.size());
  algbw.reserve(members.size());
  busbw.reserve(members.size());
  std::vector<double> samples;
  bool all_sampled = true;
  std::int64_t wrong_total = 0;
  bool checked = false;
  std::optional<double> max_error;
  std::string max_error_text;
  for (const std::size_t index : members) {
    const TableRow& table_row = context.parsed.rows[index];
    const Figures figures = figures_of(context, table_row, in_place);
    times.push_back(figures.time_s);
    algbw.push_back(figures.algbw_Bps);
    busbw.push_back(figures.busbw_Bps);
    const auto sampled = context.parsed.samples_s.find({index, in_place});
    if (sampled == context.parsed.samples_s.end()) {
      all_sampled = false;
    } else if (all_sampled) {
      const int skip = std::clamp(context.parsed.skipped_iterations.at({index, in_place}), 0,
                                  static_cast<int>(sampled->second.size()) - 1);
      samples.insert(samples.end(), sampled->second.begin() + skip, sampled->second.end());
    }
    const Wrong wrong = wrong_of(context, table_row, in_place);
    if (wrong.elements >= 0) {
      checked = true;
      wrong_total += wrong.elements;
    } else if (!wrong.max_error.empty()) {
      const auto value = parse_double(wrong.max_error);
      if (value && (!max_error || *value > *max_error)) {
        max_error = value;
        max_error_text = wrong.max_error;
      }
    }
  }
  row.time_s = to_time_stats(summarize(all_sampled && !samples.empty() ? samples : times));
  row.algbw_Bps = median_in_place(algbw);
  row.busbw_Bps = median_in_place(busbw);
  row.busbw_factor = busbw_factor_of(context, row.algbw_Bps, row.busbw_Bps);
  row.wrong_elements = checked ? wrong_total : -1;
  if (!max_error_text.empty()) {
    row.labels["max_error"] = max_error_text;
  }
  return row;
}

// Rows with wrong elements, for the RESULT_WRONG check.
struct WrongTally {
  std::size_t checked_rows = 0;
  std::vector<std::string> rows;
  std::int64_t total = 0;
  std::uint64_t first_size = 0;

  void add(const ResultRow& row, bool in_place, std::size_t repeats) {
    if (row.wrong_elements < 0) {
      return;
    }
    ++checked_rows;
    if (row.wrong_elements == 0) {
      return;
    }
    total += row.wrong_elements;
    if (first_size == 0) {
      first_size = row.size_bytes;
    }
    rows.push_back(fmt::format("{} B {}: {}{}", row.size_bytes,
                               in_place ? "in-place" : "out-of-place", row.wrong_elements,
                               repeats > 1 ? fmt::format(" over {} repeats", repeats) : ""));
  }
};

Report build_report(const Parsed& parsed, std::string_view content, std::string_view origin,
                    const NcclTestsImportOptions& options) {
  const bool anything = !parsed.rows.empty() || parsed.header.seen || !parsed.devices.empty() ||
                        parsed.header_line_seen || !parsed.failures.empty();
  if (!anything) {
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
  std::string ranks_unknown_why;
  if (inferred.ranks == 0 && !parsed.rows.empty()) {
    ranks_unknown_why = fmt::format(
        "no '# Using devices' rows, and {}",
        inferred.benchmark == "all_reduce" || inferred.benchmark == "all_gather" ||
                inferred.benchmark == "reduce_scatter" || inferred.benchmark == "alltoall"
            ? "busbw/algbw of the rows does not pin one rank count (bandwidths printed as 0.00 "
              "say nothing)"
            : "the bus factor of " + inferred.benchmark + " does not depend on it");
    inferred.ranks_from = "unknown: " + ranks_unknown_why;
  }

  Report report;
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
  {
    std::vector<std::string> entries;
    for (const auto& [name, value] : parsed.env) {
      entries.push_back(name + "=" + value);
    }
    std::vector<const char*> pointers;
    for (const auto& entry : entries) {
      pointers.push_back(entry.c_str());
    }
    pointers.push_back(nullptr);
    report.inventory.env = allowlisted_environment(pointers.data());
  }

  // Rows: one per (size, dtype, op, root, placement). Repeated tables (-R, -N, or a log holding
  // several runs of the same sweep) fold into one row whose time_s carries the statistics over
  // the repeats, unless --keep-repeats asks for the rows as printed.
  const double factor = nccl_tests_busbw_factor(inferred.benchmark, inferred.ranks);
  const std::size_t n_per_row =
      parsed.header.iters > 0 ? static_cast<std::size_t>(parsed.header.iters) : 1;
  const std::vector<std::vector<std::size_t>> groups =
      options.keep_repeats ? single_row_groups(parsed.rows.size()) : repeat_groups(parsed.rows);
  report.results.reserve(groups.size() * 2);
  RowContext context{parsed,         origin, options.backend, inferred.benchmark,
                     inferred.ranks, factor, n_per_row};
  WrongTally wrong;
  std::size_t repeats_max = 1;
  for (const auto& members : groups) {
    repeats_max = std::max(repeats_max, members.size());
    for (const bool in_place : {false, true}) {
      std::vector<std::size_t> present;
      present.reserve(members.size());
      for (const std::size_t index : members) {
        if (in_place ? parsed.rows[index].in_place : parsed.rows[index].out_of_place) {
          present.push_back(index);
        }
      }
      if (present.empty()) {
        continue;
      }
      ResultRow row = present.size() == 1 ? single_result_row(context, present.front(), in_place)
                                          : folded_result_row(context, present, in_place);
      wrong.add(row, in_place, present.size());
      report.results.push_back(std::move(row));
    }
  }
  const std::size_t checked_rows = wrong.checked_rows;
  const std::vector<std::string>& wrong_rows = wrong.rows;
  const std::int64_t wrong_total = wrong.total;
  const std::uint64_t first_wrong_size = wrong.first_size;

  // Checks.
  const std::string what = inferred.benchmark.empty() ? "nccl-tests" : inferred.benchmark;
  if (!report.results.empty()) {
    report.checks.push_back(
        make_check("NCCL_TESTS_IMPORTED", Status::pass,
                   finding_message("NCCL_TESTS_IMPORTED", report.results.size(), what, origin),
                   {{"rows", report.results.size()},
                    {"sizes", groups.size()},
                    {"table_rows", parsed.rows.size()},
                    {"repeats_max", repeats_max},
                    {"rows_with_wrong_count_checked", checked_rows}}));
  }
  if (!ranks_unknown_why.empty()) {
    report.checks.push_back(
        make_check("NCCL_TESTS_RANKS_UNKNOWN", Status::warn,
                   finding_message("NCCL_TESTS_RANKS_UNKNOWN", origin, ranks_unknown_why),
                   {{"benchmark", inferred.benchmark}, {"rows", report.results.size()}}));
  }
  if (wrong_total > 0 || (parsed.out_of_bounds && *parsed.out_of_bounds > 0)) {
    const std::string detail = wrong_rows.empty()
                                   ? fmt::format("nccl-tests counted {} out-of-bounds values",
                                                 parsed.out_of_bounds.value_or(0))
                                   : join(wrong_rows, "; ");
    report.checks.push_back(
        make_check("RESULT_WRONG", Status::fail,
                   finding_message("RESULT_WRONG",
                                   wrong_total > 0 ? wrong_total : parsed.out_of_bounds.value_or(0),
                                   first_wrong_size, detail),
                   {{"rows", wrong_rows}, {"out_of_bounds", parsed.out_of_bounds.value_or(-1)}}));
  }
  if (!parsed.failures.empty() || !parsed.errors.empty()) {
    std::vector<std::string> lines = parsed.failures;
    for (const auto& error : parsed.errors) {
      lines.push_back("# error: " + error);
    }
    report.checks.push_back(make_check("NCCL_TESTS_FAILED", Status::error,
                                       finding_message("NCCL_TESTS_FAILED", origin, lines.front()),
                                       {{"lines", lines}, {"nccl_warnings", parsed.warnings}}));
  } else if (parsed.rows.empty()) {
    std::string where = "after the header";
    if (!parsed.devices.empty()) {
      where = fmt::format("after the device list ({} ranks)", parsed.devices.size());
    } else if (parsed.header_line_seen) {
      where = "after the column header";
    }
    report.checks.push_back(make_check(
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
      report.checks.push_back(make_check(
          "NCCL_TESTS_INCOMPLETE", Status::warn,
          finding_message("NCCL_TESTS_INCOMPLETE", origin,
                          fmt::format("the table stops at {} B of maxBytes {} B and has no "
                                      "summary line; the sizes measured are kept",
                                      last, parsed.header.max_bytes)),
          {{"last_size_bytes", last}, {"max_bytes", parsed.header.max_bytes}}));
    }
  }
  // NCCL's own lines in the log (NCCL_DEBUG=INFO) judged as a live run's: a table measured over
  // NET/Socket, or with the plugin failing, fails however good its figures look.
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
  report.verdict = compute_verdict(report.checks, false);

  // Provenance and what was inferred, for people and for `validate`.
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
  report.details["nccl_tests"] = details;
  return report;
}

}  // namespace

double nccl_tests_busbw_factor(std::string_view benchmark, int ranks) {
  if (ranks < 1) {
    return 0;
  }
  const double n = ranks;
  if (benchmark == "all_reduce") {
    return 2 * (n - 1) / n;
  }
  if (benchmark == "all_gather" || benchmark == "reduce_scatter" || benchmark == "alltoall" ||
      benchmark == "gather" || benchmark == "scatter") {
    return (n - 1) / n;
  }
  if (benchmark == "broadcast" || benchmark == "reduce" || benchmark == "sendrecv" ||
      benchmark == "hypercube") {
    return 1;
  }
  return 0;
}

Report import_nccl_tests(std::string_view content, std::string_view origin,
                         const NcclTestsImportOptions& options) {
  Parsed parsed;
  std::deque<std::string> storage;  // JSON figures spelled as text; outlives `parsed`'s views
  const auto first = content.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && content[first] == '{') {
    const json document = parse_json_text(content, origin);
    parse_json(document, origin, parsed, storage);
  } else {
    parse_text(content, parsed);
  }
  return build_report(parsed, content, origin, options);
}

Report import_nccl_tests_file(const std::filesystem::path& path,
                              const NcclTestsImportOptions& options) {
  const std::string text = read_text_file(path);
  return import_nccl_tests(text, path == "-" ? "stdin" : path.string(), options);
}

}  // namespace preflight::reports
