// Internal to the renderers: result rows grouped into series (one table or plot each), with the
// out-of-place and in-place rows of one size side by side as nccl-tests prints them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "reports/compare.hpp"
#include "reports/report.hpp"

namespace preflight::reports::detail {

struct SeriesLine {
  std::uint64_t size_bytes = 0;
  int out_of_place = -1;  // index into report.results, -1 when absent
  int in_place = -1;
};

struct Series {
  std::string title;  // "all_reduce · nccl · float · sum · 16 ranks"
  std::string key;    // stable, for ids and data attributes
  std::string benchmark;
  std::vector<SeriesLine> lines;
};

[[nodiscard]] std::vector<Series> group_series(const Report& report);

// The comparison row for each compared report row (index into report.results).
[[nodiscard]] std::map<int, const RowOutcome*> outcomes_by_row(const Comparison* comparison);

// Verdicts that mark a row as failing in tables and plots.
[[nodiscard]] bool is_failing(RowVerdict verdict);

// A point-to-point row between two nodes (labels src and dst, different).
[[nodiscard]] bool is_link_row(const ResultRow& row);

// What a row's numbers mean, for axis names: the collectives' bus bandwidth is not a
// point-to-point bandwidth, and a p2p latency row's time is a one-way latency.
struct MetricNames {
  std::string bandwidth;  // "bus bandwidth", "algorithm bandwidth", "bandwidth", ... ("" none)
  std::string time;       // "time", "one-way latency", "time per message", ...
};
[[nodiscard]] MetricNames metric_names(const ResultRow& row);

// The links of an all-pairs (or cluster) run: one group per test and size, each link's best
// value (bandwidth highest, latency lowest, over repeated measurements), and the reference every
// link is drawn against: the median over the links, the cluster's typical link.
struct LinkCell {
  std::string src;
  std::string dst;
  double value = 0;     // B/s, or seconds for latency
  double fraction = 0;  // of the reference: 1 typical, below 1 worse (latency inverted)
  int row = -1;         // the report row of the best value
};
struct LinkGroup {
  std::string key;    // stable, for ids
  std::string title;  // "bw · libfabric · tcp · 1M"
  std::string benchmark;
  std::uint64_t size_bytes = 0;
  bool lower_is_better = false;  // latency
  std::string metric;            // "bandwidth", "one-way latency"
  double reference = 0;
  std::vector<std::string> nodes;  // sorted
  std::vector<LinkCell> links;     // sorted worst first
  std::vector<int> rows;           // every row of the group, measurement order
};
// Groups of two or more distinct links; empty for a run between two nodes or without links.
[[nodiscard]] std::vector<LinkGroup> group_links(const Report& report);

}  // namespace preflight::reports::detail
