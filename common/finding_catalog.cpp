// Lookups over the findings catalog (the table itself: common/finding_catalog.hpp).
#include "common/finding_catalog.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

#include "common/findings.hpp"

namespace preflight {
namespace {

using enum Severity;
using C = Category;
using finding_table::kCatalog;

// Compile-time proof that ids are unique.
consteval bool ids_unique() {
  for (std::size_t i = 0; i < kCatalog.size(); ++i) {
    for (std::size_t j = i + 1; j < kCatalog.size(); ++j) {
      if (kCatalog[i].id == kCatalog[j].id) {
        return false;
      }
    }
  }
  return true;
}
static_assert(ids_unique(), "finding ids must be unique");

}  // namespace

std::span<const FindingDefinition> finding_catalog() {
  return kCatalog;
}

const FindingDefinition& finding(std::string_view id) {
  const auto* const it =
      std::find_if(kCatalog.begin(), kCatalog.end(),
                   [id](const FindingDefinition& entry) { return entry.id == id; });
  if (it == kCatalog.end()) {
    throw std::out_of_range("unknown finding id: " + std::string(id));
  }
  return *it;
}

bool is_known_finding(std::string_view id) {
  return std::any_of(kCatalog.begin(), kCatalog.end(),
                     [id](const FindingDefinition& entry) { return entry.id == id; });
}

Status finding_status(std::string_view id) {
  switch (finding(id).severity) {
    case Severity::isolate:
    case Severity::reboot:
    case Severity::reset:
      return Status::fail;
    case Severity::monitor:
    case Severity::info:
      return Status::warn;
  }
  return Status::fail;
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::isolate:
      return "isolate";
    case Severity::reboot:
      return "reboot";
    case Severity::reset:
      return "reset";
    case Severity::monitor:
      return "monitor";
    case Severity::info:
      return "info";
  }
  return "info";
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (const Severity severity : {isolate, reboot, reset, monitor, info}) {
    if (to_string(severity) == text) {
      return severity;
    }
  }
  return std::nullopt;
}

std::string_view to_string(Category category) {
  switch (category) {
    case C::driver:
      return "driver";
    case C::version:
      return "version";
    case C::topology:
      return "topology";
    case C::environment:
      return "environment";
    case C::efa:
      return "efa";
    case C::nccl:
      return "nccl";
    case C::benchmark:
      return "benchmark";
    case C::harness:
      return "harness";
  }
  return "harness";
}

}  // namespace preflight
