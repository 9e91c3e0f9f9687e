#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "common/fabric.hpp"
#include "common/spawn.hpp"

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

// The version is the installed library's as its own tool prints it ("libfabric: 1.17.0").
TEST(FabricErrors, RuntimeVersionIsWhatFiInfoSays) {
  const std::filesystem::path fi_info = find_executable("fi_info");
  if (fi_info.empty()) {
    GTEST_SKIP() << "fi_info is not installed";
  }
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / ("fi_info_version." + std::to_string(::getpid()));
  const ProcessResult result = run_process({fi_info.string(), "--version"}, {}, 30, out);
  std::ifstream in(out);
  std::string printed;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("libfabric: ", 0) == 0) {
      printed = line.substr(std::string_view("libfabric: ").size());  // "1.17.0"
    }
  }
  std::filesystem::remove(out);
  ASSERT_EQ(shell_style_exit_code(result), 0);
  EXPECT_EQ(printed.rfind(fabric_runtime_version() + ".", 0), 0U)
      << "fi_info: " << printed << ", preflight: " << fabric_runtime_version();
}

TEST(FabricApi, AsksForAtLeast118) {
  EXPECT_EQ(wanted_fabric_api(FI_VERSION(1, 17)), FI_VERSION(1, 18));
  EXPECT_EQ(wanted_fabric_api(FI_VERSION(1, 18)), FI_VERSION(1, 18));
  // Never newer than both the headers and the library.
  const std::uint32_t headers = FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION);
  const std::uint32_t newest =
      FI_VERSION_LT(headers, kMinimumFabricApi) ? kMinimumFabricApi : headers;
  EXPECT_EQ(wanted_fabric_api(FI_VERSION(9, 0)), newest);
  EXPECT_EQ(fabric_version_text(FI_VERSION(2, 6)), "2.6");
}

// The installed library answers: Debian's 1.17 refuses 1.18 with -FI_ENOSYS and is asked again
// at 1.17, saying so; a library >= 1.18 grants what was asked.
TEST(FabricApi, FallsBackHonestlyOnALibraryOlderThan118) {
  FabricInfo hints(fi_allocinfo());
  hints.get()->ep_attr->type = FI_EP_RDM;
  hints.get()->caps = FI_TAGGED;
  hints.get()->fabric_attr->prov_name = strdup("shm");
  fi_info* found = nullptr;
  FabricApi api;
  const int result = fabric_getinfo(hints.get(), &found, api);
  const FabricInfo owned(found);
  ASSERT_EQ(result, 0) << fi_strerror(-result);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(api.library, fi_version());
  EXPECT_EQ(found->fabric_attr->api_version, api.granted);
  if (FI_VERSION_LT(fi_version(), FI_VERSION(1, 18))) {
    EXPECT_EQ(api.requested, FI_VERSION(1, 18));
    EXPECT_EQ(api.granted, fi_version());
    EXPECT_NE(api.fallback.find("refused API 1.18 (fi_getinfo: -FI_ENOSYS"), std::string::npos)
        << api.fallback;
    // What the fallback works around: asking the old library for 1.18 directly fails.
    fi_info* direct = nullptr;
    EXPECT_EQ(fi_getinfo(FI_VERSION(1, 18), nullptr, nullptr, 0, hints.get(), &direct), -FI_ENOSYS);
  } else {
    EXPECT_EQ(api.granted, api.requested);
    EXPECT_TRUE(api.fallback.empty());
  }
}

}  // namespace
}  // namespace preflight
