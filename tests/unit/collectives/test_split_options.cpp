#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "collectives/options.hpp"
#include "collectives/split.hpp"
#include "common/error.hpp"

namespace preflight::collectives {
namespace {

TEST(Split, ParsesOurAndNcclTestsForms) {
  for (const char* text : {"mod:8", "MOD8", "%8", "mod 8"}) {
    const SplitSpec split = parse_split(text);
    EXPECT_EQ(split.kind, SplitSpec::Kind::mod) << text;
    EXPECT_EQ(split.value, 8) << text;
  }
  EXPECT_EQ(parse_split("div:8").kind, SplitSpec::Kind::div);
  EXPECT_EQ(parse_split("/4").value, 4);
  const SplitSpec mask = parse_split("and:0x7");
  EXPECT_EQ(mask.kind, SplitSpec::Kind::bit_and);
  EXPECT_EQ(mask.value, 7);
  EXPECT_EQ(parse_split("AND0x7").value, 7);
  EXPECT_EQ(parse_split("&3").value, 3);
  EXPECT_EQ(parse_split("mod:8").text, "mod:8");
}

TEST(Split, RejectsNonsenseNamingTheFlag) {
  for (const char* text : {"", "xor:3", "mod:", "mod:0", "div:-1", "mod:8x"}) {
    try {
      (void)parse_split(text);
      ADD_FAILURE() << text;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--split"), std::string::npos) << e.what();
    }
  }
}

TEST(Split, ColorsAsNcclTestsSplit) {
  // 16 ranks on 2 nodes of 8: mod:8 -> rails (ranks 3 and 11 together), div:8 -> nodes.
  EXPECT_EQ(split_color(parse_split("mod:8"), 3), split_color(parse_split("mod:8"), 11));
  EXPECT_NE(split_color(parse_split("div:8"), 3), split_color(parse_split("div:8"), 11));
  EXPECT_EQ(split_color(parse_split("and:0x7"), 13), 5);
}

TEST(Split, ResolvesMyGroup) {
  const std::vector<int> colors{0, 1, 0, 1};  // mod:2 over 4 ranks
  const SplitGroups groups = resolve_split(colors, 3);
  EXPECT_EQ(groups.color, 1);
  EXPECT_EQ(groups.group_rank, 1);
  EXPECT_EQ(groups.group_size, 2);
  EXPECT_EQ(groups.group_count, 2);
  EXPECT_EQ(groups.members, (std::vector<int>{1, 3}));
  EXPECT_THROW((void)resolve_split({0, 1, 0}, 0), UsageError);  // groups of 2 and 1
  EXPECT_EQ(resolve_split({0}, 0).group_size, 1);
}

struct Argv {
  explicit Argv(std::vector<std::string> args) : storage(std::move(args)) {
    for (auto& arg : storage) {
      pointers.push_back(arg.data());
    }
  }
  int argc() { return static_cast<int>(pointers.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> storage;
  std::vector<char*> pointers;
};

std::variant<CollectiveOptions, int> parse(CollectiveKind kind, std::vector<std::string> args) {
  args.insert(args.begin(), "preflight-test");
  Argv argv(std::move(args));
  return parse_collective_options(kind, argv.argc(), argv.argv());
}

TEST(Options, Defaults) {
  const auto parsed = parse(CollectiveKind::all_reduce, {});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(parsed));
  const auto& options = std::get<CollectiveOptions>(parsed);
  EXPECT_EQ(options.backend, BackendChoice::automatic);
  EXPECT_EQ(options.sizes_spec, kDefaultSizes);
  EXPECT_EQ(options.dtypes, std::vector<DataType>{DataType::float32});
  EXPECT_EQ(options.ops, std::vector<ReduceOp>{ReduceOp::sum});
  EXPECT_TRUE(options.out_of_place);
  EXPECT_TRUE(options.in_place);
  EXPECT_EQ(options.check_iterations, 1);
  EXPECT_DOUBLE_EQ(options.sampling.target_precision, 0.01);
  EXPECT_FALSE(options.split.has_value());
}

TEST(Options, NcclTestsFlags) {
  const auto parsed =
      parse(CollectiveKind::all_reduce, {"-b", "8", "-e", "1K", "-f", "4", "-n", "7", "-w", "2",
                                         "-c", "3", "-d", "half,bf16", "-o", "max"});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(parsed));
  const auto& options = std::get<CollectiveOptions>(parsed);
  EXPECT_EQ(options.sizes_bytes, (std::vector<std::uint64_t>{8, 32, 128, 512}));
  EXPECT_TRUE(options.sampling.fixed);
  EXPECT_EQ(options.sampling.min_iterations, 7U);
  EXPECT_EQ(options.sampling.warmup_iterations, 2U);
  EXPECT_EQ(options.check_iterations, 3);
  EXPECT_EQ(options.dtypes, (std::vector<DataType>{DataType::half, DataType::bfloat16}));
  EXPECT_EQ(options.ops, std::vector<ReduceOp>{ReduceOp::max});
  const auto increment = parse(CollectiveKind::all_reduce, {"-b", "1K", "-e", "4K", "-i", "1K"});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(increment));
  EXPECT_EQ(std::get<CollectiveOptions>(increment).sizes_bytes,
            (std::vector<std::uint64_t>{1024, 2048, 3072, 4096}));
}

TEST(Options, AllTypesAndOps) {
  const auto parsed = parse(CollectiveKind::reduce_scatter, {"--dtype", "all", "--op", "all"});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(parsed));
  EXPECT_EQ(std::get<CollectiveOptions>(parsed).dtypes.size(), 10U);
  EXPECT_EQ(std::get<CollectiveOptions>(parsed).ops.size(), 5U);
}

