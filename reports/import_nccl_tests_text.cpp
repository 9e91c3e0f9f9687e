// nccl-tests' stdout into the parsed form: line prefixes of launchers, the `#` header lines, the
// results table in every layout nccl-tests has printed, and the lines that tell of failures.
#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"
#include "common/version.hpp"
#include "reports/import_nccl_tests_parsed.hpp"

namespace preflight::reports::nccl_tests_import {

namespace {

// ---- small parsing helpers -------------------------------------------------------------------

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
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

// ---- the table -------------------------------------------------------------------------------

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

}  // namespace

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

}  // namespace preflight::reports::nccl_tests_import
