#include "reports/report_io.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/input_file.hpp"
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
  std::string text;
  std::size_t used = 0;
  text.resize(!ec && size > 0 ? static_cast<std::size_t>(size) : std::size_t{1} << 16U);
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

json read_json_file(const std::filesystem::path& path) {
  const std::string origin = path == "-" ? "stdin" : path.string();
  return parse_json_text(read_all(path), origin);
}

Report read_report(const std::filesystem::path& path) {
  const json document = read_json_file(path);
  const std::string origin = path == "-" ? "stdin" : path.string();
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

std::string dump_report(const Report& report) {
  // Replace invalid UTF-8 (host names and log excerpts are untrusted) instead of throwing.
  return json(report).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
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

void IncrementalReportWriter::checkpoint(const Report& report) {
  if (path_.empty() || path_ == "-") {
    return;
  }
  const std::lock_guard lock(mutex_);
  write_file_atomic(path_, dump_report(report), 0644);
}

void IncrementalReportWriter::finish(const Report& report) {
  const std::lock_guard lock(mutex_);
  write_report(report, path_);
}

}  // namespace preflight::reports
