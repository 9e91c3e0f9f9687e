// nccl-tests' command line, translated onto preflight's: every flag of nccl-tests' src/common.cu,
// short and long (`-b 8`, `-b8`, `--minbytes 8`, `--minbytes=8`), so a command line written for
// `all_reduce_perf` runs the same sweep through `preflight-allreduce`.
//
// Each flag either keeps its meaning here (it becomes the preflight option that means the same:
// `-w 5` -> `--warmup-iters 5`, `-b 8 -e 1M -f 2` -> `--sizes 8:1048576:x2`), or its value is the
// one thing preflight does anyway (`-g 1`, `-t 1`, `-a 3`), or it cannot mean the same here and
// the translation throws UsageError saying why (`-g 2`: one GPU per rank here). No flag is dropped
// without a word, and every value is range-checked, the error naming the flag as it was written.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "domain/collective.hpp"

namespace preflight::collectives {

// One row of the mapping, for --help and the README's table.
struct NcclTestsFlag {
  char short_name;             // 'b'
  std::string_view long_name;  // "minbytes" (nccl-tests spells its long names with '_')
  std::string_view meaning;    // what nccl-tests does with it
  std::string_view preflight;  // what it becomes here, or why it is refused
};

// Every flag nccl-tests' getopt_long accepts (src/common.cu), in its order; -h is CLI11's --help.
[[nodiscard]] std::span<const NcclTestsFlag> nccl_tests_flags();

// Whether preflight's own option `name` ("--json", "-q") takes a value: its value is then passed
// on untouched, even when it looks like an nccl-tests flag.
using TakesValue = std::function<bool(std::string_view name)>;

// Translates `arguments` (argv without argv[0]) for the binary of `kind`: nccl-tests flags become
// preflight options, everything else is passed through in order. Throws UsageError naming the
// flag for a value out of range, a flag that cannot mean the same here, a missing value, or
// nccl-tests' size flags given together with --sizes.
[[nodiscard]] std::vector<std::string> translate_nccl_tests_flags(
    CollectiveKind kind, std::span<const std::string> arguments, const TakesValue& takes_value);

// nccl-tests' sweep (-b MIN -e MAX, then times -f FACTOR when it is above 1, else plus -i STEP;
// defaults 32M, 32M, 1, 1M) as a --sizes spec. Sizes are parsed as nccl-tests parses them
// (a number, possibly fractional, and an optional K, M or G of 1024). Throws UsageError naming the
// flag: a size of 0 (a call that moves and checks nothing), MIN above MAX, a step that never
// advances.
struct NcclTestsSizes {
  std::string min_bytes = "32M";
  std::string max_bytes = "32M";
  std::string step_bytes = "1M";
  std::string step_factor = "1";
  // The flags as written, for messages ("-b", "--minbytes").
  std::string min_flag = "-b";
  std::string max_flag = "-e";
  std::string step_flag = "-i";
  std::string factor_flag = "-f";
};
[[nodiscard]] std::string nccl_tests_size_spec(const NcclTestsSizes& sizes);

}  // namespace preflight::collectives
