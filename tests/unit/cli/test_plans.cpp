#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "cli/plans.hpp"
#include "cli/suite.hpp"
#include "common/error.hpp"
#include "common/spawn.hpp"
#include "reports/json_schema.hpp"
#include "reports/report_io.hpp"

namespace preflight::cli {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "plan-test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    std::filesystem::create_directory(dir_ / "bin");
    general_.bin_dir = dir_ / "bin";
    general_.argv = {"preflight", "test"};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void install_fake(const std::string& name) {
    std::filesystem::create_symlink(PREFLIGHT_FAKE_TOOL, dir_ / "bin" / name);
  }
  std::filesystem::path write_plan(const nlohmann::json& plan) {
    const auto path = dir_ / "plan.json";
    std::ofstream(path) << plan.dump(2);
    return path;
  }
  static const nlohmann::json& step(const reports::Report& suite, const std::string& name) {
    for (const auto& s : suite.details.at("steps")) {
      if (s.at("name") == name) {
        return s;
      }
    }
    throw std::runtime_error("no step " + name);
  }
  static bool has_check(const reports::Report& suite, const std::string& id, Status status) {
    return std::any_of(suite.checks.begin(), suite.checks.end(),
                       [&](const reports::Check& c) { return c.id == id && c.status == status; });
  }

  std::filesystem::path dir_;
  GeneralOptions general_;
};

TEST_F(PlanTest, NodePlanWithoutBinariesIsSkipNeverPass) {
  NodeOptions options;
  const auto suite = run_node_plan(general_, options);
  EXPECT_EQ(suite.verdict.status, Status::skip);
  EXPECT_EQ(suite.verdict.exit_code, exit_code::skip);
  ASSERT_GE(suite.details.at("steps").size(), 5U);
  for (const auto& s : suite.details.at("steps")) {
    EXPECT_EQ(s.at("status"), "skip");
    EXPECT_NE(s.at("note").get<std::string>().find("is not built"), std::string::npos);
  }
  EXPECT_TRUE(has_check(suite, "STEP_SKIPPED", Status::skip));
  EXPECT_TRUE(reports::report_schema().validate(nlohmann::json(suite)).empty());
}

TEST_F(PlanTest, QuickNodePlanRunsTheProbesAndKeepsTheirReports) {
  for (const auto* probe : {"versions", "drivers", "topology", "env", "efa"}) {
    install_fake(std::string("preflight-") + probe);
  }
  NodeOptions options;
  options.quick = true;
  const auto suite = run_node_plan(general_, options);
  EXPECT_EQ(suite.tool.name, "preflight");
  EXPECT_EQ(suite.verdict.status, Status::pass) << suite.verdict.summary;
  EXPECT_EQ(suite.details.at("steps").size(), 5U);
  EXPECT_EQ(suite.inventory.instance_type, "fake.large");
  const auto& versions = step(suite, "probe-versions");
  EXPECT_EQ(versions.at("exit_code"), 0);
  EXPECT_EQ(versions.at("report").at("tool").at("name"), "preflight-fake");
  EXPECT_EQ(suite.checks.size(), 5U);  // one per probe, none for passing steps
  EXPECT_EQ(suite.checks[0].evidence.at("step"), "probe-versions");
  EXPECT_LT(suite.details.at("elapsed_s").get<double>(), 10.0);
  EXPECT_TRUE(reports::report_schema().validate(nlohmann::json(suite)).empty());
}

