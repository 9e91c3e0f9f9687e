#include "reports/import_nccl_tests_parsed.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "common/text.hpp"
#include "reports/report.hpp"

namespace preflight::reports::nccl_tests_import {

namespace {

constexpr std::size_t kMaxEvidenceLines = 12;
constexpr std::size_t kMaxEvidenceChars = 400;

template <typename Integer>
std::optional<Integer> parse_integer(std::string_view text) {
  Integer value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  return parse_integer<std::uint64_t>(text);
}

std::optional<std::int64_t> parse_i64(std::string_view text) {
  return parse_integer<std::int64_t>(text);
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// A printed decimal scaled by 10^exponent with one correctly rounded conversion, so "15.95" GB/s
// becomes exactly the double nearest 15950000000 and "69.12" us the double nearest 6.912e-05 —
// the same doubles a baseline file spelling those numbers holds.
std::optional<double> parse_scaled(std::string_view text, int exponent) {
  if (text.empty() || text.size() > 64) {
    return std::nullopt;
  }
  // Fast path for what nccl-tests prints ("123.45", "66132"): the digits as an integer below
  // 2^53 and a power of ten up to 10^22 are both exact doubles, so one multiplication or
  // division rounds correctly (Clinger's fast path): the same double as from_chars, 10x faster.
  {
    std::uint64_t digits = 0;
    int decimals = 0;
    int count = 0;
    bool dot = false;
    bool plain = true;
    for (const char c : text) {
      if (c >= '0' && c <= '9') {
        digits = digits * 10 + static_cast<std::uint64_t>(c - '0');
        decimals += dot ? 1 : 0;
        ++count;
      } else if (c == '.' && !dot) {
        dot = true;
      } else {
        plain = false;
        break;
      }
    }
    static constexpr std::array<double, 23> kPowers{1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const int scale = exponent - decimals;
    if (plain && count > 0 && count <= 15 && scale >= -22 && scale <= 22) {
      const auto value = static_cast<double>(digits);
      return scale >= 0 ? value * kPowers[static_cast<std::size_t>(scale)]
                        : value / kPowers[static_cast<std::size_t>(-scale)];
    }
  }
  if (text.find_first_of("eE") != std::string_view::npos) {
    const auto value = parse_double(text);
    if (!value) {
      return std::nullopt;
    }
    return *value * std::pow(10.0, exponent);
  }
  // "<digits>e<exponent>" in a stack buffer: this runs for every figure of every row.
  std::array<char, 80> spelled{};
  std::copy(text.begin(), text.end(), spelled.begin());
  std::size_t length = text.size();
  spelled[length++] = 'e';
  const auto [end, ec] =
      std::to_chars(spelled.data() + length, spelled.data() + spelled.size(), exponent);
  if (ec != std::errc()) {
    return std::nullopt;
  }
  return parse_double(
      std::string_view(spelled.data(), static_cast<std::size_t>(end - spelled.data())));
}

void parse_figures(Placement& p) {
  constexpr double kUnreadable = std::numeric_limits<double>::quiet_NaN();
  p.time_s = parse_scaled(p.time, -6).value_or(kUnreadable);
  p.algbw_Bps = parse_scaled(p.algbw, 9).value_or(kUnreadable);
  p.busbw_Bps = parse_scaled(p.busbw, 9).value_or(kUnreadable);
  p.wrong_not_checked = p.wrong == "N/A";
  p.wrong_fractional =
      p.wrong.find('.') != std::string_view::npos || p.wrong.find("e-") != std::string_view::npos;
  p.wrong_value = parse_double(p.wrong);
}

// all_reduce_perf, ./build/all_gather_perf_mpi -> all_reduce, all_gather
std::string benchmark_from_program(std::string_view program) {
  const auto slash = program.find_last_of('/');
  if (slash != std::string_view::npos) {
    program.remove_prefix(slash + 1);
  }
  for (const std::string_view suffix : {"_perf_mpi", "_perf"}) {
    if (program.size() > suffix.size() &&
        program.substr(program.size() - suffix.size()) == suffix) {
      return std::string(program.substr(0, program.size() - suffix.size()));
    }
  }
  return {};
}

void keep_evidence(std::vector<std::string>& lines, std::string_view text) {
  if (lines.size() < kMaxEvidenceLines) {
    lines.emplace_back(text.substr(0, kMaxEvidenceChars));
  }
}

std::map<std::string, std::string> allowlisted_entries(const std::vector<std::string>& entries) {
  std::vector<const char*> pointers;
  pointers.reserve(entries.size() + 1);
  for (const auto& entry : entries) {
    pointers.push_back(entry.c_str());
  }
  pointers.push_back(nullptr);
  return allowlisted_environment(pointers.data());
}

std::string to_rfc3339_local(std::string_view stamp) {
  // "2025-10-28 12:34:56" (local time, zone not printed) -> "2025-10-28T12:34:56".
  std::string text(trim(stamp));
  if (text.size() >= 19 && text[10] == ' ') {
    text[10] = 'T';
  }
  return text;
}

// -S: "YYYY-MM-DD HH:MM:SS" (local time, as printed).
std::string timestamp_of(const TableRow& row) {
  return fmt::format("{} {}", row.timestamp_date, row.timestamp_time);
}

}  // namespace preflight::reports::nccl_tests_import
