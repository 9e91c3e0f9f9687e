// nccl-tests' command line onto preflight's: every flag of its getopt string, short and long, is
// either translated to the preflight option that means the same or refused naming the flag.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "collectives/nccl_tests_flags.hpp"
#include "collectives/options.hpp"
#include "common/error.hpp"

namespace preflight::collectives {
namespace {

using Args = std::vector<std::string>;

// preflight options that take a value, as CLI11 would answer for the collective binaries.
bool takes_value(std::string_view name) {
  static const std::set<std::string, std::less<>> kValued{"--json", "--sizes", "--split",
                                                          "--backend", "--min-iters"};
  return kValued.count(name) > 0;
}

Args translate(CollectiveKind kind, const Args& args) {
  return translate_nccl_tests_flags(kind, args, takes_value);
}
Args translate(const Args& args) {
  return translate(CollectiveKind::all_reduce, args);
}

// The usage error's message, or "" when the translation succeeded.
std::string refusal(CollectiveKind kind, const Args& args) {
  try {
    (void)translate(kind, args);
  } catch (const UsageError& e) {
    return e.what();
  }
  return {};
}
std::string refusal(const Args& args) {
  return refusal(CollectiveKind::all_reduce, args);
}

TEST(NcclTestsFlags, TableCoversNcclTestsGetoptString) {
  // The optstring of nccl-tests' src/common.cu (getopt_long), -h being CLI11's --help.
  const std::string optstring = "t:g:b:e:i:f:n:m:w:N:p:I:K:c:o:d:r:z:y:T:hG:C:a:R:x:D:V:J:S:M:u:";
  std::set<char> table;
  std::set<std::string_view> long_names;
  for (const NcclTestsFlag& flag : nccl_tests_flags()) {
    table.insert(flag.short_name);
    long_names.insert(flag.long_name);
    EXPECT_FALSE(flag.meaning.empty());
    EXPECT_FALSE(flag.preflight.empty());
  }
  for (const char c : optstring) {
    if (c != ':' && c != 'h') {
      EXPECT_EQ(table.count(c), 1U) << c;
    }
  }
  EXPECT_EQ(table.size(), 31U);
  for (const char* name : {"nthreads",
                           "ngpus",
                           "minbytes",
                           "maxbytes",
                           "stepbytes",
                           "stepfactor",
                           "iters",
                           "agg_iters",
                           "warmup_iters",
                           "run_cycles",
                           "parallel_init",
                           "check",
                           "op",
                           "datatype",
                           "root",
                           "blocking",
                           "stream_null",
                           "timeout",
                           "cudagraph",
                           "report_cputime",
                           "report_timestamps",
                           "output_file",
                           "average",
                           "local_register",
                           "cta_policy",
                           "device_implementation",
                           "device_cta_count",
                           "memory",
                           "unalign",
                           "per_iter_timing",
                           "per_iter_skip"}) {
    EXPECT_EQ(long_names.count(name), 1U) << name;
  }
}

TEST(NcclTestsFlags, SizesMeanWhatNcclTestsMeans) {
  EXPECT_EQ(translate({"-b", "8", "-e", "1M", "-f", "2"}), (Args{"--sizes", "8:1M:x2"}));
  // Without -f (factor 1) nccl-tests adds -i, 1M by default.
  EXPECT_EQ(translate({"-b", "1M", "-e", "4M"}), (Args{"--sizes", "1M:4M:+1M"}));
  EXPECT_EQ(translate({"-b", "1K", "-e", "4K", "-i", "1K"}), (Args{"--sizes", "1K:4K:+1K"}));
  // -f above 1 wins over -i.
  EXPECT_EQ(translate({"-b", "8", "-e", "64", "-i", "8", "-f", "4"}), (Args{"--sizes", "8:64:x4"}));
  // Defaults -b 32M -e 32M; attached and long forms; fractions and MB as parsesize() reads them.
  EXPECT_EQ(translate({"-f", "2"}), (Args{"--sizes", "32M:32M:x2"}));
  EXPECT_EQ(translate({"-b8", "--maxbytes=128", "--stepfactor", "2"}),
            (Args{"--sizes", "8:128:x2"}));
  EXPECT_EQ(translate({"--minbytes", "1.5K", "--maxbytes", "1MB", "-f", "2"}),
            (Args{"--sizes", "1536:1M:x2"}));
  EXPECT_EQ(translate({"-b", "8", "-e", "8", "-i", "0"}), (Args{"--sizes", "8"}));
}

TEST(NcclTestsFlags, SizeErrorsNameTheFlag) {
  EXPECT_NE(refusal({"-b", "0", "-e", "8"}).find("-b 0: a size of 0"), std::string::npos);
  EXPECT_NE(refusal({"--minbytes", "1K", "-e", "8"}).find("--minbytes 1K is above -e 8"),
            std::string::npos);
  EXPECT_NE(refusal({"-b", "8", "-e", "64", "-i", "0"}).find("-i 0: a step of 0"),
            std::string::npos);
  EXPECT_NE(refusal({"-b", "1.3", "-e", "8"}).find("-b 1.3: not a whole number"),
            std::string::npos);
  EXPECT_NE(refusal({"-e", "1X"}).find("-e 1X: unknown suffix"), std::string::npos);
  EXPECT_NE(refusal({"-b", "-8"}).find("-b -8:"), std::string::npos);
  EXPECT_NE(refusal({"-f", "-2"}).find("-f -2: must not be negative"), std::string::npos);
  EXPECT_NE(refusal({"--sizes", "8:64", "-b", "8"}).find("--sizes and nccl-tests"),
            std::string::npos);
}

TEST(NcclTestsFlags, TranslatedToPreflightOptions) {
  EXPECT_EQ(translate({"-n", "20", "-w", "5", "-c", "0", "-T", "30"}),
            (Args{"--iters", "20", "--warmup-iters", "5", "--check", "0", "--timeout", "30"}));
  EXPECT_EQ(translate({"--iters=7", "--warmup_iters", "0", "--datatype", "half", "-o", "all"}),
            (Args{"--iters", "7", "--warmup-iters", "0", "--dtype", "half", "--op", "all"}));
  EXPECT_EQ(translate({"-d", "float,bf16"}), (Args{"--dtype", "float,bf16"}));
  EXPECT_EQ(translate({"-G", "10"}), (Args{"--cuda-graph"}));
  EXPECT_EQ(translate({"-G", "0"}), Args{});
  EXPECT_EQ(translate({"-I", "1"}), (Args{"--samples"}));
  EXPECT_EQ(translate(CollectiveKind::broadcast, {"-r", "3"}), (Args{"--root", "3"}));
  // Values nccl-tests accepts that are what preflight does anyway.
  EXPECT_EQ(translate({"-g", "1", "-t", "1", "-m", "1", "-N", "1", "-p",           "1",  "-z", "1",
                       "-y", "0", "-C", "0", "-S", "0", "-a", "3", "-R",           "0",  "-D", "0",
                       "-M", "0", "-u", "0", "-I", "0", "-K", "0", "--blocking=3", "-r", "0"}),
            Args{});
  // A collective without an op or a root: the default means nothing, as in nccl-tests.
  EXPECT_EQ(translate(CollectiveKind::all_gather, {"-o", "sum", "-r", "0"}), Args{});
}

TEST(NcclTestsFlags, PreflightArgumentsPassThroughUntouched) {
  // --json's value "-b" is a path, not nccl-tests' -b; "-q" is preflight's.
  EXPECT_EQ(translate({"--json", "-b", "-q", "--min-iters", "-5", "--check", "2"}),
            (Args{"--json", "-b", "-q", "--min-iters", "-5", "--check", "2"}));
  EXPECT_EQ(translate({"--op=max", "--root", "1", "--timeout", "9", "--unknown-thing"}),
            (Args{"--op=max", "--root", "1", "--timeout", "9", "--unknown-thing"}));
}

TEST(NcclTestsFlags, FlagsThatCannotMeanTheSameAreRefusedSayingWhy) {
  const std::vector<std::pair<Args, std::string>> cases{
      {{"-g", "2"}, "-g 2: cannot mean the same here: 1 only: one GPU per rank"},
      {{"--ngpus", "8"}, "--ngpus 8: cannot mean the same here"},
      {{"-t", "4"}, "-t 4: cannot mean the same here: 1 only: one thread per rank"},
      {{"-m", "4"}, "-m 4: cannot mean the same here"},
      {{"-N", "0"}, "-N 0: cannot mean the same here"},
      {{"--run_cycles", "3"}, "--run_cycles 3: cannot mean the same here"},
      {{"-z", "0"}, "-z 0: cannot mean the same here"},
      {{"-z", "2"}, "-z 2: cannot mean the same here"},
      {{"-y", "1"}, "-y 1: cannot mean the same here"},
      {{"-C", "1"}, "-C 1: cannot mean the same here"},
      {{"-S", "1"}, "-S 1: cannot mean the same here"},
      {{"-J", "out.json"}, "-J out.json: cannot mean the same here: refused: --json PATH"},
      {{"-a", "1"}, "-a 1: cannot mean the same here: 3 only"},
      {{"--average=0"}, "--average 0: cannot mean the same here"},
      {{"-R", "2"}, "-R 2: cannot mean the same here"},
      {{"-x", "1"}, "-x 1: cannot mean the same here"},
      {{"-D", "1"}, "-D 1: cannot mean the same here"},
      {{"-V", "16"}, "-V 16: cannot mean the same here"},
      {{"-M", "1"}, "-M 1: cannot mean the same here"},
      {{"-u", "1"}, "-u 1: cannot mean the same here"},
      {{"-K", "2"}, "-K 2: cannot mean the same here"},
      {{"-o", "mulsum"}, "-o mulsum: cannot mean the same here"},
      {{"-d", "f8e4m3"}, "-d f8e4m3: cannot mean the same here: FP8"},
      {{"-d", "quad"}, "-d quad: unknown type"},
      {{"-o", "mean"}, "-o mean: unknown op"},
      {{"-r", "1"}, "-r 1: all_reduce has no root"},
  };
  for (const auto& [args, expected] : cases) {
    EXPECT_NE(refusal(args).find(expected), std::string::npos)
        << args.front() << ": " << refusal(args);
  }
  EXPECT_NE(refusal(CollectiveKind::all_gather, {"-o", "max"}).find("all_gather has no reduction"),
            std::string::npos);
}

TEST(NcclTestsFlags, NegativeAndAbsurdValuesNameTheFlag) {
  for (const char* flag : {"-t", "-g", "-n", "-m", "-w", "-N", "-p", "-c", "-r", "-z", "-y",
                           "-T", "-G", "-C", "-S", "-a", "-R", "-D", "-M", "-u", "-I", "-K"}) {
    const std::string message = refusal({flag, "-3"});
    EXPECT_EQ(message.rfind(std::string(flag) + " -3: must not be negative", 0), 0U)
        << flag << ": " << message;
  }
  EXPECT_NE(refusal({"-n", "0"}).find("-n 0: must be from 1"), std::string::npos);
  EXPECT_NE(refusal({"-c", "1000000"}).find("-c 1000000: must be from 0 to 1000"),
            std::string::npos);
  EXPECT_NE(refusal({"-T", "99999999"}).find("-T 99999999: must be from 0 to 86400"),
            std::string::npos);
  EXPECT_NE(refusal({"-n", "12abc"}).find("-n 12abc: expected a whole number"), std::string::npos);
  EXPECT_NE(refusal({"-n", "99999999999999999999"}).find("out of range"), std::string::npos);
  EXPECT_EQ(translate({"-n", "0x10"}), (Args{"--iters", "16"}));  // strtol base 0, as nccl-tests
  EXPECT_NE(refusal({"-w"}).find("-w: a value is required"), std::string::npos);
}

// Through the binaries' option parser: the issue's command line, and sizes of nothing.
std::variant<CollectiveOptions, int> parse(CollectiveKind kind, Args args) {
  args.insert(args.begin(), "preflight-test");
  std::vector<char*> pointers;
  for (auto& arg : args) {
    pointers.push_back(arg.data());
  }
  return parse_collective_options(kind, static_cast<int>(pointers.size()), pointers.data());
}

TEST(NcclTestsFlags, IssueCommandLineParses) {
  const auto parsed = parse(CollectiveKind::all_reduce,
                            {"-b", "8", "-e", "1M", "-f", "2", "-g", "1", "-n", "5", "-c", "1"});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(parsed));
  const auto& options = std::get<CollectiveOptions>(parsed);
  EXPECT_EQ(options.sizes_bytes.size(), 18U);  // 8 B .. 1 MiB, times 2
  EXPECT_EQ(options.sizes_bytes.front(), 8U);
  EXPECT_EQ(options.sizes_bytes.back(), 1U << 20U);
  EXPECT_TRUE(options.sampling.fixed);
  EXPECT_EQ(options.sampling.min_iterations, 5U);
  // The original command line is what the report records.
  EXPECT_EQ(options.argv.at(1), "-b");
}

TEST(NcclTestsFlags, SizesOfNothingAreRefused) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_reduce, {"--sizes", "0"})), 2);
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_reduce, {"--sizes", "2,8"})), 2);
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_reduce, {"--sizes", "4", "-d", "double"})), 2);
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_reduce, {"-n", "-1"})), 2);
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_reduce, {"-G", "-3"})), 2);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--sizes 0: 0 B is less than one float element"), std::string::npos) << err;
  EXPECT_NE(err.find("-n -1: must not be negative"), std::string::npos) << err;
  EXPECT_NE(err.find("-G -3: must not be negative"), std::string::npos) << err;
  // One int8 element is a size that moves data.
  EXPECT_TRUE(std::holds_alternative<CollectiveOptions>(
      parse(CollectiveKind::all_reduce, {"--sizes", "1", "-d", "int8"})));
}

#ifdef PREFLIGHT_REPO_DIR
// The README documents the mapping: every flag of the table, short and long, is in its table.
TEST(NcclTestsFlags, ReadmeTableListsEveryFlag) {
  std::ifstream input(std::string(PREFLIGHT_REPO_DIR) + "/README.md");
  ASSERT_TRUE(input.good());
  std::stringstream text;
  text << input.rdbuf();
  const std::string readme = text.str();
  const auto section = readme.find("### nccl-tests flags");
  ASSERT_NE(section, std::string::npos);
  const std::string table = readme.substr(section, readme.find("\n## ", section) - section);
  for (const NcclTestsFlag& flag : nccl_tests_flags()) {
    const std::string row =
        "| `-" + std::string(1, flag.short_name) + "`, `--" + std::string(flag.long_name) + "` |";
    EXPECT_NE(table.find(row), std::string::npos) << row;
  }
}
#endif

}  // namespace
}  // namespace preflight::collectives
