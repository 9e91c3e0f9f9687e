// libFuzzer target: the `preflight ci --plan FILE` reader (cli/plans.hpp parse_ci_plan, the text
// half of read_ci_plan): depth-checked JSON parse, plan schema, unique step names, conversion to
// a CiPlan. Any input is either a CiPlan or a UsageError; beyond "no crash" it asserts what the
// plan runner relies on: at least one and at most 256 steps, unique step names, ranks within
// 1..65536, step timeouts and the budget (when set) within 1..86400 s.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "cli/plans.hpp"
#include "common/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  preflight::cli::CiPlan plan;
  try {
    plan = preflight::cli::parse_ci_plan(text, "fuzz/plan.json");
  } catch (const preflight::UsageError&) {
    return 0;
  }
  const auto within = [](double value, double low, double high) {
    return std::isfinite(value) && value >= low && value <= high;
  };
  if (plan.steps.empty() || plan.steps.size() > 256 ||
      (plan.budget_s != 0 && !within(plan.budget_s, 1, 86400))) {
    __builtin_trap();
  }
  std::set<std::string> names;
  for (const auto& step : plan.steps) {
    if (step.name.empty() || !names.insert(step.name).second || step.ranks < 1 ||
        step.ranks > 65536 || !within(step.timeout_s, 1, 86400) || step.tool.empty()) {
      __builtin_trap();
    }
  }
  return 0;
}