// The EFA loopback's timeout grows with the devices (20 s for all of them was a timeout on a
// healthy p5), and a 32-device p5 gets it within the node plan's 60 s: planned right after the
// probes, not cut by the budget.
TEST_F(PlanTest, EfaLoopbackTimeoutScalesWithTheDevicesWithinTheBudget) {
  for (const auto* tool : {"preflight-versions", "preflight-drivers", "preflight-topology",
                           "preflight-env", "preflight-efa", "preflight-p2p"}) {
    install_fake(tool);
  }
  const auto loopback_of = [this](const std::string& tree) {
    NodeOptions options;
    options.root = std::filesystem::path(PREFLIGHT_FIXTURES_DIR) / "sysfs" / tree;
    return run_node_plan(general_, options);
  };
  const auto p5 = loopback_of("p5-healthy");
  const auto& p5_step = step(p5, "efa-loopback");
  EXPECT_EQ(p5.details.at("efa_loopback").at("devices"), 32);
  const double p5_timeout = p5_step.at("timeout_s").get<double>();
  EXPECT_DOUBLE_EQ(p5_timeout, 5 + 32 * 1.5);
  EXPECT_DOUBLE_EQ(p5.details.at("efa_loopback").at("planned_timeout_s").get<double>(), p5_timeout)
      << "the budget cut the loopback's timeout";
  EXPECT_LE(p5_timeout, 60.0);
  EXPECT_EQ(p5_step.at("status"), "pass");
  // Right after the five probes, before anything that could spend the budget.
  EXPECT_EQ(p5.details.at("steps").at(5).at("name"), "efa-loopback");
  const auto argv = p5_step.at("argv").get<std::vector<std::string>>();
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--all-devices"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--timeout"), argv.end());

  const auto p4d = loopback_of("p4d-healthy");
  EXPECT_DOUBLE_EQ(step(p4d, "efa-loopback").at("timeout_s").get<double>(), 5 + 4 * 1.5);
}

TEST_F(PlanTest, CiPlanKeepsEveryStepsReportAndOneExitCode) {
  install_fake("preflight-fake");
  const auto pid_file = dir_ / "grandchild.pid";
  const auto plan_path = write_plan({
      {"schema", "preflight.plan/1"},
      {"name", "unit"},
      {"steps",
       {{{"name", "ok"}, {"tool", "preflight-fake"}, {"args", {"--mode", "pass"}}},
        {{"name", "bad"}, {"tool", "preflight-fake"}, {"args", {"--mode", "fail"}}},
        {{"name", "hangs"},
         {"tool", "preflight-fake"},
         {"args", {"--mode", "hang", "--pid-file", pid_file.string()}},
         {"timeout_s", 1}},
        {{"name", "silent"}, {"tool", "preflight-fake"}, {"args", {"--mode", "no-report"}}},
        {{"name", "crashes"}, {"tool", "preflight-fake"}, {"args", {"--mode", "crash"}}},
        {{"name", "absent"}, {"tool", "preflight-absent"}}}},
      {"outputs", {{"json", "out/suite.json"}}},
  });
  const CiPlan plan = read_ci_plan(plan_path);
  EXPECT_EQ(plan.json_path, (dir_ / "out/suite.json").string());
  const auto suite = run_ci_plan(general_, plan);
  EXPECT_EQ(suite.verdict.status, Status::timeout);
  EXPECT_EQ(suite.verdict.exit_code, exit_code::timeout);
  EXPECT_EQ(step(suite, "ok").at("status"), "pass");
  const auto& bad = step(suite, "bad");
  EXPECT_EQ(bad.at("exit_code"), 1);
  EXPECT_TRUE(bad.at("report").is_object()) << "a failed step's report is kept";
  EXPECT_EQ(step(suite, "hangs").at("status"), "timeout");
  EXPECT_TRUE(step(suite, "hangs").at("timed_out").get<bool>());
  EXPECT_EQ(step(suite, "silent").at("report_error"), "the step wrote no report");
  EXPECT_EQ(step(suite, "silent").at("status"), "error") << "exit 0 without a report is no pass";
  EXPECT_EQ(step(suite, "crashes").at("status"), "error");
  EXPECT_EQ(step(suite, "absent").at("status"), "skip");
  EXPECT_TRUE(has_check(suite, "STEP_FAILED", Status::fail));
  EXPECT_TRUE(has_check(suite, "STEP_TIMEOUT", Status::timeout));
  EXPECT_TRUE(has_check(suite, "STEP_ERROR", Status::error));
  EXPECT_TRUE(has_check(suite, "STEP_SKIPPED", Status::skip));
  EXPECT_TRUE(has_check(suite, "HARNESS_ERROR", Status::fail));  // the failed step's own check
  // The hung step's grandchild went down with its process group.
  const pid_t grandchild = std::stoi([&] {
    std::ifstream input(pid_file);
    std::string text;
    input >> text;
    return text;
  }());
  const auto alive = [](pid_t pid) {  // a zombie left to a non-reaping init counts as dead
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    return std::getline(stat, text) && text.find(") Z") == std::string::npos;
  };
  for (int i = 0; i < 100 && alive(grandchild); ++i) {
    ::usleep(10000);
  }
  EXPECT_FALSE(alive(grandchild));
  EXPECT_TRUE(reports::report_schema().validate(nlohmann::json(suite)).empty());

  general_.junit_path = (dir_ / "junit.xml").string();
  general_.common.json_path = (dir_ / "suite.json").string();
  general_.common.quiet = true;
  auto written = suite;
  EXPECT_EQ(write_outputs(written, general_), exit_code::timeout);
  const auto reread = reports::read_report(dir_ / "suite.json");
  EXPECT_EQ(reread.details.at("steps").size(), 6U);
  std::ifstream junit(dir_ / "junit.xml");
  const std::string xml((std::istreambuf_iterator<char>(junit)), std::istreambuf_iterator<char>());
  // One case per check (the failed step's own HARNESS_ERROR and its STEP_FAILED are two), under
  // preflight.<host>.<step>; the timeout is an <error type="timeout"> carrying the step's time.
  EXPECT_NE(xml.find("tests=\"7\" failures=\"2\" errors=\"3\" skipped=\"1\""), std::string::npos)
      << xml;
  std::string host = reread.run.hosts.at(0);
  std::replace(host.begin(), host.end(), '.', '_');
  EXPECT_NE(xml.find("<testcase classname=\"preflight." + host + ".ok\" name=\"RESULT_CORRECT\""),
            std::string::npos)
      << xml;
  std::smatch timeout;
  ASSERT_TRUE(std::regex_search(
      xml, timeout,
      std::regex("<testcase classname=\"preflight\\.[^\"]*\\.hangs\" name=\"STEP_TIMEOUT\" "
                 "time=\"([0-9.]+)\">\\s*<error [^>]*type=\"timeout\"")))
      << xml;
  EXPECT_GE(std::stod(timeout[1].str()), 1.0) << "the hung step's 1 s timeout";
  double steps_s = 0;
  for (const auto& step : reread.details.at("steps")) {
    steps_s += step.at("duration_s").get<double>();
  }
  std::smatch total;
  ASSERT_TRUE(std::regex_search(xml, total, std::regex("<testsuites [^>]*time=\"([0-9.]+)\"")));
  EXPECT_NEAR(std::stod(total[1].str()), steps_s, 0.0015) << xml;
  EXPECT_EQ(xml.find("name=\"ok\""), std::string::npos) << "a case per check, not per step";
}

