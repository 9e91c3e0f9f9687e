// Loading NCCL and the CUDA runtime at run time: the exact file --nccl-lib names (missing, not
// NCCL, too old, current), the default search, the CUDA runtime's candidates, and the network
// plugin facts read from the process's mappings.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/cuda.hpp"
#include "common/error.hpp"
#include "common/gpu_libraries.hpp"
#include "common/library_search.hpp"
#include "common/nccl.hpp"
#include "probes/version_rules.hpp"

namespace preflight {
namespace {

const std::string kFakeDir = PREFLIGHT_FAKE_LIB_DIR;

// The loaders refuse what the findings catalog calls too old: one threshold, two users.
TEST(GpuMinimums, MatchTheCatalog) {
  std::map<std::string_view, std::string_view> minimum;
  for (const auto& rule : probes::kVersionRules) {
    if (rule.kind == probes::VersionRuleKind::minimum) {
      minimum[rule.finding_id] = rule.threshold;
    }
  }
  EXPECT_EQ(parse_version(minimum.at("NCCL_TOO_OLD")),
            version_from_nccl_code(nccl::kMinimumVersionCode));
  EXPECT_EQ(parse_version(minimum.at("CUDA_TOO_OLD")),
            version_from_cuda_code(cuda::kMinimumRuntimeCode));
}

TEST(NcclLoading, MissingFileIsAUsageErrorNamingThePath) {
  nccl::LoadFailure failure;
  EXPECT_FALSE(nccl::Library::load("/nonexistent/libnccl.so.2", failure));
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::missing);
  EXPECT_NE(failure.message.find("/nonexistent/libnccl.so.2: no such file"), std::string::npos);
  GpuLibraries libraries;
  try {
    libraries.load(true, "/nonexistent/libnccl.so.2");
    FAIL() << "no usage error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--nccl-lib /nonexistent/libnccl.so.2: no such file"),
              std::string::npos)
        << e.what();
  }
}

TEST(NcclLoading, ALibraryThatIsNotNcclIsAUsageError) {
  nccl::LoadFailure failure;
  EXPECT_FALSE(nccl::Library::load(kFakeDir + "/libnccl-net-fake.so", failure));
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::not_nccl);
  EXPECT_NE(failure.message.find("not an NCCL library (no ncclGetVersion)"), std::string::npos)
      << failure.message;
  // A file that is no shared library at all.
  EXPECT_FALSE(nccl::Library::load(std::string(PREFLIGHT_REPO_DIR) + "/README.md", failure));
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::not_nccl);
  EXPECT_NE(failure.message.find("README.md"), std::string::npos) << failure.message;
  EXPECT_FALSE(nccl::Library::load(kFakeDir, failure));  // a directory
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::not_nccl);
  GpuLibraries libraries;
  EXPECT_THROW(libraries.load(true, kFakeDir + "/libnccl-net-fake.so"), UsageError);
}

TEST(NcclLoading, AnNcclOlderThanTheMinimumIsASkipReason) {
  const std::string path = kFakeDir + "/libnccl-old.so";
  nccl::LoadFailure failure;
  EXPECT_FALSE(nccl::Library::load(path, failure));
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::too_old);
  EXPECT_NE(failure.message.find("NCCL 2.16.3 is older than the minimum 2.18.0"), std::string::npos)
      << failure.message;
  GpuLibraries libraries;
  libraries.load(true, path);  // no throw: a skip, not a usage error
  EXPECT_EQ(libraries.nccl(), nullptr);
  EXPECT_NE(libraries.missing(true).find("--nccl-lib"), std::string::npos);
  EXPECT_NE(libraries.missing(true).find(path), std::string::npos);
  EXPECT_NE(libraries.missing(true).find("older than the minimum"), std::string::npos);
}

TEST(NcclLoading, TheRequestedLibraryIsTheOneLoadedAndRecorded) {
  const std::string path = kFakeDir + "/libnccl-fake.so";
  nccl::LoadFailure failure;
  const auto library = nccl::Library::load(path, failure);
  ASSERT_TRUE(library.has_value()) << failure.message;
  EXPECT_TRUE(library->requested());
  EXPECT_EQ(library->version().text, "2.28.9");
  EXPECT_EQ(library->api().version_code, 22809);
  EXPECT_EQ(std::filesystem::canonical(library->path().substr(0, library->path().find(" -> "))),
            std::filesystem::canonical(path));
  EXPECT_EQ(library->api().ncclAlltoAll, nullptr);  // this one exports no ncclAlltoAll
  // Its calls reach the fake, not another NCCL the process might have.
  nccl::UniqueId id{};
  EXPECT_EQ(library->api().ncclGetUniqueId(&id), nccl::kInternalError);
  GpuLibraries libraries;
  libraries.load(true, path);
  ASSERT_NE(libraries.nccl(), nullptr);
  EXPECT_EQ(libraries.facts()["nccl"]["version"], "2.28.9");
  EXPECT_EQ(libraries.facts()["nccl"]["requested"], true);
  // A relative path is the file in the working directory, never a soname to search.
  const auto previous = std::filesystem::current_path();
  std::filesystem::current_path(kFakeDir);
  EXPECT_TRUE(nccl::Library::load("libnccl-fake.so", failure).has_value()) << failure.message;
  EXPECT_FALSE(nccl::Library::load("libnccl.so.2", failure).has_value());
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::missing);
  std::filesystem::current_path(previous);
}

