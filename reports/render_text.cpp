#include "reports/render_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <vector>

#include "common/findings.hpp"
#include "common/status.hpp"
#include "common/text.hpp"

namespace preflight::reports {

namespace {

// One finding as printed: a check, or several that say the same (same id and message, e.g.
// PLATFORM_UNKNOWN from every probe step of a plan), with the steps they came from.
struct PrintedFinding {
  const Check* first = nullptr;
  Status status = Status::pass;  // the worst of the folded checks
  std::vector<std::string> steps;
  std::size_t count = 0;
  const Check* remedied = nullptr;  // the first that carries a remediation (a failing one)
};

std::vector<PrintedFinding> fold_findings(const std::vector<Check>& checks) {
  std::vector<PrintedFinding> findings;
  for (const auto& check : checks) {
    auto it = std::find_if(findings.begin(), findings.end(), [&](const PrintedFinding& f) {
      return f.first->id == check.id && f.first->message == check.message;
    });
    if (it == findings.end()) {
      findings.push_back({&check, check.status, {}, 0, nullptr});
      it = std::prev(findings.end());
    } else if (is_worse(check.status, it->status)) {
      it->status = check.status;
    }
    ++it->count;
    if (it->remedied == nullptr && !check.remediation.empty()) {
      it->remedied = &check;
    }
    if (check.evidence.is_object() && check.evidence.contains("step") &&
        check.evidence.at("step").is_string()) {
      const std::string step = check.evidence.at("step").get<std::string>();
      if (std::find(it->steps.begin(), it->steps.end(), step) == it->steps.end()) {
        it->steps.push_back(step);
      }
    }
  }
  return findings;
}

}  // namespace

std::string render_checks_text(const Report& report) {
  std::string out;
  out += fmt::format("# {} {}\n", report.tool.name, report.tool.version);
  if (!report.inventory.instance_type.empty()) {
    out += fmt::format("# instance type: {}\n", report.inventory.instance_type);
  }
  for (const auto& finding : fold_findings(report.checks)) {
    const Check& check = *finding.first;
    std::string where;
    const bool names_its_step =
        finding.steps.size() == 1 && check.message.find(finding.steps.front()) != std::string::npos;
    if (!finding.steps.empty() && !names_its_step) {
      where = fmt::format(" [{} {}]", finding.steps.size() == 1 ? "step" : "steps",
                          join(finding.steps, ", "));
    } else if (finding.count > 1) {
      where = fmt::format(" (x{})", finding.count);
    }
    out += fmt::format("{:<7} {:<36} {}{}\n", to_upper(to_string(finding.status)), check.id,
                       check.message, where);
    if (finding.remedied != nullptr && finding.status != Status::pass &&
        finding.status != Status::skip) {
      out += fmt::format("{:<7} {:<36} -> {}: {}\n", "", "", to_string(finding.remedied->severity),
                         finding.remedied->remediation);
    }
  }
  out += fmt::format("verdict: {} (exit {})\n", report.verdict.summary, report.verdict.exit_code);
  return out;
}

}  // namespace preflight::reports
