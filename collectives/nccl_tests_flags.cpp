#include "collectives/nccl_tests_flags.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>

#include "common/error.hpp"
#include "common/size_spec.hpp"
#include "common/text.hpp"
#include "domain/dtype.hpp"

namespace preflight::collectives {
namespace {

// The order and the long names are nccl-tests' (src/common.cu, longopts[] and its usage text).
constexpr std::array kFlags{
    NcclTestsFlag{'t', "nthreads", "threads per process (default 1)",
                  "1 only: one thread per rank; start more ranks with the launcher instead"},
    NcclTestsFlag{
        'g', "ngpus", "GPUs per thread (default 1)",
        "1 only: one GPU per rank; start one rank per GPU (mpirun -np with the GPU count)"},
    NcclTestsFlag{'b', "minbytes", "smallest size (default 32M)", "--sizes MIN:MAX:STEP"},
    NcclTestsFlag{'e', "maxbytes", "largest size (default 32M)", "--sizes MIN:MAX:STEP"},
    NcclTestsFlag{'i', "stepbytes", "increment between sizes when -f is 1 (default 1M)",
                  "--sizes MIN:MAX:+STEP"},
    NcclTestsFlag{'f', "stepfactor", "multiplication factor between sizes (default 1: use -i)",
                  "--sizes MIN:MAX:xFACTOR"},
    NcclTestsFlag{'n', "iters", "timed iterations per size (default 20)",
                  "--iters N: exactly N timed iterations (without it: adaptive, until the "
                  "median's 95% CI is within --target-precision)"},
    NcclTestsFlag{'m', "agg_iters", "calls aggregated in one group per iteration (default 1)",
                  "1 only: each timed iteration is one call"},
    NcclTestsFlag{'w', "warmup_iters", "untimed warm-up iterations (default 1)",
                  "--warmup-iters N (default 5)"},
    NcclTestsFlag{'N', "run_cycles", "repeat the sweep N times, 0 forever (default 1)",
                  "1 only: run the command again, and compare runs with preflight-report diff"},
    NcclTestsFlag{'p', "parallel_init", "initialise the threads' communicators in parallel",
                  "0 or 1, same result: one thread per rank, nothing to parallelise"},
    NcclTestsFlag{'c', "check", "check iterations, 0 for none (default 1)", "--check N"},
    NcclTestsFlag{'o', "op", "sum, prod, min, max, avg, mulsum or all (default sum)",
                  "--op (mulsum is refused; on a collective without an op only sum, which "
                  "means nothing there either)"},
    NcclTestsFlag{'d', "datatype", "int8 ... bfloat16, f8e4m3, f8e5m2 or all (default float)",
                  "--dtype (FP8 types are refused)"},
    NcclTestsFlag{'r', "root", "root rank of broadcast (default 0)",
                  "--root N on broadcast; elsewhere only 0, which means nothing there either"},
    NcclTestsFlag{'z', "blocking",
                  "0 back to back, 1 sync and barrier after each call, 2 no "
                  "barrier, 3 sync and barrier after each iteration",
                  "1 or 3: each timed iteration here is one call waited for on every rank; "
                  "0 and 2 are refused"},
    NcclTestsFlag{'y', "stream_null", "launch on the NULL stream (default 0)",
                  "0 only: calls run on the backend's own stream"},
    NcclTestsFlag{'T', "timeout", "seconds before a stuck wait aborts the test (default 0: none)",
                  "--timeout S: per size, partial report and exit 124 (0: none)"},
    NcclTestsFlag{'G', "cudagraph", "capture the iterations in a CUDA graph launched N times",
                  "N > 0: --cuda-graph (each timed iteration launches the captured call; the "
                  "iteration count comes from -n); 0: no graph"},
    NcclTestsFlag{'C', "report_cputime", "report host time instead of GPU time (default 0)",
                  "0 only: the table shows the backend's time; the host time is in each JSON "
                  "row (labels.host_time_median_s)"},
    NcclTestsFlag{'S', "report_timestamps", "print a timestamp on each row (default 0)",
                  "0 only: the JSON report has the run's start and end"},
    NcclTestsFlag{'J', "output_file", "write nccl-tests' JSON results to a file",
                  "refused: --json PATH writes the preflight.report/1 report; "
                  "preflight-report import nccl-tests reads nccl-tests' files"},
    NcclTestsFlag{'a', "average", "time over ranks: 0 rank 0, 1 mean, 2 min, 3 max (default 1)",
                  "3 only: each iteration's time is the slowest rank's"},
    NcclTestsFlag{'R', "local_register", "register buffers: 0 no, 1 local, 2 symmetric",
                  "0 only: buffers are not registered with NCCL here"},
    NcclTestsFlag{'x', "cta_policy", "NCCL CTA policy of the communicator",
                  "refused: the communicator keeps NCCL's default policy"},
    NcclTestsFlag{'D', "device_implementation", "use a device-side implementation (default 0)",
                  "0 only: NCCL's own implementation"},
    NcclTestsFlag{'V', "device_cta_count", "CTAs of the device-side implementation",
                  "refused: only meaningful with -D > 0"},
    NcclTestsFlag{'M', "memory", "print a GPU memory usage report (default 0)",
                  "0 only: no memory report here"},
    NcclTestsFlag{'u', "unalign", "misalign the buffers by N elements (default 0)",
                  "0 only: buffers are aligned here"},
    NcclTestsFlag{'I', "per_iter_timing", "time every iteration with CUDA events (default 0)",
                  "0 or 1: every iteration is timed here anyway; 1 also keeps every sample in "
                  "the JSON report (--samples)"},
    NcclTestsFlag{'K', "per_iter_skip", "leading samples left out of the -I statistics",
                  "0 only: add untimed warm-up iterations with -w instead"},
};

const NcclTestsFlag* find_short(char name) {
  const auto* const found =
      std::find_if(kFlags.begin(), kFlags.end(),
                   [name](const NcclTestsFlag& flag) { return flag.short_name == name; });
  return found == kFlags.end() ? nullptr : &*found;
}

const NcclTestsFlag* find_long(std::string_view name) {
  const auto* const found =
      std::find_if(kFlags.begin(), kFlags.end(),
                   [name](const NcclTestsFlag& flag) { return flag.long_name == name; });
  return found == kFlags.end() ? nullptr : &*found;
}

// Long names preflight itself defines with the same meaning: CLI11 parses them.
bool preflight_owns_long_name(std::string_view name) {
  return name == "check" || name == "op" || name == "root" || name == "timeout";
}

[[noreturn]] void refuse(std::string_view flag, std::string_view value, std::string_view why) {
  throw UsageError(fmt::format("{} {}: {}", flag, value, why));
}

// An integer as nccl-tests' strtol(optarg, NULL, 0) reads it (decimal, or hexadecimal after 0x),
// but whole: trailing characters are an error, not ignored.
long long parse_integer(std::string_view flag, std::string_view text) {
  std::string_view digits = trim(text);
  bool negative = false;
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    base = 16;
    digits.remove_prefix(2);
  }
  long long value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    refuse(flag, text, "expected a whole number");
  }
  if (ec == std::errc::result_out_of_range) {
    refuse(flag, text, "out of range");
  }
  return negative ? -value : value;
}

