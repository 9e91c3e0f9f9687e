#include "reports/render_text.hpp"

#include <fmt/format.h>

#include "common/text.hpp"

namespace preflight::reports {

std::string render_checks_text(const Report& report) {
  std::string out;
  out += fmt::format("# {} {}\n", report.tool.name, report.tool.version);
  if (!report.inventory.instance_type.empty()) {
    out += fmt::format("# instance type: {}\n", report.inventory.instance_type);
  }
  for (const auto& check : report.checks) {
    out += fmt::format("{:<7} {:<36} {}\n", to_upper(to_string(check.status)), check.id,
                       check.message);
    if (!check.remediation.empty() && check.status != Status::pass &&
        check.status != Status::skip) {
      out += fmt::format("{:<7} {:<36} -> {}\n", "", "", check.remediation);
    }
  }
  out += fmt::format("verdict: {} (exit {})\n", report.verdict.summary, report.verdict.exit_code);
  return out;
}

}  // namespace preflight::reports
