#include <gtest/gtest.h>

#include "common/version.hpp"

namespace preflight {
namespace {

Version v(const char* text) {
  return parse_version(text).value();
}

TEST(Version, ParsesTheStacksFormats) {
  EXPECT_EQ(v("1.22.0").parts, (std::vector<int>{1, 22, 0}));
  EXPECT_EQ(v("1.8.1amzn1.2").parts, (std::vector<int>{1, 8, 1}));
  EXPECT_EQ(v("2.13.0g").parts, (std::vector<int>{2, 13, 0}));
  EXPECT_EQ(v("v1.7.3-aws").parts, (std::vector<int>{1, 7, 3}));
  EXPECT_EQ(v("2.28.9+cuda13.0").parts, (std::vector<int>{2, 28, 9}));
  EXPECT_EQ(v("aws-ofi-nccl 1.13.2-aws").parts, (std::vector<int>{1, 13, 2}));
  EXPECT_EQ(v("1.19.0amzn3.0").numeric(), "1.19.0");
  EXPECT_FALSE(parse_version("none").has_value());
  EXPECT_FALSE(parse_version("").has_value());
}

TEST(Version, ComparesNumerically) {
  EXPECT_LT(v("1.7"), v("1.7.3"));
  EXPECT_EQ(v("1.7"), v("1.7.0"));
  EXPECT_LT(v("1.9.0"), v("1.10.0"));
  EXPECT_GT(v("2.18.5"), v("2.18"));
  EXPECT_LT(v("1.28.0"), v("1.29.0"));
}

TEST(Version, IntegerEncodings) {
  EXPECT_EQ(version_from_nccl_code(22809).numeric(), "2.28.9");
  EXPECT_EQ(version_from_nccl_code(2708).numeric(), "2.7.8");
  EXPECT_EQ(version_from_cuda_code(13000).numeric(), "13.0");
  EXPECT_EQ(version_from_cuda_code(12040).numeric(), "12.4");
  EXPECT_EQ(version_from_fi((1U << 16U) | 17U).numeric(), "1.17");
}

}  // namespace
}  // namespace preflight
