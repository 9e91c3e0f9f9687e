#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include "common/atomic_file.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/status.hpp"

namespace preflight {
namespace {

// Everything a reader gets from `fd` until end of file.
std::string drain(int fd) {
  std::string text;
  std::array<char, 4096> buffer{};
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n <= 0) {
      return text;
    }
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

int entries_in(const std::filesystem::path& directory) {
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory)) {
    ++entries;
  }
  return entries;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream stream(path);
  std::stringstream buffer;
  buffer << stream.rdbuf();
  return buffer.str();
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("preflight-atomic-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

TEST_F(AtomicFileTest, WritesReplacesAndSetsMode) {
  const auto path = dir_ / "report.json";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second");
  EXPECT_EQ(slurp(path), "second");
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777U, 0644U);
  // No temporary left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir_)) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(AtomicFileTest, SymlinkAtTargetIsReplacedNotFollowed) {
  const auto victim = dir_ / "victim";
  std::ofstream(victim) << "precious";
  const auto path = dir_ / "report.json";
  std::filesystem::create_symlink(victim, path);
  write_file_atomic(path, "report");
  EXPECT_EQ(slurp(victim), "precious");
  EXPECT_FALSE(std::filesystem::is_symlink(path));
  EXPECT_EQ(slurp(path), "report");
}

TEST_F(AtomicFileTest, CheckOutputPathNamesTheFlagAndPath) {
  std::ofstream(dir_ / "plain") << "a file, not a directory";
  try {
    check_output_path(dir_ / "plain" / "x.json", "--json");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("plain/x.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cannot create directory"), std::string::npos);
  }
  EXPECT_THROW(check_output_path(dir_, "--json"), UsageError);
  EXPECT_NO_THROW(check_output_path(dir_ / "ok.json", "--json"));
}

// --json PATH through the command line: a directory that cannot be created, because a regular
// file stands where it should be, is a usage error naming the path; a missing one is created.
int parse_json_flag(const std::filesystem::path& path) {
  CLI::App app("test", "preflight-test");
  CommonOptions common;
  add_common_options(app, common);
  std::string program = "preflight-test";
  std::string flag = "--json";
  std::string value = path.string();
  std::array<char*, 3> argv{program.data(), flag.data(), value.data()};
  return parse_command_line(app, static_cast<int>(argv.size()), argv.data(), &common).value_or(-1);
}

TEST_F(AtomicFileTest, JsonFlagUnderARegularFileIsAUsageErrorNamingThePath) {
  std::ofstream(dir_ / "plain") << "a file, not a directory";
  const auto path = dir_ / "plain" / "dir" / "x.json";
  testing::internal::CaptureStderr();
  EXPECT_EQ(parse_json_flag(path), exit_code::usage);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--json " + path.string()), std::string::npos) << err;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "plain"));
}

TEST_F(AtomicFileTest, JsonFlagInAMissingDirectoryCreatesIt) {
  const auto path = dir_ / "results" / "nightly" / "x.json";
  EXPECT_EQ(parse_json_flag(path), -1);  // -1: parsed, the run goes on
  EXPECT_TRUE(std::filesystem::is_directory(path.parent_path()));
  EXPECT_FALSE(std::filesystem::exists(path));  // checked, not written: the run writes it
}

// CI workspaces start empty: an output under a missing directory gets the directory (parents too).
TEST_F(AtomicFileTest, CheckOutputPathCreatesMissingDirectories) {
  const auto path = dir_ / "results" / "nightly" / "suite.json";
  EXPECT_NO_THROW(check_output_path(path, "outputs.json"));
  EXPECT_TRUE(std::filesystem::is_directory(path.parent_path()));
  EXPECT_FALSE(std::filesystem::exists(path));
  write_file_atomic(path, "report");
  EXPECT_EQ(slurp(path), "report");
}

TEST(OutputTargetTest, DescriptorAliasesAreRecognisedByName) {
  const auto descriptor = [](const std::string& path) {
    const auto target = classify_output(path);
    return target.kind == OutputKind::descriptor ? target.descriptor : -1;
  };
  EXPECT_EQ(descriptor("-"), 1);
  EXPECT_EQ(descriptor("/dev/stdout"), 1);
  EXPECT_EQ(descriptor("/dev/stderr"), 2);
  EXPECT_EQ(descriptor("/dev/fd/63"), 63);
  EXPECT_EQ(descriptor("/dev//fd/./7"), 7);
  EXPECT_EQ(descriptor("/proc/self/fd/5"), 5);
  EXPECT_EQ(descriptor("/proc/thread-self/fd/5"), 5);
  EXPECT_EQ(descriptor("/proc/" + std::to_string(::getpid()) + "/fd/9"), 9);
  EXPECT_EQ(descriptor("/dev/fd/x"), -1);
  EXPECT_EQ(descriptor("/dev/fd/"), -1);
  EXPECT_EQ(descriptor("/tmp/fd/3"), -1);
  EXPECT_TRUE(writes_to_stdout("/dev/fd/1"));
  EXPECT_TRUE(writes_to_stdout("/proc/self/fd/1"));
  EXPECT_FALSE(writes_to_stdout("/dev/stderr"));
  EXPECT_FALSE(writes_to_stdout("report.json"));
  EXPECT_EQ(classify_output("/dev/null").kind, OutputKind::stream);
  EXPECT_EQ(classify_output("/dev/null").what, "a character device");
  EXPECT_TRUE(is_replaced_atomically("/nonexistent/report.json"));
  EXPECT_FALSE(is_replaced_atomically("/dev/null"));
}

