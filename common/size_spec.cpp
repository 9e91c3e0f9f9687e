#include "common/size_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "common/error.hpp"
#include "common/text.hpp"

namespace preflight {
namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

[[noreturn]] void bad_token(std::string_view token, std::string_view why) {
  throw UsageError(fmt::format("size spec: bad token '{}': {}", token, why));
}

std::uint64_t checked_multiply(std::uint64_t a, std::uint64_t b, std::string_view token) {
  if (a != 0 && b > kMax / a) {
    bad_token(token, "value overflows 64 bits");
  }
  return a * b;
}

struct Step {
  bool multiplicative = true;
  std::uint64_t value = 2;
};

Step parse_step(std::string_view token) {
  if (token.empty()) {
    bad_token(token, "empty step");
  }
  Step step;
  if (token.front() == 'x' || token.front() == '*') {
    step.multiplicative = true;
    std::uint64_t factor = 0;
    const auto digits = token.substr(1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), factor);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      bad_token(token, "a multiplicative step is 'x' and an integer, e.g. x2");
    }
    if (factor < 2) {
      bad_token(token, "a multiplicative step must be at least x2");
    }
    step.value = factor;
  } else if (token.front() == '+') {
    step.multiplicative = false;
    step.value = parse_size(token.substr(1));
    if (step.value == 0) {
      bad_token(token, "an additive step must be above zero");
    }
  } else {
    bad_token(token, "a step starts with 'x' (multiply) or '+' (add)");
  }
  return step;
}

void append_range(std::string_view item, std::vector<std::uint64_t>& sizes) {
  const auto fields = split(item, ':');
  if (fields.size() > 3) {
    bad_token(item, "a range is MIN:MAX or MIN:MAX:STEP");
  }
  const std::uint64_t min = parse_size(fields[0]);
  const std::uint64_t max = parse_size(fields[1]);
  if (min > max) {
    bad_token(item, fmt::format("minimum {} is above maximum {}", fields[0], fields[1]));
  }
  const Step step = fields.size() == 3 ? parse_step(fields[2]) : Step{};
  if (step.multiplicative && min == 0) {
    bad_token(item, "a multiplicative range must start above 0");
  }
  for (std::uint64_t size = min;;) {
    sizes.push_back(size);
    if (sizes.size() > kMaxSizes) {
      bad_token(item, fmt::format("more than {} sizes", kMaxSizes));
    }
    if (step.multiplicative) {
      if (size > max / step.value) {
        break;
      }
      size *= step.value;
    } else {
      if (max - size < step.value) {
        break;
      }
      size += step.value;
    }
    if (size > max) {
      break;
    }
  }
}

}  // namespace

std::uint64_t parse_size(std::string_view token) {
  const std::string_view original = token;
  token = trim(token);
  if (token.empty()) {
    bad_token(original, "empty size");
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec == std::errc::result_out_of_range) {
    bad_token(original, "value overflows 64 bits");
  }
  if (ec != std::errc() || end == token.data()) {
    bad_token(original, "a size is an integer with an optional K, M, G or T suffix");
  }
  std::string suffix = to_upper(std::string_view(end, token.data() + token.size() - end));
  if (suffix.ends_with("IB")) {
    suffix.resize(suffix.size() - 2);
  } else if (suffix.ends_with("B")) {
    suffix.resize(suffix.size() - 1);
  }
  std::uint64_t multiplier = 1;
  if (suffix.empty()) {
    multiplier = 1;
  } else if (suffix == "K") {
    multiplier = 1ULL << 10U;
  } else if (suffix == "M") {
    multiplier = 1ULL << 20U;
  } else if (suffix == "G") {
    multiplier = 1ULL << 30U;
  } else if (suffix == "T") {
    multiplier = 1ULL << 40U;
  } else {
    bad_token(original, "unknown suffix (K, M, G, T are powers of 1024)");
  }
  return checked_multiply(value, multiplier, original);
}

std::vector<std::uint64_t> parse_size_spec(std::string_view spec) {
  if (trim(spec).empty()) {
    throw UsageError("size spec: empty (expected e.g. 8:16G:x2 or 8,1K,1M)");
  }
  std::vector<std::uint64_t> sizes;
  for (const auto raw_item : split(spec, ',')) {
    const auto item = trim(raw_item);
    if (item.empty()) {
      bad_token(spec, "empty list item");
    }
    if (item.find(':') != std::string_view::npos) {
      append_range(item, sizes);
    } else {
      sizes.push_back(parse_size(item));
    }
    if (sizes.size() > kMaxSizes) {
      bad_token(item, fmt::format("more than {} sizes", kMaxSizes));
    }
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::array<std::pair<unsigned, char>, 4> kUnits{
      {{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}}};
  for (const auto& [shift, unit] : kUnits) {
    const std::uint64_t scale = 1ULL << shift;
    if (bytes >= scale && bytes % scale == 0) {
      return fmt::format("{}{}", bytes / scale, unit);
    }
  }
  return fmt::format("{}", bytes);
}

}  // namespace preflight
