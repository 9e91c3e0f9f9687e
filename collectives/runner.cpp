#include "collectives/runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "collectives/expected.hpp"
#include "collectives/nccl_log.hpp"
#include "collectives/timing.hpp"
#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/findings.hpp"
#include "common/job_end.hpp"
#include "common/progress_channel.hpp"
#include "common/sampler.hpp"
#include "common/size_spec.hpp"
#include "common/stats.hpp"
#include "common/sysfs.hpp"
#include "common/termination_watch.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "common/watchdog.hpp"
#include "preflight/build_config.hpp"
#include "reports/report_io.hpp"

namespace preflight::collectives {

using reports::Check;
using reports::make_check;
using reports::Report;
using reports::ResultRow;

namespace {

// Ranks other than 0, ended by the launcher (SIGTERM: a rank died), wait this long before
// exiting, so that rank 0 (ended the same way) writes its partial report first.
constexpr double kNonWriterExitGrace_s = 1.5;
// How long the rank that writes waits for the progress channel to tell a rank that just went quiet
// from a slow one: past the channel's silence limit, so that a rank whose host was cut off is
// known as such before the job ends (mpirun, told of an exit, would wait for the cut-off host's
// daemon). The other ranks wait for the writer to end the job (common/job_end.hpp).
constexpr double kSettle_s = 3.5;
// NCCL logs larger than this are judged on their first part only.
constexpr std::size_t kMaxLogBytes = 64U << 20U;

// The latest report every finished size has produced, for the watchdog thread.
class ReportKeeper {
 public:
  void set(const Report& report) {
    const std::lock_guard lock(mutex_);
    base_ = report;
  }
  [[nodiscard]] Report get() const {
    const std::lock_guard lock(mutex_);
    return base_;
  }

 private:
  mutable std::mutex mutex_;
  Report base_;
};

// One deadline per phase; steps inside a phase keep its deadline and only rename it, so the
// timeout check says where inside the size the run stalled.
class PhaseDeadline {
 public:
  PhaseDeadline(Watchdog& watchdog, double timeout_s, const std::atomic<ProgressChannel*>& progress)
      : watchdog_(watchdog), timeout_s_(timeout_s), progress_(progress) {}

  void begin(std::string phase, std::int64_t step = -1) {
    phase_ = std::move(phase);
    step_ = step;
    clock_.restart();
    if (timeout_s_ > 0) {
      watchdog_.arm(phase_, timeout_s_);
    }
    report(phase_);
  }
  void step(std::string_view what) {
    const std::string phase = fmt::format("{}: {}", phase_, what);
    if (timeout_s_ > 0) {
      const double remaining_s = std::max(timeout_s_ - clock_.elapsed_s(), 1e-3);
      watchdog_.arm(phase, remaining_s);
    }
    report(phase);
  }
  void end() { watchdog_.disarm(); }

 private:
  // Where this rank is, for rank 0's view of the job (the progress channel).
  void report(const std::string& phase) const {
    if (ProgressChannel* channel = progress_.load()) {
      channel->set_phase(phase, step_);
    }
  }

  Watchdog& watchdog_;
  double timeout_s_;
  const std::atomic<ProgressChannel*>& progress_;
  std::string phase_;
  std::int64_t step_ = -1;
  Stopwatch clock_;
};

// The ranks to name when the run stalls or a peer is lost: from the progress channel (every
// host) on the rank that has its view, else this host's ranks from /proc.
nlohmann::json stalled_ranks(const std::atomic<ProgressChannel*>& progress,
                             const nlohmann::json& local_ranks_not_running, bool deterministic) {
  if (const ProgressChannel* channel = progress.load()) {
    // A rank that went quiet a moment ago is told apart (stopped, cut off) before it is named.
    channel->settle(kSettle_s);
    const std::vector<RankProgress> ranks = channel->snapshot();
    if (!ranks.empty()) {
      return to_json(ranks_not_progressing(ranks), deterministic);
    }
  }
  return local_ranks_not_running;
}

struct RankInfo {
  std::string host;
  long pid = 0;
  int local_rank = 0;
};

std::vector<RankInfo> gather_rank_info(Bootstrap& world, int local_rank) {
  const auto gathered =
      world.allgather_strings(fmt::format("{}\t{}\t{}", host_name(), ::getpid(), local_rank));
  std::vector<RankInfo> ranks;
  for (const std::string& entry : gathered) {
    const auto fields = split(entry, '\t');
    RankInfo info;
    info.host = std::string(fields.at(0));
    info.pid = std::stol(std::string(fields.at(1)));
    info.local_rank = std::stoi(std::string(fields.at(2)));
    ranks.push_back(std::move(info));
  }
  return ranks;
}

// The job's ranks, known once init has gathered them, for the watchdog and SIGTERM threads: on
// a stall or a lost peer they name the other ranks of this host that are stopped or gone (a rank
// on another host cannot be looked at from here; the launcher's own message names it).
class RankDirectory {
 public:
  void set(std::vector<RankInfo> ranks) {
    const std::lock_guard lock(mutex_);
    ranks_ = std::move(ranks);
  }
  // [{rank, host, pid, state}] for this host's other ranks that are not running.
  [[nodiscard]] nlohmann::json local_ranks_not_running(int my_rank,
                                                       const std::string& my_host) const {
    const std::lock_guard lock(mutex_);
    nlohmann::json found = nlohmann::json::array();
    for (std::size_t rank = 0; rank < ranks_.size(); ++rank) {
      const RankInfo& other = ranks_[rank];
      if (static_cast<int>(rank) == my_rank || other.host != my_host) {
        continue;
      }
      if (const ProcessState state = local_process_state(other.pid);
          state != ProcessState::running) {
        found.push_back({{"rank", rank},
                         {"host", other.host},
                         {"pid", other.pid},
                         {"state", to_string(state)}});
      }
    }
    return found;
  }
  [[nodiscard]] std::size_t size() const {
    const std::lock_guard lock(mutex_);
    return ranks_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<RankInfo> ranks_;
};

// "rank 2 (ip-10-0-0-1, pid 4711, exited); rank 3 (..., stopped, silent 7.5 s at '...',
// iteration 37)", or "" when none.
std::string describe_ranks(const nlohmann::json& ranks, bool deterministic) {
  std::vector<std::string> parts;
  for (const auto& entry : ranks) {
    std::string where;
    if (entry.contains("phase") && !entry.at("phase").get<std::string>().empty()) {
      where = fmt::format(", silent {:.1f} s at '{}', iteration {}", entry.value("silent_s", 0.0),
                          entry.at("phase").get<std::string>(), entry.value("iteration", 0));
    }
    parts.push_back(deterministic
                        ? fmt::format("rank {} ({}{})", entry.at("rank").get<int>(),
                                      entry.at("state").get<std::string>(), where)
                        : fmt::format("rank {} ({}, pid {}, {}{})", entry.at("rank").get<int>(),
                                      entry.at("host").get<std::string>(),
                                      entry.at("pid").get<long>(),
                                      entry.at("state").get<std::string>(), where));
  }
  return join(parts, "; ");
}

struct PlannedSize {
  DataType dtype;
  ReduceOp op;
  std::uint64_t requested_bytes;
  CollectiveLayout layout;
};

struct PlacementOutcome {
  bool ran = false;
  std::optional<std::string> skipped_reason;  // unsupported by the backend
  std::vector<double> samples_s;              // max over ranks, one per iteration
  std::string stop_reason;
  double own_median_s = 0;
  double host_median_s = 0;
  std::optional<BatchedMean> batched;  // per-iteration timing: the batched mean of the same call
  std::int64_t wrong = -1;             // this rank's wrong elements, -1 when not checked
  std::int64_t first_wrong_element = -1;
};

// What every rank contributes to a row.
struct RankOutcome {
  double own_median_s = 0;
  double host_median_s = 0;
  std::int64_t wrong = -1;
  std::int64_t first_wrong_element = -1;  // index in the output of the first wrong element
};

// The index of the first element of `actual` that differs from the expected output, -1 when none.
std::int64_t first_wrong_element(const ReferenceData& reference, int rank,
                                 const CollectiveLayout& layout,
                                 std::span<const std::byte> actual) {
  const std::size_t size = layout.element_bytes;
  std::array<std::byte, 8> expected{};
  for (std::uint64_t i = 0; i < layout.recv_count && (i + 1) * size <= actual.size(); ++i) {
    encode_element(reference.dtype(), reference.expected_value(rank, i, layout), expected.data());
    if (std::memcmp(expected.data(), actual.data() + i * size, size) != 0) {
      return static_cast<std::int64_t>(i);
    }
  }
  return -1;
}

std::string placement_name(bool in_place) {
  return in_place ? "in-place" : "out-of-place";
}

std::optional<std::string> read_text_file(const std::string& path, std::size_t limit) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    return std::nullopt;
  }
  std::string text(limit, '\0');
  stream.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(stream.gcount()));
  return text;
}

