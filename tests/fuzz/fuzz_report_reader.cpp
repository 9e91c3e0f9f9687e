// libFuzzer target: the report readers and the writer. Any input is either a Report or a
// UsageError, and beyond "no crash" it asserts:
//   - a document the schema accepts converts to a Report without a json::exception (one would be
//     a gap between the schema and from_json);
//   - the streaming reader (json_reader.hpp) never accepts what the DOM path rejects, and what it
//     accepts gives the same Report (compared through the writer);
//   - the direct writer (dump_report) writes exactly what nlohmann's dump(2) of the DOM writes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "reports/json_reader.hpp"
#include "reports/json_schema.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace reports = preflight::reports;
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto fast = reports::fast_read_report(reports::PaddedText(text));
  std::optional<reports::Report> slow;
  try {
    const auto document = reports::parse_json_text(text, "fuzz");
    if (reports::report_schema().validate(document, 5).empty()) {
      slow = document.get<reports::Report>();
    }
  } catch (const preflight::UsageError&) {
  } catch (const nlohmann::json::exception&) {
    // A schema-valid document that still fails typed conversion would land here: that is a
    // schema gap, so make it visible.
    __builtin_trap();
  }
  if (fast && !slow) {
    __builtin_trap();  // the streaming reader accepted a document the schema rejects
  }
  if (slow) {
    const std::string written = reports::dump_report(*slow);
    if (written !=
        nlohmann::json(*slow).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
            "\n") {
      __builtin_trap();  // the direct writer differs from the DOM's dump
    }
    if (fast && reports::dump_report(*fast) != written) {
      __builtin_trap();  // the two readers disagree
    }
  }
  return 0;
}
