// `preflight-report validate FILE`: which preflight document a file is (by its /schema member)
// and every way it departs from that schema, each error naming a JSON pointer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/json_reader.hpp"
#include "reports/json_schema.hpp"

namespace preflight::reports {

struct Validation {
  std::string schema;  // "preflight.report/1", "preflight.baseline/1", or "" when unknown
  std::vector<SchemaError> errors;
  [[nodiscard]] bool valid() const { return errors.empty(); }
};

[[nodiscard]] Validation validate_document(const nlohmann::json& document,
                                           std::size_t max_errors = 50);

// The same for a file's text: a report or baseline the streaming reader accepts is valid at
// memory speed; anything else goes through the DOM and validate_document. Throws UsageError on
// malformed JSON (naming origin, line and column).
[[nodiscard]] Validation validate_text(const PaddedText& text, std::string_view origin,
                                       std::size_t max_errors = 50);

}  // namespace preflight::reports
