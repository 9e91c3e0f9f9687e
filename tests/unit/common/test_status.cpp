#include <gtest/gtest.h>

#include <vector>

#include "common/status.hpp"

namespace preflight {
namespace {

TEST(Status, ExitCodesFollowTheTable) {
  EXPECT_EQ(exit_code_for(Status::pass), 0);
  EXPECT_EQ(exit_code_for(Status::warn), 0);
  EXPECT_EQ(exit_code_for(Status::warn, /*warn_as_fail=*/true), 1);
  EXPECT_EQ(exit_code_for(Status::fail), 1);
  EXPECT_EQ(exit_code_for(Status::usage), 2);
  EXPECT_EQ(exit_code_for(Status::skip), 3);
  EXPECT_EQ(exit_code_for(Status::error), 4);
  EXPECT_EQ(exit_code_for(Status::timeout), 124);
}

TEST(Status, NamesRoundTrip) {
  for (const Status status : {Status::pass, Status::warn, Status::fail, Status::usage, Status::skip,
                              Status::error, Status::timeout}) {
    EXPECT_EQ(parse_status(to_string(status)), status);
  }
  EXPECT_FALSE(parse_status("PASS").has_value());
  EXPECT_FALSE(parse_status("ok").has_value());
}

TEST(Status, SkipNeverHidesWhatRan) {
  const std::vector<Status> fail_and_skip{Status::skip, Status::fail, Status::skip};
  EXPECT_EQ(combine_statuses(fail_and_skip), Status::fail);
  const std::vector<Status> pass_and_skip{Status::skip, Status::pass};
  EXPECT_EQ(combine_statuses(pass_and_skip), Status::pass);
  const std::vector<Status> only_skip{Status::skip, Status::skip};
  EXPECT_EQ(combine_statuses(only_skip), Status::skip);
  EXPECT_EQ(combine_statuses({}), Status::skip);
}

TEST(Status, WorstStatusWins) {
  const std::vector<Status> mixed{Status::pass, Status::warn, Status::error, Status::fail};
  EXPECT_EQ(combine_statuses(mixed), Status::error);
  const std::vector<Status> with_timeout{Status::error, Status::timeout, Status::pass};
  EXPECT_EQ(combine_statuses(with_timeout), Status::timeout);
  const std::vector<Status> warn_pass{Status::pass, Status::warn};
  EXPECT_EQ(combine_statuses(warn_pass), Status::warn);
  EXPECT_TRUE(is_worse(Status::timeout, Status::error));
  EXPECT_TRUE(is_worse(Status::pass, Status::skip));
  EXPECT_FALSE(is_worse(Status::skip, Status::pass));
  EXPECT_FALSE(is_worse(Status::fail, Status::fail));
}

}  // namespace
}  // namespace preflight
