// Prometheus text exposition for node_exporter's textfile collector
// (--collector.textfile.directory): write it atomically into that directory after each run and
// alert on preflight_check_status or preflight_busbw_gbps.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "common/text.hpp"
#include "reports/baseline.hpp"
#include "reports/format.hpp"
#include "reports/render.hpp"

namespace preflight::reports {

namespace {

std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
      out += c;
    }
  }
  return out;
}

// Label names: [a-zA-Z_][a-zA-Z0-9_]*, never starting with "__" (reserved).
std::string label_name(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) {
    out = "l_" + out;
  }
  while (out.size() >= 2 && out[0] == '_' && out[1] == '_') {
    out.erase(0, 1);
  }
  return out;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string labels_text(const Labels& labels) {
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", i == 0 ? "" : ",", labels[i].first,
                       label_value(labels[i].second));
  }
  return out + "}";
}

std::string number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return fmt::format("{:.0f}", value);
  }
  return fmt::format("{}", value);
}

class Family {
 public:
  Family(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  void add(const Labels& labels, double value) {
    if (!std::isfinite(value)) {
      return;
    }
    // The exposition format forbids two samples with one label set: repeats get a counter.
    std::string key = labels_text(labels);
    for (int repeat = 2; !keys_.insert(key).second; ++repeat) {
      Labels distinct = labels;
      distinct.emplace_back("repeat", std::to_string(repeat));
      key = labels_text(distinct);
    }
    samples_.push_back(fmt::format("{}{} {}", name_, key, number(value)));
  }
  [[nodiscard]] std::string text() const {
    if (samples_.empty()) {
      return {};
    }
    std::string out = fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name_, help_, name_);
    for (const auto& sample : samples_) {
      out += sample + "\n";
    }
    return out;
  }

 private:
  std::string name_;
  std::string help_;
  std::set<std::string> keys_;
  std::vector<std::string> samples_;
};

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// RFC 3339 with a zone ("Z" or "+hh:mm") -> seconds since the epoch. A stamp without a zone
// (nccl-tests prints local time) has no defined instant: nullopt.
std::optional<double> epoch_seconds(const std::string& text) {
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto field = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, value);
    if (ec != std::errc() || end != text.data() + at + length) {
      return std::nullopt;
    }
    return value;
  };
  const auto year = field(0, 4);
  const auto month = field(5, 2);
  const auto day = field(8, 2);
  const auto hour = field(11, 2);
  const auto minute = field(14, 2);
  const auto second = field(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || *month < 1 || *month > 12 ||
      *day < 1 || *day > 31) {
    return std::nullopt;
  }
  std::size_t at = 19;
  double fraction = 0;
  if (at < text.size() && text[at] == '.') {
    double scale = 0.1;
    ++at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fraction += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
  }
  int offset_s = 0;
  if (at < text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    offset_s = 0;
  } else if (at + 6 <= text.size() && (text[at] == '+' || text[at] == '-')) {
    const auto oh = field(at + 1, 2);
    const auto om = field(at + 4, 2);
    if (!oh || !om) {
      return std::nullopt;
    }
    offset_s = (text[at] == '+' ? 1 : -1) * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  const std::int64_t days =
      days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day));
  return static_cast<double>(days * 86400 + *hour * 3600 + *minute * 60 + *second - offset_s) +
         fraction;
}

}  // namespace

