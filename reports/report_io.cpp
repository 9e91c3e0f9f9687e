#include "reports/report_io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/detail/conversions/to_chars.hpp>
#include <nlohmann/detail/output/output_adapters.hpp>
#include <nlohmann/detail/output/serializer.hpp>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/raii.hpp"
#include "reports/json_reader.hpp"
#include "reports/json_schema.hpp"

namespace preflight::reports {

using nlohmann::json;

namespace {

struct LineColumn {
  std::size_t line = 1;
  std::size_t column = 1;
};

LineColumn locate(std::string_view text, std::size_t byte_offset) {
  LineColumn position;
  for (std::size_t i = 0; i < byte_offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++position.line;
      position.column = 1;
    } else {
      ++position.column;
    }
  }
  return position;
}

// Rejects nesting deeper than kMaxJsonDepth without recursion (strings are skipped).
void check_depth(std::string_view text, std::string_view origin) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) {
        const auto at = locate(text, i);
        throw UsageError(fmt::format("{}:{}:{}: JSON nested deeper than {} levels", origin, at.line,
                                     at.column, kMaxJsonDepth));
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
}

// Spare capacity after a file's bytes: the streaming JSON reader reads up to this far ahead.
constexpr std::size_t kReadPaddingBytes = 64;

std::string read_all(const std::filesystem::path& path) {
  if (path == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (text.size() > kMaxInputFileBytes) {
      throw UsageError(fmt::format("stdin: input larger than {} bytes", kMaxInputFileBytes));
    }
    return text;
  }
  check_input_path(path);  // missing, or a directory: said so
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxInputFileBytes) {
    throw UsageError(fmt::format("{}: file is {} bytes, larger than the {} byte limit",
                                 path.string(), size, kMaxInputFileBytes));
  }
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    throw UsageError(fmt::format("{}: cannot open for reading", path.string()));
  }
  // Block reads into a buffer sized from the file: istreambuf_iterator copies byte by byte,
  // which dominated reading a 10 MB report. The size is a hint (the file may change meanwhile).
  // The capacity also holds the padding the streaming JSON reader reads ahead into.
  std::string text;
  std::size_t used = 0;
  const std::size_t expected =
      !ec && size > 0 ? static_cast<std::size_t>(size) : std::size_t{1} << 16U;
  text.reserve(expected + kReadPaddingBytes);
  text.resize(expected);
  while (stream) {
    if (used == text.size()) {
      if (stream.peek() == std::char_traits<char>::eof()) {
        break;
      }
      if (text.size() >= kMaxInputFileBytes) {
        throw UsageError(fmt::format("{}: file larger than the {} byte limit", path.string(),
                                     kMaxInputFileBytes));
      }
      text.resize(std::min(text.size() * 2, kMaxInputFileBytes + 1));
    }
    stream.read(text.data() + used, static_cast<std::streamsize>(text.size() - used));
    used += static_cast<std::size_t>(stream.gcount());
  }
  if (stream.bad()) {
    throw UsageError(fmt::format("{}: read error", path.string()));
  }
  text.resize(used);
  return text_as_utf8(std::move(text));  // a UTF-16 file (PowerShell's `>`) is read as UTF-8
}

}  // namespace

json parse_json_text(std::string_view text, std::string_view origin) {
  check_depth(text, origin);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    const auto at = locate(text, e.byte == 0 ? 0 : e.byte - 1);
    // nlohmann's what() repeats the position ("... parse error at line 1, column 5: syntax error
    // while parsing object - unexpected end of input; expected '}'"); keep only the description.
    std::string what = e.what();
    const auto column = what.find("column ");
    const auto colon = what.find(": ", column == std::string::npos ? 0 : column);
    if (colon != std::string::npos) {
      what = what.substr(colon + 2);
    }
    throw UsageError(fmt::format("{}:{}:{}: malformed JSON: {}", origin, at.line, at.column, what));
  } catch (const json::out_of_range& e) {
    // A number no double holds ("1e999") is out_of_range.406, not a parse_error, and carries no
    // position: "[json.exception.out_of_range.406] number overflow parsing '1e999'".
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (bracket != std::string::npos) {
      what = what.substr(bracket + 2);
    }
    throw UsageError(fmt::format("{}: malformed JSON: {}", origin, what));
  }
}

