#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "common/mpi.hpp"

namespace preflight {
namespace {

// Open MPI 4.1 aborts in MPI_Error_string before MPI_Init: initialise as a singleton first.
TEST(MpiErrors, DecodesTheErrorClass) {
  int argc = 0;
  char** argv = nullptr;
  const MpiSession session(&argc, &argv);
  try {
    check_mpi(MPI_ERR_COMM, "MPI_Barrier", "comm=world");
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("MPI_Barrier(comm=world)"), std::string::npos) << message;
    EXPECT_NE(message.find("communicator"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(check_mpi(MPI_SUCCESS, "MPI_Barrier", ""));
}

}  // namespace
}  // namespace preflight