long long integer_in(std::string_view flag, std::string_view text, long long lowest,
                     long long highest) {
  const long long value = parse_integer(flag, text);
  if (value < lowest || value > highest) {
    if (value < 0 && lowest >= 0) {
      refuse(flag, text, fmt::format("must not be negative (from {} to {})", lowest, highest));
    }
    refuse(flag, text, fmt::format("must be from {} to {}", lowest, highest));
  }
  return value;
}

// Bounds beyond which a value is a typo: they match the ones preflight's own flags enforce.
constexpr long long kMaxIterations = 1'000'000'000;
constexpr long long kMaxCheckIterations = 1000;
constexpr long long kMaxTimeout_s = 86400;

// A size as nccl-tests' parsesize() reads it: a number (fractions allowed) and an optional K, M
// or G (powers of 1024, either case). A trailing B or iB is accepted too ("1MB", "1MiB"); a
// fraction must come out as whole bytes.
std::uint64_t parse_nccl_tests_size(std::string_view flag, std::string_view text) {
  const std::string_view token = trim(text);
  double number = 0;
  const auto [end, ec] =
      std::from_chars(token.data(), token.data() + token.size(), number, std::chars_format::fixed);
  if (token.empty() || ec != std::errc() || token.front() == '-' || !std::isfinite(number)) {
    refuse(flag, text, "expected a size: a number and an optional K, M or G (powers of 1024)");
  }
  std::string suffix = to_upper(std::string_view(end, token.data() + token.size() - end));
  if (suffix.ends_with("IB")) {
    suffix.resize(suffix.size() - 2);
  } else if (suffix.size() == 2 && suffix.back() == 'B') {
    suffix.resize(1);
  } else if (suffix == "B") {
    suffix.clear();
  }
  double scale = 1;
  if (suffix == "K") {
    scale = 1024.0;
  } else if (suffix == "M") {
    scale = 1024.0 * 1024.0;
  } else if (suffix == "G") {
    scale = 1024.0 * 1024.0 * 1024.0;
  } else if (suffix == "T") {
    scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  } else if (!suffix.empty()) {
    refuse(flag, text, "unknown suffix (K, M, G are powers of 1024, as in nccl-tests)");
  }
  const double bytes = number * scale;
  if (bytes >= 0x1p63) {
    refuse(flag, text, "too large");
  }
  if (bytes != std::floor(bytes)) {
    refuse(flag, text, "not a whole number of bytes");
  }
  return static_cast<std::uint64_t>(bytes);
}

