#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace preflight {
namespace {

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
  try {
    check_output_path(dir_ / "missing" / "x.json", "--json");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
  EXPECT_THROW(check_output_path(dir_, "--json"), UsageError);
  EXPECT_NO_THROW(check_output_path(dir_ / "ok.json", "--json"));
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