int worst_rank_by(const std::vector<RankOutcome>& outcomes) {
  int slowest = 0;
  for (std::size_t rank = 1; rank < outcomes.size(); ++rank) {
    if (outcomes[rank].own_median_s > outcomes[static_cast<std::size_t>(slowest)].own_median_s) {
      slowest = static_cast<int>(rank);
    }
  }
  return slowest;
}

Status worse(Status a, Status b) {
  const std::array<Status, 2> both{a, b};
  return combine_statuses(both);
}

// A size the host cannot hold is a usage error before anything runs, not a bad_alloc (or the
// OOM killer) in the middle of the sweep. Per rank, the host holds the send and receive buffers
// (host-memory backends) and the check's staging copies of the input and the expected output.
void check_host_memory(const std::vector<PlannedSize>& plan, const RunEnvironment& environment,
                       const std::vector<RankInfo>& ranks, int world_rank) {
  std::uint64_t largest_bytes = 0;
  std::uint64_t largest_requested = 0;
  for (const PlannedSize& size : plan) {
    if (size.layout.size_bytes() > largest_bytes) {
      largest_bytes = size.layout.size_bytes();
      largest_requested = size.requested_bytes;
    }
  }
  const std::uint64_t buffers = environment.backend_name == "nccl" ? 2 : 4;
  const auto& my_host = ranks.at(static_cast<std::size_t>(world_rank)).host;
  const auto ranks_here = static_cast<std::uint64_t>(std::count_if(
      ranks.begin(), ranks.end(), [&](const RankInfo& rank) { return rank.host == my_host; }));
  const auto available = available_memory_bytes(environment.sysfs);
  if (!available || largest_bytes == 0) {
    return;
  }
  // Overflow-safe: compare per rank.
  const std::uint64_t per_rank_available = *available / std::max<std::uint64_t>(ranks_here, 1);
  if (largest_bytes > per_rank_available / buffers) {
    throw UsageError(fmt::format(
        "--sizes: the largest size, {} ({} B per rank), needs about {} x {} B of host memory on "
        "each of the {} rank(s) of {}, which has {} B available (MemAvailable); choose a smaller "
        "maximum size",
        format_size(largest_requested), largest_bytes, buffers, largest_bytes, ranks_here, my_host,
        *available));
  }
}

// The algorithm and protocol NCCL chose for each row, from every rank's TUNING lines (each
// communicator's rank 0 prints them): a bus bandwidth above the ring's ceiling is then explained
// (NVLS, CollNet, tree). Rows of sizes without such lines are left unlabelled.
void label_nccl_algorithms(Report& report, CollectiveKind kind,
                           const std::vector<std::string>& judgements) {
  std::vector<TuningChoice> all;
  for (const std::string& text : judgements) {
    const auto judgement = nlohmann::json::parse(text);
    if (!judgement.contains("facts") || !judgement["facts"].contains("tuning")) {
      continue;
    }
    for (const auto& entry : judgement["facts"]["tuning"]) {
      all.push_back({entry.value("function", ""), entry.value("bytes", std::uint64_t{0}),
                     entry.value("algorithm", ""), entry.value("protocol", ""),
                     entry.value("calls", std::size_t{0})});
    }
  }
  if (all.empty()) {
    return;
  }
  std::set<std::string> used;
  for (ResultRow& row : report.results) {
    const std::uint64_t bytes =
        row.count * element_bytes(parse_data_type(row.dtype).value_or(DataType::float32));
    std::set<std::string> algorithms;
    std::set<std::string> protocols;
    for (const TuningChoice& choice : tuning_choices(all, kind, bytes)) {
      algorithms.insert(choice.algorithm);
      protocols.insert(choice.protocol);
      used.insert(choice.algorithm);
    }
    if (algorithms.empty()) {
      continue;
    }
    const auto joined = [](const std::set<std::string>& names) {
      return join(std::vector<std::string>(names.begin(), names.end()), ",");
    };
    row.labels["nccl_algorithm"] = joined(algorithms);
    row.labels["nccl_protocol"] = joined(protocols);
    row.labels["nccl_algorithm_source"] = "NCCL_DEBUG_SUBSYS=TUNING";
    const auto any_of = [&](std::string_view prefix) {
      return std::any_of(algorithms.begin(), algorithms.end(),
                         [&](const std::string& name) { return starts_with(name, prefix); });
    };
    row.labels["nccl_nvls"] = any_of("NVLS") ? "yes" : "no";
    row.labels["nccl_collnet"] = any_of("CollNet") ? "yes" : "no";
  }
  report.details["nccl_algorithms_used"] = std::vector<std::string>(used.begin(), used.end());
}