std::string read_text_file(const std::filesystem::path& path) {
  return read_all(path);
}

PaddedText read_padded_file(const std::filesystem::path& path) {
  if (path != "-") {
    const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat info {};
    if (fd && ::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode) &&
        static_cast<std::uint64_t>(info.st_size) <= kMaxInputFileBytes) {
      if (auto mapped = PaddedText::map_file(fd.get(), static_cast<std::size_t>(info.st_size))) {
        // UTF-16, or a UTF-8 byte-order mark: read_all decodes them.
        const std::string_view head = mapped->view().substr(0, 4096);
        if (detect_text_encoding(head) == TextEncoding::utf8 &&
            head.rfind("\xEF\xBB\xBF", 0) != 0) {
          return std::move(*mapped);
        }
      }
    }
  }
  // stdin, a file whose last page has no room for the padding, or anything unusual: read it
  // (with the checks and messages of read_all).
  return PaddedText(read_all(path));
}

json read_json_file(const std::filesystem::path& path) {
  const std::string origin = path == "-" ? "stdin" : path.string();
  return parse_json_text(read_all(path), origin);
}

Report read_report_text(std::string_view text, std::string_view origin) {
  const json document = parse_json_text(text, origin);
  if (document.is_object() && document.contains("schema") &&
      document.at("schema") != std::string(kReportSchema)) {
    throw UsageError(fmt::format("{}: /schema is {}, expected \"{}\"", origin,
                                 document.at("schema").dump(), kReportSchema));
  }
  const auto errors = report_schema().validate(document, 5);
  if (!errors.empty()) {
    std::string message = fmt::format("{}: not a valid {} report:", origin, kReportSchema);
    for (const auto& error : errors) {
      message += fmt::format("\n  {}: {}", error.pointer, error.message);
    }
    throw UsageError(message);
  }
  try {
    return document.get<Report>();
  } catch (const json::exception& e) {
    throw UsageError(fmt::format("{}: {}", origin, e.what()));
  }
}

Report read_report(const std::filesystem::path& path) {
  const std::string origin = path == "-" ? "stdin" : path.string();
  const PaddedText text = read_padded_file(path);
  // The streaming reader takes every valid report it is sure of; anything else (including every
  // invalid file) goes the slow way, whose messages name the line, column or JSON pointer.
  if (auto report = fast_read_report(text)) {
    return std::move(*report);
  }
  return read_report_text(text.view(), origin);
}

namespace {

// Writes a report as nlohmann's dump(2) would, byte for byte (keys in std::map order, doubles in
// nlohmann's shortest round-trip spelling, non-finite numbers as null, invalid UTF-8 replaced),
// without building the DOM first: the structs go straight to text. Free-form members (details,
// evidence, gpus, efa) are nlohmann values already and go through nlohmann's own serializer.
class PrettyWriter {
 public:
  explicit PrettyWriter(std::string& out)
      : out_(out),
        serializer_(nlohmann::detail::output_adapter<char, std::string>(out), ' ',
                    json::error_handler_t::replace) {}

  void open_object() { open('{'); }
  void close_object() { close('}'); }
  void open_array() { open('['); }
  void close_array() { close(']'); }

  // A member's key; the value follows.
  void key(std::string_view name) {
    next_item();
    string(name);
    out_ += ": ";
  }
  // An array element follows.
  void element() { next_item(); }

