#include "collectives/render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "reports/nccl_tests_table.hpp"
#include "reports/render_text.hpp"

namespace preflight::collectives {
namespace {

using reports::Report;
using reports::ResultRow;

std::string label(const ResultRow& row, const std::string& key, const std::string& fallback) {
  const auto it = row.labels.find(key);
  return it == row.labels.end() ? fallback : it->second;
}

// What a row's time is, in words: batches timed as one (nccl-tests' method) or single calls.
std::string time_statistic(const ResultRow& row) {
  if (label(row, "timing", "") == "batch") {
    const std::string calls = label(row, "batch_iterations", "?");
    return row.time_s.n == 1 ? fmt::format("mean of {} calls timed as one batch", calls)
                             : fmt::format("median of {} batches of {} calls", row.time_s.n, calls);
  }
  return fmt::format("median of {} iterations", row.time_s.n);
}

std::string string_field(const nlohmann::json& object, const char* key, std::string fallback) {
  if (object.is_object() && object.contains(key) && object[key].is_string()) {
    return object[key].get<std::string>();
  }
  return fallback;
}

std::string device_line(const nlohmann::json& rank) {
  const nlohmann::json device = rank.value("device", nlohmann::json::object());
  std::string where = "[host memory]";
  std::string index = " -";
  if (device.contains("gpu")) {
    where = fmt::format("[{}] {}", string_field(device, "pci_bus_id", "?"),
                        string_field(device, "gpu", "?"));
    index = fmt::format("{:>2}", device.value("device", -1));
  } else if (string_field(device, "note", "").find("single process") != std::string::npos) {
    where = "[host memory, single process]";
  }
  const std::string pid = rank.contains("pid") ? std::to_string(rank["pid"].get<long>()) : "-";
  return fmt::format("#  Rank {:>2} Group {:>2} Pid {:>6} on {:>10} device {} {}\n",
                     rank.value("rank", 0), rank.value("group", 0), pid,
                     string_field(rank, "host", "-"), index, where);
}

// The run's parameters (collective, ranks, backend, sampling, split) and its devices.
std::string run_header(const Report& report) {
  std::string out;
  const nlohmann::json& details = report.details;
  const nlohmann::json backend = details.value("backend", nlohmann::json::object());
  const std::string version =
      report.tool.version.empty() ? std::string() : fmt::format(" {}", report.tool.version);
  const std::string git =
      report.tool.git.empty() ? std::string() : fmt::format(" ({})", report.tool.git);
  out +=
      fmt::format("# {}{}{}: {}, {} ranks on {} node(s), backend {} ({}; {})\n", report.tool.name,
                  version, git, string_field(details, "collective", "?"), report.run.ranks,
                  std::max(report.run.nodes, 1), string_field(backend, "name", "?"),
                  string_field(backend, "transport", "?"), string_field(backend, "selected", "?"));
  if (details.contains("sampling")) {
    const nlohmann::json& sampling = details["sampling"];
    const std::string iterations =
        sampling.value("fixed", false)
            ? fmt::format("exactly {}", sampling.value("min_iterations", 0))
            : fmt::format(
                  "adaptive {}..{} until the median's 95% CI is within {:g}% or {:g} s "
                  "of samples",
                  sampling.value("min_iterations", 0), sampling.value("max_iterations", 0),
                  sampling.value("target_precision", 0.0) * 100,
                  sampling.value("time_per_size_s", 0.0));
    out += fmt::format("# sizes {}; warm-up {}; timed iterations {}; check {}\n",
                       string_field(details, "sizes_requested", "?"),
                       sampling.value("warmup_iterations", 0), iterations,
                       details.value("check_iterations", 0));
  }
  if (details.contains("split")) {
    out += fmt::format(
        "# split {}: {} groups of {} ranks\n", string_field(details["split"], "spec", "?"),
        details["split"].value("groups", 0), details["split"].value("group_size", 0));
  }
  if (details.contains("fault_injection")) {
    out += fmt::format("# WARNING: test-only fault hooks active: {}\n",
                       details["fault_injection"].dump());
  }
  out += "#\n";
  if (details.contains("ranks")) {
    out += "# Using devices\n";
    for (const auto& rank : details["ranks"]) {
      out += device_line(rank);
    }
    out += "#\n";
  }
  return out;
}

// One line per (type, op, size): the out-of-place and in-place rows side by side.
std::vector<reports::NcclTestsLine> table_lines(const std::vector<ResultRow>& rows) {
  std::vector<reports::NcclTestsLine> lines;
  for (std::size_t i = 0; i < rows.size();) {
    const ResultRow& first = rows[i];
    reports::NcclTestsLine line;
    std::size_t j = i;
    for (; j < rows.size() && rows[j].dtype == first.dtype && rows[j].op == first.op &&
           rows[j].size_bytes == first.size_bytes &&
           label(rows[j], "requested_bytes", "") == label(first, "requested_bytes", "");
         ++j) {
      (rows[j].in_place ? line.in_place : line.out_of_place) = &rows[j];
    }
    i = j;
    lines.push_back(line);
  }
  return lines;
}

// Under nccl-tests' footer: what the data check found, the peak bus bandwidth and the smallest
// size's time with where they were reached, and what a time is.
std::string summary(const std::vector<ResultRow>& rows,
                    const std::vector<reports::NcclTestsLine>& lines) {
  std::string out;
  std::int64_t wrong_total = 0;
  bool any_checked = false;
  for (const reports::NcclTestsLine& line : lines) {
    for (const ResultRow* row : {line.out_of_place, line.in_place}) {
      if (row != nullptr && row->wrong_elements >= 0) {
        any_checked = true;
        wrong_total += row->wrong_elements;
      }
    }
  }
  std::int64_t rows_wrong = 0;
  for (const ResultRow& row : rows) {
    rows_wrong += row.wrong_elements > 0 ? 1 : 0;
  }
  if (!any_checked) {
    out += fmt::format("# {:<20} : nothing was checked (--check 0), so the count above is 0\n",
                       "Data check");
  } else if (wrong_total > 0) {
    out += fmt::format("# {:<20} : {} in {} row(s) FAILED\n", "Wrong elements", wrong_total,
                       rows_wrong);
  }
  const auto peak = std::max_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a.busbw_Bps < b.busbw_Bps;
  });
  if (peak != rows.end()) {
    out += fmt::format("# {:<20} : {:.2f} GB/s at {} B ({} {}, {}; {})\n", "Peak bus bandwidth",
                       peak->busbw_Bps / 1e9, peak->size_bytes, peak->dtype, peak->op,
                       label(*peak, "placement", "?"), time_statistic(*peak));
    const auto smallest =
        std::min_element(rows.begin(), rows.end(),
                         [](const auto& a, const auto& b) { return a.size_bytes < b.size_bytes; });
    // One sample (one fixed batch) has no spread to show.
    const std::string spread =
        smallest->time_s.n > 1
            ? fmt::format(", 95% CI of the median {:.2f}..{:.2f} us",
                          smallest->time_s.ci95_lo * 1e6, smallest->time_s.ci95_hi * 1e6)
            : std::string();
    out += fmt::format("# {:<20} : {:.2f} us at {} B ({}; {}{})\n", "Smallest-size time",
                       smallest->time_s.median * 1e6, smallest->size_bytes,
                       label(*smallest, "placement", "?"), time_statistic(*smallest), spread);
  }
  const bool batched = !rows.empty() && label(rows.front(), "timing", "") == "batch";
  out += batched ? "# time: per-call mean of batches timed as one (nccl-tests' method), mean over "
                   "ranks; GB/s = 1e9 B/s\n"
                 : "# time: median of the per-iteration maximum over ranks; GB/s = 1e9 B/s\n";
  return out;
}

}  // namespace

std::string render_collective_text(const Report& report) {
  std::string out = run_header(report);
  const std::vector<ResultRow>& rows = report.results;
  if (rows.empty()) {
    out += "# no result rows\n#\n";
    out += reports::render_checks_text(report);
    return out;
  }
  const std::vector<reports::NcclTestsLine> lines = table_lines(rows);
  out += reports::nccl_tests_table_header();
  for (const reports::NcclTestsLine& line : lines) {
    out += reports::nccl_tests_table_line(line);
  }
  out += reports::nccl_tests_footer(rows);
  out += summary(rows, lines);
  out += "#\n";
  out += reports::render_checks_text(report);
  return out;
}

}  // namespace preflight::collectives
