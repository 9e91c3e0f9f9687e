// The size syntax shared by every benchmark.
//
//   8:16G:x2      geometric range: 8, 16, 32, ... up to and including 16 GiB
//   1M:64M:+1M    arithmetic range: 1 MiB, 2 MiB, ... 64 MiB
//   8:1M          range with the default step x2
//   8,1K,1M       list (items may themselves be ranges)
//
// Suffixes K, M, G, T (either case, optional trailing "B" or "iB") are powers of 1024, as in
// nccl-tests' -b/-e. A range ends at the last step not above its maximum. The result is sorted and
// free of duplicates. Overflow, a zero or unit multiplicative step, a bad suffix, min > max, or
// more than kMaxSizes sizes are usage errors whose message names the offending token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace preflight {

inline constexpr std::size_t kMaxSizes = 4096;

[[nodiscard]] std::vector<std::uint64_t> parse_size_spec(std::string_view spec);
// One size token ("16G", "4096", "1MiB").
[[nodiscard]] std::uint64_t parse_size(std::string_view token);
// Compact display: 8, 1K, 16M, 1536 (exact only; never rounds).
[[nodiscard]] std::string format_size(std::uint64_t bytes);

}  // namespace preflight
