// The checks and decoding shared by every reader of user-given files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "common/input_file.hpp"

namespace preflight {
namespace {

namespace fs = std::filesystem;

class InputFile : public testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        fs::temp_directory_path() / ("preflight-input-" + std::to_string(::getpid()) + "-" +
                                     testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(directory_);
  }
  void TearDown() override { fs::remove_all(directory_); }
  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path path = directory_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  std::string message(const auto& call) {
    try {
      call();
    } catch (const UsageError& e) {
      return e.what();
    }
    return {};
  }
  fs::path directory_;
};

// "text" in UTF-16 little or big endian, with or without a byte-order mark.
std::string utf16(std::string_view ascii, bool little, bool mark) {
  std::string out;
  if (mark) {
    out += little ? "\xFF\xFE" : "\xFE\xFF";
  }
  for (const char c : ascii) {
    out += little ? std::string{c, '\0'} : std::string{'\0', c};
  }
  return out;
}

TEST_F(InputFile, DirectoryIsCalledADirectory) {
  EXPECT_EQ(message([&] { check_input_path(directory_); }),
            directory_.string() + ": is a directory, not a file");
  EXPECT_EQ(message([&] { check_input_path(directory_ / "missing.log"); }),
            (directory_ / "missing.log").string() + ": no such file");
  EXPECT_EQ(message([&] { check_input_path(write("x.log", "x")); }), "");
  const fs::path fifo = directory_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(message([&] { check_input_path(fifo); }), "");  // <(cmd) is a FIFO
}

TEST_F(InputFile, Utf16IsDecoded) {
  const std::string text = "# nccl-tests\n#  Rank  0 Group  0\n";
  for (const bool little : {true, false}) {
    for (const bool mark : {true, false}) {
      const std::string bytes = utf16(text, little, mark);
      EXPECT_EQ(detect_text_encoding(bytes),
                little ? TextEncoding::utf16le : TextEncoding::utf16be);
      EXPECT_EQ(text_as_utf8(bytes), text) << little << mark;
    }
  }
  // Non-ASCII: "µs" and a character outside the basic plane (a surrogate pair), then a lone
  // surrogate, which becomes U+FFFD.
  using namespace std::string_literals;
  const std::string bytes =
      "\xFF\xFE"s + "\xB5\x00s\x00"s + "\x3D\xD8\x00\xDE"s + "\x00\xD8"s + "x\x00"s;
  EXPECT_EQ(text_as_utf8(bytes), "\xC2\xB5s\xF0\x9F\x98\x80\xEF\xBF\xBDx");
}

TEST_F(InputFile, Utf8PassesAndLosesItsMark) {
  EXPECT_EQ(detect_text_encoding("plain text"), TextEncoding::utf8);
  EXPECT_EQ(text_as_utf8("plain \xC2\xB5s"), "plain \xC2\xB5s");
  EXPECT_EQ(text_as_utf8("\xEF\xBB\xBFwith mark"), "with mark");
  EXPECT_EQ(text_as_utf8(""), "");
  EXPECT_EQ(text_as_utf8("a"), "a");
}

TEST_F(InputFile, NotASqliteDatabaseIsNamed) {
  const fs::path text = write("history.db", "{\"not\": \"a database\"}\n");
  const std::string error = message([&] { check_sqlite_database(text, "--db"); });
  EXPECT_EQ(error.rfind("--db " + text.string() + ": not an SQLite database", 0), 0U) << error;
  EXPECT_EQ(message([&] { check_sqlite_database(write("empty.db", ""), "--db"); }), "");
  EXPECT_EQ(message([&] { check_sqlite_database(directory_ / "new.db", "--db"); }), "");
  EXPECT_EQ(message([&] {
              check_sqlite_database(write("real.db", std::string("SQLite format 3\0rest", 20)),
                                    "--db");
            }),
            "");
}

}  // namespace
}  // namespace preflight
