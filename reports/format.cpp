#include "reports/format.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <array>
#include <cmath>

#include "reports/baseline.hpp"

namespace preflight::reports {

std::string_view metric_label(std::string_view metric) {
  if (metric == kMetricBusBw) {
    return "busbw";
  }
  if (metric == kMetricAlgBw) {
    return "algbw";
  }
  if (metric == kMetricTime) {
    return "time";
  }
  if (metric == kMetricMessageRate) {
    return "msg rate";
  }
  return metric;
}

std::string_view metric_unit(std::string_view metric) {
  if (metric == kMetricBusBw || metric == kMetricAlgBw) {
    return "GB/s";
  }
  if (metric == kMetricTime) {
    return "us";
  }
  if (metric == kMetricMessageRate) {
    return "Mmsg/s";
  }
  return "";
}

double metric_display_value(std::string_view metric, double value) {
  if (metric == kMetricBusBw || metric == kMetricAlgBw) {
    return value / 1e9;
  }
  if (metric == kMetricTime) {
    return value * 1e6;
  }
  if (metric == kMetricMessageRate) {
    return value / 1e6;
  }
  return value;
}

std::string format_metric(std::string_view metric, double value) {
  const double shown = metric_display_value(metric, value);
  // Two decimals like nccl-tests, fewer for large values so columns stay narrow. Compiled formats
  // into a buffer (a std::string's back_inserter takes a character at a time): a comparison of
  // 10,000 sizes formats this 20,000 times.
  fmt::memory_buffer text;
  if (std::fabs(shown) >= 100000) {
    fmt::format_to(std::back_inserter(text), FMT_COMPILE("{:.0f} {}"), shown, metric_unit(metric));
  } else {
    fmt::format_to(std::back_inserter(text), FMT_COMPILE("{:.2f} {}"), shown, metric_unit(metric));
  }
  return fmt::to_string(text);
}

std::string human_size(std::uint64_t bytes) {
  static constexpr std::array<std::string_view, 7> kUnits{"B",   "KiB", "MiB", "GiB",
                                                          "TiB", "PiB", "EiB"};
  std::size_t unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) {
    return fmt::format("{} B", bytes);
  }
  if (value == std::floor(value)) {
    return fmt::format("{:.0f} {}", value, kUnits[unit]);
  }
  return fmt::format("{:.3g} {}", value, kUnits[unit]);
}

std::string format_percent(double fraction) {
  if (!std::isfinite(fraction)) {
    return "n/a";
  }
  fmt::memory_buffer text;
  fmt::format_to(std::back_inserter(text), FMT_COMPILE("{:+.1f}%"), fraction * 100);
  return fmt::to_string(text);
}

namespace {

// Length of the valid UTF-8 sequence starting at text[i], 0 when it is not valid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
  } else {
    return 0;
  }
  if (i + length > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0U) != 0x80U) {
      return 0;
    }
  }
  // Overlong three- and four-byte forms, surrogates and code points above U+10FFFF.
  if ((lead == 0xE0 && byte(i + 1) < 0xA0) || (lead == 0xED && byte(i + 1) >= 0xA0) ||
      (lead == 0xF0 && byte(i + 1) < 0x90) || (lead == 0xF4 && byte(i + 1) >= 0x90)) {
    return 0;
  }
  return length;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // Untrusted text (host names, log lines) may hold invalid UTF-8: replace it, since one
      // bad byte makes the whole XML or HTML document invalid.
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(text.substr(i, length));
        i += length - 1;
      }
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\t':
      case '\n':
      case '\r':
        out += c;
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
          out += c;
        }
        break;
    }
  }
  return out;
}

std::string markdown_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '|' || c == '\\' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>') {
      out += '\\';
      out += c;
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace preflight::reports
