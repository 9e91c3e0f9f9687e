#include <gtest/gtest.h>
#include <stdlib.h>  // setenv, unsetenv

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/status.hpp"

namespace preflight {
namespace {

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

TEST(Cli, EnvironmentFallbackAndCommandLineWins) {
  ::setenv("PREFLIGHT_SIZES", "8:64", 1);
  ::setenv("PREFLIGHT_QUIET", "1", 1);
  {
    CLI::App app("test", "preflight-test");
    CommonOptions common;
    add_common_options(app, common);
    std::string sizes;
    app.add_option("--sizes", sizes);
    bind_environment(app);
    Argv args({"preflight-test"});
    EXPECT_FALSE(parse_command_line(app, args.argc(), args.argv(), &common).has_value());
    EXPECT_EQ(sizes, "8:64");
    EXPECT_TRUE(common.quiet);
  }
  {
    CLI::App app("test", "preflight-test");
    CommonOptions common;
    add_common_options(app, common);
    std::string sizes;
    app.add_option("--sizes", sizes);
    bind_environment(app);
    Argv args({"preflight-test", "--sizes", "1K"});
    EXPECT_FALSE(parse_command_line(app, args.argc(), args.argv(), &common).has_value());
    EXPECT_EQ(sizes, "1K");
  }
  ::unsetenv("PREFLIGHT_SIZES");
  ::unsetenv("PREFLIGHT_QUIET");
}

TEST(Cli, UnknownFlagIsUsageError) {
  CLI::App app("test", "preflight-test");
  CommonOptions common;
  add_common_options(app, common);
  Argv args({"preflight-test", "--no-such-flag"});
  EXPECT_EQ(parse_command_line(app, args.argc(), args.argv(), &common), exit_code::usage);
}

TEST(Cli, VersionExitsZero) {
  CLI::App app("test", "preflight-test");
  CommonOptions common;
  add_common_options(app, common);
  Argv args({"preflight-test", "--version"});
  testing::internal::CaptureStdout();
  EXPECT_EQ(parse_command_line(app, args.argc(), args.argv(), &common), 0);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("preflight-test"), std::string::npos);
}

TEST(Cli, GuardMapsExceptionsToExitCodes) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(run_guarded("t", [] { return 0; }), 0);
  EXPECT_EQ(run_guarded("t", []() -> int { throw UsageError("bad"); }), 2);
  EXPECT_EQ(
      run_guarded("t", []() -> int { throw FeatureUnavailable("NCCL", "PREFLIGHT_WITH_NCCL"); }),
      3);
  EXPECT_EQ(run_guarded("t", []() -> int { throw TimeoutError("late"); }), 124);
  EXPECT_EQ(run_guarded("t", []() -> int { throw Error("x", "call", "", "broken", 5); }), 4);
  EXPECT_EQ(run_guarded("t", []() -> int { throw std::runtime_error("?"); }), 4);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("-DPREFLIGHT_WITH_NCCL=ON"), std::string::npos) << err;
}

// The usage error CLI11 would give, as parse_command_line prints it.
std::string usage_message(CLI::App& app, std::vector<std::string> args) {
  args.insert(args.begin(), "preflight-test");
  Argv argv(std::move(args));
  testing::internal::CaptureStderr();
  const auto code = parse_command_line(app, argv.argc(), argv.argv());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, exit_code::usage) << err;
  return err;
}

