#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/error.hpp"
#include "common/size_spec.hpp"

namespace preflight {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string usage_message(const std::string& spec) {
  try {
    (void)parse_size_spec(spec);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SizeSpec, GeometricRangeIncludesBothEnds) {
  const auto sizes = parse_size_spec("8:16G:x2");
  ASSERT_EQ(sizes.size(), 32U);  // 2^3 .. 2^34
  EXPECT_EQ(sizes.front(), 8U);
  EXPECT_EQ(sizes.back(), 16ULL << 30U);
  EXPECT_EQ(sizes[1], 16U);
}

TEST(SizeSpec, ArithmeticRange) {
  const auto sizes = parse_size_spec("1M:4M:+1M");
  EXPECT_THAT(sizes, ElementsAre(1U << 20U, 2U << 20U, 3U << 20U, 4U << 20U));
}

TEST(SizeSpec, DefaultStepIsTimesTwoAndRangeStopsBelowMax) {
  EXPECT_THAT(parse_size_spec("3:20"), ElementsAre(3, 6, 12));
  EXPECT_THAT(parse_size_spec("1K:10K:x4"), ElementsAre(1024, 4096));
}

TEST(SizeSpec, ListsAreSortedAndUnique) {
  EXPECT_THAT(parse_size_spec("1M,8,1K,8"), ElementsAre(8, 1024, 1U << 20U));
  EXPECT_THAT(parse_size_spec("0,1"), ElementsAre(0, 1));
}

TEST(SizeSpec, SuffixesArePowersOf1024InAnyCase) {
  EXPECT_EQ(parse_size("1k"), 1024U);
  EXPECT_EQ(parse_size("1KiB"), 1024U);
  EXPECT_EQ(parse_size("2MB"), 2U << 20U);
  EXPECT_EQ(parse_size("1G"), 1ULL << 30U);
  EXPECT_EQ(parse_size("1T"), 1ULL << 40U);
  EXPECT_EQ(parse_size("4096"), 4096U);
}

TEST(SizeSpec, ErrorsNameTheToken) {
  EXPECT_THAT(usage_message("8:4"), HasSubstr("'8:4'"));
  EXPECT_THAT(usage_message("8:4"), HasSubstr("above maximum"));
  EXPECT_THAT(usage_message("8:16:x1"), HasSubstr("'x1'"));
  EXPECT_THAT(usage_message("8:16:+0"), HasSubstr("'+0'"));
  EXPECT_THAT(usage_message("8Q"), HasSubstr("'8Q'"));
  EXPECT_THAT(usage_message("16E"), HasSubstr("unknown suffix"));
  EXPECT_THAT(usage_message("99999999999T"), HasSubstr("overflows"));
  EXPECT_THAT(usage_message("99999999999999999999999"), HasSubstr("overflows"));
  EXPECT_THAT(usage_message(""), HasSubstr("empty"));
  EXPECT_THAT(usage_message("8,,16"), HasSubstr("empty list item"));
  EXPECT_THAT(usage_message("0:16"), HasSubstr("start above 0"));
  EXPECT_THAT(usage_message("1:2:3:4"), HasSubstr("MIN:MAX"));
  EXPECT_THAT(usage_message("1:1T:+1"), HasSubstr("more than"));
}

TEST(SizeSpec, NearTheTopOfTheRangeDoesNotOverflow) {
  const auto sizes = parse_size_spec("8T:16383T:x2");
  EXPECT_EQ(sizes.back(), 8192ULL << 40U);  // the next doubling would pass 2^64
}

TEST(SizeSpec, FormatIsExact) {
  EXPECT_EQ(format_size(8), "8");
  EXPECT_EQ(format_size(1024), "1K");
  EXPECT_EQ(format_size(1536), "1536");
  EXPECT_EQ(format_size(16ULL << 30U), "16G");
}

}  // namespace
}  // namespace preflight