// The value of a flag: attached (-b8, --minbytes=8) or the next argument (which may start with a
// dash: -n -1 is the value -1, as getopt takes it, and is then refused by its range).
struct FlagValue {
  std::string written;  // "-b", "--minbytes"
  std::string value;
};

// An argument that is one of nccl-tests' flags, as written, with its value when attached to it
// (-b8, --minbytes=8); flag is nullptr for any other argument.
struct RecognisedFlag {
  const NcclTestsFlag* flag = nullptr;
  FlagValue given;
  bool attached = false;
};

RecognisedFlag recognise(const std::string& argument) {
  RecognisedFlag recognised;
  if (argument.starts_with("--") && argument.size() > 2) {
    const std::size_t equals = argument.find('=');
    const std::string name =
        argument.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    if (!preflight_owns_long_name(name)) {
      recognised.flag = find_long(name);
    }
    if (recognised.flag != nullptr) {
      recognised.given.written = "--" + name;
      if (equals != std::string::npos) {
        recognised.given.value = argument.substr(equals + 1);
        recognised.attached = true;
      }
    }
  } else if (argument.size() >= 2 && argument[0] == '-' && argument[1] != '-') {
    recognised.flag = find_short(argument[1]);
    if (recognised.flag != nullptr) {
      recognised.given.written = argument.substr(0, 2);
      if (argument.size() > 2) {
        recognised.given.value = argument.substr(2);
        recognised.attached = true;
      }
    }
  }
  return recognised;
}

// What the translation has built so far: preflight's arguments, and nccl-tests' sweep flags
// (turned into one --sizes at the end).
struct Translation {
  std::vector<std::string> out;
  NcclTestsSizes sizes;
  bool sizes_given = false;
};

// -o: nccl-tests takes one op or "all"; a comma list (preflight's --op) is accepted too.
void translate_ops(const CollectiveInfo& info, const std::string& flag_name,
                   const std::string& value, Translation& translation) {
  const std::string ops = to_lower(trim(value));
  for (const std::string_view item : split(ops, ',')) {
    const std::string op(trim(item));
    if (op == "mulsum") {
      refuse(flag_name, value,
             "cannot mean the same here: the premultiplied sum (ncclRedOpCreatePreMulSum) "
             "is not run; sum, prod, min, max, avg or all");
    }
    if (op != "all" && !parse_reduce_op(op).has_value()) {
      refuse(flag_name, value, "unknown op: sum, prod, min, max, avg or all");
    }
  }
  if (info.reduces) {
    translation.out.insert(translation.out.end(), {"--op", ops});
  } else if (ops != "sum") {
    refuse(flag_name, value,
           fmt::format("{} has no reduction op (nccl-tests ignores it there)", info.name));
  }
}

