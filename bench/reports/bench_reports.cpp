// Costs of preflight-report at scale. Inputs are generated in memory (and once on disk for the
// end-to-end cases) before timing; each iteration does the whole operation.
//
//   compare/engine       compare_to_baseline on a parsed 10,000-row report and baseline
//   compare/end_to_end   read + schema-validate both files, then compare (what the CLI does)
//   import/text          import_nccl_tests on a 100,000-line mpirun --tag-output log (repeats
//                        folded: one row per size and placement)
//   import/from_file     read the log file and import it
//   import/write_json    serialise the report of every repeat kept (--keep-repeats: 66,624
//                        rows), the direct writer against the DOM's dump
// bench/reports/side_by_side.py times the binary end to end against Python's json.load.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/atomic_file.hpp"
#include "reports/baseline.hpp"
#include "reports/compare.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

constexpr std::size_t kRows = 10000;
constexpr std::size_t kLogLines = 100000;

ResultRow make_row(std::uint64_t size, double busbw_Bps) {
  ResultRow row;
  row.benchmark = "all_reduce";
  row.backend = "nccl";
  row.transport = "efa";
  row.dtype = "float";
  row.op = "sum";
  row.size_bytes = size;
  row.count = size / 4;
  row.ranks = 16;
  row.busbw_factor = 1.875;
  row.busbw_Bps = busbw_Bps;
  row.algbw_Bps = busbw_Bps / 1.875;
  const double t = static_cast<double>(size) / row.algbw_Bps;
  row.time_s = {t,        t,         t * 0.98,  t * 1.05, t * 1.02, t * 1.04, std::nullopt,
                t * 0.01, t * 0.995, t * 1.005, 200};
  row.wrong_elements = 0;
  return row;
}

// 10,000 sizes of one series; every 97th row 30% slow so the engine also builds failure reasons.
Report make_report() {
  Report report;
  report.tool.name = "preflight-allreduce";
  report.run.id = "bench";
  report.run.ranks = 16;
  report.run.nodes = 2;
  report.inventory.instance_type = "p5.48xlarge";
  report.results.reserve(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    const double expected = 1e9 + static_cast<double>(i) * 4e7;
    report.results.push_back(make_row(1024 * (i + 1), i % 97 == 0 ? expected * 0.7 : expected));
  }
  report.checks.push_back(pass_check("RESULT_CORRECT", "ok"));
  report.verdict = compute_verdict(report.checks, false);
  return report;
}

Baseline make_baseline() {
  Baseline b;
  b.name = "bench-10k";
  b.source = "generated";
  b.match.instance_type = "p5.48xlarge";
  b.match.nodes = 2;
  b.match.ranks_per_node = 8;
  b.match.backend = "nccl";
  b.match.benchmark = "all_reduce";
  b.match.dtype = "float";
  b.match.op = "sum";
  b.match.placement = "out_of_place";
  b.metrics["busbw_Bps"] = {Direction::higher, {0.10, 0}, {0.20, 0}};
  b.sizes_allowed_to_miss = 200;
  b.rows.reserve(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    BaselineRow row;
    row.size_bytes = 1024 * (i + 1);
    row.metrics["busbw_Bps"].expected = 1e9 + static_cast<double>(i) * 4e7;
    b.rows.push_back(std::move(row));
  }
  return b;
}

// A 100,000-line log as mpirun --tag-output prints it with NCCL_DEBUG=INFO: device rows, NCCL
// INFO lines from 16 ranks interleaved with the table, a table sweep repeated (-R) to fill.
std::string make_log() {
  std::string log;
  log.reserve(kLogLines * 110);
  std::size_t lines = 0;
  const auto add = [&](const std::string& line) {
    log += line;
    log += '\n';
    ++lines;
  };
  add("[1,0]<stdout>:# nccl-tests version 2.19.6 nccl-headers=22809 nccl-library=22809");
  add("[1,0]<stdout>:# Collective test starting: all_reduce_perf");
  add("[1,0]<stdout>:# nThread 1 nGpus 1 minBytes 8 maxBytes 17179869184 step: 2(factor) warmup "
      "iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0");
  add("[1,0]<stdout>:#");
  add("[1,0]<stdout>:# Using devices");
  for (int rank = 0; rank < 16; ++rank) {
    add(
        fmt::format("[1,0]<stdout>:#  Rank {:2} Group  0 Pid {:6} on {:>10} device {:2} "
                    "[0000:{:02x}:00] NVIDIA H100 80GB HBM3",
                    rank, 4000 + rank, rank < 8 ? "p5-st-1" : "p5-st-2", rank % 8, 0x53 + rank));
  }
  add("[1,0]<stdout>:#");
  add("[1,0]<stdout>:#       size         count      type   redop    root     time   algbw   "
      "busbw #wrong     time   algbw   busbw #wrong");
  add("[1,0]<stdout>:#        (B)    (elements)                               (us)  (GB/s)  "
      "(GB/s)            (us)  (GB/s)  (GB/s)");
  std::size_t cycle = 0;
  while (lines + 40 < kLogLines) {
    for (int e = 3; e <= 34 && lines + 4 < kLogLines; ++e) {
      const std::uint64_t size = std::uint64_t{1} << static_cast<unsigned>(e);
      const double time_us = 60 + static_cast<double>(size) / 260e3;
      const double algbw = static_cast<double>(size) / time_us / 1e3;
      add(
          fmt::format("[1,0]<stdout>:{:>12}  {:>12}  {:>8}  {:>6}  {:>6}  {:>7.2f}  {:>6.2f}  "
                      "{:>6.2f}  {:>6}  {:>7.2f}  {:>6.2f}  {:>6.2f}  {:>6}",
                      size, size / 4, "float", "sum", -1, time_us, algbw, algbw * 1.875, 0,
                      time_us * 1.01, algbw / 1.01, algbw * 1.875 / 1.01, 0));
      // NCCL INFO noise between rows, as interleaved ranks print it.
      for (int k = 0; k < 2; ++k) {
        add(fmt::format(
            "[1,{}]<stdout>:p5-st-{}:{}:{} [{}] NCCL INFO Channel {:02}/0 : {}[{}] -> "
            "{}[{}] [send] via NET/Libfabric/{}/GDRDMA",
            (cycle + k) % 16, k + 1, 4000 + k, 4100 + e, k, e % 32, k, k, k + 8, k + 8, e % 4));
      }
    }
    ++cycle;
  }
  add("[1,0]<stdout>:# Out of bounds values : 0 OK");
  add("[1,0]<stdout>:# Avg bus bandwidth    : 123.456");
  return log;
}

