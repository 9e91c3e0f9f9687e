// A stand-in for a preflight binary in the umbrella's tests: behaves as `--mode` says and writes a
// preflight.report/1 to `--json PATH` (or stdout for "-").
//   pass | fail | skip | error   exit with that status, report with one check of it
//   hang                          start a grandchild that sleeps, write its pid to --pid-file,
//                                 then sleep; the umbrella must kill both on timeout
//   no-report                     exit 0 without a report
//   bad-report                    exit 0 with a file that is not a report
//   crash                         abort()
// Its one result row measures 1 GB/s at 1 MiB, or PREFLIGHT_FAKE_ALGBW (bytes/s) when set: a
// planted slowdown for the history tests. `--progress-lines N --line-interval-ms MS` first
// writes N plain progress lines to stderr as the benchmarks do ("preflight-fake: progress:
// [k/N] size k done"), MS apart, with a message line ("preflight-fake: note: ...") among them.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "common/status.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

int main(int argc, char** argv) {
  std::string mode = "pass";
  std::string json_path;
  std::string pid_file;
  int progress_lines = 0;
  int line_interval_ms = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string flag = argv[i];  // NOLINT
    if (flag == "--mode") {
      mode = argv[++i];  // NOLINT
    } else if (flag == "--json") {
      json_path = argv[++i];  // NOLINT
    } else if (flag == "--pid-file") {
      pid_file = argv[++i];  // NOLINT
    } else if (flag == "--progress-lines") {
      progress_lines = std::atoi(argv[++i]);  // NOLINT
    } else if (flag == "--line-interval-ms") {
      line_interval_ms = std::atoi(argv[++i]);  // NOLINT
    }
  }
  using preflight::Status;
  namespace reports = preflight::reports;
  for (int line = 1; line <= progress_lines; ++line) {
    std::this_thread::sleep_for(std::chrono::milliseconds(line_interval_ms));
    std::fprintf(stderr, "preflight-fake: progress: [%d/%d] size %d done\n", line, progress_lines,
                 line);
    if (line == 1) {
      std::fputs("preflight-fake: note: a message that is not progress\n", stderr);
    }
  }
  if (mode == "crash") {
    std::abort();
  }
  if (mode == "hang") {
    const pid_t child = ::fork();
    if (child == 0) {
      ::execl("/bin/sleep", "sleep", "300", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (!pid_file.empty()) {
      std::ofstream(pid_file) << child << "\n";
    }
    std::this_thread::sleep_for(std::chrono::seconds(300));
    return 0;
  }
  if (mode == "no-report") {
    return 0;
  }
  if (mode == "bad-report") {
    std::ofstream(json_path) << "{\"schema\": \"something else\"}\n";
    return 0;
  }
  const auto status = preflight::parse_status(mode).value_or(Status::error);
  auto report = reports::start_report("preflight-fake", argc, argv, false);
  report.inventory.instance_type = "fake.large";
  report.checks.push_back(
      reports::judged_check(status == Status::pass ? "RESULT_CORRECT" : "HARNESS_ERROR", status,
                            "fake check in mode " + mode));
  reports::ResultRow row;
  row.benchmark = "bw";
  row.backend = "libfabric";
  row.size_bytes = 1 << 20;
  const char* algbw = std::getenv("PREFLIGHT_FAKE_ALGBW");
  row.algbw_Bps = algbw != nullptr ? std::strtod(algbw, nullptr) : 1e9;
  report.results.push_back(row);
  reports::finish_report(report, false, false);
  if (!json_path.empty()) {
    reports::write_report(report, json_path);
  }
  return preflight::exit_code_for(status);
}
