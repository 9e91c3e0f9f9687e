// libFuzzer target: the nccl-tests importer (reports/import_nccl_tests.hpp) on text logs and on
// nccl-tests JSON (-J; chosen by the first non-blank character, as the importer does). Any input
// is either a Report or a UsageError; beyond "no crash" it asserts that an imported report is a
// valid preflight.report/1 once written (dump_report) and read back, since `preflight-report
// import` writes it for every other tool to read; both with repeats folded and with
// --keep-repeats, the folded report never holding more rows than the raw one.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/json_schema.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

namespace {

// The report imported with `keep_repeats`, written and checked against the schema; nullopt when
// the input is not nccl-tests output (a UsageError).
std::optional<preflight::reports::Report> import_and_check(std::string_view text,
                                                           bool keep_repeats) {
  namespace reports = preflight::reports;
  reports::NcclTestsImportOptions options;
  options.deterministic = true;
  options.keep_repeats = keep_repeats;
  reports::Report report;
  try {
    report = reports::import_nccl_tests(text, "fuzz", options);
  } catch (const preflight::UsageError&) {
    return std::nullopt;
  }
  const std::string dumped = reports::dump_report(report);
  try {
    const auto document = reports::parse_json_text(dumped, "dump");
    const auto errors = reports::report_schema().validate(document, 5);
    if (!errors.empty()) {
      for (const auto& error : errors) {  // for the triage of a crash file
        std::fprintf(stderr, "schema: %s: %s\n", error.pointer.c_str(), error.message.c_str());
      }
      __builtin_trap();  // the importer wrote a report the schema refuses
    }
  } catch (const preflight::UsageError&) {
    __builtin_trap();  // dump_report wrote something that does not parse
  }
  return report;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto folded = import_and_check(text, false);
  const auto raw = import_and_check(text, true);
  if (folded.has_value() != raw.has_value()) {
    __builtin_trap();  // folding decided whether the input is nccl-tests output
  }
  if (folded && folded->results.size() > raw->results.size()) {
    __builtin_trap();  // folding added rows
  }
  return 0;
}
