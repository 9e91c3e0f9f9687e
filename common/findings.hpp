// The findings catalog: every check a preflight binary reports has a stable id from one
// append-only table (common/finding_catalog.hpp). Dashboards and Slurm drain reasons key on the
// id, never on prose. Severity says what the operator should do with a node that has the finding.
//
// A finding fired with an id written in the source is checked when it is compiled: the id must be
// in the catalog and the arguments must fit its message template (FindingText). Only the few
// places that carry an id chosen at run time (a rule table's entry) use finding_message_for,
// which looks the id up when it runs and throws for an unknown one.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/finding_catalog.hpp"
#include "common/finding_definition.hpp"
#include "common/status.hpp"

namespace preflight {

[[nodiscard]] std::span<const FindingDefinition> finding_catalog();
// Throws std::out_of_range for an id not in the catalog: a typo is a bug, found by the tests.
[[nodiscard]] const FindingDefinition& finding(std::string_view id);
[[nodiscard]] bool is_known_finding(std::string_view id);
// The status a fired finding gives its check: fail when the node should not take jobs as it is
// (isolate, reboot, reset), warn when it may (monitor, info). Every binary uses this, so one
// finding never fails in one tool and warns in another.
[[nodiscard]] Status finding_status(std::string_view id);

[[nodiscard]] std::string_view to_string(Severity severity);
[[nodiscard]] std::optional<Severity> parse_severity(std::string_view text);
[[nodiscard]] std::string_view to_string(Category category);

namespace detail {
// The catalog entry of `id`, at compile time; an id not in the catalog makes the call that named
// it fail to compile ("not a constant expression" at the throw).
consteval const FindingDefinition& catalog_entry(std::string_view id) {
  for (const FindingDefinition& entry : finding_table::kCatalog) {
    if (entry.id == id) {
      return entry;
    }
  }
  throw std::invalid_argument("finding id not in the catalog (common/finding_catalog.hpp)");
}
}  // namespace detail

// A catalog id with its message template checked against the argument types Args, built at
// compile time from an id written in the source (implicitly, so that
// finding_message("EFA_PORT_DOWN", port) is checked where it is written).
template <typename... Args>
class FindingText {
 public:
  template <typename Text>
  requires std::is_convertible_v<const Text&, std::string_view>
  // NOLINTNEXTLINE(google-explicit-constructor): implicit, so a literal id is checked in place
  consteval FindingText(const Text& id)
      : definition_(&detail::catalog_entry(id)), format_(definition_->message_template) {}

  [[nodiscard]] std::string_view id() const { return definition_->id; }
  [[nodiscard]] fmt::format_string<Args...> format_string() const { return format_; }

 private:
  const FindingDefinition* definition_;
  fmt::format_string<Args...> format_;
};

// The finding's message with its arguments substituted; the id and the arguments are checked at
// compile time (see FindingText).
template <typename... Args>
[[nodiscard]] std::string finding_message(FindingText<std::type_identity_t<Args>...> text,
                                          Args&&... args) {
  return fmt::format(text.format_string(), std::forward<Args>(args)...);
}

// The same for an id chosen at run time (a rule table's entry): checked when it runs.
template <typename... Args>
[[nodiscard]] std::string finding_message_for(std::string_view id, Args&&... args) {
  return fmt::format(fmt::runtime(finding(id).message_template), std::forward<Args>(args)...);
}

}  // namespace preflight
