#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "domain/platform.hpp"
#include "probe_test_support.hpp"
#include "probes/gather_versions.hpp"
#include "probes/judge_versions.hpp"
#include "probes/versions_probe.hpp"

namespace preflight::probes {
namespace {

using testing::find_check;
using testing::ids;
using testing::options_for;
using testing::sysfs_fixture;
using testing::TempRoot;

// File-based facts of a fixture; library rows off, so the result does not depend on what this
// machine has installed.
VersionFacts fixture_facts(const std::string& name) {
  VersionGatherOptions options;
  options.query_libraries = false;
  return gather_versions(RootFs(sysfs_fixture(name)), options);
}

ComponentFact fact(const std::string& version_text, std::string location = "test") {
  ComponentFact result;
  result.present = true;
  result.version = parse_version(version_text);
  result.display = version_text;
  result.location = std::move(location);
  return result;
}

TEST(VersionParsers, InstallerFile) {
  EXPECT_EQ(parse_efa_installer_version("# EFA installer version: 1.38.0\n# Debug packages "
                                        "installed: no\n"),
            "1.38.0");
  EXPECT_EQ(parse_efa_installer_version("$ cat x\n  # EFA installer version: 1.7.0\n"), "1.7.0");
  EXPECT_FALSE(parse_efa_installer_version("# Packages installed:\nfoo\n").has_value());
}

TEST(VersionParsers, NvidiaProcVersionBothModuleFlavours) {
  EXPECT_EQ(parse_nvidia_proc_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  "
                                      "550.127.05  Tue Oct  8 03:22:07 UTC 2024\nGCC version: "),
            "550.127.05");
  EXPECT_EQ(parse_nvidia_proc_version("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  "
                                      "570.133.20  Release Build  (dvs-builder@U16)\n"),
            "570.133.20");
  EXPECT_FALSE(parse_nvidia_proc_version("garbage\n").has_value());
}

TEST(VersionParsers, OsReleaseRdmaCoreAndPackages) {
  EXPECT_EQ(
      os_release_value("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "PRETTY_NAME"),
      "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(os_release_value("VERSION_ID='8.7'\n", "VERSION_ID"), "8.7");
  EXPECT_FALSE(os_release_value("PRETTY=x\n", "PRETTY_NAME").has_value());
  EXPECT_EQ(rdma_core_from_library_name("libibverbs.so.1.14.44.0"), "44.0");
  EXPECT_EQ(rdma_core_from_library_name("libibverbs.so.1.14.54.0"), "54.0");
  EXPECT_FALSE(rdma_core_from_library_name("libibverbs.so.1").has_value());
  EXPECT_FALSE(rdma_core_from_library_name("libibverbs.so.1.14.x.0").has_value());
  const std::string packages =
      "# Packages installed:\nrdma-core-devel-43.0-1.el8.x86_64 rdma-core-43.0-1.el8.x86_64 "
      "libfabric-aws-1.17.0-1.el8.x86_64 libfabric-aws-devel-1.17.0-1.el8.x86_64 "
      "efa-2.1.1-1.el8.x86_64\n";
  EXPECT_EQ(package_version(packages, "rdma-core"), "43.0");
  EXPECT_EQ(package_version(packages, "libfabric-aws"), "1.17.0");
  EXPECT_EQ(package_version(packages, "efa"), "2.1.1");
  EXPECT_FALSE(package_version(packages, "openmpi40-aws").has_value());
}

// Real installer files (shell prompt lines, old version strings) parse like the fixtures.
TEST(VersionParsers, CorpusInstallerFiles) {
  const std::filesystem::path corpus =
      std::filesystem::path(PREFLIGHT_SHARED_DIR) / "corpus" / "efa-misc";
  if (!std::filesystem::exists(corpus)) {
    GTEST_SKIP() << corpus << " absent";
  }
  const auto read = [&](const std::string& name) {
    std::ifstream stream(corpus / name);
    std::ostringstream text;
    text << stream.rdbuf();
    return text.str();
  };
  const std::string old = read("efa_installed_packages-1.7.0-amzn2.txt");
  EXPECT_EQ(parse_efa_installer_version(old), "1.7.0");
  EXPECT_EQ(package_version(old, "libfabric-aws"), "1.8.1amzn1.2");
  EXPECT_EQ(parse_version(*package_version(old, "libfabric-aws"))->numeric(), "1.8.1");
  EXPECT_EQ(package_version(old, "rdma-core"), "25.0");
  const std::string el8 = read("efa_installed_packages-1.22.1-el8.txt");
  EXPECT_EQ(parse_efa_installer_version(el8), "1.22.1");
  EXPECT_EQ(package_version(el8, "efa"), "2.1.1");
  EXPECT_EQ(parse_efa_installer_version(read("efa_installed_packages-1.22.0-el8.txt")), "1.22.0");
}

TEST(VersionGather, HealthyFixtureFileRows) {
  const VersionFacts facts = fixture_facts("p5en-healthy");
  EXPECT_FALSE(facts.live);
  EXPECT_EQ(facts.efa_device_count, 16);
  EXPECT_EQ(facts.efa_installer.display, "1.38.0");
  EXPECT_EQ(facts.aws_ofi_nccl.display, "1.13.2-aws");
  EXPECT_EQ(facts.aws_ofi_nccl.location, "/opt/amazon/ofi-nccl/lib/libnccl-net.so");
  EXPECT_EQ(facts.rdma_core.display, "54.0");
  EXPECT_EQ(facts.efa_kmod.display, "2.13.0g");
  EXPECT_EQ(facts.nvidia_driver.display, "550.127.05");
  EXPECT_NE(facts.os.display.find("Amazon Linux 2023"), std::string::npos) << facts.os.display;
  EXPECT_EQ(facts.kernel.display, "6.1.119-129.201.amzn2023.x86_64");
  EXPECT_FALSE(facts.nccl.present);
  EXPECT_EQ(facts.nccl.reason, "library queries disabled");
}

TEST(VersionGather, OldVersionsFindsTheLegacyPluginAndItsUsingString) {
  const VersionFacts facts = fixture_facts("old-versions");
  EXPECT_EQ(facts.efa_installer.display, "1.22.0");
  ASSERT_TRUE(facts.aws_ofi_nccl.present) << facts.aws_ofi_nccl.reason;
  EXPECT_EQ(facts.aws_ofi_nccl.display, "1.5.0aws");
  EXPECT_EQ(facts.aws_ofi_nccl.location, "/opt/aws-ofi-nccl/lib/libnccl-net.so");
  EXPECT_EQ(facts.rdma_core.display, "43.0");
  EXPECT_EQ(facts.efa_kmod.display, "2.1.1g");
  EXPECT_EQ(facts.nvidia_driver.display, "525.85.12");
  EXPECT_EQ(facts.kernel.display, "4.18.0-425.13.1.el8_7.x86_64");
}

TEST(VersionJudge, OldVersionsYieldExactlyTheTwoFindings) {
  const VersionFacts facts = fixture_facts("old-versions");
  const auto checks = judge_versions(facts, find_platform("p5.48xlarge"));
  EXPECT_EQ(fired_ids(checks), ids({"EFA_INSTALLER_TOO_OLD", "OFI_NCCL_TOO_OLD"}));
  const auto* installer = find_check(checks, "EFA_INSTALLER_TOO_OLD", Status::warn);
  ASSERT_NE(installer, nullptr);
  EXPECT_NE(installer->message.find("1.22.0 is older than the minimum 1.29.0"), std::string::npos)
      << installer->message;
  EXPECT_FALSE(installer->remediation.empty());
}

TEST(VersionJudge, HealthyFixturesYieldNoFinding) {
  for (const char* name : {"p5en-healthy", "p4d-healthy", "p5en-missing-device"}) {
    const VersionFacts facts = fixture_facts(name);
    const RootFs fs(sysfs_fixture(name));
    const auto context = resolve_platform(fs, InstanceTypeQuery{});
    EXPECT_TRUE(fired_ids(judge_versions(facts, context.platform)).empty()) << name;
  }
}

TEST(VersionJudge, RulesTable) {
  VersionFacts facts;
  facts.aws_ofi_nccl = fact("1.17.2");
  facts.libfabric = fact("1.21");
  facts.libfabric_header = fact("1.22");
  facts.cuda_driver = fact("12.2");
  facts.cuda_runtime = fact("12.4");
  facts.nccl = fact("2.17.1");
  facts.efa_installer = fact("1.29.0");
  const auto checks = judge_versions(facts, nullptr);
  EXPECT_EQ(fired_ids(checks), ids({"OFI_NCCL_LIBFABRIC_TOO_OLD", "CUDA_DRIVER_TOO_OLD",
                                    "NCCL_TOO_OLD", "LIBFABRIC_HEADER_RUNTIME_MISMATCH"}));
  EXPECT_NE(find_check(checks, "OFI_NCCL_LIBFABRIC_TOO_OLD", Status::fail), nullptr);
  EXPECT_NE(find_check(checks, "CUDA_DRIVER_TOO_OLD", Status::fail), nullptr);
  EXPECT_NE(find_check(checks, "EFA_INSTALLER_TOO_OLD", Status::pass), nullptr);

  facts.libfabric = fact("1.22");
  facts.cuda_driver = fact("12.4");
  facts.nccl = fact("2.18");
  facts.cuda_runtime = fact("11.8");
  const auto second = judge_versions(facts, nullptr);
  EXPECT_EQ(fired_ids(second), ids({"CUDA_TOO_OLD"}));
  EXPECT_NE(find_check(second, "CUDA_TOO_OLD", Status::warn), nullptr);
  EXPECT_NE(find_check(second, "OFI_NCCL_LIBFABRIC_TOO_OLD", Status::pass), nullptr);
}

TEST(VersionJudge, MissingRowsAreSkipsWithTheirReason) {
  VersionFacts facts;
  facts.nccl.reason = "libnccl.so.2 not found (tried 3 places: a, ...)";
  const auto checks = judge_versions(facts, nullptr);
  const auto* nccl = find_check(checks, "VERSION_NCCL", Status::skip);
  ASSERT_NE(nccl, nullptr);
  EXPECT_EQ(nccl->message, facts.nccl.reason);
  EXPECT_TRUE(fired_ids(checks).empty());
  // Nothing found at all: every check skips, so the run exits 3.
  EXPECT_EQ(reports::compute_verdict(checks, false).exit_code, exit_code::skip);
}

TEST(VersionJudge, EfaMachineWithoutPluginOrProvider) {
  VersionFacts facts;
  facts.efa_device_count = 16;
  facts.libfabric = fact("1.17");
  facts.providers.queried = true;
  facts.providers.usable = {"tcp", "shm"};
  facts.providers.efa_compiled_in = false;
  facts.aws_ofi_nccl.reason = "aws-ofi-nccl plugin not found";
  facts.aws_ofi_nccl_searched = {"/opt/amazon/ofi-nccl/lib"};
  const auto checks = judge_versions(facts, find_platform("p5en.48xlarge"));
  EXPECT_EQ(fired_ids(checks), ids({"EFA_PROVIDER_MISSING", "OFI_NCCL_NOT_FOUND"}));
  // Without EFA anywhere, neither is required.
  facts.efa_device_count = 0;
  EXPECT_TRUE(fired_ids(judge_versions(facts, nullptr)).empty());
  // Under --root, a provider built into this machine's libfabric is enough.
  facts.efa_device_count = 16;
  facts.live = false;
  facts.providers.efa_compiled_in = true;
  facts.aws_ofi_nccl = fact("1.13.2-aws");
  EXPECT_TRUE(fired_ids(judge_versions(facts, find_platform("p5en.48xlarge"))).empty());
}

TEST(VersionJudge, PlatformMinimumOverridesTheDefault) {
  VersionFacts facts;
  facts.efa_installer = fact("1.30.0");
  Platform strict = *find_platform("p5.48xlarge");
  strict.min_versions["efa_installer"] = *parse_version("1.31.0");
  const auto checks = judge_versions(facts, &strict);
  const auto* check = find_check(checks, "EFA_INSTALLER_TOO_OLD", Status::warn);
  ASSERT_NE(check, nullptr);
  EXPECT_NE(check->message.find("minimum 1.31.0 (p5.48xlarge minimum"), std::string::npos)
      << check->message;
}

TEST(VersionGather, PluginSearchOrderFollowsTheLoader) {
  const TempRoot root;
  root.write("etc/ld.so.conf.d/100_ofinccl.conf", "# plugin\n/opt/custom/ofi/lib\n");
  root.write("etc/ld.so.conf.d/other.conf", "/opt/other/lib\n");
  const auto dirs = ofi_nccl_search_dirs(RootFs(root.path()), {{"LD_LIBRARY_PATH", "/ld/path"}});
  ASSERT_GE(dirs.size(), 3U);
  EXPECT_EQ(dirs[0], "/opt/custom/ofi/lib");  // LD_LIBRARY_PATH is the live machine's only
  EXPECT_EQ(dirs[1], "/opt/amazon/ofi-nccl/lib");
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), "/opt/other/lib"), 0);
  const auto live = ofi_nccl_search_dirs(RootFs("/"), {{"LD_LIBRARY_PATH", "/ld/path:/x"}});
  EXPECT_EQ(live[0], "/ld/path");
  EXPECT_EQ(live[1], "/x");
}

