#include "reports/history_format.hpp"

#include <fmt/format.h>

#include <string_view>
#include <vector>

#include "common/text.hpp"
#include "reports/format.hpp"

namespace preflight::reports {

std::string readable_series(const std::string& series) {
  const auto parts = split(series, '|');
  if (parts.size() != 9) {
    return series;
  }
  // "1n" and "8r": a count with a one-letter unit.
  const auto count = [](std::string_view part) { return part.substr(0, part.size() - 1); };
  std::string text = fmt::format("{} {} {} {} {} x{}", parts[2], parts[3], parts[4],
                                 parts[5].empty() ? "-" : parts[5], parts[6], count(parts[7]));
  if (count(parts[1]) != "0" || !parts[0].empty()) {
    text += fmt::format(" on {}x {}", count(parts[1]), parts[0].empty() ? "?" : parts[0]);
  }
  std::vector<std::string> labels;
  for (const auto label : split(parts[8], ';')) {
    if (!label.empty()) {
      labels.emplace_back(label);
    }
  }
  if (!labels.empty()) {
    text += " [" + join(labels, ", ") + "]";
  }
  return text;
}

std::vector<std::string> regressed_trend_rows(const nlohmann::json& trend) {
  std::vector<std::string> lines;
  for (const auto& row : trend.value("rows", nlohmann::json::array())) {
    if (row.value("verdict", std::string()) != "regression") {
      continue;
    }
    const std::string metric = row.value("metric", std::string());
    const auto shown = [&](double value) {
      return fmt::format("{:.4g}", metric_display_value(metric, value));
    };
    const auto band = row.value("band", nlohmann::json::array());
    lines.push_back(fmt::format(
        "{} {} B: {} {} {}, outside the band [{}, {}] (median {} of {} previous runs)",
        readable_series(row.value("series", std::string())), row.value("size_bytes", 0ULL),
        metric_label(metric), shown(row.value("value", 0.0)), metric_unit(metric),
        band.size() == 2 ? shown(band[0].get<double>()) : "?",
        band.size() == 2 ? shown(band[1].get<double>()) : "?", shown(row.value("median", 0.0)),
        row.value("previous_runs", 0)));
  }
  return lines;
}

}  // namespace preflight::reports