TEST(Cli, UnknownSubcommandAndOptionNameTheNearest) {
  {
    CLI::App app("test", "preflight");
    app.require_subcommand(1);
    app.add_subcommand("node", "");
    app.add_subcommand("cluster", "");
    app.add_subcommand("ci", "");
    EXPECT_NE(usage_message(app, {"nod"}).find("unknown subcommand 'nod' (did you mean 'node'?)"),
              std::string::npos);
  }
  {
    CLI::App app("test", "preflight");
    app.require_subcommand(1);
    app.add_subcommand("node", "");
    app.add_subcommand("cluster", "");
    EXPECT_NE(usage_message(app, {"clutser"}).find("did you mean 'cluster'?"), std::string::npos);
  }
  {
    CLI::App app("test", "preflight");
    app.require_subcommand(1);
    app.add_subcommand("node", "");
    app.add_subcommand("cluster", "");
    EXPECT_NE(usage_message(app, {"frobnicate"})
                  .find("unknown subcommand 'frobnicate' (expected one of: node, cluster)"),
              std::string::npos);
  }
  {
    CLI::App app("test", "preflight");
    app.require_subcommand(1);
    app.add_subcommand("node", "");
    EXPECT_NE(usage_message(app, {}).find("a subcommand is required: node"), std::string::npos);
  }
  {
    CLI::App app("test", "preflight");
    app.fallthrough(true);
    app.require_subcommand(1);
    bool quick = false;
    app.add_subcommand("node", "")->add_flag("--quick", quick);
    std::string html;
    app.add_option("--html", html);
    EXPECT_NE(usage_message(app, {"node", "--quik"})
                  .find("unknown option '--quik' (did you mean "
                        "'--quick'?)"),
              std::string::npos);
    EXPECT_NE(usage_message(app, {"node", "--htm=x"}).find("did you mean '--html'?"),
              std::string::npos);
  }
  {
    CLI::App app("test", "preflight-allreduce");
    std::string sizes;
    app.add_option("--sizes", sizes);
    const std::string err = usage_message(app, {"--sise", "8"});
    EXPECT_NE(err.find("unknown option '--sise' (did you mean '--sizes'?)"), std::string::npos)
        << err;
  }
}

TEST(Cli, NearestCandidate) {
  const std::vector<std::string> commands{"node", "cluster", "ci"};
  EXPECT_EQ(nearest_candidate("nod", commands), "node");
  EXPECT_EQ(nearest_candidate("ndoe", commands), "node");    // a transposition is one edit
  EXPECT_EQ(nearest_candidate("clu", commands), "cluster");  // the one it begins
  EXPECT_EQ(nearest_candidate("xyz", commands), "");
  EXPECT_EQ(nearest_candidate("node", commands), "");  // not a typo
}

TEST(Cli, NumericOptionsAreRangeChecked) {
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--count", "-1"}, "--count -1: must not be negative"},
           {{"--seconds", "-0.5"}, "--seconds -0.5: must not be negative"},
           {{"--seconds", "nan"}, "--seconds nan: must be a finite number"},
           {{"--seconds", "inf"}, "--seconds inf: must be a finite number"}}) {
    CLI::App app("test", "preflight-test");
    int count = 0;
    double seconds = 0;
    app.add_option("--count", count);
    app.add_option("--seconds", seconds);
    EXPECT_NE(usage_message(app, args).find(expected), std::string::npos) << args.front();
  }
  // An option with its own validator keeps its own range; zero and positive values pass.
  CLI::App app("test", "preflight-test");
  int offset = 0;
  int count = 0;
  app.add_option("--offset", offset)->check(CLI::Range(-5, 5));
  app.add_option("--count", count);
  Argv argv({"preflight-test", "--offset", "-3", "--count", "0"});
  EXPECT_FALSE(parse_command_line(app, argv.argc(), argv.argv()).has_value());
  EXPECT_EQ(offset, -3);
}

TEST(Cli, UsageErrorsPrintOnceUnderALauncher) {
  ::setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  testing::internal::CaptureStderr();
  print_usage_error("preflight-test", "bad flag");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(run_guarded("preflight-test", []() -> int { throw UsageError("bad"); }),
            exit_code::usage);
  ::setenv("OMPI_COMM_WORLD_RANK", "0", 1);
  testing::internal::CaptureStderr();
  print_usage_error("preflight-test", "bad flag");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "preflight-test: usage error: bad flag\n");
  ::unsetenv("OMPI_COMM_WORLD_RANK");
}

}  // namespace
}  // namespace preflight
