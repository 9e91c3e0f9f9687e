#include <gtest/gtest.h>
#include <stdlib.h>

#include <cerrno>
#include <string>

#include "common/error.hpp"

namespace preflight {
namespace {

TEST(Errors, MessageNamesCallArgumentsDecodedRankAndHost) {
  ::setenv("OMPI_COMM_WORLD_RANK", "5", 1);
  try {
    errno = ENOENT;
    check_errno(-1, "open", "path=/x");
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("open(path=/x)"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
    EXPECT_NE(message.find("rank 5"), std::string::npos) << message;
    EXPECT_NE(message.find(host_name()), std::string::npos) << message;
    EXPECT_EQ(e.code(), ENOENT);
    EXPECT_EQ(e.where().rank, 5);
  }
  ::unsetenv("OMPI_COMM_WORLD_RANK");
}

TEST(Errors, SuccessDoesNotThrow) {
  EXPECT_NO_THROW(check_errno(0, "close", ""));
  EXPECT_NO_THROW(check_errno_value(0, "pthread", "pthread_create", ""));
  EXPECT_THROW(check_errno_value(EAGAIN, "pthread", "pthread_create", ""), Error);
}

}  // namespace
}  // namespace preflight
