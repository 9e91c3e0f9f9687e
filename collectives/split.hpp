// --split: run the collective in groups of ranks, as nccl-tests' NCCL_TESTS_SPLIT does. With 8
// ranks per node, `mod:8` groups the ranks with the same local index across nodes (rail-only
// traffic) and `div:8` groups the ranks of one node (intra-node only). Every group runs the same
// sweep at the same time; a rank's color names its group.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace preflight::collectives {

struct SplitSpec {
  enum class Kind { mod, div, bit_and };
  Kind kind = Kind::mod;
  long long value = 1;
  std::string text;  // as given, for the report
};

// Accepts "mod:8", "div:8", "and:0x7" and nccl-tests' forms "MOD8", "%8", "DIV8", "/8", "AND0x7",
// "&7" (case-insensitive; decimal or 0x hex). Throws UsageError naming --split.
[[nodiscard]] SplitSpec parse_split(std::string_view text);

[[nodiscard]] int split_color(const SplitSpec& split, int world_rank);

struct SplitGroups {
  int color = 0;
  int group_rank = 0;
  int group_size = 1;
  int group_count = 1;
  std::vector<int> members;  // world ranks of my group, ascending
};

// My group given every rank's color. Throws UsageError when the groups differ in size: a
// collective's rows are only comparable when every group has the same rank count.
[[nodiscard]] SplitGroups resolve_split(const std::vector<int>& colors, int world_rank);

}  // namespace preflight::collectives
