#include "p2p/render.hpp"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "reports/render_text.hpp"

namespace preflight::p2p {
namespace {

using nlohmann::json;
using reports::ResultRow;

std::string label(const ResultRow& row, const std::string& key) {
  const auto found = row.labels.find(key);
  return found == row.labels.end() ? std::string() : found->second;
}

std::string check_cell(const ResultRow& row) {
  if (row.wrong_elements < 0) {
    return "-";
  }
  if (row.wrong_elements > 0) {
    return fmt::format("WRONG {}", row.wrong_elements);
  }
  return label(row, "size_check") == "checked" ? "ok" : "ok*";
}

std::string table_header(const ResultRow& row) {
  std::string where = row.backend;
  if (row.backend == "libfabric") {
    where = fmt::format("libfabric {} (fabric {}, domain {})", row.transport, label(row, "fabric"),
                        label(row, "domain"));
  } else if (!label(row, "library").empty()) {
    where = fmt::format("{} ({})", row.backend, label(row, "library"));
  }
  std::string phase = label(row, "phase");
  return fmt::format("# {} | {} | op {} | {} memory | {} (rank {}) -> {} (rank {}){}\n",
                     row.benchmark, where, row.op, label(row, "memory"), label(row, "src"),
                     label(row, "src_rank"), label(row, "dst"), label(row, "dst_rank"),
                     phase.empty() ? "" : " | " + phase);
}

void render_latency(std::string& out, const std::vector<const ResultRow*>& rows) {
  out += table_header(*rows.front());
  const bool read = label(*rows.front(), "time") == "read_completion";
  out += fmt::format("# latency in us ({}), per-iteration samples\n",
                     read ? "time of one read" : "one-way = round trip / 2");
  out += fmt::format("{:>10} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {}\n", "size",
                     "iters", "p50", "p90", "p99", "p99.9", "min", "max", "Mmsg/s", "check");
  for (const ResultRow* row : rows) {
    const auto& t = row->time_s;
    out += fmt::format(
        "{:>10} {:>8} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.3f}  {}\n",
        row->size_bytes, t.n, t.median * 1e6, t.p90 * 1e6, t.p99 * 1e6,
        t.p999.value_or(t.p99) * 1e6, t.min * 1e6, t.max * 1e6,
        row->message_rate_per_s.value_or(0) / 1e6, check_cell(*row));
  }
}

void render_bandwidth(std::string& out, const std::vector<const ResultRow*>& rows) {
  out += table_header(*rows.front());
  const bool bidirectional = rows.front()->benchmark == "bibw";
  out += fmt::format(
      "# window of {} messages{}, bandwidth in GB/s (1e9 B/s){}, from the median window time\n",
      label(*rows.front(), "window"), bidirectional ? " each way" : " then a 1-byte ack",
      bidirectional ? " summed over both directions" : "");
  out += fmt::format("{:>10} {:>8} {:>10} {:>10} {:>12} {:>12}  {}\n", "size", "iters", "GB/s",
                     "Mmsg/s", "us/msg p50", "us/msg p99", "check");
  for (const ResultRow* row : rows) {
    out +=
        fmt::format("{:>10} {:>8} {:>10.3f} {:>10.3f} {:>12.3f} {:>12.3f}  {}\n", row->size_bytes,
                    row->time_s.n, row->algbw_Bps / 1e9, row->message_rate_per_s.value_or(0) / 1e6,
                    row->time_s.median * 1e6, row->time_s.p99 * 1e6, check_cell(*row));
  }
}

void render_matrix(std::string& out, const std::string& metric, const json& entry,
                   const std::vector<std::string>& nodes) {
  if (!entry.contains("matrix")) {
    out += fmt::format("# {}: {} links measured (matrix omitted for {} nodes; see the JSON)\n",
                       metric, entry.at("links").size(), nodes.size());
    return;
  }
  const bool latency = metric == "latency_s";
  out += fmt::format("# {} matrix at {} B ({}, best of each link's measurements)\n", metric,
                     entry.value("size_bytes", 0), latency ? "one-way us" : "GB/s");
  out += fmt::format("{:>12}", "");
  for (const std::string& node : nodes) {
    out += fmt::format(" {:>10.10}", node);
  }
  out += "\n";
  const json& matrix = entry.at("matrix");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    out += fmt::format("{:>12.12}", nodes[i]);
    for (std::size_t j = 0; j < nodes.size(); ++j) {
      const json& value = matrix.at(i).at(j);
      if (i == j) {
        out += fmt::format(" {:>10}", "-");
      } else if (value.is_null()) {
        out += fmt::format(" {:>10}", ".");
      } else {
        const double number = value.get<double>();
        out += fmt::format(" {:>10.3f}", latency ? number * 1e6 : number / 1e9);
      }
    }
    out += "\n";
  }
}

}  // namespace

std::string render_text(const reports::Report& report) {
  std::string out;
  const std::string pattern = report.details.value("pattern", "pair");
  if (pattern == "pair") {
    // Tables in the order the rows were measured, one per (test, pair, phase).
    std::vector<std::tuple<std::string, std::string, std::string, std::string>> order;
    std::map<std::tuple<std::string, std::string, std::string, std::string>,
             std::vector<const ResultRow*>>
        groups;
    for (const ResultRow& row : report.results) {
      const auto key = std::make_tuple(row.benchmark + "/" + label(row, "domain"),
                                       label(row, "src"), label(row, "dst"), label(row, "phase"));
      if (!groups.contains(key)) {
        order.push_back(key);
      }
      groups[key].push_back(&row);
    }
    for (const auto& key : order) {
      const auto& rows = groups[key];
      if (rows.front()->benchmark == "latency") {
        render_latency(out, rows);
      } else {
        render_bandwidth(out, rows);
      }
      out += "\n";
    }
  } else if (report.details.contains("survey")) {
    const json& survey = report.details.at("survey");
    const auto nodes = survey.at("nodes").get<std::vector<std::string>>();
    out += fmt::format(
        "# {} over {} nodes: {} rounds ({} schedule, {} initial + {} re-test), "
        "{} result rows\n",
        pattern, nodes.size(), survey.value("rounds", 0), survey.value("mode", ""),
        survey.value("initial_rounds", 0), survey.value("retest_rounds", 0), report.results.size());
    for (const auto& [metric, entry] : survey.at("matrices").items()) {
      render_matrix(out, metric, entry, nodes);
    }
    out += "\n";
  }
  if (!report.hw_counters_delta.empty()) {
    out += "# EFA counter deltas (non-zero)\n";
    for (const auto& [device, counters] : report.hw_counters_delta) {
      std::string line;
      for (const auto& [name, delta] : counters) {
        if (delta != 0) {
          line += fmt::format(" {}={}", name, delta);
        }
      }
      out += fmt::format("#   {}:{}\n", device, line.empty() ? " (none)" : line);
    }
    out += "\n";
  }
  out += reports::render_checks_text(report);
  return out;
}

}  // namespace preflight::p2p