// -d: one type, a comma list, or "all".
void translate_types(const std::string& flag_name, const std::string& value,
                     Translation& translation) {
  const std::string types = to_lower(trim(value));
  for (const std::string_view item : split(types, ',')) {
    const std::string type(trim(item));
    if (type == "f8e4m3" || type == "f8e5m2") {
      refuse(flag_name, value, "cannot mean the same here: FP8 types are not run here");
    }
    if (type != "all" && !parse_data_type(type).has_value()) {
      refuse(flag_name, value,
             "unknown type: int8, uint8, int32, uint32, int64, uint64, half, float, "
             "double, bfloat16 or all");
    }
  }
  translation.out.insert(translation.out.end(), {"--dtype", types});
}

// One nccl-tests flag and its value onto preflight's options.
void translate_flag(const CollectiveInfo& info, const NcclTestsFlag& flag, const FlagValue& given,
                    Translation& translation) {
  std::vector<std::string>& out = translation.out;
  NcclTestsSizes& sizes = translation.sizes;
  bool& sizes_given = translation.sizes_given;
  const std::string& flag_name = given.written;
  const std::string& value = given.value;
  const auto only = [&](long long accepted_low, long long accepted_high, long long lowest,
                        long long highest) {
    const long long number = integer_in(flag_name, value, lowest, highest);
    if (number < accepted_low || number > accepted_high) {
      refuse(flag_name, value, fmt::format("cannot mean the same here: {}", flag.preflight));
    }
    return number;
  };

  switch (flag.short_name) {
    case 't':
    case 'g':
      only(1, 1, 1, 4096);
      break;
    case 'b':
      sizes.min_bytes = value;
      sizes.min_flag = flag_name;
      sizes_given = true;
      break;
    case 'e':
      sizes.max_bytes = value;
      sizes.max_flag = flag_name;
      sizes_given = true;
      break;
    case 'i':
      sizes.step_bytes = value;
      sizes.step_flag = flag_name;
      sizes_given = true;
      break;
    case 'f':
      sizes.step_factor = value;
      sizes.factor_flag = flag_name;
      sizes_given = true;
      break;
    case 'n':
      out.insert(out.end(),
                 {"--iters", std::to_string(integer_in(flag_name, value, 1, kMaxIterations))});
      break;
    case 'm':
      only(1, 1, 1, kMaxIterations);
      break;
    case 'w':
      out.insert(out.end(), {"--warmup-iters",
                             std::to_string(integer_in(flag_name, value, 0, kMaxIterations))});
      break;
    case 'N':
      only(1, 1, 0, kMaxIterations);
      break;
    case 'p':
      only(0, 1, 0, 1);
      break;
    case 'c':
      out.insert(out.end(),
                 {"--check", std::to_string(integer_in(flag_name, value, 0, kMaxCheckIterations))});
      break;
    case 'o':
      translate_ops(info, flag_name, value, translation);
      break;
    case 'd':
      translate_types(flag_name, value, translation);
      break;
    case 'r': {
      const long long root = integer_in(flag_name, value, 0, 1 << 24);
      if (info.rooted) {
        out.insert(out.end(), {"--root", std::to_string(root)});
      } else if (root != 0) {
        refuse(flag_name, value,
               fmt::format("{} has no root (nccl-tests ignores it there)", info.name));
      }
      break;
    }
    case 'z':
      if (const long long mode = integer_in(flag_name, value, 0, 3); mode == 0 || mode == 2) {
        refuse(flag_name, value, fmt::format("cannot mean the same here: {}", flag.preflight));
      }
      break;
    case 'y':
    case 'C':
    case 'S':
    case 'R':
    case 'D':
    case 'M':
    case 'u':
    case 'K':
      only(0, 0, 0, kMaxIterations);
      break;
    case 'T':
      out.insert(out.end(),
                 {"--timeout", std::to_string(integer_in(flag_name, value, 0, kMaxTimeout_s))});
      break;
    case 'G':
      if (integer_in(flag_name, value, 0, kMaxIterations) > 0) {
        out.emplace_back("--cuda-graph");
      }
      break;
    case 'a':
      only(3, 3, 0, 3);
      break;
    case 'I':
      if (only(0, 1, 0, 1) == 1) {
        out.emplace_back("--samples");
      }
      break;
    case 'J':
    case 'x':
    case 'V':
      refuse(flag_name, value, fmt::format("cannot mean the same here: {}", flag.preflight));
    default:
      refuse(flag_name, value, "not handled");  // every table entry has a case above
  }
}

}  // namespace