TEST(NcclLoading, DefaultSearchStartsWithTheLoadersChoice) {
  const auto candidates = nccl::default_candidates();
  ASSERT_FALSE(candidates.empty());
  EXPECT_EQ(candidates.front(), "libnccl.so.2");
  EXPECT_NE(std::find(candidates.begin(), candidates.end(), "/opt/nccl/build/lib/libnccl.so.2"),
            candidates.end());
  nccl::LoadFailure failure;
  EXPECT_FALSE(nccl::Library::load_first({"/nonexistent/a/libnccl.so.2"}, failure));
  EXPECT_EQ(failure.kind, nccl::LoadFailure::Kind::not_found);
  EXPECT_NE(failure.message.find("/nonexistent/a/libnccl.so.2: no such file"), std::string::npos);
}

TEST(CudaLoading, CandidatesAndFailuresAreNamed) {
  const auto candidates = cuda::runtime_candidates();
  ASSERT_GE(candidates.size(), 2U);
  EXPECT_EQ(candidates[0], "libcudart.so.13");
  EXPECT_EQ(candidates[1], "libcudart.so.12");
  std::string why_not;
  EXPECT_FALSE(cuda::RuntimeLibrary::load({"/nonexistent/libcudart.so.12"}, why_not));
  EXPECT_NE(why_not.find("/nonexistent/libcudart.so.12: no such file"), std::string::npos);
  EXPECT_FALSE(cuda::RuntimeLibrary::load({kFakeDir + "/libnccl-fake.so"}, why_not));
  EXPECT_NE(why_not.find("not a usable CUDA runtime"), std::string::npos) << why_not;
}

TEST(CudaLoading, TheMachinesRuntimeWhenThereIsOne) {
  std::string why_not;
  const auto runtime = cuda::RuntimeLibrary::load(cuda::runtime_candidates(), why_not);
  if (!runtime) {
    GTEST_SKIP() << why_not;
  }
  EXPECT_GE(runtime->version().parts.at(0), 12);
  // Without a driver the runtime loads and says so when asked for a device.
  const auto reason = cuda_unavailable_reason(runtime->api());
  if (reason) {
    EXPECT_NE(reason->find("cudaError"), std::string::npos) << *reason;
  }
}

TEST(NetPlugin, TheMappedPluginAndItsVersionAreFound) {
  const std::string maps =
      "7f00-7f01 r-xp 00000000 08:01 1234 /opt/amazon/ofi-nccl/lib/libnccl-net-ofi.so\n"
      "7f01-7f02 r--p 00001000 08:01 1234 /opt/amazon/ofi-nccl/lib/libnccl-net-ofi.so\n"
      "7f02-7f03 r-xp 00000000 08:01 99 /usr/lib/libnccl-net.so (deleted)\n"
      "7f03-7f04 rw-p 00000000 00:00 0 [heap]\n"
      "7f04-7f05 r-xp 00000000 08:01 5 /usr/lib/libnccl.so.2\n";
  EXPECT_EQ(mapped_libraries_in(maps, "libnccl-net"),
            (std::vector<std::string>{"/opt/amazon/ofi-nccl/lib/libnccl-net-ofi.so",
                                      "/usr/lib/libnccl-net.so"}));
  const std::string path = kFakeDir + "/libnccl-net-fake.so";
  DynamicLibrary plugin = DynamicLibrary::open(path);
  ASSERT_TRUE(plugin.loaded()) << plugin.error();
  const NetPluginFacts facts = loaded_net_plugins();
  const auto found = std::find_if(facts.paths.begin(), facts.paths.end(), [&](const auto& p) {
    return std::filesystem::equivalent(p, path);
  });
  ASSERT_NE(found, facts.paths.end());
  EXPECT_EQ(facts.versions.at(static_cast<std::size_t>(found - facts.paths.begin())),
            "1.16.2-fake");
  EXPECT_EQ(facts.to_json()["loaded"].size(), facts.paths.size());
}

}  // namespace
}  // namespace preflight
