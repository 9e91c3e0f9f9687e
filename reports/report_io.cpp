#include "reports/report_io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <concepts>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/detail/conversions/to_chars.hpp>
#include <nlohmann/detail/output/output_adapters.hpp>
#include <nlohmann/detail/output/serializer.hpp>
#include <optional>
#include <type_traits>
#include <vector>

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

void throw_schema_errors(const std::vector<SchemaError>& errors, std::string_view origin,
                         std::string_view schema, std::string_view kind) {
  if (errors.empty()) {
    return;
  }
  std::string message = fmt::format("{}: not a valid {} {}:", origin, schema, kind);
  for (const auto& error : errors) {
    message += fmt::format("\n  {}: {}", error.pointer, error.message);
  }
  throw UsageError(message);
}

Report read_report_text(std::string_view text, std::string_view origin) {
  const json document = parse_json_text(text, origin);
  if (document.is_object() && document.contains("schema") &&
      document.at("schema") != std::string(kReportSchema)) {
    throw UsageError(fmt::format("{}: /schema is {}, expected \"{}\"", origin,
                                 document.at("schema").dump(), kReportSchema));
  }
  return convert_valid_document<Report>(document, report_schema().validate(document, 5), origin,
                                        kReportSchema, "report");
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

  // A member of an object: its key and its value, written as write() spells the value's type.
  // An absent optional leaves the member out, as the DOM's to_json does. Holds the value by
  // address: a list of members lives as long as the object(...) call it is written for.
  class Member {
   public:
    template <typename Value>
    Member(std::string_view key, const Value& value)
        : key_(key), value_(&value), write_(&write_value<Value>) {}
    template <typename Value>
    Member(std::string_view key, const std::optional<Value>& value)
        : key_(key), value_(value ? &*value : nullptr), write_(&write_value<Value>) {}

   private:
    friend class PrettyWriter;
    template <typename Value>
    static void write_value(PrettyWriter& writer, const void* value) {
      writer.write(*static_cast<const Value*>(value));
    }

    std::string_view key_;
    const void* value_;  // nullptr: left out
    void (*write_)(PrettyWriter&, const void*);
  };

  // An object of these members, in the order given (the report's keys are listed sorted, as the
  // DOM's std::map holds them).
  void object(std::initializer_list<Member> members) {
    open('{');
    for (const Member& member : members) {
      if (member.value_ != nullptr) {
        key(member.key_);
        member.write_(*this, member.value_);
      }
    }
    close('}');
  }

  void write(std::string_view text) {
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
  // A std::string converts to a json as readily as to a string_view: this says which.
  void write(const std::string& text) { write(std::string_view(text)); }
  void write(double value) {
    if (!std::isfinite(value)) {
      out_ += "null";
      return;
    }
    std::array<char, 64> buffer{};
    const char* end =
        nlohmann::detail::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    out_.append(buffer.data(), static_cast<std::size_t>(end - buffer.data()));
  }
  // Integers and bool: a template, so that no pointer or double converts to one.
  template <std::integral Integer>
  void write(Integer value) {
    if constexpr (std::is_same_v<Integer, bool>) {
      out_ += value ? "true" : "false";
    } else {
      std::array<char, 24> buffer{};
      const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
      out_.append(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
    }
  }
  void write(const json& value) {
    serializer_.dump(value, true, false, kIndent, static_cast<unsigned>(depth_ * kIndent));
  }
  template <typename Value>
  void write(const std::map<std::string, Value>& members) {
    open('{');
    for (const auto& [name, value] : members) {
      key(name);
      write(value);
    }
    close('}');
  }
  template <typename Item>
  void write(const std::vector<Item>& items) {
    write_items(items);
  }
  template <typename Item, std::size_t kSize>
  void write(const std::array<Item, kSize>& items) {
    write_items(items);
  }

  // The report's structs.
  void write(const Report& report);
  void write(const ToolInfo& tool);
  void write(const RunInfo& run);
  void write(const Inventory& inventory);
  void write(const Check& check);
  void write(const ResultRow& row);
  void write(const TimeStats& time);
  void write(const Verdict& verdict);

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
  // A member's key; the value follows.
  void key(std::string_view name) {
    next_item();
    write(name);
    out_ += ": ";
  }
  template <typename Items>
  void write_items(const Items& items) {
    open('[');
    for (const auto& item : items) {
      next_item();
      write(item);
    }
    close(']');
  }

  std::string& out_;
  nlohmann::detail::serializer<json> serializer_;
  std::size_t depth_ = 0;
  std::vector<bool> first_;
};

void PrettyWriter::write(const Report& report) {
  object({{"checks", report.checks},
          {"details", report.details},
          {"hw_counters_delta", report.hw_counters_delta},
          {"inventory", report.inventory},
          {"results", report.results},
          {"run", report.run},
          {"schema", report.schema},
          {"tool", report.tool},
          {"verdict", report.verdict}});
}

void PrettyWriter::write(const ToolInfo& tool) {
  object({{"git", tool.git}, {"name", tool.name}, {"version", tool.version}});
}

void PrettyWriter::write(const RunInfo& run) {
  const std::optional<int> known_nodes =
      run.nodes > 0 ? std::optional(run.nodes) : std::nullopt;  // 0: unknown, left out
  object({{"argv", run.argv},
          {"finished_at", run.finished_at},
          {"hosts", run.hosts},
          {"id", run.id},
          {"nodes", known_nodes},
          {"ranks", run.ranks},
          {"started_at", run.started_at}});
}

void PrettyWriter::write(const Inventory& inventory) {
  object({{"efa", inventory.efa},
          {"env", inventory.env},
          {"gpus", inventory.gpus},
          {"instance_type", inventory.instance_type},
          {"versions", inventory.versions}});
}

void PrettyWriter::write(const Check& check) {
  object({{"evidence", check.evidence},
          {"id", check.id},
          {"message", check.message},
          {"remediation", check.remediation},
          {"severity", to_string(check.severity)},
          {"status", to_string(check.status)}});
}

void PrettyWriter::write(const ResultRow& row) {
  object({{"algbw_Bps", row.algbw_Bps},
          {"backend", row.backend},
          {"benchmark", row.benchmark},
          {"busbw_Bps", row.busbw_Bps},
          {"busbw_factor", row.busbw_factor},
          {"count", row.count},
          {"dtype", row.dtype},
          {"in_place", row.in_place},
          {"labels", row.labels},
          {"message_rate_per_s", row.message_rate_per_s},
          {"op", row.op},
          {"ranks", row.ranks},
          {"samples_s", row.samples_s},
          {"size_bytes", row.size_bytes},
          {"slowest_host", row.slowest_host},
          {"slowest_rank", row.slowest_rank},
          {"stop_reason", row.stop_reason},
          {"time_s", row.time_s},
          {"transport", row.transport},
          {"warmup_iterations", row.warmup_iterations},
          {"wrong_elements", row.wrong_elements}});
}

void PrettyWriter::write(const TimeStats& time) {
  object({{"ci95_median", std::array{time.ci95_lo, time.ci95_hi}},
          {"max", time.max},
          {"mean", time.mean},
          {"median", time.median},
          {"min", time.min},
          {"n", time.n},
          {"p90", time.p90},
          {"p99", time.p99},
          {"p999", time.p999},
          {"stdev", time.stdev}});
}

void PrettyWriter::write(const Verdict& verdict) {
  object({{"exit_code", verdict.exit_code},
          {"status", to_string(verdict.status)},
          {"summary", verdict.summary}});
}

}  // namespace

std::string dump_report(const Report& report) {
  std::string text;
  // About 900 bytes per result row as written; the rest is small next to it.
  text.reserve(4096 + report.results.size() * 900);
  PrettyWriter writer(text);
  writer.write(report);
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
