// Reading and writing reports. Reading: parse (errors name file, line and column), validate
// against the schema (errors name the JSON pointer), then convert to structs. Writing: atomic
// (temp + rename), also for the partial reports written after every finished size.
#pragma once

#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "reports/json_schema.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

// Input files larger than this are refused (bounded memory on hostile input).
inline constexpr std::size_t kMaxInputFileBytes = 256U << 20U;
// Deeper JSON nesting than this is refused before parsing (stack safety).
inline constexpr std::size_t kMaxJsonDepth = 64;

// Reads a whole file ("-": stdin) as bytes; throws UsageError when it does not exist, cannot be
// read, or is larger than kMaxInputFileBytes.
[[nodiscard]] std::string read_text_file(const std::filesystem::path& path);

class PaddedText;  // json_reader.hpp
// The same, with the padding the SIMD JSON parser needs; a regular file is mapped (no copy)
// when it can be.
[[nodiscard]] PaddedText read_padded_file(const std::filesystem::path& path);

// Parses a JSON file; throws UsageError "FILE:LINE:COLUMN: message" on malformed input, on a
// file over kMaxInputFileBytes, or nested deeper than kMaxJsonDepth. "-" reads stdin.
[[nodiscard]] nlohmann::json read_json_file(const std::filesystem::path& path);
// The same for text already in memory; `origin` names it in messages.
[[nodiscard]] nlohmann::json parse_json_text(std::string_view text, std::string_view origin);

// Reads and validates a preflight.report/1 file; throws UsageError naming the file and the JSON
// pointer of the first schema errors. A valid file is read by the streaming reader straight into
// the structs (json_reader.hpp); anything it is not sure of is read through nlohmann's DOM and
// the JSON Schema validator, whose messages name the line and column or the JSON pointer.
[[nodiscard]] Report read_report(const std::filesystem::path& path);
// The DOM way only, for text in memory: parse, validate, convert.
[[nodiscard]] Report read_report_text(std::string_view text, std::string_view origin);

// The last steps of reading a document the DOM way, for reports and baselines alike: throws
// UsageError "ORIGIN: not a valid SCHEMA KIND:", one line per schema error, when `errors` holds
// any; else converts `document` to T, whose conversion errors name `origin` too.
void throw_schema_errors(const std::vector<SchemaError>& errors, std::string_view origin,
                         std::string_view schema, std::string_view kind);
template <typename T>
[[nodiscard]] T convert_valid_document(const nlohmann::json& document,
                                       const std::vector<SchemaError>& errors,
                                       std::string_view origin, std::string_view schema,
                                       std::string_view kind) {
  throw_schema_errors(errors, origin, schema, kind);
  try {
    return document.get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string(origin) + ": " + e.what());
  }
}

// Serialises a report (2-space indent, trailing newline), byte for byte as nlohmann's
// json(report).dump(2) would, but written straight from the structs (no DOM).
[[nodiscard]] std::string dump_report(const Report& report);

// Writes `report` to `path`: stdout for "-", atomic replace for a regular file or a new path,
// written into a device, FIFO, socket or descriptor alias (common/atomic_file.hpp).
void write_report(const Report& report, const std::string& path);

// Re-writes the report file after each unit of progress, so a killed run leaves what it finished.
// Only a regular file (or a new path) is re-written: stdout, a device, a FIFO or a descriptor gets
// the report once, from the first finish() (the end of the run, or the watchdog's or the lost
// peer's partial report), so a reader at the other end sees exactly one document.
// Thread-safe: the watchdog may write the partial report while the main thread is blocked.
class IncrementalReportWriter {
 public:
  explicit IncrementalReportWriter(std::string path);
  void checkpoint(const Report& report);  // partial: regular files only
  void finish(const Report& report);      // final: every target; a stream only the first time

 private:
  std::string path_;
  bool rewritable_ = false;  // a regular file or a new path
  bool finished_ = false;
  std::mutex mutex_;
};

}  // namespace preflight::reports
