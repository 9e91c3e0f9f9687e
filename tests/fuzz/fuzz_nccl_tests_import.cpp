// libFuzzer target: the nccl-tests importer (reports/import_nccl_tests.hpp) on text logs and on
// nccl-tests JSON (-J; chosen by the first non-blank character, as the importer does). Any input
// is either a Report or a UsageError; beyond "no crash" it asserts that an imported report is a
// valid preflight.report/1 once written (dump_report) and read back, since `preflight-report
// import` writes it for every other tool to read.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/json_schema.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace reports = preflight::reports;
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  reports::NcclTestsImportOptions options;
  options.deterministic = true;
  reports::Report report;
  try {
    report = reports::import_nccl_tests(text, "fuzz", options);
  } catch (const preflight::UsageError&) {
    return 0;
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
  return 0;
}
