#include "probes/efa_probe.hpp"

#include <ctime>

#include "common/timer.hpp"
#include "probes/efa_counters.hpp"
#include "probes/judge_efa.hpp"

namespace preflight::probes {
namespace {

// Seconds from a snapshot's "YYYY-MM-DDTHH:MM:SSZ" to now; nullopt when it is not one.
std::optional<double> seconds_since(const std::string& taken_at) {
  std::tm parsed{};
  const char* end = ::strptime(taken_at.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parsed);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  const std::time_t then = ::timegm(&parsed);
  const std::time_t now = std::time(nullptr);
  return now >= then ? std::optional(static_cast<double>(now - then)) : std::nullopt;
}

}  // namespace

EfaRun run_efa(const EfaOptions& options, bool query_libraries) {
  const RootFs fs(options.probe.root);
  const PlatformContext context = resolve_platform(fs, instance_query(options.probe));
  // Read the baseline first: a bad file is a usage error before any work.
  std::optional<EfaBaseline> baseline;
  CounterSnapshot before;
  if (!options.baseline_counters.empty()) {
    baseline.emplace();
    baseline->path = options.baseline_counters;
    before = read_counter_snapshot(options.baseline_counters, &baseline->taken_at);
    baseline->interval_s = seconds_since(baseline->taken_at);
  }
  EfaGatherOptions gather_options;
  gather_options.query_libraries = query_libraries;
  if (context.platform != nullptr) {
    gather_options.expected_count = context.platform->efa_count;
    gather_options.retry_late = context.platform->efa_may_enumerate_late;
  }
  EfaRun run;
  run.facts = gather_efa(fs, gather_options);
  const CounterSnapshot now = snapshot_counters(run.facts);
  if (baseline) {
    baseline->deltas = counter_deltas(before, now);
  }
  run.report = start_probe_report(kEfaTool, options.probe, context);
  add_platform_check(run.report.checks, context);
  for (auto& check : judge_efa(run.facts, context.platform, baseline)) {
    run.report.checks.push_back(std::move(check));
  }
  run.report.inventory.efa = efa_inventory(run.facts);
  run.report.details["efa"] = efa_details(run.facts);
  run.report.details["platform_source"] = context.source;
  if (baseline) {
    run.report.hw_counters_delta = baseline->deltas.deltas;
    run.report.details["baseline"] = {{"path", baseline->path},
                                      {"taken_at", baseline->taken_at},
                                      {"reset", baseline->deltas.reset},
                                      {"devices_gone", baseline->deltas.devices_gone},
                                      {"devices_new", baseline->deltas.devices_new}};
  }
  if (!options.save_counters.empty()) {
    write_counter_snapshot(options.save_counters, now,
                           options.probe.common.deterministic ? "" : utc_timestamp_now(),
                           options.probe.root);
    run.report.details["saved_counters"] = options.save_counters;
  }
  finish_report(run.report, options.probe.common.warn_as_fail, options.probe.common.deterministic);
  return run;
}

}  // namespace preflight::probes