std::string render_prometheus(const Report& report, const Comparison* comparison) {
  const std::string tool = report.tool.name;
  Family info("preflight_run_info",
              "Facts of the last preflight run of this tool; the value is always 1.");
  Family timestamp("preflight_run_timestamp_seconds",
                   "When the run finished (started, for a partial report), Unix time.");
  Family verdict(
      "preflight_verdict_status",
      "Verdict of the run: 0 pass, 1 warn, 2 fail, 3 skip, 4 error, 5 timeout, 6 usage.");
  Family check_status(
      "preflight_check_status",
      "Status of each check id (the worst when an id repeats): 0 pass, 1 warn, 2 fail, 3 skip, "
      "4 error, 5 timeout, 6 usage.");
  Family busbw("preflight_busbw_gbps",
               "Bus bandwidth as nccl-tests defines it, in GB/s (10^9 bytes per second).");
  Family algbw("preflight_algbw_gbps", "Algorithm bandwidth, in GB/s (10^9 bytes per second).");
  Family time("preflight_time_median_seconds",
              "Median time of one operation (maximum over ranks per iteration), in seconds.");
  Family wrong("preflight_wrong_elements",
               "Elements that differed from the expected result (only rows that were checked).");
  Family baseline_status("preflight_baseline_status",
                         "Comparison with the baseline: 0 pass, 1 warn, 2 fail.");
  Family row_status(
      "preflight_baseline_row_status",
      "Per compared size: 0 improved, 1 pass, 2 warn, 3 inconclusive, 4 fail, 5 missing.");

  info.add({{"tool", tool},
            {"version", report.tool.version},
            {"run_id", report.run.id},
            {"instance_type", report.inventory.instance_type}},
           1);
  const std::string& when =
      report.run.finished_at.empty() ? report.run.started_at : report.run.finished_at;
  if (const auto seconds = epoch_seconds(when)) {
    timestamp.add({{"tool", tool}}, *seconds);
  }
  verdict.add({{"tool", tool}}, status_code(report.verdict.status));

  // One series per check id: the worst status wins, so a repeated id stays one time series.
  std::map<std::string, std::pair<Status, Severity>> worst;
  for (const auto& check : report.checks) {
    const auto found = worst.find(check.id);
    if (found == worst.end() || is_worse(check.status, found->second.first)) {
      worst[check.id] = {check.status, check.severity};
    }
  }
  for (const auto& [id, status] : worst) {
    check_status.add({{"tool", tool},
                      {"id", id},
                      {"severity", std::string(to_string(status.second))},
                      {"status", std::string(to_string(status.first))}},
                     status_code(status.first));
  }

  static constexpr std::array<std::string_view, 9> kReserved{
      "tool", "benchmark", "backend", "transport", "dtype",
      "op",   "placement", "ranks",   "size_bytes"};
  for (const auto& row : report.results) {
    Labels labels{{"tool", tool},
                  {"benchmark", row.benchmark},
                  {"backend", row.backend},
                  {"transport", row.transport},
                  {"dtype", row.dtype},
                  {"op", row.op},
                  {"placement", std::string(row.in_place ? "in_place" : "out_of_place")},
                  {"ranks", std::to_string(row.ranks)}};
    for (const auto& [name, value] : row.labels) {
      if (!is_identity_label(name)) {
        continue;  // values would make every run a new series
      }
      std::string key = label_name(name);
      if (std::find(kReserved.begin(), kReserved.end(), key) != kReserved.end()) {
        key = "label_" + key;
      }
      labels.emplace_back(key, value);
    }
    labels.emplace_back("size_bytes", std::to_string(row.size_bytes));
    if (row.busbw_Bps > 0 || row.busbw_factor > 0) {
      busbw.add(labels, row.busbw_Bps / 1e9);
    }
    if (row.algbw_Bps > 0 || row.busbw_factor > 0) {
      algbw.add(labels, row.algbw_Bps / 1e9);
    }
    if (row.time_s.median > 0) {
      time.add(labels, row.time_s.median);
    }
    if (row.wrong_elements >= 0) {
      wrong.add(labels, static_cast<double>(row.wrong_elements));
    }
  }

  if (comparison != nullptr) {
    baseline_status.add({{"tool", tool}, {"baseline", comparison->reference}},
                        status_code(comparison->status));
    for (const auto& row : comparison->rows) {
      Labels labels{{"tool", tool}, {"baseline", comparison->reference}};
      if (!row.series.empty()) {
        labels.emplace_back("series", row.series);
      } else {
        labels.emplace_back("benchmark", comparison->benchmark);
      }
      labels.emplace_back("size_bytes", std::to_string(row.size_bytes));
      row_status.add(labels, verdict_rank(row.verdict));
    }
  }

  std::string out;
  for (const Family* family : {&info, &timestamp, &verdict, &check_status, &busbw, &algbw, &time,
                               &wrong, &baseline_status, &row_status}) {
    out += family->text();
  }
  return out;
}

}  // namespace preflight::reports
