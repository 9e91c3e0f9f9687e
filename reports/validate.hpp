// `preflight-report validate FILE`: which preflight document a file is (by its /schema member)
// and every way it departs from that schema, each error naming a JSON pointer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "reports/json_schema.hpp"

namespace preflight::reports {

struct Validation {
  std::string schema;  // "preflight.report/1", "preflight.baseline/1", or "" when unknown
  std::vector<SchemaError> errors;
  [[nodiscard]] bool valid() const { return errors.empty(); }
};

[[nodiscard]] Validation validate_document(const nlohmann::json& document,
                                           std::size_t max_errors = 50);

}  // namespace preflight::reports
