#include "reports/json_schema.hpp"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <stdexcept>

namespace preflight::reports {

using nlohmann::json;

namespace {

std::string escape_pointer_token(const std::string& token) {
  std::string out;
  for (const char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

bool type_matches(const json& value, std::string_view type) {
  if (type == "object") {
    return value.is_object();
  }
  if (type == "array") {
    return value.is_array();
  }
  if (type == "string") {
    return value.is_string();
  }
  if (type == "boolean") {
    return value.is_boolean();
  }
  if (type == "null") {
    return value.is_null();
  }
  if (type == "integer") {
    return value.is_number_integer() ||
           (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>());
  }
  if (type == "number") {
    return value.is_number();
  }
  return false;
}

std::string type_name(const json& value) { return value.type_name(); }

class Validator {
 public:
  Validator(const json& root, std::size_t max_errors) : root_(root), max_errors_(max_errors) {}

  void check(const json& schema, const json& value, const std::string& pointer) {
    if (errors_.size() >= max_errors_) {
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) {
        add(pointer, "no value is allowed here");
      }
      return;
    }
    if (schema.contains("$ref")) {
      check(resolve(schema.at("$ref").get<std::string>()), value, pointer);
    }
    if (schema.contains("type")) {
      const auto& type = schema.at("type");
      bool matched = false;
      if (type.is_string()) {
        matched = type_matches(value, type.get<std::string>());
      } else {
        for (const auto& alternative : type) {
          matched = matched || type_matches(value, alternative.get<std::string>());
        }
      }
      if (!matched) {
        add(pointer, fmt::format("expected {}, found {}", type.dump(), type_name(value)));
        return;
      }
    }
    if (schema.contains("const") && value != schema.at("const")) {
      add(pointer, fmt::format("expected {}, found {}", schema.at("const").dump(), value.dump()));
    }
    if (schema.contains("enum")) {
      const auto& options = schema.at("enum");
      if (std::find(options.begin(), options.end(), value) == options.end()) {
        add(pointer, fmt::format("{} is not one of {}", value.dump(), options.dump()));
      }
    }
    if (value.is_number()) {
      const double number = value.get<double>();
      if (schema.contains("minimum") && number < schema.at("minimum").get<double>()) {
        add(pointer, fmt::format("{} is below the minimum {}", value.dump(),
                                 schema.at("minimum").dump()));
      }
      if (schema.contains("maximum") && number > schema.at("maximum").get<double>()) {
        add(pointer, fmt::format("{} is above the maximum {}", value.dump(),
                                 schema.at("maximum").dump()));
      }
    }
    if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      if (schema.contains("minLength") && text.size() < schema.at("minLength").get<std::size_t>()) {
        add(pointer, fmt::format("string shorter than {}", schema.at("minLength").dump()));
      }
      if (schema.contains("pattern")) {
        const std::regex pattern(schema.at("pattern").get<std::string>(), std::regex::ECMAScript);
        if (!std::regex_search(text, pattern)) {
          add(pointer, fmt::format("{} does not match {}", value.dump(),
                                   schema.at("pattern").dump()));
        }
      }
    }
    if (value.is_object()) {
      check_object(schema, value, pointer);
    }
    if (value.is_array()) {
      check_array(schema, value, pointer);
    }
    if (schema.contains("anyOf") || schema.contains("oneOf")) {
      const bool one = schema.contains("oneOf");
      const auto& alternatives = one ? schema.at("oneOf") : schema.at("anyOf");
      std::size_t matches = 0;
      for (const auto& alternative : alternatives) {
        Validator inner(root_, 1);
        inner.check(alternative, value, pointer);
        matches += inner.errors_.empty() ? 1 : 0;
      }
      if (matches == 0 || (one && matches > 1)) {
        add(pointer, fmt::format("matches {} of the {} alternatives ({} required)", matches,
                                 alternatives.size(), one ? "exactly one" : "at least one"));
      }
    }
  }

  std::vector<SchemaError> take() { return std::move(errors_); }

 private:
  void check_object(const json& schema, const json& value, const std::string& pointer) {
    if (schema.contains("required")) {
      for (const auto& name : schema.at("required")) {
        if (!value.contains(name.get<std::string>())) {
          add(pointer, fmt::format("missing required property {}", name.dump()));
        }
      }
    }
    const json* properties = schema.contains("properties") ? &schema.at("properties") : nullptr;
    for (const auto& [key, member] : value.items()) {
      const std::string member_pointer = pointer + "/" + escape_pointer_token(key);
      if (properties != nullptr && properties->contains(key)) {
        check(properties->at(key), member, member_pointer);
      } else if (schema.contains("additionalProperties")) {
        const auto& additional = schema.at("additionalProperties");
        if (additional.is_boolean() && !additional.get<bool>()) {
          add(member_pointer, "unexpected property");
        } else {
          check(additional, member, member_pointer);
        }
      }
    }
  }

  void check_array(const json& schema, const json& value, const std::string& pointer) {
    if (schema.contains("minItems") && value.size() < schema.at("minItems").get<std::size_t>()) {
      add(pointer, fmt::format("fewer than {} items", schema.at("minItems").dump()));
    }
    if (schema.contains("maxItems") && value.size() > schema.at("maxItems").get<std::size_t>()) {
      add(pointer, fmt::format("more than {} items", schema.at("maxItems").dump()));
    }
    if (schema.contains("items")) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        check(schema.at("items"), value[i], fmt::format("{}/{}", pointer, i));
      }
    }
  }

  const json& resolve(const std::string& reference) const {
    if (reference.rfind("#/", 0) != 0) {
      throw std::invalid_argument("schema: only local $ref are supported: " + reference);
    }
    return root_.at(json::json_pointer(reference.substr(1)));
  }

  void add(const std::string& pointer, std::string message) {
    if (errors_.size() < max_errors_) {
      errors_.push_back({pointer.empty() ? "/" : pointer, std::move(message)});
    }
  }

  const json& root_;
  std::size_t max_errors_;
  std::vector<SchemaError> errors_;
};

}  // namespace

JsonSchema::JsonSchema(json schema) : schema_(std::move(schema)) {}

std::vector<SchemaError> JsonSchema::validate(const json& document, std::size_t max_errors) const {
  Validator validator(schema_, max_errors);
  validator.check(schema_, document, "");
  return validator.take();
}

const JsonSchema& report_schema() {
  // Parsed once; immutable afterwards.
  static const JsonSchema schema(json::parse(report_schema_text()));
  return schema;
}

std::string_view report_schema_text() { return embedded_schema_text("report"); }

}  // namespace preflight::reports