// NCCL_ALGO / NCCL_PROTO restrict NCCL's choice: recorded on every row, so that a row's figure is
// read against the algorithm it was forced to use.
void label_requested_algorithms(Report& report, const char* const* environment) {
  std::map<std::string, std::string> requested;
  for (const char* const* entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    for (const std::string_view name :
         {"NCCL_ALGO", "NCCL_PROTO", "NCCL_NVLS_ENABLE", "NCCL_COLLNET_ENABLE"}) {
      if (starts_with(text, name) && text.size() > name.size() && text[name.size()] == '=') {
        requested[std::string(name)] = std::string(text.substr(name.size() + 1));
      }
    }
  }
  if (requested.empty()) {
    return;
  }
  for (ResultRow& row : report.results) {
    for (const auto& [name, value] : requested) {
      row.labels["requested_" + to_lower(name)] = value;
    }
  }
}

}  // namespace

Report timeout_report(Report base, std::string_view tool, const std::string& phase,
                      double deadline_s, int rank, const std::string& host, bool deterministic,
                      const nlohmann::json& local_ranks_not_running) {
  std::erase_if(base.checks, [](const Check& check) { return check.id == "BENCH_INCOMPLETE"; });
  const std::string stalled = describe_ranks(local_ranks_not_running, deterministic);
  const std::string detail = fmt::format(
      "rank {}{} gave up waiting{}; the report holds the {} result rows finished before", rank,
      deterministic ? std::string() : fmt::format(" on {}", host),
      stalled.empty() ? std::string() : fmt::format(" (not progressing: {})", stalled),
      base.results.size());
  nlohmann::json evidence{{"phase", phase},
                          {"deadline_s", deadline_s},
                          {"rank", rank},
                          {"rows_finished", base.results.size()},
                          {"local_ranks_not_running", local_ranks_not_running}};
  if (!deterministic) {
    evidence["host"] = host;
  }
  base.checks.push_back(make_check(
      "BENCH_TIMEOUT", Status::timeout,
      finding_message("BENCH_TIMEOUT", tool, deadline_s, phase, detail), std::move(evidence)));
  reports::finish_report(base, false, deterministic);
  base.run.finished_at.clear();  // still a partial report
  return base;
}

Report lost_rank_report(Report base, std::string_view tool, const std::string& phase, int rank,
                        const std::string& host, bool deterministic,
                        const nlohmann::json& local_ranks_not_running) {
  std::erase_if(base.checks, [](const Check& check) { return check.id == "BENCH_INCOMPLETE"; });
  const std::string gone = describe_ranks(local_ranks_not_running, deterministic);
  const std::string peer =
      gone.empty() ? std::string("(a rank on another host; the launcher's message names it)")
                   : gone;
  const std::string detail = fmt::format(
      "{} rank {}{} was terminated (SIGTERM) in phase '{}': the launcher ends a job this way "
      "when one of its ranks dies; the report holds the {} result rows finished before",
      tool, rank, deterministic ? std::string() : fmt::format(" on {}", host), phase,
      base.results.size());
  nlohmann::json evidence{{"phase", phase},
                          {"rank", rank},
                          {"signal", "SIGTERM"},
                          {"rows_finished", base.results.size()},
                          {"local_ranks_not_running", local_ranks_not_running}};
  if (!deterministic) {
    evidence["host"] = host;
  }
  base.checks.push_back(make_check(
      "PEER_LOST", Status::error, finding_message("PEER_LOST", peer, detail), std::move(evidence)));
  reports::finish_report(base, false, deterministic);
  base.run.finished_at.clear();  // still a partial report
  return base;
}

Report incomplete_report(Report base, std::string_view tool, std::size_t finished,
                         std::size_t planned, bool deterministic) {
  base.checks.push_back(
      make_check("BENCH_INCOMPLETE", Status::error,
                 finding_message("BENCH_INCOMPLETE", tool, finished, planned,
                                 "the run is still going, or was killed before it finished"),
                 {{"sizes_finished", finished}, {"sizes_planned", planned}}));
  reports::finish_report(base, false, deterministic);
  base.run.finished_at.clear();
  return base;
}