std::span<const NcclTestsFlag> nccl_tests_flags() {
  return kFlags;
}

std::string nccl_tests_size_spec(const NcclTestsSizes& sizes) {
  const std::uint64_t min = parse_nccl_tests_size(sizes.min_flag, sizes.min_bytes);
  const std::uint64_t max = parse_nccl_tests_size(sizes.max_flag, sizes.max_bytes);
  const long long factor = integer_in(sizes.factor_flag, sizes.step_factor, 0, 1LL << 20);
  const std::uint64_t step = parse_nccl_tests_size(sizes.step_flag, sizes.step_bytes);
  if (min == 0 || max == 0) {
    // nccl-tests runs a zero-byte call, which moves nothing and whose check compares nothing: a
    // pass of that would check nothing. The smallest meaningful size is one element.
    refuse(min == 0 ? sizes.min_flag : sizes.max_flag, min == 0 ? sizes.min_bytes : sizes.max_bytes,
           "a size of 0 moves no data and checks nothing; the smallest size is one element "
           "(1 for int8, 4 for float)");
  }
  if (min > max) {
    throw UsageError(
        fmt::format("{} {} is above {} {}: the smallest size must not exceed the "
                    "largest",
                    sizes.min_flag, sizes.min_bytes, sizes.max_flag, sizes.max_bytes));
  }
  if (factor > 1) {
    return fmt::format("{}:{}:x{}", format_size(min), format_size(max), factor);
  }
  if (step == 0) {
    if (min == max) {
      return format_size(min);
    }
    refuse(sizes.step_flag, sizes.step_bytes,
           fmt::format("a step of 0 never reaches {} {} (set {} above 1, or a step above 0)",
                       sizes.max_flag, sizes.max_bytes, sizes.factor_flag));
  }
  return fmt::format("{}:{}:+{}", format_size(min), format_size(max), format_size(step));
}

std::vector<std::string> translate_nccl_tests_flags(CollectiveKind kind,
                                                    std::span<const std::string> arguments,
                                                    const TakesValue& takes_value) {
  const CollectiveInfo& info = collective_info(kind);
  Translation translation;
  std::vector<std::string>& out = translation.out;
  bool preflight_sizes_given = false;

  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--sizes" || argument.starts_with("--sizes=")) {
      preflight_sizes_given = true;
    }
    RecognisedFlag recognised = recognise(argument);
    if (recognised.flag == nullptr) {
      // Not nccl-tests': preflight's own option (with its value, whatever it looks like) or a
      // positional argument, for CLI11 to judge.
      out.push_back(argument);
      const std::string name = argument.substr(0, argument.find('='));
      if (argument.find('=') == std::string::npos && argument.starts_with("-") &&
          takes_value(name) && i + 1 < arguments.size()) {
        out.push_back(arguments[++i]);
      }
      continue;
    }
    if (!recognised.attached) {
      if (i + 1 >= arguments.size()) {
        throw UsageError(fmt::format("{}: a value is required ({})", recognised.given.written,
                                     recognised.flag->meaning));
      }
      recognised.given.value = arguments[++i];
    }
    translate_flag(info, *recognised.flag, recognised.given, translation);
  }
  if (translation.sizes_given) {
    if (preflight_sizes_given) {
      throw UsageError("--sizes and nccl-tests' -b/-e/-i/-f were both given: use one of the two");
    }
    out.insert(out.end(), {"--sizes", nccl_tests_size_spec(translation.sizes)});
  }
  return out;
}

}  // namespace preflight::collectives
