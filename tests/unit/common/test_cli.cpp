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

// A missing output directory is created (CI workspaces start empty); one that cannot be, because
// a file stands where a directory should, is a usage error naming the path.
TEST(Cli, JsonPathInADirectoryThatCannotBeCreatedIsUsageError) {
  CLI::App app("test", "preflight-test");
  CommonOptions common;
  add_common_options(app, common);
  Argv args({"preflight-test", "--json", "/dev/null/dir/x.json"});
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse_command_line(app, args.argc(), args.argv(), &common), exit_code::usage);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("/dev/null/dir/x.json"), std::string::npos) << err;
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

}  // namespace
}  // namespace preflight
