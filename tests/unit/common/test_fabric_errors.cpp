#include <gtest/gtest.h>

#include <string>

#include "common/error.hpp"
#include "common/fabric.hpp"

namespace preflight {
namespace {

TEST(FabricErrors, DecodesFiErrno) {
  try {
    check_fi(-FI_ENODATA, "fi_getinfo", "prov=efa, ep=FI_EP_RDM");
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("fi_getinfo(prov=efa, ep=FI_EP_RDM)"), std::string::npos) << message;
    EXPECT_NE(message.find("No data available"), std::string::npos) << message;
    EXPECT_EQ(e.code(), -FI_ENODATA);
  }
  EXPECT_NO_THROW(check_fi(0, "fi_close", ""));
}

TEST(FabricErrors, RuntimeVersionIsDotted) {
  const std::string version = fabric_runtime_version();
  EXPECT_NE(version.find('.'), std::string::npos);
}

}  // namespace
}  // namespace preflight
