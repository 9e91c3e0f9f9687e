// The benchmark harness (harness/) on its own: the all-ranks agreement on thread
// ranks, checkpoints and progress events written where the rank writes, the partial reports of a
// stop, and a real watchdog expiry going through the tool's stop handlers to the written report.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "common/bootstrap.hpp"
#include "harness/agreement.hpp"
#include "harness/guard.hpp"
#include "harness/report.hpp"
#include "reports/report_io.hpp"

namespace preflight::harness {
namespace {

using namespace std::chrono_literals;

// Runs `mine(rank)` on every thread rank through agree_on_outcome; returns every rank's view.
std::vector<AgreedOutcome> agree_on_threads(int ranks, const std::function<SetupOutcome(int)>& mine,
                                            std::vector<std::string> hosts = {}) {
  auto bootstraps = make_thread_group_bootstraps(ranks);
  std::vector<AgreedOutcome> agreed(static_cast<std::size_t>(ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank) {
    threads.emplace_back([&, rank] {
      agreed[static_cast<std::size_t>(rank)] =
          agree_on_outcome(*bootstraps[static_cast<std::size_t>(rank)], mine(rank), hosts);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  return agreed;
}

TEST(HarnessAgreement, EveryRankLearnsEverySkipAndError) {
  const auto agreed = agree_on_threads(4, [](int rank) {
    if (rank == 1) {
      return SetupOutcome::skip("STEP_SKIPPED", "no GPU: cudaGetDeviceCount says 0");
    }
    if (rank == 2) {
      return SetupOutcome::error("fi_getinfo: No data available");
    }
    if (rank == 3) {
      return SetupOutcome::skip("P2P_PROVIDER_UNAVAILABLE", "provider efa: none");
    }
    return SetupOutcome::ok();
  });
  for (const AgreedOutcome& view : agreed) {
    EXPECT_FALSE(view.go_on());
    ASSERT_EQ(view.skips.size(), 2U);
    EXPECT_EQ(view.skips[0], "rank 1: no GPU: cudaGetDeviceCount says 0");
    EXPECT_EQ(view.skips[1], "rank 3: provider efa: none");
    EXPECT_EQ(view.skip_id, "P2P_PROVIDER_UNAVAILABLE");  // the highest skipping rank's
    ASSERT_EQ(view.errors.size(), 1U);
    EXPECT_EQ(view.errors[0], "rank 2: fi_getinfo: No data available");
  }
}

TEST(HarnessAgreement, ReasonsKeepAnyCharacterAndNameTheHost) {
  // A reason may hold anything a library prints, newlines and the old "S"/"E" markers included.
  const std::string reason = "S\nE line one\nline two";
  const auto agreed = agree_on_threads(
      2,
      [&](int rank) {
        return rank == 0 ? SetupOutcome::skip("STEP_SKIPPED", reason) : SetupOutcome::ok();
      },
      {"hostA", "hostB"});
  ASSERT_EQ(agreed[1].skips.size(), 1U);
  EXPECT_EQ(agreed[1].skips[0], "rank 0 (hostA): " + reason);
  EXPECT_TRUE(agreed[1].errors.empty());
  const auto fine = agree_on_threads(3, [](int) { return SetupOutcome::ok(); });
  EXPECT_TRUE(fine[2].go_on());
}

reports::Report base_report() {
  reports::Report report = reports::start_report("preflight-test", 0, nullptr, true);
  reports::ResultRow row;
  row.benchmark = "all_reduce";
  row.size_bytes = 1024;
  report.results.push_back(row);
  return report;
}

const reports::Check* find_check(const reports::Report& report, std::string_view id) {
  for (const auto& check : report.checks) {
    if (check.id == id) {
      return &check;
    }
  }
  return nullptr;
}

TEST(HarnessReport, CheckpointsCountInTheToolsWordsAndNeverPass) {
  const reports::Report sizes = incomplete_report(base_report(), "preflight-test", 1, 3, true);
  const reports::Check* check = find_check(sizes, "BENCH_INCOMPLETE");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->evidence.at("sizes_finished"), 1);
  EXPECT_EQ(check->evidence.at("sizes_planned"), 3);
  EXPECT_EQ(sizes.verdict.status, Status::error);
  const reports::Report steps =
      incomplete_report(base_report(), "preflight-test", 2, 5, true, kPairSteps, true);
  check = find_check(steps, "BENCH_INCOMPLETE");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->evidence.at("steps_done"), 2);
  EXPECT_EQ(check->evidence.at("steps_planned"), 5);
  EXPECT_NE(check->message.find("partial report"), std::string::npos) << check->message;
}

TEST(HarnessReport, StoppedReportReplacesTheCheckpointsMark) {
  const reports::Report checkpoint =
      incomplete_report(base_report(), "preflight-test", 1, 3, false);
  const reports::Report lost =
      lost_rank_report(checkpoint, "preflight-test", "all_reduce float sum 8 B", 0, "hostA", false,
                       nlohmann::json::array(
                           {{{"rank", 2}, {"host", "hostA"}, {"pid", 4711}, {"state", "exited"}}}));
  EXPECT_EQ(find_check(lost, "BENCH_INCOMPLETE"), nullptr);
  const reports::Check* check = find_check(lost, "PEER_LOST");
  ASSERT_NE(check, nullptr);
  EXPECT_NE(check->message.find("rank 2 (hostA, pid 4711, exited)"), std::string::npos)
      << check->message;
  EXPECT_EQ(check->evidence.at("rows_finished"), 1);
  EXPECT_EQ(lost.verdict.exit_code, 4);
  EXPECT_TRUE(lost.run.finished_at.empty());
  const reports::Report stamped =
      stopped_report(checkpoint, reports::judged_check("HARNESS_ERROR", Status::error, "stopped"),
                     false, false, FinishedAt::stamped);
  EXPECT_FALSE(stamped.run.finished_at.empty());
  EXPECT_EQ(find_check(stamped, "BENCH_INCOMPLETE"), nullptr);
}

class TempReport {
 public:
  TempReport()
      : path_(std::filesystem::temp_directory_path() /
              ("preflight-harness-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter_++) + ".json")) {}
  TempReport(const TempReport&) = delete;
  TempReport& operator=(const TempReport&) = delete;
  TempReport(TempReport&&) = delete;
  TempReport& operator=(TempReport&&) = delete;
  ~TempReport() { std::filesystem::remove(path_); }
  [[nodiscard]] std::string path() const { return path_.string(); }
  [[nodiscard]] reports::Report read() const { return reports::read_report(path()); }

 private:
  static inline std::atomic<int> counter_{0};
  std::filesystem::path path_;
};

GuardSettings settings(double timeout_s, reports::IncrementalReportWriter* writer) {
  GuardSettings settings;
  settings.tool = "preflight-test";
  settings.timeout_s = timeout_s;
  settings.writer = writer;
  return settings;
}

TEST(HarnessGuard, FinishedStepsCheckpointAndReportProgress) {
  const TempReport file;
  reports::IncrementalReportWriter writer(file.path());
  std::vector<ProgressEvent> events;
  RunGuard guard({.tool = "preflight-test",
                  .timeout_s = 60,
                  .writer = &writer,
                  .on_progress = [&](const ProgressEvent& event) { events.push_back(event); }});
  guard.finish_step([] { return incomplete_report(base_report(), "preflight-test", 1, 2, true); },
                    "float sum 1024 B", 1, 2);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].step, "float sum 1024 B");
  EXPECT_EQ(events[0].done, 1U);
  EXPECT_EQ(events[0].total, 2U);
  EXPECT_GE(events[0].elapsed_s, 0.0);
  const reports::Report written = file.read();
  EXPECT_NE(find_check(written, "BENCH_INCOMPLETE"), nullptr);
  EXPECT_EQ(written.verdict.status, Status::error);

  // A rank that does not write builds no checkpoint at all.
  RunGuard quiet(settings(60, nullptr));
  bool built = false;
  quiet.finish_step(
      [&] {
        built = true;
        return base_report();
      },
      "step", 1, 1);
  EXPECT_FALSE(built);
  EXPECT_FALSE(quiet.writes_report());
}

TEST(HarnessGuard, ExpiryWritesTheToolsPartialReportAndLeavesWith124) {
  const TempReport file;
  reports::IncrementalReportWriter writer(file.path());
  LiveReport live(base_report());
  std::atomic<int> left_with{0};
  std::mutex mutex;
  std::string timed_out_phase;
  RunGuard guard(settings(0.3, &writer));
  StopHandlers handlers;
  handlers.timed_out = [&](const std::string& phase, double deadline_s) {
    {
      const std::lock_guard lock(mutex);
      timed_out_phase = phase;
    }
    StopNotice notice;
    notice.partial =
        timeout_report(live.snapshot(), "preflight-test", phase, deadline_s, 0, "hostA", true);
    return notice;
  };
  handlers.leave_after_timeout = [&](int code) { left_with = code; };
  guard.set_stop_handlers(handlers);
  guard.begin("all_reduce float sum 8 B", 1);
  guard.step("timing in-place");
  EXPECT_EQ(guard.current_phase(), "all_reduce float sum 8 B: timing in-place");
  for (int i = 0; i < 300 && left_with.load() == 0; ++i) {
    std::this_thread::sleep_for(10ms);  // the "main thread" is stuck
  }
  EXPECT_EQ(left_with.load(), 124);
  {
    const std::lock_guard lock(mutex);
    EXPECT_EQ(timed_out_phase, "all_reduce float sum 8 B: timing in-place");
  }
  const reports::Report written = file.read();
  const reports::Check* check = find_check(written, "BENCH_TIMEOUT");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->evidence.at("phase"), "all_reduce float sum 8 B: timing in-place");
  EXPECT_EQ(written.verdict.exit_code, 124);
  EXPECT_EQ(written.results.size(), 1U);
}

TEST(HarnessGuard, APhaseThatEndsInTimeNeverStops) {
  std::atomic<bool> stopped{false};
  RunGuard guard(settings(0.2, nullptr));
  StopHandlers handlers;
  handlers.timed_out = [&](const std::string&, double) {
    stopped = true;
    return StopNotice{};
  };
  handlers.leave_after_timeout = [](int) {};
  guard.set_stop_handlers(handlers);
  for (int i = 0; i < 4; ++i) {
    guard.begin("size " + std::to_string(i));
    std::this_thread::sleep_for(50ms);
  }
  guard.end();
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(stopped.load());
  EXPECT_FALSE(guard.not_progressing().has_value());  // no progress channel: no view
}

}  // namespace
}  // namespace preflight::harness