TEST_F(PlanTest, PlanSchemaRejectsBadPlansNamingThePointer) {
  const auto expect_usage = [&](const nlohmann::json& plan, const std::string& needle) {
    try {
      validate_plan(plan, "plan.json");
      FAIL() << "accepted " << plan.dump();
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const nlohmann::json good = {{"schema", "preflight.plan/1"},
                               {"steps", {{{"name", "a"}, {"tool", "preflight-p2p"}}}}};
  EXPECT_NO_THROW(validate_plan(good, "plan.json"));
  expect_usage({{"schema", "preflight.plan/1"}, {"steps", nlohmann::json::array()}}, "/steps");
  expect_usage({{"schema", "preflight.plan/1"}, {"steps", {{{"name", "a"}, {"tool", "/bin/sh"}}}}},
               "/steps/0/tool");
  expect_usage({{"schema", "preflight.plan/1"},
                {"steps", {{{"name", "a; rm -rf /"}, {"tool", "preflight-p2p"}}}}},
               "/steps/0/name");
  expect_usage(
      {{"schema", "preflight.plan/1"},
       {"steps",
        {{{"name", "a"}, {"tool", "preflight-p2p"}}, {{"name", "a"}, {"tool", "preflight-p2p"}}}}},
      "used twice");
  expect_usage({{"schema", "preflight.plan/1"},
                {"steps", {{{"name", "a"}, {"tool", "preflight-p2p"}, {"shell", "x"}}}}},
               "/steps/0");
}

TEST_F(PlanTest, ClusterNeedsTwoHosts) {
  ClusterOptions options;
  options.hosts = {"only"};
  EXPECT_THROW((void)run_cluster_plan(general_, options), UsageError);
}

TEST_F(PlanTest, ClusterWithoutLauncherOrBinaryIsSkip) {
  ClusterOptions options;
  options.hosts = {"vc1", "vc2"};
  options.collective = false;
  general_.launcher = LauncherKind::srun;
  // A machine without srun: PATH names an empty directory for the run.
  const std::string saved_path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  const auto empty =
      std::filesystem::temp_directory_path() / ("no-srun-" + std::to_string(::getpid()));
  std::filesystem::create_directories(empty);
  ::setenv("PATH", empty.c_str(), 1);
  const auto suite = run_cluster_plan(general_, options);
  ::setenv("PATH", saved_path.c_str(), 1);
  std::filesystem::remove_all(empty);
  EXPECT_EQ(suite.verdict.status, Status::skip);
  EXPECT_EQ(step(suite, "p2p-all-pairs").at("status"), "skip");
  EXPECT_FALSE(suite.details.at("cluster").at("judged").get<bool>());
  EXPECT_THAT(suite.details.at("cluster").at("summary").get<std::string>(),
              ::testing::StartsWith("not judged: "));
}

TEST_F(PlanTest, ClusterNamesHostsThatCannotBeReached) {
  if (find_executable("mpirun").empty()) {
    GTEST_SKIP() << "mpirun not installed";
  }
  ClusterOptions options;
  options.hosts = {"preflight-no-such-host-1.invalid", "preflight-no-such-host-2.invalid"};
  options.reach_timeout_s = 15;
  install_fake("preflight-p2p");
  const auto suite = run_cluster_plan(general_, options);
  EXPECT_EQ(suite.verdict.status, Status::fail) << suite.verdict.summary;
  EXPECT_EQ(suite.details.at("cluster").at("unreachable"), nlohmann::json(options.hosts));
  EXPECT_EQ(step(suite, "p2p-all-pairs").at("status"), "skip");
  EXPECT_TRUE(has_check(suite, "NODE_UNREACHABLE", Status::fail));
}

TEST(LocalHardware, ReadsGpusAndEfaFromARoot) {
  const auto root =
      std::filesystem::temp_directory_path() / ("hw-root-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "proc/driver/nvidia/gpus/0000:10:1c.0");
  std::filesystem::create_directories(root / "proc/driver/nvidia/gpus/0000:10:1d.0");
  // An EFA device, a ConnectX device (p6-b200's ibp*), and an Amazon function that is not EFA.
  const auto pci_device = [&root](const std::string& name, const char* vendor, const char* id) {
    const auto directory = root / "sys/class/infiniband" / name / "device";
    std::filesystem::create_directories(directory);
    std::ofstream(directory / "vendor") << vendor << "\n";
    std::ofstream(directory / "device") << id << "\n";
  };
  pci_device("rdmap16s27", "0x1d0f", "0xefa1");
  pci_device("mlx5_0", "0x15b3", "0x1021");
  pci_device("rdmap99s0", "0x1d0f", "0xec20");
  const auto hardware = detect_local_hardware(root);
  std::filesystem::remove_all(root);
  EXPECT_EQ(hardware.gpu_count, 2);
  EXPECT_THAT(hardware.efa_devices, ::testing::ElementsAre("rdmap16s27"));
}

// --nccl-lib reaches every NCCL step of the node plan; a path that does not exist is a usage
// error before anything runs.
TEST(NodePlan, NcclLibraryGoesToTheNcclSteps) {
  NodeOptions options;
  EXPECT_THAT(node_nccl_sweep_args(options), ::testing::Not(::testing::Contains("--nccl-lib")));
  options.nccl_library = "/opt/job/nccl/lib/libnccl.so.2";
  const auto args = node_nccl_sweep_args(options);
  const auto flag = std::find(args.begin(), args.end(), "--nccl-lib");
  ASSERT_NE(flag, args.end());
  EXPECT_EQ(*(flag + 1), "/opt/job/nccl/lib/libnccl.so.2");
  EXPECT_THAT(args, ::testing::IsSupersetOf({"--backend", "nccl", "--check", "1"}));
  GeneralOptions general;
  options.nccl_library = "/nonexistent/libnccl.so.2";
  try {
    (void)run_node_plan(general, options);
    FAIL() << "no usage error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--nccl-lib /nonexistent/libnccl.so.2: no such file"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace preflight::cli
