// Snapshots of EFA hw_counters as files (--save-counters), and deltas against one
// (--baseline-counters): counters are cumulative since boot or driver reset, so only deltas
// around a test say anything about it.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "probes/gather_efa.hpp"

namespace preflight::probes {

inline constexpr std::string_view kCounterSnapshotSchema = "preflight.efa-counters/1";

// device -> counter -> value; port counters keep their name for port 1 and get a "port<N>/"
// prefix for other ports; device-level counters keep their name.
using CounterSnapshot = std::map<std::string, CounterMap>;

[[nodiscard]] CounterSnapshot snapshot_counters(const EfaFacts& facts);
[[nodiscard]] nlohmann::json snapshot_to_json(const CounterSnapshot& snapshot,
                                              std::string_view taken_at, std::string_view root);
// A snapshot file, or a capture of the counters as operators collect them (parse_counter_dump):
// `rdma -p statistic show`, `more /sys/class/infiniband/*/ports/1/hw_counters/* | cat`, a
// node_exporter amazonefa scrape. Throws UsageError naming the file (and the JSON pointer) when it
// is none of them.
[[nodiscard]] CounterSnapshot read_counter_snapshot(const std::filesystem::path& path,
                                                    std::string* taken_at = nullptr);

// The counters of a capture in any of those three formats, keyed as snapshot_counters keys them
// (port 1 plain, "port<N>/" otherwise, device-level plain); lifespan and non-numbers left out.
// node_exporter prints large counters in floating point (1.047241117296e+12): they are rounded,
// exact to its 13 significant digits. Empty when the text holds none.
[[nodiscard]] CounterSnapshot parse_counter_dump(std::string_view text);
void write_counter_snapshot(const std::filesystem::path& path, const CounterSnapshot& snapshot,
                            std::string_view taken_at, std::string_view root);

struct CounterDeltas {
  CounterSnapshot deltas;                                 // now - before, counters in both
  std::map<std::string, std::vector<std::string>> reset;  // counters that went down (reset)
  std::vector<std::string> devices_gone;                  // in the baseline, not now
  std::vector<std::string> devices_new;                   // now, not in the baseline
};

[[nodiscard]] CounterDeltas counter_deltas(const CounterSnapshot& before,
                                           const CounterSnapshot& now);

}  // namespace preflight::probes