// `--json >(jq .)`: the shell passes /dev/fd/N; the report goes into that descriptor.
TEST_F(AtomicFileTest, DescriptorAliasIsWrittenIntoNotReplaced) {
  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe(pipe_fds.data()), 0);
  const std::string path = "/dev/fd/" + std::to_string(pipe_fds[1]);
  EXPECT_NO_THROW(check_output_path(path, "--json"));
  write_file_atomic(path, "{\"report\": 1}\n");
  ::close(pipe_fds[1]);
  EXPECT_EQ(drain(pipe_fds[0]), "{\"report\": 1}\n");
  ::close(pipe_fds[0]);
  // A descriptor that is not open, or open for reading only, is refused before the run.
  EXPECT_THROW(check_output_path("/dev/fd/" + std::to_string(pipe_fds[1]), "--json"), UsageError);
  const int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(read_only, 0);
  EXPECT_THROW(check_output_path("/proc/self/fd/" + std::to_string(read_only), "--json"),
               UsageError);
  ::close(read_only);
}

// A FIFO stays a FIFO, nothing is created beside it, and its reader gets the whole report once.
TEST_F(AtomicFileTest, FifoIsWrittenIntoNotReplaced) {
  const auto fifo = dir_ / "report.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Checking the path must not open it: the reader would take the close for an empty report.
  EXPECT_NO_THROW(check_output_path(fifo, "--json"));
  // More than a pipe's buffer, so the writer has to wait for the reader.
  const std::string report(300000, 'r');
  auto reader = std::async(std::launch::async, [&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
    std::string text = drain(fd);
    ::close(fd);
    return text;
  });
  write_file_atomic(fifo, report);
  EXPECT_EQ(reader.get(), report);
  struct stat info {};
  ASSERT_EQ(::lstat(fifo.c_str(), &info), 0);
  EXPECT_TRUE(S_ISFIFO(info.st_mode));
  EXPECT_EQ(entries_in(dir_), 1);
}

// A listening Unix stream socket receives the report over one connection.
TEST_F(AtomicFileTest, UnixSocketReceivesTheReport) {
  const auto socket_path = dir_ / "report.sock";
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  ASSERT_LT(socket_path.native().size(), sizeof(address.sun_path));
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.native().size());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  auto reader = std::async(std::launch::async, [&] {
    const int connection = ::accept(listener, nullptr, nullptr);
    std::string text = drain(connection);
    ::close(connection);
    return text;
  });
  write_file_atomic(socket_path, "socket report");
  EXPECT_EQ(reader.get(), "socket report");
  ::close(listener);
  EXPECT_EQ(classify_output(socket_path).kind, OutputKind::stream);
}

// The damage of issue 23: as root, a rename over /dev/null made it a regular file. A private
// character device (1,3: the null device) must stay one.
TEST_F(AtomicFileTest, CharacterDeviceStaysACharacterDevice) {
  const auto device = dir_ / "null";
  if (::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    GTEST_SKIP() << "mknod needs root (CAP_MKNOD): " << std::strerror(errno);
  }
  EXPECT_NO_THROW(check_output_path(device, "--json"));
  write_file_atomic(device, "a report nobody keeps");
  write_file_atomic(device, "and a second one");
  struct stat info {};
  ASSERT_EQ(::lstat(device.c_str(), &info), 0);
  EXPECT_TRUE(S_ISCHR(info.st_mode));
  EXPECT_EQ(major(info.st_rdev), 1U);
  EXPECT_EQ(minor(info.st_rdev), 3U);
  EXPECT_EQ(entries_in(dir_), 1);
}

TEST_F(AtomicFileTest, ReadOnlyDirectoryKeepsTheOldFile) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "root ignores directory permissions";
  }
  const auto path = dir_ / "report.json";
  write_file_atomic(path, "old");
  std::filesystem::permissions(
      dir_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  EXPECT_THROW(write_file_atomic(path, "new"), Error);
  EXPECT_THROW(check_output_path(path, "--json"), UsageError);
  EXPECT_EQ(slurp(path), "old");
}

}  // namespace
}  // namespace preflight
