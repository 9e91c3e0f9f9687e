// Prometheus text exposition for node_exporter's textfile collector
// (--collector.textfile.directory). Names are in base units (_seconds, _bytes_per_second); no
// label carries a per-run value (run id, time), so each node keeps one series per metric across
// runs; every status is a state set (one series per status, value 1 for the current one) with
// the same status names everywhere; EFA hw_counters deltas are counters named as AWS's EFA node
// exporter names them. `preflight --textfile-dir DIR` writes preflight_<plan>.prom atomically.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "common/atomic_file.hpp"
#include "common/efa_sysfs.hpp"
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

// A metric-name fragment: [a-zA-Z0-9_] only.
std::string metric_fragment(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
    out += ok ? c : '_';
  }
  return out;
}

// Label names: [a-zA-Z_][a-zA-Z0-9_]*, never starting with "__" (reserved).
std::string label_name(std::string_view text) {
  std::string out = metric_fragment(text);
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
  Family(std::string name, std::string help, std::string_view type = "gauge")
      : name_(std::move(name)), help_(std::move(help)), type_(type) {}
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
    std::string out = fmt::format("# HELP {} {}\n# TYPE {} {}\n", name_, help_, name_, type_);
    for (const auto& sample : samples_) {
      out += sample + "\n";
    }
    return out;
  }

 private:
  std::string name_;
  std::string help_;
  std::string type_;
  std::set<std::string> keys_;
  std::vector<std::string> samples_;
};

