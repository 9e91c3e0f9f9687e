#include "reports/validate.hpp"

#include <fmt/format.h>

#include "reports/baseline.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {

using nlohmann::json;

Validation validate_document(const json& document, std::size_t max_errors) {
  Validation result;
  if (!document.is_object()) {
    result.errors.push_back(
        {"/", fmt::format("expected a JSON object, found {}", document.type_name())});
    return result;
  }
  if (!document.contains("schema")) {
    result.errors.push_back({"/", fmt::format("missing required property \"schema\" (\"{}\" or "
                                              "\"{}\")",
                                              kReportSchema, kBaselineSchema)});
    return result;
  }
  const json& schema = document.at("schema");
  if (schema == std::string(kReportSchema)) {
    result.schema = std::string(kReportSchema);
    result.errors = report_schema().validate(document, max_errors);
    if (result.errors.empty()) {
      // What the schema cannot say: the typed conversion must succeed too.
      try {
        (void)document.get<Report>();
      } catch (const std::exception& e) {
        result.errors.push_back({"/", e.what()});
      }
    }
    return result;
  }
  if (schema == std::string(kBaselineSchema)) {
    result.schema = std::string(kBaselineSchema);
    result.errors = validate_baseline_document(document, max_errors);
    return result;
  }
  result.errors.push_back({"/schema", fmt::format("{} is not a preflight schema (expected \"{}\" "
                                                  "or \"{}\")",
                                                  schema.dump(), kReportSchema, kBaselineSchema)});
  return result;
}

Validation validate_text(const PaddedText& text, std::string_view origin, std::size_t max_errors) {
  if (fast_read_report(text)) {
    return {std::string(kReportSchema), {}};
  }
  if (fast_read_baseline(text)) {
    return {std::string(kBaselineSchema), {}};
  }
  return validate_document(parse_json_text(text.view(), origin), max_errors);
}

}  // namespace preflight::reports
