#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "probe_test_support.hpp"
#include "probes/file_scan.hpp"
#include "probes/library_search.hpp"

namespace preflight::probes {
namespace {

using testing::TempRoot;

TEST(VersionToken, Forms) {
  EXPECT_EQ(version_token("1.13.2-aws\nNET/OFI"), "1.13.2-aws");
  EXPECT_EQ(version_token("1.5.0aws"), "1.5.0aws");
  EXPECT_EQ(version_token("v1.7.3-aws\""), "v1.7.3-aws");
  EXPECT_EQ(version_token(std::string_view("1.16.2\0xyz", 10)), "1.16.2");
  EXPECT_FALSE(version_token("%s").has_value());
  EXPECT_FALSE(version_token("").has_value());
  EXPECT_FALSE(version_token("version").has_value());
}

TEST(FileScan, FindsAMarkerAcrossChunkBoundariesInBinaryBytes) {
  const TempRoot root;
  std::string bytes(1U << 20U, '\0');  // one chunk of NULs
  const std::string marker = "Initializing aws-ofi-nccl ";
  // Straddle the first 1 MiB boundary.
  bytes.replace(bytes.size() - 10, 10, marker.substr(0, 10));
  bytes += marker.substr(10) + "1.16.2" + std::string(1, '\0') + "tail";
  root.write("libnccl-net.so", bytes);
  const auto version = find_version_after(root.path() / "libnccl-net.so", marker);
  ASSERT_TRUE(version.has_value());
  EXPECT_EQ(*version, "1.16.2");
  EXPECT_TRUE(file_contains(root.path() / "libnccl-net.so", "tail"));
  EXPECT_FALSE(file_contains(root.path() / "libnccl-net.so", "efadv_query_device"));
  EXPECT_FALSE(find_version_after(root.path() / "missing.so", marker).has_value());
}

TEST(FileScan, SkipsMarkersWithoutAVersion) {
  const TempRoot root;
  root.write("plugin.so",
             std::string("aws-ofi-nccl %s") + '\0' + "NET/OFI Using aws-ofi-nccl 1.5.0aws");
  EXPECT_EQ(find_version_after(root.path() / "plugin.so", "aws-ofi-nccl "), "1.5.0aws");
}

TEST(LibrarySearch, CandidatesAndAttempts) {
  const auto candidates = library_candidates({"libx.so.1", "libx.so"}, {"/a", "", "/b"});
  EXPECT_EQ(candidates, (std::vector<std::string>{"libx.so.1", "libx.so", "/a/libx.so.1",
                                                  "/a/libx.so", "/b/libx.so.1", "/b/libx.so"}));
  const auto opened = open_first_library({"libpreflight-does-not-exist.so.9", "/nonexistent/x.so"});
  EXPECT_FALSE(opened.library.loaded());
  ASSERT_EQ(opened.attempts.size(), 2U);
  EXPECT_NE(opened.attempts[1].find("no such file"), std::string::npos);
  // libc is always there: the loader's path is reported.
  const auto libc = open_first_library({"libc.so.6"});
  ASSERT_TRUE(libc.library.loaded());
  EXPECT_NE(libc.path.find("libc.so.6"), std::string::npos);
}

}  // namespace
}  // namespace preflight::probes
