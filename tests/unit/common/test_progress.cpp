// --progress: what auto means where, the plain line format a reader can pick out behind launcher
// prefixes, the rate of plain lines, the heartbeat of a long silence, and the tty line.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "common/progress.hpp"

namespace preflight {
namespace {

// A progress printer's output, read back from a temporary file.
class CapturedStream {
 public:
  CapturedStream() : file_(std::tmpfile()) {}
  CapturedStream(const CapturedStream&) = delete;
  CapturedStream& operator=(const CapturedStream&) = delete;
  ~CapturedStream() { std::fclose(file_); }
  [[nodiscard]] std::FILE* get() const { return file_; }
  [[nodiscard]] std::string text() const {
    std::fflush(file_);
    std::rewind(file_);
    std::string out;
    for (int c = std::fgetc(file_); c != EOF; c = std::fgetc(file_)) {
      out.push_back(static_cast<char>(c));
    }
    return out;
  }

 private:
  std::FILE* file_;
};

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

TEST(Progress, AutoIsATerminalLineOnATerminalPlainLinesElseNothingWhenQuiet) {
  EXPECT_EQ(resolve_progress_mode(ProgressMode::automatic, false, true), ProgressMode::tty);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::automatic, false, false), ProgressMode::plain);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::automatic, true, true), ProgressMode::none);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::automatic, true, false), ProgressMode::none);
  // Asked for by name, a mode stays what it is, --quiet or not (the plans' steps run quiet with
  // plain progress for the plan to relay).
  EXPECT_EQ(resolve_progress_mode(ProgressMode::plain, true, true), ProgressMode::plain);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::tty, false, false), ProgressMode::tty);
  EXPECT_EQ(resolve_progress_mode(ProgressMode::none, false, true), ProgressMode::none);
  for (const auto* name : {"auto", "tty", "plain", "none"}) {
    EXPECT_EQ(to_string(parse_progress_mode(name).value()), name);
  }
  EXPECT_FALSE(parse_progress_mode("yes").has_value());
}

TEST(Progress, PlainLinesAreFoundBehindLauncherPrefixesAndNothingElseIs) {
  EXPECT_EQ(progress_text("preflight-allreduce: progress: [3/18] float sum 1048576 B done\n"),
            "[3/18] float sum 1048576 B done");
  EXPECT_EQ(progress_text("[1,0]<stderr>:preflight-p2p: progress: [2/6] bw 1M"), "[2/6] bw 1M");
  EXPECT_EQ(progress_text("0: preflight-allgather: progress: x\r"), "x");
  EXPECT_FALSE(progress_text("preflight-allreduce: error: MPI_Init failed"));
  EXPECT_FALSE(progress_text("trainer: progress: epoch 3"));
  EXPECT_FALSE(progress_text("preflight-p2p (rank 1): progress: x"));
  EXPECT_EQ(without_progress_lines("a\npreflight-p2p: progress: [1/2] x\nb\n"
                                   "preflight-p2p: progress: [2/2] y"),
            "a\nb\n");
}

TEST(Progress, PlainLinesAtAModestRateTheLastAlwaysAndNothingWhenNone) {
  CapturedStream stream;
  {
    ProgressPrinter printer("preflight-allreduce", ProgressMode::plain, stream.get(),
                            {.min_interval_s = 60, .heartbeat_s = 0});
    EXPECT_TRUE(printer.active());
    for (int size = 1; size <= 20; ++size) {
      printer.update("[" + std::to_string(size) + "/20] done", size == 20);
    }
  }
  const std::string text = stream.text();
  EXPECT_EQ(text,
            "preflight-allreduce: progress: [1/20] done\n"
            "preflight-allreduce: progress: [20/20] done\n");
  EXPECT_EQ(text.find('\r'), std::string::npos);

  CapturedStream quiet;
  {
    ProgressPrinter printer("preflight-allreduce", ProgressMode::none, quiet.get());
    EXPECT_FALSE(printer.active());
    printer.update("[1/1] done", true);
  }
  EXPECT_EQ(quiet.text(), "");
}

TEST(Progress, ALongSilenceGetsAHeartbeatNamingTheLastLine) {
  CapturedStream stream;
  {
    ProgressPrinter printer("preflight-p2p", ProgressMode::plain, stream.get(),
                            {.min_interval_s = 0, .heartbeat_s = 0.05});
    printer.update("[1/2] bw 1M rank 0 <-> rank 1");
    std::this_thread::sleep_for(std::chrono::milliseconds(180));
    printer.update("[2/2] bw 1M rank 0 <-> rank 2", true);
  }
  const std::string text = stream.text();
  EXPECT_GE(count(text, "preflight-p2p: progress: still running, "), 1U) << text;
  EXPECT_NE(text.find("(last: [1/2] bw 1M rank 0 <-> rank 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("preflight-p2p: progress: [2/2]"), std::string::npos) << text;
  // After finish() the heartbeat has stopped: nothing more is written.
  const std::size_t length = text.size();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(stream.text().size(), length);
}

TEST(Progress, TheTerminalLineIsRewrittenInPlaceAndErasedAtTheEnd) {
  CapturedStream stream;
  {
    ProgressPrinter printer("preflight-allreduce", ProgressMode::tty, stream.get(),
                            {.min_interval_s = 60, .heartbeat_s = 0});
    printer.update("[1/2] done");
    printer.update("[2/2] done");  // a terminal line is never dropped
    printer.finish();
  }
  EXPECT_EQ(stream.text(),
            "\r\033[Kpreflight-allreduce: [1/2] done"
            "\r\033[Kpreflight-allreduce: [2/2] done"
            "\r\033[K");
}

}  // namespace
}  // namespace preflight
