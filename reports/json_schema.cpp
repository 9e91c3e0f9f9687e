#include "reports/json_schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <regex>
#include <stdexcept>

namespace preflight::reports {

using nlohmann::json;

namespace {

// std::regex matches recursively, several stack frames per character of the subject: a string of
// a few tens of kilobytes overflows an 8 MiB stack (found by fuzz_plan_reader). No pattern in
// reports/schema describes anything near this long, so a longer string fails the pattern instead
// of being matched.
constexpr std::size_t kMaxPatternSubjectBytes = 4096;

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

std::string type_name(const json& value) {
  return value.type_name();
}

}  // namespace

// The schema compiled once into nodes: keywords looked up when the schema is built, $ref
// resolved, patterns compiled. Validation then walks nodes, not JSON objects, and builds a JSON
// pointer only for an error (a 10,000-row report validates in tens of milliseconds).
struct CompiledSchema {
  struct Node {
    bool is_boolean = false;
    bool allows = true;  // for true/false schemas
    const Node* ref = nullptr;
    const json* type = nullptr;
    const json* constant = nullptr;
    const json* enumeration = nullptr;
    const json* minimum = nullptr;
    const json* maximum = nullptr;
    const json* min_length = nullptr;
    const json* pattern_text = nullptr;
    std::optional<std::regex> pattern;
    const json* required = nullptr;
    const json* min_properties = nullptr;
    bool has_properties = false;
    std::map<std::string, const Node*, std::less<>> properties;
    const Node* property_names = nullptr;
    const json* additional_json = nullptr;
    const Node* additional = nullptr;
    const json* min_items = nullptr;
    const json* max_items = nullptr;
    const Node* items = nullptr;
    bool one_of = false;
    std::vector<const Node*> alternatives;
    bool has_alternatives = false;
  };

  explicit CompiledSchema(json document) : schema(std::move(document)) { root = compile(schema); }

  const Node* compile(const json& node_json) {
    nodes.emplace_back();
    Node& node = nodes.back();
    if (node_json.is_boolean()) {
      node.is_boolean = true;
      node.allows = node_json.get<bool>();
      return &node;
    }
    if (!node_json.is_object()) {
      return &node;
    }
    const auto find = [&](const char* key) -> const json* {
      const auto it = node_json.find(key);
      return it == node_json.end() ? nullptr : &*it;
    };
    if (const json* ref = find("$ref")) {
      node.ref = resolve(ref->get<std::string>());
    }
    node.type = find("type");
    node.constant = find("const");
    node.enumeration = find("enum");
    node.minimum = find("minimum");
    node.maximum = find("maximum");
    node.min_length = find("minLength");
    node.pattern_text = find("pattern");
    if (node.pattern_text != nullptr) {
      node.pattern.emplace(node.pattern_text->get<std::string>(), std::regex::ECMAScript);
    }
    node.required = find("required");
    node.min_properties = find("minProperties");
    if (const json* properties = find("properties")) {
      node.has_properties = true;
      for (const auto& [key, value] : properties->items()) {
        node.properties.emplace(key, compile(value));
      }
    }
    if (const json* names = find("propertyNames")) {
      node.property_names = compile(*names);
    }
    node.additional_json = find("additionalProperties");
    if (node.additional_json != nullptr && !node.additional_json->is_boolean()) {
      node.additional = compile(*node.additional_json);
    }
    node.min_items = find("minItems");
    node.max_items = find("maxItems");
    if (const json* items = find("items")) {
      node.items = compile(*items);
    }
    const json* one_of = find("oneOf");
    const json* any_of = find("anyOf");
    if (one_of != nullptr || any_of != nullptr) {
      node.has_alternatives = true;
      node.one_of = one_of != nullptr;
      for (const auto& alternative : one_of != nullptr ? *one_of : *any_of) {
        node.alternatives.push_back(compile(alternative));
      }
    }
    return &node;
  }

  const Node* resolve(const std::string& reference) {
    if (reference.rfind("#/", 0) != 0) {
      throw std::invalid_argument("schema: only local $ref are supported: " + reference);
    }
    const auto found = refs.find(reference);
    if (found != refs.end()) {
      return found->second;
    }
    // Reserve the slot first so recursive definitions resolve to it.
    nodes.emplace_back();
    Node* slot = &nodes.back();
    refs.emplace(reference, slot);
    const Node* compiled = compile(schema.at(json::json_pointer(reference.substr(1))));
    slot->ref = compiled;
    return slot;
  }

  json schema;
  std::deque<Node> nodes;  // stable addresses
  std::map<std::string, const Node*> refs;
  const Node* root = nullptr;
};

namespace {

using Node = CompiledSchema::Node;

// A JSON pointer built on demand from the chain of parents.
struct Path {
  const Path* parent = nullptr;
  const std::string* key = nullptr;
  std::size_t index = 0;

  [[nodiscard]] std::string str() const {
    if (parent == nullptr) {
      return "";
    }
    return parent->str() + "/" +
           (key != nullptr ? escape_pointer_token(*key) : std::to_string(index));
  }
};

class Validator {
 public:
  explicit Validator(std::size_t max_errors) : max_errors_(max_errors) {}