Labels with(Labels base, const Labels& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

// A state set: one sample per state, 1 for `current`, 0 for the others, so that an alert selects
// a state by its name (status="fail") and never by a numeric code.
template <typename State, std::size_t N>
void add_state_set(Family& family, Labels labels, const std::array<State, N>& states,
                   State current) {
  labels.emplace_back("status", "");
  for (const State state : states) {
    labels.back().second = std::string(to_string(state));
    family.add(labels, state == current ? 1 : 0);
  }
}

constexpr std::array kStatuses{Status::pass,  Status::warn,  Status::fail,   Status::skip,
                               Status::error, Status::usage, Status::timeout};
constexpr std::array kRowVerdicts{RowVerdict::improved,     RowVerdict::pass, RowVerdict::warn,
                                  RowVerdict::inconclusive, RowVerdict::fail, RowVerdict::missing};

// hw_counters_delta keys are "DEVICE" or "HOST/DEVICE" (several nodes); counters are "NAME" for
// port 1, "portN/NAME" for other ports, and the device-level names of the efa driver.
void add_efa_counters(std::map<std::string, Family>& families, const Report& report,
                      const Labels& base) {
  const auto& device_level = efa_device_counter_names();
  for (const auto& [key, counters] : report.hw_counters_delta) {
    const auto slash = key.rfind('/');
    const std::string host = slash == std::string::npos ? std::string() : key.substr(0, slash);
    const std::string device = slash == std::string::npos ? key : key.substr(slash + 1);
    for (const auto& [counter_key, delta] : counters) {
      if (delta < 0) {
        continue;  // a counter that went back: reset in between, no delta to report
      }
      std::string counter = counter_key;
      std::string port = "1";
      if (counter.starts_with("port") && counter.find('/') != std::string::npos) {
        port = counter.substr(4, counter.find('/') - 4);
        counter = counter.substr(counter.find('/') + 1);
      } else if (std::find(device_level.begin(), device_level.end(), counter) !=
                 device_level.end()) {
        port.clear();  // a device-level counter belongs to no port
      }
      const std::string name = "preflight_amazonefa_" + metric_fragment(counter) + "_total";
      auto [it, inserted] = families.try_emplace(
          name, name,
          fmt::format("EFA hw_counters {} counted during the run (it starts at 0 with every run); "
                      "named as the AWS EFA node exporter's node_amazonefa_{}",
                      counter, metric_fragment(counter)),
          "counter");
      Labels labels = base;
      if (!host.empty()) {
        labels.emplace_back("host", host);
      }
      labels.emplace_back("device", device);
      if (!port.empty()) {
        labels.emplace_back("port", port);
      }
      it->second.add(labels, static_cast<double>(delta));
    }
  }
}

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
  // A suite report names its plan: two plans' textfiles on one node must not repeat a series.
  Labels base{{"tool", report.tool.name}};
  if (report.details.is_object() && report.details.contains("plan") &&
      report.details["plan"].is_string()) {
    base.emplace_back("plan", report.details["plan"].get<std::string>());
  }
  Family info("preflight_run_info",
              "Facts of the last preflight run of this tool; the value is always 1.");
  Family timestamp("preflight_run_timestamp_seconds",
                   "When the run finished (started, for a partial report), Unix time.");
  Family verdict("preflight_verdict_state",
                 "Verdict of the last run as a state set: 1 for its status, 0 for the others.");
  Family check_state(
      "preflight_check_state",
      "Status of each check id as a state set (1 for its status, 0 for the others); the worst "
      "status when an id repeats.");
  Family busbw("preflight_bus_bandwidth_bytes_per_second",
               "Bus bandwidth as nccl-tests defines it (algorithm bandwidth times its factor).");
  Family algbw("preflight_algorithm_bandwidth_bytes_per_second",
               "Algorithm bandwidth: bytes of one rank's buffer over the time of one operation.");
  Family time("preflight_time_median_seconds",
              "Median time of one operation (maximum over ranks per iteration).");
  Family wrong("preflight_wrong_elements",
               "Elements that differed from the expected result (only rows that were checked).");
  Family baseline_state("preflight_baseline_state",
                        "Comparison with the baseline as a state set: 1 for its status.");
  Family row_state("preflight_baseline_row_state",
                   "Comparison of each compared size with the baseline as a state set: 1 for its "
                   "status (improved, pass, warn, inconclusive, fail, missing).");
  std::map<std::string, Family> counters;

  info.add(with(base, {{"version", report.tool.version},
                       {"instance_type", report.inventory.instance_type}}),
           1);
  const std::string& when =
      report.run.finished_at.empty() ? report.run.started_at : report.run.finished_at;
  if (const auto seconds = epoch_seconds(when)) {
    timestamp.add(base, *seconds);
  }
  add_state_set(verdict, base, kStatuses, report.verdict.status);

  // One state set per check id: the worst status wins, so a repeated id stays one set.
  std::map<std::string, std::pair<Status, Severity>> worst;
  for (const auto& check : report.checks) {
    const auto found = worst.find(check.id);
    if (found == worst.end() || is_worse(check.status, found->second.first)) {
      worst[check.id] = {check.status, check.severity};
    }
  }
  for (const auto& [id, status] : worst) {
    add_state_set(check_state,
                  with(base, {{"id", id}, {"severity", std::string(to_string(status.second))}}),
                  kStatuses, status.first);
  }

  static constexpr std::array<std::string_view, 11> kReserved{
      "tool", "plan",  "benchmark", "backend",    "transport", "dtype",
      "op",   "ranks", "placement", "size_bytes", "status"};
  for (const auto& row : report.results) {
    Labels labels =
        with(base, {{"benchmark", row.benchmark},
                    {"backend", row.backend},
                    {"transport", row.transport},
                    {"dtype", row.dtype},
                    {"op", row.op},
                    {"placement", std::string(row.in_place ? "in_place" : "out_of_place")},
                    {"ranks", std::to_string(row.ranks)}});
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
      busbw.add(labels, row.busbw_Bps);
    }
    if (row.algbw_Bps > 0 || row.busbw_factor > 0) {
      algbw.add(labels, row.algbw_Bps);
    }
    if (row.time_s.median > 0) {
      time.add(labels, row.time_s.median);
    }
    if (row.wrong_elements >= 0) {
      wrong.add(labels, static_cast<double>(row.wrong_elements));
    }
  }
  add_efa_counters(counters, report, base);

  if (comparison != nullptr) {
    add_state_set(baseline_state, with(base, {{"baseline", comparison->reference}}), kStatuses,
                  comparison->status);
    for (const auto& row : comparison->rows) {
      Labels labels = with(base, {{"baseline", comparison->reference}});
      if (!row.series.empty()) {
        labels.emplace_back("series", row.series);
      } else {
        labels.emplace_back("benchmark", comparison->benchmark);
      }
      labels.emplace_back("size_bytes", std::to_string(row.size_bytes));
      add_state_set(row_state, labels, kRowVerdicts, row.verdict);
    }
  }

  std::string out;
  for (const Family* family : {&info, &timestamp, &verdict, &check_state, &busbw, &algbw, &time,
                               &wrong, &baseline_state, &row_state}) {
    out += family->text();
  }
  for (const auto& [name, family] : counters) {
    out += family.text();
  }
  return out;
}

std::filesystem::path write_prometheus_textfile(const Report& report,
                                                const std::filesystem::path& directory,
                                                std::string_view plan) {
  const std::filesystem::path path =
      directory / fmt::format("preflight_{}.prom", metric_fragment(plan));
  // Atomic (a temporary ".preflight_<plan>.prom.tmp.*" renamed over the file), so the collector,
  // which reads only *.prom, never scrapes half a file.
  write_file_atomic(path, render_prometheus(report, nullptr));
  return path;
}

}  // namespace preflight::reports
