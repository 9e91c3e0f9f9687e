#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>  // setenv, unsetenv
#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>

#include "common/error.hpp"
#include "report_builders.hpp"
#include "reports/history.hpp"

namespace preflight::reports {
namespace {

using testing::busbw_row;
using testing::collective_row;
using testing::report_with;
using testing::TempDir;

Report run_with(double busbw_Bps, double latency_s, const std::string& id) {
  Report report = report_with({collective_row(8, latency_s), busbw_row(1 << 30, busbw_Bps)});
  report.run.id = id;
  return report;
}

class History : public ::testing::Test {
 protected:
  std::filesystem::path db() const { return dir_.path() / "data" / "preflight" / "history.db"; }
  TempDir dir_{::testing::UnitTest::GetInstance()->current_test_info()->name()};
};

TEST_F(History, CreatesThePrivateDatabaseAndItsDirectories) {
  HistoryStore store = HistoryStore::open(db(), true);
  struct stat info {};
  ASSERT_EQ(::stat(db().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600U);
  ASSERT_EQ(::stat(db().parent_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700U);
  EXPECT_TRUE(store.list({}).empty());
}

TEST_F(History, RefusesASymlinkPlantedAtThePath) {
  std::filesystem::create_directories(db().parent_path());
  const auto target = dir_.path() / "victim";
  { std::ofstream(target) << "precious"; }
  std::filesystem::create_symlink(target, db());
  try {
    (void)HistoryStore::open(db(), true);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic link"), std::string::npos) << e.what();
  }
  EXPECT_EQ(testing::slurp(target), "precious");
}

TEST_F(History, MissingDatabaseWithoutCreateIsAUsageError) {
  try {
    (void)HistoryStore::open(db(), false);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("history add"), std::string::npos) << e.what();
  }
}

TEST_F(History, AddListShowAndDeduplicate) {
  HistoryStore store = HistoryStore::open(db(), true);
  const auto first = store.add(run_with(400e9, 70e-6, "one"), "one.json");
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(first.results, 2U);
  const auto again = store.add(run_with(400e9, 70e-6, "one"), "one-copy.json");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.id, first.id);
  const auto second = store.add(run_with(401e9, 71e-6, "two"), "two.json");
  EXPECT_GT(second.id, first.id);
  const auto runs = store.list({});
  ASSERT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs[0].id, second.id);  // newest first
  EXPECT_EQ(runs[0].instance_type, "p5.48xlarge");
  EXPECT_EQ(runs[0].nodes, 2);
  EXPECT_EQ(runs[0].ranks, 16);
  EXPECT_EQ(runs[0].results, 2);
  EXPECT_EQ(runs[0].source, "two.json");
  EXPECT_EQ(store.show(first.id).run.id, "one");
  HistoryFilter filter;
  filter.benchmark = "all_gather";
  EXPECT_TRUE(store.list(filter).empty());
  filter = {};
  filter.limit = 1;
  EXPECT_EQ(store.list(filter).size(), 1U);
  EXPECT_THROW((void)store.show(999), UsageError);
}

TEST_F(History, TrendFlagsARegressionOutsideMedianPlusMinusKMad) {
  HistoryStore store = HistoryStore::open(db(), true);
  TrendOptions options;
  options.window = 5;
  options.k = 3;
  options.min_band = 0.01;
  // Not enough history yet: no verdict, never a pass.
  store.add(run_with(400e9, 70e-6, "r0"), "r0");
  EXPECT_EQ(store.trend(options).status, Status::skip);
  const double history[] = {398e9, 402e9, 400e9, 397e9, 403e9};
  for (int i = 0; i < 5; ++i) {
    store.add(run_with(history[i], 70e-6 + i * 0.2e-6, "r" + std::to_string(i + 1)), "r");
  }
  // Within the band.
  store.add(run_with(399e9, 70.5e-6, "ok"), "ok");
  Trend trend = store.trend(options);
  EXPECT_EQ(trend.status, Status::pass) << trend.summary;
  ASSERT_EQ(trend.rows.size(), 2U);
  for (const auto& row : trend.rows) {
    EXPECT_EQ(row.previous_runs, 5);
    EXPECT_EQ(row.verdict, "pass") << row.series << " " << row.size_bytes;
  }
  // Bandwidth down 10%: a regression; latency down: improved (lower is better).
  const auto bad = store.add(run_with(360e9, 60e-6, "bad"), "bad");
  trend = store.trend(options);
  EXPECT_EQ(trend.run, bad.id);
  EXPECT_EQ(trend.status, Status::fail) << trend.summary;
  for (const auto& row : trend.rows) {
    if (row.size_bytes == 1U << 30) {
      EXPECT_EQ(row.metric, "busbw_Bps");
      EXPECT_EQ(row.verdict, "regression");
      EXPECT_LT(row.value, row.lo);
    } else {
      EXPECT_EQ(row.metric, "time_s");
      EXPECT_EQ(row.verdict, "improved");
    }
  }
  // Judging an earlier run uses only the runs before it.
  options.run = bad.id - 1;
  EXPECT_EQ(store.trend(options).status, Status::pass);
  // Another instance type is another series: no history for it.
  Report other = run_with(100e9, 70e-6, "p4de");
  other.inventory.instance_type = "p4de.24xlarge";
  store.add(other, "p4de");
  options.run = 0;
  EXPECT_EQ(store.trend(options).status, Status::skip);
}

// Runs 1-5 on NCCL 2.18.5, then NCCL 2.21.5 from run 6 on, and busbw drops.
Report stack_run(int run, double busbw_Bps) {
  Report report = run_with(busbw_Bps, 70e-6, "run" + std::to_string(run));
  report.inventory.versions = {{"nccl", run <= 5 ? "2.18.5" : "2.21.5"},
                               {"aws_ofi_nccl", "1.7.3"},
                               {"libfabric", "1.19.0amzn3.0"},
                               {"efa_installer", "1.29.0"},
                               {"nvidia_driver", "535.104.05"}};
  report.inventory.env = {{"FI_EFA_USE_HUGE_PAGE", "0"},
                          {"NCCL_DEBUG", "INFO"},
                          {"SLURM_JOB_ID", std::to_string(1000 + run)}};
  report.run.hosts = {"node-1", "node-2"};
  return report;
}

TEST_F(History, TrendNamesWhatChangedBetweenTheLastRunInTheBandAndTheFirstOutside) {
  HistoryStore store = HistoryStore::open(db(), true);
  const double busbw[] = {400e9, 402e9, 398e9, 401e9, 399e9};
  std::vector<std::int64_t> ids;
  for (int run = 1; run <= 5; ++run) {
    ids.push_back(store.add(stack_run(run, busbw[run - 1]), "run").id);
  }
  ids.push_back(store.add(stack_run(6, 352e9), "run").id);
  TrendOptions options;
  options.window = 10;
  Trend trend = store.trend(options);
  ASSERT_EQ(trend.status, Status::fail) << trend.summary;
  const auto regressed = [](const Trend& t) -> const TrendRow& {
    for (const auto& row : t.rows) {
      if (row.verdict == "regression") {
        return row;
      }
    }
    throw std::runtime_error("no regression in " + t.summary);
  };
  const TrendRow& row = regressed(trend);
  EXPECT_EQ(row.last_in_band_run, ids[4]);
  EXPECT_EQ(row.first_out_of_band_run, ids[5]);
  // NCCL is named; what did not change (the plugin, libfabric, the job id's noise) is not.
  ASSERT_EQ(row.changes.size(), 1U) << ::testing::PrintToString(row.changes);
  EXPECT_EQ(row.changes.front(), "nccl 2.18.5 -> 2.21.5");
  EXPECT_NE(trend.summary.find(fmt::format("between run {} (last inside) and run {} (first "
                                           "outside): changed nccl 2.18.5 -> 2.21.5",
                                           ids[4], ids[5])),
            std::string::npos)
      << trend.summary;
  nlohmann::json j = trend;
  bool found = false;
  for (const auto& r : j["rows"]) {
    if (r["verdict"] == "regression") {
      EXPECT_EQ(r["changed"]["differences"][0], "nccl 2.18.5 -> 2.21.5");
      EXPECT_EQ(r["changed"]["last_in_band_run"], ids[4]);
      found = true;
    }
  }
  EXPECT_TRUE(found);

  // Two more runs on the new stack, one of which also sets an FI_ variable: judging the last
  // still traces the drop to runs 5 -> 6, the start of the streak outside the band.
  ids.push_back(store.add(stack_run(7, 350e9), "run").id);
  Report eighth = stack_run(8, 351e9);
  eighth.inventory.env["FI_EFA_FORK_SAFE"] = "1";
  ids.push_back(store.add(eighth, "run").id);
  trend = store.trend(options);
  ASSERT_EQ(trend.status, Status::fail) << trend.summary;
  EXPECT_EQ(regressed(trend).last_in_band_run, ids[4]);
  EXPECT_EQ(regressed(trend).first_out_of_band_run, ids[5]);
  EXPECT_EQ(regressed(trend).changes, std::vector<std::string>{"nccl 2.18.5 -> 2.21.5"});
}

TEST(HistoryChanges, VersionsFirstThenTheEnvironmentThatSteersNcclThenHosts) {
  Report a = stack_run(1, 1);
  Report b = stack_run(6, 1);
  b.inventory.versions["aws_ofi_nccl"] = "1.9.1";
  b.inventory.versions["zzz_tool"] = "2";
  b.inventory.env.erase("FI_EFA_USE_HUGE_PAGE");
  b.inventory.env["NCCL_PROTO"] = "simple";
  b.run.hosts = {"node-1", "node-3"};
  EXPECT_EQ(describe_changes(a, b),
            (std::vector<std::string>{"nccl 2.18.5 -> 2.21.5", "aws_ofi_nccl 1.7.3 -> 1.9.1",
                                      "zzz_tool (unset) -> 2", "env NCCL_PROTO (unset) -> simple",
                                      "env FI_EFA_USE_HUGE_PAGE 0 -> (unset)",
                                      "hosts: without node-2 with node-3"}));
  EXPECT_TRUE(describe_changes(a, stack_run(2, 1)).empty());
}

TEST(HistoryPath, FollowsXdgDataHome) {
  const char* saved = std::getenv("XDG_DATA_HOME");  // NOLINT
  const std::string restore = saved != nullptr ? saved : "";
  ::setenv("XDG_DATA_HOME", "/srv/data", 1);
  EXPECT_EQ(default_history_path(), std::filesystem::path("/srv/data/preflight/history.db"));
  ::setenv("XDG_DATA_HOME", "relative/dir", 1);  // not absolute: ignored per the XDG spec
  EXPECT_EQ(default_history_path().filename(), "history.db");
  EXPECT_NE(default_history_path().string().find(".local/share/preflight"), std::string::npos);
  if (saved != nullptr) {
    ::setenv("XDG_DATA_HOME", restore.c_str(), 1);
  } else {
    ::unsetenv("XDG_DATA_HOME");
  }
}

}  // namespace
}  // namespace preflight::reports
