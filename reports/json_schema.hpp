// A JSON Schema validator for the subset preflight's schemas use (draft 2020-12 keywords: type,
// const, enum, properties, required, additionalProperties, propertyNames, minProperties, items,
// minItems, maxItems, minimum, maximum, minLength, pattern, $ref to "#/$defs/...", anyOf, oneOf).
// Each error names the JSON pointer of the offending value, so `preflight-report validate` can
// point at it.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace preflight::reports {

struct SchemaError {
  std::string pointer;  // e.g. "/results/3/time_s/median"
  std::string message;
};

struct CompiledSchema;

class JsonSchema {
 public:
  explicit JsonSchema(nlohmann::json schema);
  // All errors (at most `max_errors`), empty when `document` conforms.
  [[nodiscard]] std::vector<SchemaError> validate(const nlohmann::json& document,
                                                  std::size_t max_errors = 50) const;

 private:
  nlohmann::json schema_;
  std::shared_ptr<const CompiledSchema> compiled_;  // keywords resolved once, shared by copies
};

// The schemas shipped in reports/schema/, embedded at build time.
[[nodiscard]] const JsonSchema& report_schema();
[[nodiscard]] std::string_view report_schema_text();
// Any embedded schema by file stem ("report", "baseline", "plan", ...); throws if unknown.
[[nodiscard]] std::string_view embedded_schema_text(std::string_view stem);

}  // namespace preflight::reports