TEST(Options, DataMovementCollectivesHaveNoOp) {
  const auto parsed = parse(CollectiveKind::broadcast, {"--root", "2"});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(parsed));
  EXPECT_EQ(std::get<CollectiveOptions>(parsed).ops, std::vector<ReduceOp>{ReduceOp::none});
  EXPECT_EQ(std::get<CollectiveOptions>(parsed).root, 2);
  // --op and --root exist only where they mean something.
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_gather, {"--op", "sum"})), 2);
  EXPECT_EQ(std::get<int>(parse(CollectiveKind::all_reduce, {"--root", "1"})), 2);
}

TEST(Options, UsageErrorsExit2) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--backend", "gloo"},
                                             {"--sizes", "8:1K", "-b", "8"},
                                             {"--sizes", "16:8"},
                                             {"--dtype", "fp8"},
                                             {"--op", "mean"},
                                             {"--min-iters", "10", "--max-iters", "5"},
                                             {"--target-precision", "0"},
                                             {"--split", "xor:3"},
                                             {"--placement", "sideways"},
                                             {"--check", "-1"},
                                             {"--timeout", "-5"}}) {
    const auto parsed = parse(CollectiveKind::all_reduce, args);
    ASSERT_TRUE(std::holds_alternative<int>(parsed)) << args.front();
    EXPECT_EQ(std::get<int>(parsed), 2) << args.front();
  }
}

TEST(Options, PlacementAndSamples) {
  const auto parsed = parse(CollectiveKind::alltoall,
                            {"--placement", "in-place", "--samples", "--cuda-graph", "--backend",
                             "nccl", "--split", "div:8", "--nccl-log", "/tmp/x"});
  ASSERT_TRUE(std::holds_alternative<CollectiveOptions>(parsed));
  const auto& options = std::get<CollectiveOptions>(parsed);
  EXPECT_FALSE(options.out_of_place);
  EXPECT_TRUE(options.in_place);
  EXPECT_TRUE(options.keep_samples);
  EXPECT_TRUE(options.cuda_graph);
  EXPECT_EQ(options.backend, BackendChoice::nccl);
  ASSERT_TRUE(options.split.has_value());
  EXPECT_EQ(options.split->kind, SplitSpec::Kind::div);
  EXPECT_EQ(options.nccl_log_path, "/tmp/x");
}

}  // namespace
}  // namespace preflight::collectives
