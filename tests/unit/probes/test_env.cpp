#include <gtest/gtest.h>

#include "common/error.hpp"
#include "probe_test_support.hpp"
#include "probes/env_probe.hpp"
#include "probes/gather_env.hpp"
#include "probes/judge_env.hpp"

namespace preflight::probes {
namespace {

using testing::find_check;
using testing::ids;
using testing::options_for;
using testing::sysfs_fixture;
using testing::TempRoot;

ComponentFact present(const std::string& text) {
  ComponentFact fact;
  fact.present = true;
  fact.display = text;
  fact.version = parse_version(text);
  return fact;
}

// A p5 with the versions the rules look at; a clean job environment.
EnvFacts p5_facts() {
  EnvFacts facts;
  facts.versions.aws_ofi_nccl = present("1.13.2-aws");
  facts.versions.libfabric = present("2.0");
  facts.versions.efa_installer = present("1.38.0");
  facts.versions.nccl = present("2.28.9");
  facts.versions.kernel = present("6.1.119-129.201.amzn2023.x86_64");
  facts.efa_device_count = 32;
  facts.interfaces = {"lo", "enp71s0", "enp105s0"};
  facts.interfaces_known = true;
  facts.memlock = {true, true, 0, "test", ""};
  facts.huge_pages = {true, 1024, 2048, "test"};
  facts.environment.variables = {{"FI_EFA_USE_HUGE_PAGE", "0"}};
  facts.environment.origin = "test";
  return facts;
}

PlatformContext p5_context() {
  PlatformContext context;
  context.instance_type = "p5.48xlarge";
  context.platform = find_platform("p5.48xlarge");
  return context;
}

TEST(EnvFile, Parses) {
  const auto source = parse_env_text(
      "# job env\n\nexport FI_PROVIDER=efa\nNCCL_PROTO=\"simple\"\nNCCL_DEBUG='INFO'\n"
      "  NCCL_SOCKET_IFNAME = en \nEMPTY=\n",
      "job.env");
  EXPECT_EQ(source.variables.at("FI_PROVIDER"), "efa");
  EXPECT_EQ(source.variables.at("NCCL_PROTO"), "simple");
  EXPECT_EQ(source.variables.at("NCCL_DEBUG"), "INFO");
  EXPECT_EQ(source.variables.at("NCCL_SOCKET_IFNAME"), "en");
  EXPECT_EQ(source.variables.at("EMPTY"), "");
  EXPECT_EQ(source.lines.at("NCCL_PROTO"), 4);
}

TEST(EnvFile, MalformedLineIsAUsageErrorNamingFileAndLine) {
  for (const auto& [text, line] :
       std::vector<std::pair<std::string, std::string>>{{"A=1\nNO_EQUALS\n", "job.env:2:"},
                                                        {"A=1\n\n=value\n", "job.env:3:"},
                                                        {"1BAD=x\n", "job.env:1:"},
                                                        {"A=\"unterminated\n", "job.env:1:"}}) {
    try {
      (void)parse_env_text(text, "job.env");
      FAIL() << "accepted: " << text;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(line), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW((void)parse_env_file("/nonexistent/job.env"), UsageError);
}

TEST(EnvRules, SocketIfnameSemantics) {
  const std::vector<std::string> interfaces{"lo", "eth0", "enp71s0", "docker0"};
  EXPECT_EQ(interfaces_selected("en", interfaces), (std::vector<std::string>{"enp71s0"}));
  EXPECT_EQ(interfaces_selected("eth,en", interfaces),
            (std::vector<std::string>{"eth0", "enp71s0"}));
  EXPECT_EQ(interfaces_selected("=eth", interfaces), std::vector<std::string>{});
  EXPECT_EQ(interfaces_selected("=eth0", interfaces), (std::vector<std::string>{"eth0"}));
  EXPECT_EQ(interfaces_selected("^docker,lo", interfaces),
            (std::vector<std::string>{"eth0", "enp71s0"}));
  EXPECT_TRUE(interfaces_selected("ib", interfaces).empty());
}

TEST(EnvRules, CleanEnvironmentOnAnEfaMachineFiresNothing) {
  const auto checks = judge_env(p5_facts(), p5_context());
  EXPECT_TRUE(fired_ids(checks).empty());
  EXPECT_NE(find_check(checks, "ENV_RDMAV_FORK_SAFE_SET", Status::pass), nullptr);
}

TEST(EnvRules, EveryRuleFires) {
  EnvFacts facts = p5_facts();
  facts.versions.efa_installer = present("1.28.0");
  facts.environment.variables = {
      {"RDMAV_FORK_SAFE", "1"},        {"FI_PROVIDER", "efa"},       {"NCCL_PROTO", "Simple"},
      {"FI_EFA_USE_DEVICE_RDMA", "1"}, {"FI_EFA_FORK_SAFE", "1"},    {"NCCL_MIN_CHANNELS", "32"},
      {"NCCL_BUFFSIZE", "8388608"},    {"NCCL_SOCKET_IFNAME", "ib"}, {"FI_EFA_USE_HUGE_PAGE", "1"}};
  facts.memlock = {true, false, 64U << 10U, "test", ""};
  facts.huge_pages = {true, 0, 2048, "test"};
  const auto checks = judge_env(facts, p5_context());
  EXPECT_EQ(fired_ids(checks),
            ids({"ENV_RDMAV_FORK_SAFE_SET", "ENV_FI_PROVIDER_STALE", "ENV_NCCL_PROTO_STALE",
                 "ENV_FI_EFA_USE_DEVICE_RDMA_STALE", "ENV_FI_EFA_SET_CUDA_SYNC_MEMOPS_NEEDED",
                 "ENV_FI_EFA_FORK_SAFE_UNNEEDED", "ENV_NCCL_TUNING_OVERRIDE",
                 "ENV_NCCL_SOCKET_IFNAME_NO_MATCH", "ENV_HUGE_PAGE_FORK", "MEMLOCK_LIMITED",
                 "HUGEPAGES_UNAVAILABLE"}));
  EXPECT_NE(find_check(checks, "ENV_NCCL_SOCKET_IFNAME_NO_MATCH", Status::fail), nullptr);
  EXPECT_NE(find_check(checks, "MEMLOCK_LIMITED", Status::fail), nullptr);
  const auto* sync = find_check(checks, "ENV_FI_EFA_SET_CUDA_SYNC_MEMOPS_NEEDED", Status::warn);
  ASSERT_NE(sync, nullptr);
  EXPECT_NE(sync->message.find("1.28.0 < 1.29.1 with NCCL 2.28.9"), std::string::npos)
      << sync->message;
}

TEST(EnvRules, VersionAwareness) {
  EnvFacts facts = p5_facts();
  facts.environment.variables["FI_PROVIDER"] = "efa";
  facts.environment.variables["NCCL_PROTO"] = "simple";
  facts.environment.variables["FI_EFA_FORK_SAFE"] = "1";
  // The old plugin of the old-versions fixture still needs them; an old kernel needs fork safety.
  facts.versions.aws_ofi_nccl = present("1.5.0aws");
  facts.versions.kernel = present("4.18.0-425.13.1.el8_7.x86_64");
  EXPECT_TRUE(fired_ids(judge_env(facts, p5_context())).empty());
  // Unknown plugin version: cannot judge, so skip (never a silent pass).
  facts.versions.aws_ofi_nccl = ComponentFact{};
  facts.versions.aws_ofi_nccl.reason = "plugin not found";
  const auto checks = judge_env(facts, p5_context());
  EXPECT_NE(find_check(checks, "ENV_FI_PROVIDER_STALE", Status::skip), nullptr);
  EXPECT_TRUE(fired_ids(checks).empty());
}

TEST(EnvRules, InstanceFamilyRule) {
  EnvFacts facts = p5_facts();
  PlatformContext g5;
  g5.instance_type = "g5.48xlarge";
  EXPECT_EQ(fired_ids(judge_env(facts, g5)), ids({"ENV_NCCL_SHM_USE_CUDA_MEMCPY_RECOMMENDED"}));
  facts.environment.variables["NCCL_SHM_USE_CUDA_MEMCPY"] = "1";
  EXPECT_TRUE(fired_ids(judge_env(facts, g5)).empty());
  EXPECT_EQ(find_check(judge_env(facts, p5_context()), "ENV_NCCL_SHM_USE_CUDA_MEMCPY_RECOMMENDED",
                       Status::pass),
            nullptr);  // not a g5/g6: the rule says nothing
}

TEST(EnvGather, LoadsOnlyTheLibrariesASetVariableNeeds) {
  VersionFacts files;
  files.efa_installer = present("1.38.0");
  EnvSource clean;
  EXPECT_TRUE(env_version_needs(clean, files).empty());
  EnvSource rdma;
  rdma.variables = {{"FI_EFA_USE_DEVICE_RDMA", "1"}};
  EXPECT_EQ(env_version_needs(rdma, files),
            std::set<VersionComponent>{VersionComponent::libfabric});
  // NCCL matters for the sync-memops rule only with an installer older than 1.29.1.
  EXPECT_TRUE(env_version_needs(clean, files).empty());
  files.efa_installer = present("1.22.0");
  EXPECT_EQ(env_version_needs(clean, files), std::set<VersionComponent>{VersionComponent::nccl});
}

TEST(EnvFixtures, OldVersionsWithAJobFile) {
  const TempRoot root;
  root.write("job.env", "FI_EFA_USE_HUGE_PAGE=0\nFI_EFA_SET_CUDA_SYNC_MEMOPS=0\nFI_PROVIDER=efa\n");
  EnvOptions options;
  options.probe = options_for(sysfs_fixture("old-versions"));
  options.env_file = (root.path() / "job.env").string();
  const EnvRun run = run_env(options, /*query_libraries=*/false);
  EXPECT_TRUE(fired_ids(run.report.checks).empty()) << run.report.verdict.summary;
  EXPECT_EQ(run.report.inventory.env.at("FI_PROVIDER"), "efa");
  EXPECT_EQ(run.report.inventory.instance_type, "p5.48xlarge");
  // The job file without the sync-memops workaround: NCCL's version decides, and it is unknown
  // without library queries, so the rule skips.
  root.write("job.env", "FI_EFA_USE_HUGE_PAGE=0\n");
  const EnvRun unknown = run_env(options, false);
  EXPECT_NE(
      find_check(unknown.report.checks, "ENV_FI_EFA_SET_CUDA_SYNC_MEMOPS_NEEDED", Status::skip),
      nullptr);
}

TEST(EnvLive, RunsHere) {
  EnvOptions options;
  options.probe = options_for("/");
  options.probe.environment = {{"NCCL_SOCKET_IFNAME", "lo"}, {"PATH", "/usr/bin"}};
  const EnvRun run = run_env(options);
  EXPECT_TRUE(run.report.verdict.exit_code == 0 || run.report.verdict.exit_code == 1);
  EXPECT_NE(find_check(run.report.checks, "ENV_NCCL_SOCKET_IFNAME_NO_MATCH", Status::pass),
            nullptr);
}

}  // namespace
}  // namespace preflight::probes
