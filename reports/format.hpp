// Display helpers shared by the renderers: metric values in the units people read (GB/s as
// 10^9 B/s like nccl-tests, microseconds), sizes in binary units, markup escaping.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace preflight::reports {

// "busbw", "algbw", "time", "msg rate"
[[nodiscard]] std::string_view metric_label(std::string_view metric);
// "GB/s", "us", "Mmsg/s"
[[nodiscard]] std::string_view metric_unit(std::string_view metric);
// The value in metric_unit: bytes/s -> GB/s (1e9), seconds -> microseconds, 1/s -> 1e6/s.
[[nodiscard]] double metric_display_value(std::string_view metric, double value);
// "15.95 GB/s", "69.12 us"
[[nodiscard]] std::string format_metric(std::string_view metric, double value);
// "8 B", "1 KiB", "16 GiB", "1.5 MiB"
[[nodiscard]] std::string human_size(std::uint64_t bytes);
// Signed percentage with one decimal: "+3.2%", "-31.0%".
[[nodiscard]] std::string format_percent(double fraction);

// Escapes &, <, >, " and ' for HTML and XML text and attributes; drops control characters XML
// 1.0 forbids, so a hostile host name or log line cannot break the document.
[[nodiscard]] std::string xml_escape(std::string_view text);
// Escapes |, backslash, and newlines for a Markdown table cell.
[[nodiscard]] std::string markdown_escape(std::string_view text);

}  // namespace preflight::reports
