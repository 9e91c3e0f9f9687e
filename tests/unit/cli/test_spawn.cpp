#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/spawn.hpp"
#include "common/timer.hpp"

namespace preflight {
namespace {

class SpawnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "spawn-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  [[nodiscard]] std::string read(const std::string& name) const {
    std::ifstream input(dir_ / name);
    std::stringstream text;
    text << input.rdbuf();
    return text.str();
  }

  std::filesystem::path dir_;
};

TEST_F(SpawnTest, ReportsExitCodeAndCapturesStdout) {
  const auto result = run_process({"/bin/sh", "-c", "echo hello; exit 7"}, {}, 10, dir_ / "out");
  EXPECT_TRUE(result.started);
  EXPECT_EQ(result.exit_code, 7);
  EXPECT_FALSE(result.signaled);
  EXPECT_FALSE(result.timed_out);
  EXPECT_GE(result.duration_s, 0.0);
  EXPECT_EQ(read("out"), "hello\n");
}

TEST_F(SpawnTest, SearchesPathForBareNames) {
  const auto result = run_process({"true"}, {}, 10, {});
  EXPECT_TRUE(result.started);
  EXPECT_EQ(result.exit_code, 0);
}

TEST_F(SpawnTest, HostileArgumentsAreDataNotCode) {
  const auto marker = dir_ / "pwned";
  const std::vector<std::string> hostile{"; touch " + marker.string(),
                                         "$(touch " + marker.string() + ")",
                                         "`touch " + marker.string() + "`",
                                         "| touch " + marker.string(),
                                         "$(id)",
                                         "a b\tc",
                                         "&& touch " + marker.string()};
  std::vector<std::string> argv{"/bin/echo"};
  argv.insert(argv.end(), hostile.begin(), hostile.end());
  const auto result = run_process(argv, {}, 10, dir_ / "out");
  ASSERT_EQ(result.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(marker));
  std::string expected;
  for (const auto& word : hostile) {
    expected += (expected.empty() ? "" : " ") + word;
  }
  EXPECT_EQ(read("out"), expected + "\n");  // echo printed them verbatim: nothing was expanded
  // A program name that looks like a shell line is a missing program, not a command.
  const auto named = run_process({"touch " + marker.string() + "; id"}, {}, 10, {});
  EXPECT_FALSE(named.started);
  EXPECT_EQ(shell_style_exit_code(named), 127);
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_FALSE(std::filesystem::exists("/tmp/pwned"));
}

TEST_F(SpawnTest, MissingProgramIsNotStarted) {
  const auto result = run_process({"/nonexistent/preflight-nothing"}, {}, 10, {});
  EXPECT_FALSE(result.started);
  EXPECT_EQ(result.exit_code, 127);
  EXPECT_NE(result.start_error.find("/nonexistent/preflight-nothing"), std::string::npos);
  EXPECT_FALSE(run_process({}, {}, 10, {}).started);
}

TEST_F(SpawnTest, EnvironmentOverridesSetAndRemove) {
  ::setenv("PREFLIGHT_SPAWN_TEST_REMOVED", "present", 1);
  const auto result = run_process(
      {"/bin/sh", "-c",
       "echo \"${PREFLIGHT_SPAWN_TEST_SET}|${PREFLIGHT_SPAWN_TEST_REMOVED-unset}\""},
      {{"PREFLIGHT_SPAWN_TEST_SET", "$(id) ; x"}, {"PREFLIGHT_SPAWN_TEST_REMOVED", std::nullopt}},
      10, dir_ / "out");
  ::unsetenv("PREFLIGHT_SPAWN_TEST_REMOVED");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(read("out"), "$(id) ; x|unset\n");
}

TEST_F(SpawnTest, StdinIsDevNullAndStderrIsRedirected) {
  ProcessOptions options;
  options.stderr_path = dir_ / "err";
  const auto result =
      run_process({"/bin/sh", "-c", "cat; echo oops >&2"}, {}, 10, dir_ / "out", options);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(read("out"), "");
  EXPECT_EQ(read("err"), "oops\n");
}

// Alive and not a zombie: a killed grandchild is reparented to init, which in a container may
// never reap it.
bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) {
    return false;
  }
  const auto close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

TEST_F(SpawnTest, TimeoutKillsTheWholeProcessGroup) {
  const auto pid_file = dir_ / "grandchild.pid";
  ProcessOptions options;
  options.kill_grace_s = 0.5;
  // The grandchild ignores SIGTERM: only the group SIGKILL after the grace takes it down.
  const std::string script =
      "(trap '' TERM; exec sleep 300) & echo $! > " + pid_file.string() + "; wait";
  Stopwatch clock;
  const auto result = run_process({"/bin/sh", "-c", script}, {}, 0.5, {}, options);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(shell_style_exit_code(result), 124);
  EXPECT_LT(clock.elapsed_s(), 5.0);
  const pid_t grandchild = std::stoi(read("grandchild.pid"));
  // Reaped by init shortly after the kill; give it a moment.
  for (int i = 0; i < 100 && process_alive(grandchild); ++i) {
    ::usleep(10000);
  }
  EXPECT_FALSE(process_alive(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST_F(SpawnTest, LeftoversAreKilledWhenTheChildExits) {
  const auto pid_file = dir_ / "leftover.pid";
  const auto result =
      run_process({"/bin/sh", "-c", "sleep 300 & echo $! > " + pid_file.string()}, {}, 10, {});
  EXPECT_EQ(result.exit_code, 0);
  const pid_t leftover = std::stoi(read("leftover.pid"));
  for (int i = 0; i < 100 && process_alive(leftover); ++i) {
    ::usleep(10000);
  }
  EXPECT_FALSE(process_alive(leftover));
}

TEST_F(SpawnTest, SignalledChildIsReportedAsSuch) {
  const auto result = run_process({"/bin/sh", "-c", "kill -KILL $$"}, {}, 10, {});
  EXPECT_TRUE(result.signaled);
  EXPECT_EQ(result.signal_number, SIGKILL);
  EXPECT_EQ(result.exit_code, 128 + SIGKILL);
  EXPECT_FALSE(result.timed_out);
}

TEST_F(SpawnTest, PendingStopSignalInterruptsTheChild) {
  sigset_t block;
  sigset_t previous;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::sigprocmask(SIG_BLOCK, &block, &previous), 0);
  ChildProcess child = ChildProcess::start({"/bin/sleep", "300"}, {}, {});
  ::kill(::getpid(), SIGTERM);  // stays pending: blocked
  Stopwatch clock;
  const auto result = child.wait(60);
  EXPECT_TRUE(result.interrupted);
  EXPECT_LT(clock.elapsed_s(), 5.0);
  // Consume the pending signal before unblocking, so the test process survives.
  int received = 0;
  sigwait(&block, &received);
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
}

TEST_F(SpawnTest, DestructorKillsARunningChild) {
  pid_t pid = -1;
  {
    ChildProcess child = ChildProcess::start({"/bin/sleep", "300"}, {}, {});
    pid = child.pid();
    ASSERT_GT(pid, 0);
    EXPECT_FALSE(child.poll());
  }
  EXPECT_FALSE(process_alive(pid));
}

TEST(FindExecutable, FindsOnPathAndRejectsMissing) {
  EXPECT_FALSE(find_executable("sh").empty());
  EXPECT_TRUE(find_executable("preflight-surely-not-installed").empty());
  EXPECT_EQ(find_executable("/bin/sh"), std::filesystem::path("/bin/sh"));
}

}  // namespace
}  // namespace preflight