std::optional<int> catalog_efa_count(const std::string& instance_type) {
  if (instance_type.empty() || instance_type.find('/') != std::string::npos) {
    return std::nullopt;
  }
  std::vector<std::filesystem::path> directories;
  if (const char* override_dir = std::getenv("PREFLIGHT_PLATFORMS_DIR")) {  // NOLINT
    directories.emplace_back(override_dir);
  }
  directories.emplace_back(std::filesystem::path(PREFLIGHT_DATA_INSTALL_DIR) / "platforms");
  directories.emplace_back(std::filesystem::path(PREFLIGHT_SOURCE_DIR) / "reports" / "platforms");
  for (const auto& directory : directories) {
    const auto path = directory / (instance_type + ".json");
    const auto text = read_text_file(path.string(), 1U << 20U);
    if (!text) {
      continue;
    }
    try {
      const auto document = nlohmann::json::parse(*text);
      return document.at("efa").at("count").get<int>();
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

Report run_collective(const CollectiveOptions& options, RunEnvironment& environment) {
  Bootstrap& world = environment.world;
  const int world_rank = world.rank();
  const int world_size = world.size();
  const bool writer = world_rank == 0;
  const bool deterministic = options.common.deterministic;
  const CollectiveInfo& info = collective_info(options.collective);
  const std::function<void(std::span<double>)> max_over_ranks = [&](std::span<double> values) {
    if (environment.max_over_ranks) {
      environment.max_over_ranks(values);
      return;
    }
    const auto all = world.allgather(std::as_bytes(values));
    for (const auto& bytes : all) {
      for (std::size_t i = 0; i < values.size(); ++i) {
        double value = 0;
        std::memcpy(&value, bytes.data() + i * sizeof(double), sizeof(double));
        values[i] = std::max(values[i], value);
      }
    }
  };

  // ---- report skeleton ----
  std::vector<const char*> argv_pointers;
  for (const auto& argument : options.argv) {
    argv_pointers.push_back(argument.c_str());
  }
  Report report = reports::start_report(info.tool, static_cast<int>(argv_pointers.size()),
                                        argv_pointers.data(), deterministic);
  if (!environment.launch_problem.empty()) {
    report.checks.push_back(
        make_check("LAUNCH_WORLD_MISMATCH", Status::error,
                   finding_message("LAUNCH_WORLD_MISMATCH", environment.launch_problem)));
    reports::finish_report(report, options.common.warn_as_fail, deterministic);
    return report;
  }

  // ---- watchdog ----
  reports::IncrementalReportWriter report_writer(writer ? options.common.json_path : "");
  ReportKeeper keeper;
  keeper.set(report);
  RankDirectory rank_directory;
  AbortSlot abortable;
  const std::string my_host = host_name();
  // Where every rank is (rank 0's view, any host), once init has opened it. Declared before the
  // watchdog and the termination watch, which read it, so it outlives them.
  std::unique_ptr<ProgressChannel> progress_owner;
  std::atomic<ProgressChannel*> progress{nullptr};
  JobEnding ending;
  const auto leave = [&](int code) {
    if (environment.exit_process) {
      environment.exit_process(code);  // thread ranks: the aborted backend ends the run
      return;
    }
    end_job(code, progress.load(), writer, environment.abort_job);
  };
  Watchdog watchdog([&](const std::string& phase, double /*remaining_s*/) {
    if (!ending.begin(exit_code::timeout)) {
      ending.leave_after_first();
    }
    const nlohmann::json stalled = stalled_ranks(
        progress, rank_directory.local_ranks_not_running(world_rank, my_host), deterministic);
    const Report partial = timeout_report(keeper.get(), info.tool, phase, options.timeout_s,
                                          world_rank, my_host, deterministic, stalled);
    std::fprintf(
        stderr, "%s: rank %d: timeout after %g s in phase '%s'%s\n", std::string(info.tool).c_str(),
        world_rank, options.timeout_s, phase.c_str(),
        stalled.empty()
            ? ""
            : fmt::format("; not progressing: {}", describe_ranks(stalled, deterministic)).c_str());
    if (writer) {
      try {
        report_writer.finish(partial);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot write the partial report: %s\n",
                     std::string(info.tool).c_str(), e.what());
      }
    }
    ending.report_written();
    abortable.abort();  // a request only: the thread using the backend aborts it
    leave(exit_code::timeout);
  });
  PhaseDeadline deadline(watchdog, options.timeout_s, progress);
  // Init starts here: even the first exchange between the ranks has a deadline.
  deadline.begin("init");

  const std::vector<RankInfo> ranks = gather_rank_info(world, environment.local_rank);
  rank_directory.set(ranks);
  progress_owner = ProgressChannel::open(world, {.comparable_positions = true});
  progress.store(progress_owner.get());
  // SIGTERM: a launcher ends the surviving ranks this way when one of them dies. The rank that
  // writes the report names the ranks that are gone (from the progress channel: any host) and
  // exits 4 with the sizes finished; the others first give it the moment to look, while the dead
  // rank is the only one gone.
  std::optional<TerminationWatch> termination_watch;
  if (environment.watch_termination && world_size > 1) {
    termination_watch.emplace([&] {
      if (!ending.begin(exit_code::error)) {
        ending.leave_after_first();
      }
      if (!writer) {
        std::this_thread::sleep_for(std::chrono::duration<double>(kNonWriterExitGrace_s));
      } else {
        const std::string phase = watchdog.current_phase();
        const nlohmann::json gone = stalled_ranks(
            progress, rank_directory.local_ranks_not_running(world_rank, my_host), deterministic);
        const Report partial = lost_rank_report(keeper.get(), info.tool, phase, world_rank, my_host,
                                                deterministic, gone);
        std::fprintf(stderr, "%s: rank %d: terminated (SIGTERM) in phase '%s': %s\n",
                     std::string(info.tool).c_str(), world_rank, phase.c_str(),
                     partial.checks.back().message.c_str());
        try {
          report_writer.finish(partial);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "%s: cannot write the partial report: %s\n",
                       std::string(info.tool).c_str(), e.what());
        }
      }
      ending.report_written();
      std::fflush(stdout);
      std::fflush(stderr);
      // The launcher is already ending the job.
      if (environment.exit_process) {
        environment.exit_process(exit_code::error);
      } else {
        std::_Exit(exit_code::error);
      }
    });
  }
  report.run.ranks = world_size;
  std::set<std::string> distinct_hosts;
  for (const auto& rank : ranks) {
    distinct_hosts.insert(rank.host);
  }
  report.run.nodes = static_cast<int>(distinct_hosts.size());
  if (!deterministic) {
    report.run.hosts.assign(distinct_hosts.begin(), distinct_hosts.end());
    report.inventory.env = reports::allowlisted_environment(environment.environment);
    for (const auto& [name, version] : environment.versions.items()) {
      report.inventory.versions[name] = version.get<std::string>();
    }
  }
  report.inventory.instance_type = options.instance_type;
  if (report.inventory.instance_type.empty()) {
    report.inventory.instance_type =
        environment.sysfs.read_line("/sys/devices/virtual/dmi/id/product_name").value_or("");
  }
  const std::vector<std::string> local_efa = efa_device_names(environment.sysfs);
  for (const auto& device : local_efa) {
    report.inventory.efa.push_back({{"name", device}});
  }
  // The first rank of each host reads its node's counters.
  const bool node_leader =
      std::none_of(ranks.begin(), ranks.begin() + world_rank, [&](const RankInfo& other) {
        return other.host == ranks[static_cast<std::size_t>(world_rank)].host;
      });

  nlohmann::json& details = report.details;
  details["collective"] = info.name;
  details["sizes_requested"] = options.sizes_spec;
  details["dtypes"] = nlohmann::json::array();
  for (const DataType dtype : options.dtypes) {
    details["dtypes"].push_back(to_string(dtype));
  }
  details["ops"] = nlohmann::json::array();
  for (const ReduceOp op : options.ops) {
    details["ops"].push_back(to_string(op));
  }
  details["sampling"] = {{"warmup_iterations", options.sampling.warmup_iterations},
                         {"min_iterations", options.sampling.min_iterations},
                         {"max_iterations", options.sampling.max_iterations},
                         {"target_precision", options.sampling.target_precision},
                         {"time_per_size_s", options.sampling.time_budget_s},
                         {"fixed", options.sampling.fixed},
                         {"timing", to_string(options.timing)}};
  if (options.timing == TimingMode::batch) {
    details["sampling"]["batch_iterations"] = batch_length(options);
    details["sampling"]["sample"] = fmt::format(
        "mean over ranks of the time per call of a batch of {} calls launched back "
        "to back after a barrier (nccl-tests' method){}",
        batch_length(options), options.cuda_graph ? ", the batch captured as one CUDA graph" : "");
  } else {
    details["sampling"]["sample"] = "per-iteration maximum over ranks";
    details["sampling"]["batch_mean"] =
        "labels batch_mean_time_s / batch_mean_iterations: after the samples, one batch of calls "
        "back to back after a barrier, the time per call averaged over ranks (nccl-tests' and "
        "OSU's mean), as many calls as samples (-n N: N), at most about a quarter of the time "
        "budget";
  }
  if (std::find(options.ops.begin(), options.ops.end(), ReduceOp::avg) != options.ops.end()) {
    details["avg"] =
        "the sum divided by the rank count: MPI has no average, so the mpi backend runs MPI_SUM "
        "and divides every element inside the timed region; NCCL runs ncclAvg. Checked only "
        "where the result is exact in the data type";
  }
  details["check_iterations"] = options.check_iterations;
  details["timeout_s"] = options.timeout_s;
  if (environment.faults.active()) {
    details["fault_injection"] = environment.faults.to_json();
  }

  // ---- init: groups, backend ----
  const int my_color = options.split ? split_color(*options.split, world_rank) : 0;
  const std::vector<int> colors = world.allgather_value(my_color);
  const SplitGroups groups = resolve_split(colors, world_rank);
  if (options.split) {
    details["split"] = {{"spec", options.split->text},
                        {"groups", groups.group_count},
                        {"group_size", groups.group_size}};
  }
  if (info.rooted && options.root >= groups.group_size) {
    throw UsageError(fmt::format("--root {}: the communicator has only {} ranks", options.root,
                                 groups.group_size));
  }
  details["backend"] = {{"name", environment.backend_name},
                        {"selected", environment.backend_selection}};

  // Every rank learns whether every rank can run the backend, so none of them enters a
  // communicator that can never complete.
  const std::string unavailable =
      environment.backend_unavailable ? environment.backend_unavailable().value_or("") : "";
  const std::vector<std::string> unavailable_all = world.allgather_strings(unavailable);
  std::vector<std::string> unavailable_parts;
  for (std::size_t rank = 0; rank < unavailable_all.size(); ++rank) {
    if (!unavailable_all[rank].empty()) {
      unavailable_parts.push_back(
          deterministic
              ? fmt::format("rank {}: {}", rank, unavailable_all[rank])
              : fmt::format("rank {} ({}): {}", rank, ranks[rank].host, unavailable_all[rank]));
    }
  }
  if (!unavailable_parts.empty()) {
    report.checks.push_back(
        make_check("STEP_SKIPPED", Status::skip,
                   finding_message("STEP_SKIPPED", join(unavailable_parts, "; ")),
                   {{"reason", unavailable_parts}}));
    deadline.end();
    reports::finish_report(report, options.common.warn_as_fail, deterministic);
    return report;
  }
  std::unique_ptr<CollectiveBackend> backend = environment.make_backend(groups);
  // Declared after `backend`: on every path (an exception unwinding too) the watchdog loses the
  // backend before it is destroyed.
  const AbortRegistration abort_registration(abortable, *backend);
  const std::vector<std::string> descriptions = world.allgather_strings(backend->describe().dump());
  details["backend"]["name"] = backend->name();
  details["backend"]["transport"] = backend->transport();
  details["ranks"] = nlohmann::json::array();
  for (std::size_t rank = 0; rank < ranks.size(); ++rank) {
    nlohmann::json entry{{"rank", rank},
                         {"local_rank", ranks[rank].local_rank},
                         {"group", colors[rank]},
                         {"device", nlohmann::json::parse(descriptions[rank])}};
    if (!deterministic) {
      entry["host"] = ranks[rank].host;
      entry["pid"] = ranks[rank].pid;
    }
    if (entry["device"].contains("gpu")) {
      report.inventory.gpus.push_back({{"rank", rank},
                                       {"name", entry["device"]["gpu"]},
                                       {"pci_bus_id", entry["device"].value("pci_bus_id", "")}});
    }
    details["ranks"].push_back(std::move(entry));
  }
  // The network plugin NCCL loaded on rank 0 (each rank's is in its device description).
  if (!deterministic && !details["ranks"].empty()) {
    const nlohmann::json& device = details["ranks"][0]["device"];
    if (device.contains("net_plugin")) {
      for (const auto& plugin : device["net_plugin"].value("loaded", nlohmann::json::array())) {
        report.inventory.versions["nccl_net_plugin"] =
            plugin["version"].is_string()
                ? fmt::format("{} ({})", plugin["version"].get<std::string>(),
                              plugin["path"].get<std::string>())
                : plugin["path"].get<std::string>();
        break;
      }
    }
  }
  const EfaCounterSnapshot counters_before =
      node_leader ? read_efa_port_counters(environment.sysfs) : EfaCounterSnapshot{};

  // ---- plan ----
  std::vector<PlannedSize> plan;
  nlohmann::json skipped_sizes = nlohmann::json::array();
  for (const DataType dtype : options.dtypes) {
    for (const ReduceOp op : options.ops) {
      std::optional<CollectiveLayout> previous;
      for (const std::uint64_t requested : options.sizes_bytes) {
        const CollectiveLayout layout = collective_layout(options.collective, requested,
                                                          element_bytes(dtype), groups.group_size);
        if (previous && *previous == layout) {
          // nccl-tests would print the same row again (e.g. all_gather sizes below 16 B per rank).
          skipped_sizes.push_back({{"dtype", to_string(dtype)},
                                   {"op", to_string(op)},
                                   {"requested_bytes", requested},
                                   {"same_as_bytes", layout.size_bytes()}});
          continue;
        }
        previous = layout;
        plan.push_back({dtype, op, requested, layout});
      }
    }
  }
  check_host_memory(plan, environment, ranks, world_rank);
  details["sizes_skipped_as_duplicates"] = skipped_sizes;
  details["sizes_planned"] = plan.size();
  details["sizes_finished"] = 0;
  const std::uint64_t hang_size = environment.faults.hang_size_bytes.value_or(
      plan.size() > 1 ? plan[1].requested_bytes : (plan.empty() ? 0 : plan[0].requested_bytes));
  const bool i_hang = environment.faults.hang_rank == world_rank;
  const bool i_flip = environment.faults.flip_rank == world_rank;

  std::vector<bool> placements;
  if (options.out_of_place) {
    placements.push_back(false);
  }
  if (options.in_place) {
    placements.push_back(true);
  }

  std::map<std::string, std::string> skipped_notes;  // reason -> first case, for STEP_SKIPPED
  std::vector<Check> wrong_checks;
  std::size_t sizes_checked = 0;
  const Stopwatch run_clock;
  if (writer) {
    report_writer.checkpoint(incomplete_report(report, info.tool, 0, plan.size(), deterministic));
  }
  keeper.set(report);

  // ---- sweep ----
  for (std::size_t index = 0; index < plan.size(); ++index) {
    const PlannedSize& planned = plan[index];
    const std::string step_name = fmt::format("{} {} {} B", to_string(planned.dtype),
                                              to_string(planned.op), planned.layout.size_bytes());
    deadline.begin(fmt::format("{} {}", info.name, step_name), static_cast<std::int64_t>(index));
    if (i_hang && planned.requested_bytes == hang_size) {
      std::fprintf(stderr, "%s: rank %d: PREFLIGHT_FAULT_HANG_RANK: hanging (test-only hook)\n",
                   std::string(info.tool).c_str(), world_rank);
      while (true) {
        std::this_thread::sleep_for(std::chrono::hours(1));
      }
    }
    const ReferenceData reference(options.collective, planned.dtype, planned.op, groups.group_size,
                                  options.root);
    const bool check = options.check_iterations > 0 && !reference.inexact_reason();
    if (options.check_iterations > 0 && reference.inexact_reason()) {
      skipped_notes.emplace(*reference.inexact_reason(), step_name);
    }
    std::int64_t size_wrong_total = 0;
    std::map<int, std::pair<std::int64_t, std::int64_t>> wrong_by_rank;  // out, in
    std::map<int, std::int64_t> first_wrong_by_rank;
    for (const bool in_place : placements) {
      CollectiveCall call;
      call.kind = options.collective;
      call.dtype = planned.dtype;
      call.op = planned.op;
      call.in_place = in_place;
      call.root = options.root;
      call.layout = planned.layout;
      PlacementOutcome outcome;
      if (auto reason = backend->unsupported(call)) {
        skipped_notes.emplace(*reason, fmt::format("{} {}", step_name, placement_name(in_place)));
        continue;
      }
      const std::string placement = placement_name(in_place);
      const std::size_t element = planned.layout.element_bytes;
      std::vector<std::byte> input(planned.layout.send_count * element);
      std::vector<std::byte> output(planned.layout.recv_count * element);
      reference.fill_input(backend->rank(), planned.layout, input);
      backend->prepare(call);
      backend->write_input(input);

      deadline.step("warm-up " + placement);
      ProgressChannel* const channel = progress.load();
      for (std::size_t i = 0; i < options.sampling.warmup_iterations; ++i) {
        backend->run();
        channel->set_iteration(static_cast<std::int64_t>(i + 1));
      }

      deadline.step("timing " + placement);
      const TimedSamples timed =
          options.timing == TimingMode::batch
              ? time_batches(*backend, world, options, channel)
              : time_iterations(*backend, options.sampling, max_over_ranks, channel);
      outcome.ran = true;
      outcome.samples_s = timed.samples_s;
      outcome.stop_reason = timed.stop_reason;
      outcome.own_median_s = median(timed.own_s);
      outcome.host_median_s = median(timed.host_s);
      if (options.timing == TimingMode::per_iteration) {
        // The mean nccl-tests and OSU print, measured right after the distribution, so a row
        // compares like for like with either kind of peer.
        outcome.batched =
            time_batched_mean(*backend, world,
                              batched_mean_iterations(options.sampling, timed.samples_s.size(),
                                                      median(timed.samples_s)));
      }

      if (check) {
        deadline.step("check " + placement);
        outcome.wrong = 0;
        for (int iteration = 0; iteration < options.check_iterations; ++iteration) {
          reference.fill_poison(output);
          backend->write_output(output);
          backend->write_input(input);
          backend->run();
          backend->read_output(output);
          if (i_flip && !output.empty() &&
              (!environment.faults.flip_size_bytes ||
               *environment.faults.flip_size_bytes == planned.requested_bytes)) {
            output[0] ^= std::byte{1};  // PREFLIGHT_FAULT_FLIP_RANK (test-only)
          }
          const auto wrong = static_cast<std::int64_t>(
              reference.count_wrong(backend->rank(), planned.layout, output));
          if (wrong > 0 && outcome.first_wrong_element < 0) {
            outcome.first_wrong_element =
                first_wrong_element(reference, backend->rank(), planned.layout, output);
          }
          outcome.wrong += wrong;
        }
      }

      deadline.step("gather " + placement);
      const std::vector<RankOutcome> outcomes = world.allgather_value(RankOutcome{
          outcome.own_median_s, outcome.host_median_s, outcome.wrong, outcome.first_wrong_element});
      const int slowest = worst_rank_by(outcomes);
      const SampleSummary summary = summarize(outcome.samples_s);
      const Bandwidth bandwidth =
          compute_bandwidth(options.collective, planned.layout, groups.group_size, summary.median);
      ResultRow row;
      row.benchmark = std::string(info.name);
      row.backend = backend->name();
      row.transport = backend->transport();
      row.dtype = std::string(to_string(planned.dtype));
      row.op = std::string(to_string(planned.op));
      row.in_place = in_place;
      row.size_bytes = planned.layout.size_bytes();
      row.count = planned.layout.param_count;
      row.ranks = groups.group_size;
      row.time_s = reports::to_time_stats(summary);
      row.algbw_Bps = bandwidth.algbw_Bps;
      row.busbw_Bps = bandwidth.busbw_Bps;
      row.busbw_factor = bandwidth.factor;
      row.slowest_rank = slowest;
      if (!deterministic) {
        row.slowest_host = ranks[static_cast<std::size_t>(slowest)].host;
      }
      row.warmup_iterations = options.sampling.warmup_iterations;
      row.stop_reason = outcome.stop_reason;
      row.labels["placement"] = placement;
      row.labels["root"] = info.rooted ? std::to_string(options.root) : "-1";
      row.labels["requested_bytes"] = std::to_string(planned.requested_bytes);
      row.labels["timing"] = std::string(to_string(options.timing));
      row.labels["slowest_rank_time_s"] =
          fmt::format("{:.9g}", outcomes[static_cast<std::size_t>(slowest)].own_median_s);
      if (options.timing == TimingMode::batch) {
        // nccl-tests' time is the mean over ranks (our samples); the slowest rank's own median
        // is what its -a 3 would print. The host clock, from the first launch to completion, is
        // nccl-tests' own measuring instrument.
        row.labels["batch_iterations"] = std::to_string(batch_length(options));
        double host_sum_s = 0;
        for (const auto& rank_outcome : outcomes) {
          host_sum_s += rank_outcome.host_median_s;
        }
        row.labels["host_time_s"] =
            fmt::format("{:.9g}", host_sum_s / static_cast<double>(outcomes.size()));
      } else if (backend->name() == "nccl") {
        std::vector<double> host_medians;
        for (const auto& rank_outcome : outcomes) {
          host_medians.push_back(rank_outcome.host_median_s);
        }
        row.labels["host_time_median_s"] =
            fmt::format("{:.9g}", *std::max_element(host_medians.begin(), host_medians.end()));
      }
      if (outcome.batched) {
        row.labels["batch_mean_time_s"] = fmt::format("{:.9g}", outcome.batched->mean_s);
        row.labels["batch_mean_iterations"] = std::to_string(outcome.batched->iterations);
        if (backend->name() == "nccl") {
          row.labels["batch_mean_host_time_s"] =
              fmt::format("{:.9g}", outcome.batched->host_mean_s);
        }
      }
      if (options.split) {
        row.labels["split"] = options.split->text;
      }
      if (check) {
        row.wrong_elements = 0;
        for (std::size_t rank = 0; rank < outcomes.size(); ++rank) {
          const std::int64_t wrong = outcomes[rank].wrong;
          row.wrong_elements += wrong;
          if (wrong > 0) {
            auto& counts = wrong_by_rank[static_cast<int>(rank)];
            (in_place ? counts.second : counts.first) += wrong;
            first_wrong_by_rank.emplace(static_cast<int>(rank), outcomes[rank].first_wrong_element);
          }
        }
        size_wrong_total += row.wrong_elements;
      }
      if (options.keep_samples) {
        row.samples_s = outcome.samples_s;
      }
      report.results.push_back(std::move(row));
    }
    if (check) {
      ++sizes_checked;
    }
    if (size_wrong_total > 0) {
      std::vector<std::string> parts;
      nlohmann::json by_rank = nlohmann::json::object();
      for (const auto& [rank, counts] : wrong_by_rank) {
        parts.push_back(fmt::format(
            "rank {}{}: {} out-of-place, {} in-place, first at element {}", rank,
            deterministic ? std::string()
                          : fmt::format(" ({})", ranks[static_cast<std::size_t>(rank)].host),
            counts.first, counts.second, first_wrong_by_rank[rank]));
        by_rank[std::to_string(rank)] = {{"out_of_place", counts.first},
                                         {"in_place", counts.second},
                                         {"first_wrong_element", first_wrong_by_rank[rank]}};
        if (!deterministic) {
          by_rank[std::to_string(rank)]["host"] = ranks[static_cast<std::size_t>(rank)].host;
        }
      }
      wrong_checks.push_back(
          make_check("RESULT_WRONG", Status::fail,
                     finding_message("RESULT_WRONG", size_wrong_total, planned.layout.size_bytes(),
                                     fmt::format("{} {}: {}", to_string(planned.dtype),
                                                 to_string(planned.op), join(parts, "; "))),
                     {{"size_bytes", planned.layout.size_bytes()},
                      {"dtype", to_string(planned.dtype)},
                      {"op", to_string(planned.op)},
                      {"wrong_elements", size_wrong_total},
                      {"wrong_by_rank", by_rank},
                      {"ranks", [&] {
                         nlohmann::json list = nlohmann::json::array();
                         for (const auto& entry : wrong_by_rank) {
                           list.push_back(entry.first);
                         }
                         return list;
                       }()}}));
    }
    details["sizes_finished"] = index + 1;
    Report base = report;
    if (wrong_checks.empty() && sizes_checked > 0) {
      base.checks.push_back(make_check(
          "RESULT_CORRECT", Status::pass,
          finding_message("RESULT_CORRECT", sizes_checked, groups.group_size),
          {{"sizes_checked", sizes_checked}, {"check_iterations", options.check_iterations}}));
    }
    base.checks.insert(base.checks.end(), wrong_checks.begin(), wrong_checks.end());
    keeper.set(base);
    if (writer) {
      report_writer.checkpoint(
          incomplete_report(base, info.tool, index + 1, plan.size(), deterministic));
      if (environment.on_progress) {
        environment.on_progress({index + 1, plan.size(), step_name, run_clock.elapsed_s()});
      }
    }
  }

  // ---- teardown: counters, NCCL log, communicator ----
  deadline.begin("teardown");
  // EFA counter deltas, per node.
  std::string my_counters = "{}";
  if (node_leader && !counters_before.empty()) {
    const nlohmann::json deltas =
        efa_counter_deltas(counters_before, read_efa_port_counters(environment.sysfs));
    my_counters = deltas.dump();
  }
  const std::vector<std::string> all_counters = world.allgather_strings(my_counters);
  std::vector<Check> counter_checks;
  for (std::size_t rank = 0; rank < all_counters.size(); ++rank) {
    const auto deltas = nlohmann::json::parse(all_counters[rank]).get<EfaCounterSnapshot>();
    const std::string prefix =
        distinct_hosts.size() > 1 && !deterministic ? ranks[rank].host + "/" : std::string();
    for (const auto& [device, counters] : deltas) {
      report.hw_counters_delta[prefix + device] = counters;
    }
    for (EfaCounterFinding finding : efa_counter_findings(deltas, std::nullopt)) {
      finding.device = prefix + finding.device;
      counter_checks.push_back(
          make_check(finding.id, finding_status(finding.id), finding.message(),
                     {{"device", finding.device}, {"rank", rank}, {"increases", finding.rises}}));
    }
  }

  // NCCL's log: every rank judges its own, the judgements are merged by finding id.
  std::vector<Check> transport_checks;
  if (!environment.nccl_log_file.empty()) {
    nlohmann::json mine = nlohmann::json::object();
    const auto text = read_text_file(environment.nccl_log_file, kMaxLogBytes);
    const bool efa_expected = !local_efa.empty() || options.expect_efa_nics.has_value();
    if (!text) {
      mine["not_judged"] = fmt::format("cannot read the NCCL log {}", environment.nccl_log_file);
    } else {
      const NcclLogFacts facts = parse_nccl_log(*text);
      mine["facts"] = facts.to_json();
      TransportExpectation expectation;
      expectation.platform = report.inventory.instance_type;
      expectation.efa_nics = options.expect_efa_nics
                                 ? options.expect_efa_nics
                                 : catalog_efa_count(report.inventory.instance_type);
      const TransportJudgement judgement = judge_nccl_transport(facts, expectation);
      if (!efa_expected) {
        mine["not_judged"] = "no EFA device on this node (and no --expect-efa-nics)";
      } else if (!judgement.judged) {
        mine["not_judged"] = judgement.not_judged_reason;
      } else {
        mine["findings"] = nlohmann::json::array();
        for (const auto& finding : judgement.findings) {
          mine["findings"].push_back({{"id", finding.id},
                                      {"status", to_string(finding.status)},
                                      {"message", finding.message},
                                      {"evidence", finding.evidence}});
        }
      }
    }
    const std::vector<std::string> all_judgements = world.allgather_strings(mine.dump());
    nlohmann::json log_details = nlohmann::json::array();
    std::map<std::string, Check> merged;
    std::map<std::string, nlohmann::json> merged_ranks;
    std::vector<std::string> not_judged;
    for (std::size_t rank = 0; rank < all_judgements.size(); ++rank) {
      const auto judgement = nlohmann::json::parse(all_judgements[rank]);
      log_details.push_back(judgement);
      if (judgement.contains("not_judged")) {
        not_judged.push_back(
            fmt::format("rank {}: {}", rank, judgement["not_judged"].get<std::string>()));
        continue;
      }
      for (const auto& finding : judgement.value("findings", nlohmann::json::array())) {
        const std::string id = finding["id"].get<std::string>();
        const Status status =
            parse_status(finding["status"].get<std::string>()).value_or(Status::error);
        auto [it, inserted] = merged.try_emplace(
            id, make_check(id, status, finding["message"].get<std::string>(), finding["evidence"]));
        if (!inserted) {
          it->second.status = worse(it->second.status, status);
        }
        merged_ranks[id].push_back(rank);
      }
    }
    for (auto& [id, check] : merged) {
      check.evidence["ranks"] = merged_ranks[id];
      transport_checks.push_back(std::move(check));
    }
    if (!not_judged.empty()) {
      transport_checks.push_back(
          make_check("STEP_SKIPPED", Status::skip,
                     finding_message(
                         "STEP_SKIPPED",
                         fmt::format("NCCL transport not judged on {} of {} ranks: {}",
                                     not_judged.size(), all_judgements.size(), not_judged.front())),
                     {{"ranks", not_judged}}));
    }
    details["nccl_log"] = {{"file_pattern", options.nccl_log_path + ".rank<N>"},
                           {"ranks", log_details}};
    // The rows' transport is what the log proved.
    const auto uses = merged.find("NCCL_USES_EFA");
    const bool fallback = merged.count("NCCL_FALLBACK_SOCKET") > 0;
    if (fallback || (uses != merged.end() && merged_ranks["NCCL_USES_EFA"].size() ==
                                                 static_cast<std::size_t>(world_size))) {
      for (auto& row : report.results) {
        row.transport = fallback ? "socket" : "efa";
      }
    }
    label_nccl_algorithms(report, options.collective, all_judgements);
  }
  if (backend->name() == "nccl") {
    label_requested_algorithms(report, environment.environment);
    if (environment.nccl_log_file.empty()) {
      details["nccl_algorithms_used"] =
          "not recorded: --nccl-log FILE captures NCCL's TUNING lines, which name the algorithm "
          "and protocol of every call";
    }
  }

  backend->finish();  // the normal end (ncclCommFinalize); the destructor alone would abort
  abortable.set(nullptr);
  backend.reset();
  deadline.end();
  progress.store(nullptr);
  progress_owner.reset();  // says goodbye: rank 0 sees this rank finished, not lost

  // ---- checks and verdict ----
  if (options.check_iterations == 0) {
    report.checks.push_back(make_check(
        "STEP_SKIPPED", Status::skip,
        finding_message("STEP_SKIPPED", "results not checked for correctness (--check 0)")));
  } else if (wrong_checks.empty() && sizes_checked > 0) {
    report.checks.push_back(make_check(
        "RESULT_CORRECT", Status::pass,
        finding_message("RESULT_CORRECT", sizes_checked, groups.group_size),
        {{"sizes_checked", sizes_checked}, {"check_iterations", options.check_iterations}}));
  }
  report.checks.insert(report.checks.end(), wrong_checks.begin(), wrong_checks.end());
  for (const auto& [reason, first_case] : skipped_notes) {
    report.checks.push_back(make_check(
        "STEP_SKIPPED", Status::skip,
        finding_message("STEP_SKIPPED", fmt::format("{} (first at {})", reason, first_case))));
  }
  report.checks.insert(report.checks.end(), transport_checks.begin(), transport_checks.end());
  report.checks.insert(report.checks.end(), counter_checks.begin(), counter_checks.end());
  if (!report.results.empty()) {
    const auto peak = std::max_element(
        report.results.begin(), report.results.end(),
        [](const ResultRow& a, const ResultRow& b) { return a.busbw_Bps < b.busbw_Bps; });
    const std::string summary = fmt::format(
        "{} rows ({} sizes) on backend {}; peak bus bandwidth {:.2f} GB/s at {} B ({} {}, {})",
        report.results.size(), plan.size(), details["backend"]["name"].get<std::string>(),
        peak->busbw_Bps / 1e9, peak->size_bytes, peak->dtype, peak->op,
        peak->labels.at("placement"));
    report.checks.push_back(
        make_check("COLLECTIVE_MEASURED", Status::pass,
                   finding_message("COLLECTIVE_MEASURED", info.name, groups.group_size, summary),
                   {{"peak_busbw_Bps", peak->busbw_Bps},
                    {"peak_size_bytes", peak->size_bytes},
                    {"peak_dtype", peak->dtype},
                    {"peak_op", peak->op},
                    {"peak_placement", peak->labels.at("placement")}}));
  }
  reports::finish_report(report, options.common.warn_as_fail, deterministic);
  return report;
}

}  // namespace preflight::collectives