  void string(std::string_view text) {
    const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
      const auto byte = static_cast<unsigned char>(c);
      return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
    if (plain) {
      out_ += '"';
      out_ += text;
      out_ += '"';
    } else {
      serializer_.dump(json(text), false, false, 0);
    }
  }
  void number(double value) {
    if (!std::isfinite(value)) {
      out_ += "null";
      return;
    }
    std::array<char, 64> buffer{};
    const char* end =
        nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out_.append(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
  }
  template <typename Integer>
  void integer(Integer value) {
    std::array<char, 24> buffer{};
    const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out_.append(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
  }
  void boolean(bool value) { out_ += value ? "true" : "false"; }
  void value(const json& value) {
    serializer_.dump(value, true, false, kIndent, static_cast<unsigned>(depth_ * kIndent));
  }
  void string_map(const std::map<std::string, std::string>& map) {
    open_object();
    for (const auto& [name, text] : map) {
      key(name);
      string(text);
    }
    close_object();
  }
  void strings(const std::vector<std::string>& items) {
    open_array();
    for (const auto& item : items) {
      element();
      string(item);
    }
    close_array();
  }

 private:
  static constexpr std::size_t kIndent = 2;

  void open(char bracket) {
    out_ += bracket;
    ++depth_;
    first_.push_back(true);
  }
  void close(char bracket) {
    const bool empty = first_.back();
    first_.pop_back();
    --depth_;
    if (!empty) {
      out_ += '\n';
      out_.append(depth_ * kIndent, ' ');
    }
    out_ += bracket;
  }
  void next_item() {
    if (!first_.back()) {
      out_ += ',';
    }
    first_.back() = false;
    out_ += '\n';
    out_.append(depth_ * kIndent, ' ');
  }

  std::string& out_;
  nlohmann::detail::serializer<json> serializer_;
  std::size_t depth_ = 0;
  std::vector<bool> first_;
};

void write_time_stats(PrettyWriter& w, const TimeStats& t) {
  w.open_object();
  w.key("ci95_median");
  w.open_array();
  w.element();
  w.number(t.ci95_lo);
  w.element();
  w.number(t.ci95_hi);
  w.close_array();
  w.key("max");
  w.number(t.max);
  w.key("mean");
  w.number(t.mean);
  w.key("median");
  w.number(t.median);
  w.key("min");
  w.number(t.min);
  w.key("n");
  w.integer(t.n);
  w.key("p90");
  w.number(t.p90);
  w.key("p99");
  w.number(t.p99);
  if (t.p999) {
    w.key("p999");
    w.number(*t.p999);
  }
  w.key("stdev");
  w.number(t.stdev);
  w.close_object();
}

void write_result(PrettyWriter& w, const ResultRow& row) {
  w.open_object();
  w.key("algbw_Bps");
  w.number(row.algbw_Bps);
  w.key("backend");
  w.string(row.backend);
  w.key("benchmark");
  w.string(row.benchmark);
  w.key("busbw_Bps");
  w.number(row.busbw_Bps);
  w.key("busbw_factor");
  w.number(row.busbw_factor);
  w.key("count");
  w.integer(row.count);
  w.key("dtype");
  w.string(row.dtype);
  w.key("in_place");
  w.boolean(row.in_place);
  w.key("labels");
  w.string_map(row.labels);
  if (row.message_rate_per_s) {
    w.key("message_rate_per_s");
    w.number(*row.message_rate_per_s);
  }
  w.key("op");
  w.string(row.op);
  w.key("ranks");
  w.integer(row.ranks);
  if (row.samples_s) {
    w.key("samples_s");
    w.open_array();
    for (const double sample : *row.samples_s) {
      w.element();
      w.number(sample);
    }
    w.close_array();
  }
  w.key("size_bytes");
  w.integer(row.size_bytes);
  w.key("slowest_host");
  w.string(row.slowest_host);
  w.key("slowest_rank");
  w.integer(row.slowest_rank);
  w.key("stop_reason");
  w.string(row.stop_reason);
  w.key("time_s");
  write_time_stats(w, row.time_s);
  w.key("transport");
  w.string(row.transport);
  w.key("warmup_iterations");
  w.integer(row.warmup_iterations);
  w.key("wrong_elements");
  w.integer(row.wrong_elements);
  w.close_object();
}

void write_check(PrettyWriter& w, const Check& check) {
  w.open_object();
  w.key("evidence");
  w.value(check.evidence);
  w.key("id");
  w.string(check.id);
  w.key("message");
  w.string(check.message);
  w.key("remediation");
  w.string(check.remediation);
  w.key("severity");
  w.string(to_string(check.severity));
  w.key("status");
  w.string(to_string(check.status));
  w.close_object();
}

void write_report_json(PrettyWriter& w, const Report& report) {
  w.open_object();
  w.key("checks");
  w.open_array();
  for (const auto& check : report.checks) {
    w.element();
    write_check(w, check);
  }
  w.close_array();
  w.key("details");
  w.value(report.details);
  w.key("hw_counters_delta");
  w.open_object();
  for (const auto& [device, counters] : report.hw_counters_delta) {
    w.key(device);
    w.open_object();
    for (const auto& [name, value] : counters) {
      w.key(name);
      w.integer(value);
    }
    w.close_object();
  }
  w.close_object();
  w.key("inventory");
  w.open_object();
  w.key("efa");
  w.value(report.inventory.efa);
  w.key("env");
  w.string_map(report.inventory.env);
  w.key("gpus");
  w.value(report.inventory.gpus);
  w.key("instance_type");
  w.string(report.inventory.instance_type);
  w.key("versions");
  w.string_map(report.inventory.versions);
  w.close_object();
  w.key("results");
  w.open_array();
  for (const auto& row : report.results) {
    w.element();
    write_result(w, row);
  }
  w.close_array();
  w.key("run");
  w.open_object();
  w.key("argv");
  w.strings(report.run.argv);
  w.key("finished_at");
  w.string(report.run.finished_at);
  w.key("hosts");
  w.strings(report.run.hosts);
  w.key("id");
  w.string(report.run.id);
  if (report.run.nodes > 0) {
    w.key("nodes");
    w.integer(report.run.nodes);
  }
  w.key("ranks");
  w.integer(report.run.ranks);
  w.key("started_at");
  w.string(report.run.started_at);
  w.close_object();
  w.key("schema");
  w.string(report.schema);
  w.key("tool");
  w.open_object();
  w.key("git");
  w.string(report.tool.git);
  w.key("name");
  w.string(report.tool.name);
  w.key("version");
  w.string(report.tool.version);
  w.close_object();
  w.key("verdict");
  w.open_object();
  w.key("exit_code");
  w.integer(report.verdict.exit_code);
  w.key("status");
  w.string(to_string(report.verdict.status));
  w.key("summary");
  w.string(report.verdict.summary);
  w.close_object();
  w.close_object();
}

}  // namespace

std::string dump_report(const Report& report) {
  std::string text;
  // About 900 bytes per result row as written; the rest is small next to it.
  text.reserve(4096 + report.results.size() * 900);
  PrettyWriter writer(text);
  write_report_json(writer, report);
  text += '\n';
  return text;
}

void write_report(const Report& report, const std::string& path) {
  if (path.empty()) {
    return;
  }
  const std::string text = dump_report(report);
  if (path == "-") {
    std::cout << text << std::flush;
    return;
  }
  write_file_atomic(path, text, 0644);
}

IncrementalReportWriter::IncrementalReportWriter(std::string path)
    : path_(std::move(path)),
      rewritable_(!path_.empty() && path_ != "-" && is_replaced_atomically(path_)) {}

void IncrementalReportWriter::checkpoint(const Report& report) {
  if (!rewritable_) {
    return;
  }
  const std::lock_guard lock(mutex_);
  write_file_atomic(path_, dump_report(report), 0644);
}

void IncrementalReportWriter::finish(const Report& report) {
  const std::lock_guard lock(mutex_);
  if (finished_ && !rewritable_) {
    return;
  }
  finished_ = true;
  write_report(report, path_);
}

}  // namespace preflight::reports