TEST(VersionGather, PluginWithoutVersionStringIsPresentButUnversioned) {
  const TempRoot root;
  root.write("opt/amazon/ofi-nccl/lib/libnccl-net.so", "no version here");
  VersionGatherOptions options;
  options.query_libraries = false;
  const auto facts = gather_versions(RootFs(root.path()), options);
  EXPECT_TRUE(facts.aws_ofi_nccl.present);
  EXPECT_FALSE(facts.aws_ofi_nccl.version.has_value());
  EXPECT_FALSE(facts.efa_installer.present);
  EXPECT_NE(facts.efa_installer.reason.find("not installed"), std::string::npos);
}

TEST(VersionsLive, RunsWithWhateverThisMachineHas) {
  ProbeOptions options = options_for("/");
  const VersionsRun run = run_versions(options);
  // Every row is either found or skipped with a reason; the exit code is 0, 1 or 3.
  for (const auto& check : run.report.checks) {
    EXPECT_FALSE(check.message.empty()) << check.id;
  }
  EXPECT_TRUE(run.report.verdict.exit_code == 0 || run.report.verdict.exit_code == 1 ||
              run.report.verdict.exit_code == 3)
      << run.report.verdict.summary;
  if (run.facts.nccl.present) {
    EXPECT_FALSE(run.facts.nccl.location.empty());
    EXPECT_TRUE(run.facts.nccl.version.has_value());
    EXPECT_EQ(run.report.inventory.versions.at("nccl_path"), run.facts.nccl.location);
  } else {
    EXPECT_FALSE(run.facts.nccl.reason.empty());
  }
  EXPECT_TRUE(run.facts.kernel.present);
  // What the build found is installed here, so the probe must find it too (at run time, through
  // its own search), whatever else the machine lacks.
#if PREFLIGHT_TEST_BUILT_WITH_LIBFABRIC
  EXPECT_TRUE(run.facts.libfabric.present) << run.facts.libfabric.reason;
  EXPECT_TRUE(run.facts.libfabric.version.has_value());
  ASSERT_TRUE(run.facts.libfabric_header.version.has_value());
  // pkg-config's version of the libfabric the build compiled against ("1.17.0": major.minor).
  EXPECT_EQ(*run.facts.libfabric_header.version, *parse_version(PREFLIGHT_TEST_LIBFABRIC_VERSION));
#endif
#if PREFLIGHT_TEST_BUILT_WITH_MPI
  EXPECT_TRUE(run.facts.mpi.present) << run.facts.mpi.reason;
  EXPECT_NE(run.facts.mpi.display.find("MPI"), std::string::npos) << run.facts.mpi.display;
#endif
}

}  // namespace
}  // namespace preflight::probes