  void check(const Node& node, const json& value, const Path& path) {
    if (errors_.size() >= max_errors_) {
      return;
    }
    if (node.is_boolean) {
      if (!node.allows) {
        add(path, "no value is allowed here");
      }
      return;
    }
    if (node.ref != nullptr) {
      check(*node.ref, value, path);
    }
    if (node.type != nullptr) {
      const json& type = *node.type;
      bool matched = false;
      if (type.is_string()) {
        matched = type_matches(value, type.get_ref<const std::string&>());
      } else {
        for (const auto& alternative : type) {
          matched = matched || type_matches(value, alternative.get_ref<const std::string&>());
        }
      }
      if (!matched) {
        add(path, fmt::format("expected {}, found {}", type.dump(), type_name(value)));
        return;
      }
    }
    if (node.constant != nullptr && value != *node.constant) {
      add(path, fmt::format("expected {}, found {}", node.constant->dump(), value.dump()));
    }
    if (node.enumeration != nullptr) {
      const auto& options = *node.enumeration;
      if (std::find(options.begin(), options.end(), value) == options.end()) {
        add(path, fmt::format("{} is not one of {}", value.dump(), options.dump()));
      }
    }
    if (value.is_number()) {
      const double number = value.get<double>();
      if (node.minimum != nullptr && number < node.minimum->get<double>()) {
        add(path, fmt::format("{} is below the minimum {}", value.dump(), node.minimum->dump()));
      }
      if (node.maximum != nullptr && number > node.maximum->get<double>()) {
        add(path, fmt::format("{} is above the maximum {}", value.dump(), node.maximum->dump()));
      }
    }
    if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      if (node.min_length != nullptr && text.size() < node.min_length->get<std::size_t>()) {
        add(path, fmt::format("string shorter than {}", node.min_length->dump()));
      }
      if (node.pattern && text.size() > kMaxPatternSubjectBytes) {
        add(path,
            fmt::format("a string of {} bytes does not match {} (at most {} bytes are matched)",
                        text.size(), node.pattern_text->dump(), kMaxPatternSubjectBytes));
      } else if (node.pattern && !std::regex_search(text, *node.pattern)) {
        add(path, fmt::format("{} does not match {}", value.dump(), node.pattern_text->dump()));
      }
    }
    if (value.is_object()) {
      check_object(node, value, path);
    }
    if (value.is_array()) {
      check_array(node, value, path);
    }
    if (node.has_alternatives) {
      std::size_t matches = 0;
      for (const Node* alternative : node.alternatives) {
        Validator inner(1);
        inner.check(*alternative, value, path);
        matches += inner.errors_.empty() ? 1 : 0;
      }
      if (matches == 0 || (node.one_of && matches > 1)) {
        add(path,
            fmt::format("matches {} of the {} alternatives ({} required)", matches,
                        node.alternatives.size(), node.one_of ? "exactly one" : "at least one"));
      }
    }
  }

  std::vector<SchemaError> take() { return std::move(errors_); }

 private:
  void check_object(const Node& node, const json& value, const Path& path) {
    if (node.required != nullptr) {
      for (const auto& name : *node.required) {
        if (!value.contains(name.get_ref<const std::string&>())) {
          add(path, fmt::format("missing required property {}", name.dump()));
        }
      }
    }
    if (node.min_properties != nullptr && value.size() < node.min_properties->get<std::size_t>()) {
      add(path, fmt::format("fewer than {} properties", node.min_properties->dump()));
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string& key = it.key();
      const Path member_path{&path, &key, 0};
      if (node.property_names != nullptr) {
        // The name is checked as a string value; an error points at the member it names.
        Validator names(1);
        names.check(*node.property_names, json(key), member_path);
        if (!names.errors_.empty()) {
          add(member_path, fmt::format("property name {} is not allowed: {}", json(key).dump(),
                                       names.errors_.front().message));
        }
      }
      const auto property = node.has_properties ? node.properties.find(key) : node.properties.end();
      if (property != node.properties.end()) {
        check(*property->second, *it, member_path);
      } else if (node.additional_json != nullptr) {
        if (node.additional_json->is_boolean() && !node.additional_json->get<bool>()) {
          add(member_path, "unexpected property");
        } else if (node.additional != nullptr) {
          check(*node.additional, *it, member_path);
        }
      }
    }
  }

  void check_array(const Node& node, const json& value, const Path& path) {
    if (node.min_items != nullptr && value.size() < node.min_items->get<std::size_t>()) {
      add(path, fmt::format("fewer than {} items", node.min_items->dump()));
    }
    if (node.max_items != nullptr && value.size() > node.max_items->get<std::size_t>()) {
      add(path, fmt::format("more than {} items", node.max_items->dump()));
    }
    if (node.items != nullptr) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        check(*node.items, value[i], Path{&path, nullptr, i});
      }
    }
  }

  void add(const Path& path, std::string message) {
    if (errors_.size() < max_errors_) {
      std::string pointer = path.str();
      errors_.push_back({pointer.empty() ? "/" : std::move(pointer), std::move(message)});
    }
  }

  std::size_t max_errors_;
  std::vector<SchemaError> errors_;
};

}  // namespace

JsonSchema::JsonSchema(json schema)
    : schema_(schema), compiled_(std::make_shared<const CompiledSchema>(std::move(schema))) {}

std::vector<SchemaError> JsonSchema::validate(const json& document, std::size_t max_errors) const {
  Validator validator(max_errors);
  validator.check(*compiled_->root, document, Path{});
  return validator.take();
}

const JsonSchema& report_schema() {
  // Parsed once; immutable afterwards.
  static const JsonSchema schema(json::parse(report_schema_text()));
  return schema;
}

std::string_view report_schema_text() {
  return embedded_schema_text("report");
}

}  // namespace preflight::reports
