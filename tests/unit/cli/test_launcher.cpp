#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/launcher.hpp"
#include "common/error.hpp"

namespace preflight::cli {
namespace {

using ::testing::ElementsAre;

TEST(Launcher, ChoosesSrunOnlyInsideAnAllocation) {
  EXPECT_EQ(choose_launcher(std::nullopt, {true, true, true}), LauncherKind::srun);
  EXPECT_EQ(choose_launcher(std::nullopt, {false, true, true}), LauncherKind::mpirun);
  EXPECT_EQ(choose_launcher(std::nullopt, {true, false, true}), LauncherKind::mpirun);
  EXPECT_EQ(choose_launcher(LauncherKind::mpirun, {true, true, true}), LauncherKind::mpirun);
  EXPECT_EQ(parse_launcher("srun"), LauncherKind::srun);
  EXPECT_FALSE(parse_launcher("ssh").has_value());
}

TEST(Launcher, MpirunArgvOneRankPerNode) {
  LaunchSpec spec;
  spec.ranks = 3;
  spec.one_rank_per_node = true;
  spec.hosts = {"vc1", "vc2", "vc3"};
  spec.allow_run_as_root = true;
  spec.forward_env = {"FI_PROVIDER"};
  spec.extra_args = {"--mca", "pml", "ob1"};
  // Across hosts, Open MPI is told to notice a host that stops answering (keepalive).
  EXPECT_THAT(
      launch_argv(LauncherKind::mpirun, spec, {"/bin/preflight-p2p", "--x"}),
      ElementsAre("mpirun", "--allow-run-as-root", "--host", "vc1,vc2,vc3", "-np", "3", "--map-by",
                  "node", "-x", "FI_PROVIDER", "--mca", "oob_tcp_keepalive_time", "5", "--mca",
                  "oob_tcp_keepalive_intvl", "2", "--mca", "oob_tcp_keepalive_probes", "3", "--mca",
                  "pml", "ob1", "/bin/preflight-p2p", "--x"));
  // Unless the site's launcher arguments already say how.
  spec.extra_args = {"--mca", "oob_tcp_keepalive_time", "2"};
  EXPECT_THAT(
      launch_argv(LauncherKind::mpirun, spec, {"cmd"}),
      ElementsAre("mpirun", "--allow-run-as-root", "--host", "vc1,vc2,vc3", "-np", "3", "--map-by",
                  "node", "-x", "FI_PROVIDER", "--mca", "oob_tcp_keepalive_time", "2", "cmd"));
}

TEST(Launcher, MpirunDoesNotRepeatFlagsGivenVerbatim) {
  LaunchSpec spec;
  spec.ranks = 2;
  spec.oversubscribe = true;
  spec.allow_run_as_root = true;
  spec.extra_args = {"--allow-run-as-root"};
  EXPECT_THAT(launch_argv(LauncherKind::mpirun, spec, {"cmd"}),
              ElementsAre("mpirun", "--oversubscribe", "-np", "2", "--allow-run-as-root", "cmd"));
}

TEST(Launcher, SrunArgv) {
  LaunchSpec spec;
  spec.ranks = 2;
  spec.one_rank_per_node = true;
  spec.hosts = {"a", "b"};
  EXPECT_THAT(launch_argv(LauncherKind::srun, spec, {"cmd"}),
              ElementsAre("srun", "--ntasks=2", "--nodes=2", "--ntasks-per-node=1",
                          "--nodelist=a,b", "--kill-on-bad-exit=1", "cmd"));
}

TEST(Launcher, SrunGetsTheMpiTheSiteNeeds) {
  LaunchSpec spec;
  spec.ranks = 2;
  spec.srun_mpi = "pmix";
  EXPECT_THAT(launch_argv(LauncherKind::srun, spec, {"cmd"}),
              ElementsAre("srun", "--ntasks=2", "--mpi=pmix", "--kill-on-bad-exit=1", "cmd"));
  // MpiDefault=none would start every rank as a world of one: pmix unless asked otherwise.
  EXPECT_EQ(choose_srun_mpi("", std::string("none")), "pmix");
  EXPECT_EQ(choose_srun_mpi("pmi2", std::string("none")), "pmi2");
  EXPECT_EQ(choose_srun_mpi("", std::string("pmix_v4")), "");
  EXPECT_EQ(choose_srun_mpi("", std::nullopt), "");
  const std::string config =
      "Configuration data as of 2026-12-03T10:00:00\n"
      "MinJobAge               = 300 sec\n"
      "MpiDefault              = none\n"
      "MpiParams               = (null)\n";
  EXPECT_EQ(scontrol_config_value(config, "MpiDefault"), "none");
  EXPECT_EQ(scontrol_config_value(config, "MpiParams"), "(null)");
  EXPECT_FALSE(scontrol_config_value(config, "Mpi").has_value());
}

TEST(Hosts, ParsesListsAndRejectsShellSyntax) {
  EXPECT_THAT(parse_host_list("vc1, vc2,vc1,,node-3.example.com"),
              ElementsAre("vc1", "vc2", "node-3.example.com"));
  EXPECT_THROW((void)parse_host_list("vc1;touch /tmp/pwned"), UsageError);
  EXPECT_THROW((void)parse_host_list("$(id)"), UsageError);
  EXPECT_THROW((void)parse_host_list("a b"), UsageError);
  EXPECT_THROW((void)parse_host_list("-oProxyCommand=x"), UsageError);
  EXPECT_THROW((void)parse_host_list(","), UsageError);
}

TEST(Hosts, ReadsHostfilesNamingTheBadLine) {
  const auto path =
      std::filesystem::temp_directory_path() / ("hostfile-test-" + std::to_string(::getpid()));
  { std::ofstream(path) << "# cluster\nvc1 slots=8\n\nvc2 slots=8 # second\nvc1\n"; }
  EXPECT_THAT(read_hostfile(path.string()), ElementsAre("vc1", "vc2"));
  { std::ofstream(path) << "vc1\n`id` slots=1\n"; }
  try {
    (void)read_hostfile(path.string());
    FAIL() << "expected a usage error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
  EXPECT_THROW((void)read_hostfile("/nonexistent/hostfile"), UsageError);
}

}  // namespace
}  // namespace preflight::cli
