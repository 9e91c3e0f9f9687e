#include <gtest/gtest.h>
#include <stdlib.h>  // setenv, unsetenv
#include <sys/stat.h>

#include <filesystem>

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
