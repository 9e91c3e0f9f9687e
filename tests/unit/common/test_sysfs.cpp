#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/sysfs.hpp"

namespace preflight {
namespace {

class RootFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("preflight-rootfs-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_ / "sys/class/infiniband/rdmap0s31/ports/1");
    write("sys/class/infiniband/rdmap0s31/ports/1/state", "4: ACTIVE\n");
    write("sys/class/infiniband/rdmap0s31/vendor", "0x1d0f\n");
    write("sys/module/efa/version", "  2.13.0g  \nsecond line\n");
    std::filesystem::create_directories(root_ / "sys/class/infiniband/rdmap1s31");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::string& relative, const std::string& content) {
    std::filesystem::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << content;
  }
  std::filesystem::path root_;
};

TEST_F(RootFsTest, AvailableMemoryIsMemAvailableInBytes) {
  const RootFs fs(root_);
  EXPECT_EQ(available_memory_bytes(fs), std::nullopt);  // no /proc/meminfo
  write("proc/meminfo",
        "MemTotal:       24575392 kB\nMemFree:         1000000 kB\n"
        "MemAvailable:   20000000 kB\nBuffers:          1 kB\n");
  EXPECT_EQ(available_memory_bytes(fs), 20000000ULL * 1024U);
  write("proc/meminfo", "MemTotal: 5 kB\nMemAvailable: lots kB\n");
  EXPECT_EQ(available_memory_bytes(fs), std::nullopt);
}

TEST_F(RootFsTest, ReadsRelativeToTheRoot) {
  const RootFs fs(root_);
  EXPECT_FALSE(fs.is_live());
  EXPECT_EQ(fs.read_line("/sys/module/efa/version"), "2.13.0g");
  EXPECT_EQ(fs.read_int("/sys/class/infiniband/rdmap0s31/vendor"), 0x1d0f);
  EXPECT_TRUE(fs.exists("/sys/class/infiniband/rdmap0s31/ports/1/state"));
  EXPECT_EQ(fs.list("/sys/class/infiniband"), (std::vector<std::string>{"rdmap0s31", "rdmap1s31"}));
}

TEST_F(RootFsTest, AbsentIsNotEmptyNorZero) {
  const RootFs fs(root_);
  EXPECT_FALSE(fs.read("/sys/module/nvidia/version").has_value());
  EXPECT_FALSE(fs.read_int("/sys/class/infiniband/rdmap0s31/ports/1/state").has_value());
  EXPECT_TRUE(fs.list("/does/not/exist").empty());
}

TEST(ParseInteger, Forms) {
  EXPECT_EQ(parse_integer("42"), 42);
  EXPECT_EQ(parse_integer(" 0xefa1 "), 0xefa1);
  EXPECT_EQ(parse_integer("4: ACTIVE", /*leading_only=*/true), 4);
  EXPECT_FALSE(parse_integer("4: ACTIVE").has_value());
  EXPECT_FALSE(parse_integer("ACTIVE").has_value());
  EXPECT_FALSE(parse_integer("").has_value());
}

TEST(RootFsLive, DefaultsToSlash) {
  const RootFs fs;
  EXPECT_TRUE(fs.is_live());
  EXPECT_EQ(fs.resolve("/proc/version"), std::filesystem::path("/proc/version"));
}

}  // namespace
}  // namespace preflight
