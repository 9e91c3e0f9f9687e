// libFuzzer target: the report reader (depth check, JSON parse, schema validation, typed
// conversion). Any input is either a Report or a UsageError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/error.hpp"
#include "reports/json_schema.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  try {
    const auto document = preflight::reports::parse_json_text(text, "fuzz");
    if (!preflight::reports::report_schema().validate(document, 5).empty()) {
      return 0;
    }
    const auto report = document.get<preflight::reports::Report>();
    (void)preflight::reports::dump_report(report);
  } catch (const preflight::UsageError&) {
  } catch (const nlohmann::json::exception&) {
    // A schema-valid document that still fails typed conversion would land here: that is a
    // schema gap, so make it visible.
    __builtin_trap();
  }
  return 0;
}
