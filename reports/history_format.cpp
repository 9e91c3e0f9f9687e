#include "reports/history_format.hpp"

#include <fmt/format.h>

#include <string_view>
#include <vector>

#include "common/text.hpp"

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

}  // namespace preflight::reports