void CompareEngine(benchmark::State& state) {
  const Report report = make_report();
  const Baseline baseline = make_baseline();
  for (auto _ : state) {
    Comparison c = compare_to_baseline(report, baseline, "bench.json");
    benchmark::DoNotOptimize(c);
  }
  state.counters["rows"] = static_cast<double>(kRows);
}
BENCHMARK(CompareEngine)->Name("compare/engine/10000x10000")->Unit(benchmark::kMillisecond);

class Files {
 public:
  Files()
      : dir_(std::filesystem::temp_directory_path() /
             fmt::format("preflight-bench-reports-{}", ::getpid())) {
    std::filesystem::create_directories(dir_);
    write_file_atomic(report(), dump_report(make_report()));
    write_file_atomic(baseline(), dump_baseline(make_baseline()));
    write_file_atomic(log(), make_log());
  }
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;
  Files(Files&&) = delete;
  Files& operator=(Files&&) = delete;
  ~Files() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  [[nodiscard]] std::filesystem::path report() const { return dir_ / "report.json"; }
  [[nodiscard]] std::filesystem::path baseline() const { return dir_ / "baseline.json"; }
  [[nodiscard]] std::filesystem::path log() const { return dir_ / "nccl-tests.log"; }

 private:
  std::filesystem::path dir_;
};

void CompareEndToEnd(benchmark::State& state) {
  const Files files;
  for (auto _ : state) {
    const Report report = read_report(files.report());
    const Baseline baseline = read_baseline(files.baseline());
    Comparison c = compare_to_baseline(report, baseline, "bench.json");
    benchmark::DoNotOptimize(c);
  }
  state.counters["report_MB"] =
      static_cast<double>(std::filesystem::file_size(files.report())) / 1e6;
}
BENCHMARK(CompareEndToEnd)->Name("compare/end_to_end/10000x10000")->Unit(benchmark::kMillisecond);

void ImportText(benchmark::State& state) {
  const std::string log = make_log();
  std::size_t rows = 0;
  for (auto _ : state) {
    Report report = import_nccl_tests(log, "bench.log", {});
    rows = report.results.size();
    benchmark::DoNotOptimize(report);
  }
  state.counters["lines"] = static_cast<double>(kLogLines);
  state.counters["rows"] = static_cast<double>(rows);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(log.size()));
}
BENCHMARK(ImportText)->Name("import/text/100000_lines")->Unit(benchmark::kMillisecond);

void ImportFromFile(benchmark::State& state) {
  const Files files;
  for (auto _ : state) {
    Report report = import_nccl_tests_file(files.log(), {});
    benchmark::DoNotOptimize(report);
  }
}
BENCHMARK(ImportFromFile)->Name("import/from_file/100000_lines")->Unit(benchmark::kMillisecond);

// What `import --keep-repeats --json` does after importing: the report as JSON (66,624 rows),
// written straight from the structs, and the same through nlohmann's DOM for comparison.
Report kept_repeats_report() {
  NcclTestsImportOptions options;
  options.keep_repeats = true;
  return import_nccl_tests(make_log(), "bench.log", options);
}

void ImportWriteJson(benchmark::State& state) {
  const Report report = kept_repeats_report();
  for (auto _ : state) {
    std::string json = dump_report(report);
    benchmark::DoNotOptimize(json);
  }
  state.counters["rows"] = static_cast<double>(report.results.size());
}
BENCHMARK(ImportWriteJson)->Name("import/write_json/66624_rows")->Unit(benchmark::kMillisecond);

void ImportWriteJsonDom(benchmark::State& state) {
  const Report report = kept_repeats_report();
  for (auto _ : state) {
    std::string json = nlohmann::json(report).dump(2) + "\n";
    benchmark::DoNotOptimize(json);
  }
  state.counters["rows"] = static_cast<double>(report.results.size());
}
BENCHMARK(ImportWriteJsonDom)
    ->Name("import/write_json_dom/66624_rows")
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace preflight::reports

BENCHMARK_MAIN();
