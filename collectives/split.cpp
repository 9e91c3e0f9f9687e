#include "collectives/split.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include "common/error.hpp"
#include "common/text.hpp"

namespace preflight::collectives {
namespace {

long long parse_split_value(std::string_view digits, std::string_view whole) {
  digits = trim(digits);
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  long long value = 0;
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) {
    throw UsageError(fmt::format("--split {}: '{}' is not a number", whole, digits));
  }
  return value;
}

}  // namespace

SplitSpec parse_split(std::string_view text) {
  struct Prefix {
    std::string_view text;
    SplitSpec::Kind kind;
  };
  // Longer prefixes first so "mod:" wins over "mod".
  constexpr std::array kPrefixes{
      Prefix{"mod:", SplitSpec::Kind::mod},     Prefix{"div:", SplitSpec::Kind::div},
      Prefix{"and:", SplitSpec::Kind::bit_and}, Prefix{"mod", SplitSpec::Kind::mod},
      Prefix{"div", SplitSpec::Kind::div},      Prefix{"and", SplitSpec::Kind::bit_and},
      Prefix{"%", SplitSpec::Kind::mod},        Prefix{"/", SplitSpec::Kind::div},
      Prefix{"&", SplitSpec::Kind::bit_and},
  };
  const std::string lower = to_lower(trim(text));
  for (const Prefix& prefix : kPrefixes) {
    if (starts_with(lower, prefix.text)) {
      SplitSpec split;
      split.kind = prefix.kind;
      split.value = parse_split_value(std::string_view(lower).substr(prefix.text.size()), text);
      split.text = std::string(text);
      if (split.kind != SplitSpec::Kind::bit_and && split.value < 1) {
        throw UsageError(fmt::format("--split {}: the divisor must be at least 1", text));
      }
      if (split.value < 0) {
        throw UsageError(fmt::format("--split {}: the mask must not be negative", text));
      }
      return split;
    }
  }
  throw UsageError(
      fmt::format("--split {}: expected mod:N, div:N or and:MASK (or NCCL_TESTS_SPLIT's MOD8, "
                  "DIV8, AND0x7)",
                  text));
}

int split_color(const SplitSpec& split, int world_rank) {
  const long long rank = world_rank;
  switch (split.kind) {
    case SplitSpec::Kind::mod:
      return static_cast<int>(rank % split.value);
    case SplitSpec::Kind::div:
      return static_cast<int>(rank / split.value);
    case SplitSpec::Kind::bit_and:
      return static_cast<int>(rank & split.value);
  }
  return 0;
}

SplitGroups resolve_split(const std::vector<int>& colors, int world_rank) {
  std::map<int, std::vector<int>> groups;
  for (std::size_t rank = 0; rank < colors.size(); ++rank) {
    groups[colors[rank]].push_back(static_cast<int>(rank));
  }
  const std::size_t size = groups.begin()->second.size();
  for (const auto& [color, members] : groups) {
    if (members.size() != size) {
      throw UsageError(fmt::format(
          "--split: groups differ in size ({} ranks in group {}, {} in group {}); choose a split "
          "that divides the {} ranks evenly",
          size, groups.begin()->first, members.size(), color, colors.size()));
    }
  }
  SplitGroups mine;
  mine.color = colors.at(static_cast<std::size_t>(world_rank));
  mine.members = groups.at(mine.color);
  mine.group_size = static_cast<int>(mine.members.size());
  mine.group_count = static_cast<int>(groups.size());
  mine.group_rank = static_cast<int>(
      std::find(mine.members.begin(), mine.members.end(), world_rank) - mine.members.begin());
  return mine;
}

}  // namespace preflight::collectives
