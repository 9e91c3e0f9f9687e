#include "collectives/runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "collectives/expected.hpp"
#include "collectives/nccl_run_log.hpp"
#include "collectives/sweep_plan.hpp"
#include "collectives/sweep_rows.hpp"
#include "collectives/timing.hpp"
#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/findings.hpp"
#include "common/job_end.hpp"
#include "common/sampler.hpp"
#include "common/stats.hpp"
#include "common/sysfs.hpp"
#include "common/termination_watch.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "harness/agreement.hpp"
#include "harness/guard.hpp"
#include "harness/report.hpp"
#include "reports/report_io.hpp"

namespace preflight::collectives {

using reports::Check;
using reports::fire_check;
using reports::judged_check;
using reports::pass_check;
using reports::Report;
using reports::ResultRow;
using reports::skip_check;

namespace {

// Ranks other than 0, ended by the launcher (SIGTERM: a rank died), wait this long before
// exiting, so that rank 0 (ended the same way) writes its partial report first.
constexpr double kNonWriterExitGrace_s = 1.5;

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

 private:
  mutable std::mutex mutex_;
  std::vector<RankInfo> ranks_;
};

std::string placement_name(bool in_place) {
  return in_place ? "in-place" : "out-of-place";
}

// The sweep of one run_collective call: its phases in order (report skeleton, init, backend,
// plan, sizes, teardown, verdict) over the state they share, under the harness's guard.
class Sweep {
 public:
  Sweep(const CollectiveOptions& options, RunEnvironment& environment)
      : options_(options),
        environment_(environment),
        world_(environment.world),
        info_(collective_info(options.collective)),
        rank_(world_.rank()),
        writer_(rank_ == 0),
        deterministic_(options.common.deterministic),
        report_writer_(writer_ ? options.common.json_path : ""),
        guard_({.tool = std::string(info_.tool),
                .timeout_s = options.timeout_s,
                .writer = writer_ ? &report_writer_ : nullptr,
                .on_progress = environment.on_progress}) {}

  Report run();

 private:
  void start_report();
  [[nodiscard]] harness::StopHandlers stop_handlers();
  [[nodiscard]] nlohmann::json stalled_ranks() const;
  void leave(int code);
  void init_ranks();
  void describe_run();
  void describe_sampling();
  [[nodiscard]] bool backend_available();
  void start_backend();
  void describe_backend();
  void plan();
  void measure_size(std::size_t index);
  [[nodiscard]] PlacementOutcome measure_placement(const PlannedSize& planned,
                                                   const CollectiveCall& call,
                                                   const ReferenceData& reference, bool check);
  void checkpoint_size(std::size_t index, const std::string& step_name);
  [[nodiscard]] std::vector<Check> counter_checks();
  void teardown();
  void add_verdict_checks();
  [[nodiscard]] std::optional<Check> correct_check() const;
  void max_over_ranks(std::span<double> values);
  [[nodiscard]] std::vector<std::string> report_hosts() const;

  const CollectiveOptions& options_;
  RunEnvironment& environment_;
  Bootstrap& world_;
  const CollectiveInfo& info_;
  const int rank_;
  const bool writer_;
  const bool deterministic_;
  const std::string my_host_ = host_name();
  Report report_;
  std::vector<RankInfo> ranks_;
  std::set<std::string> distinct_hosts_;
  bool node_leader_ = false;
  std::vector<std::string> local_efa_;
  std::vector<int> colors_;
  SplitGroups groups_;
  std::unique_ptr<CollectiveBackend> backend_;
  EfaCounterSnapshot counters_before_;
  SweepPlan plan_;
  std::vector<bool> placements_;
  std::map<std::string, std::string> skipped_notes_;  // reason -> first case, for STEP_SKIPPED
  std::vector<Check> wrong_checks_;
  std::size_t sizes_checked_ = 0;
  std::vector<Check> transport_checks_;
  // Read by the stop handlers (watchdog and termination threads): declared before the guard.
  reports::IncrementalReportWriter report_writer_;
  harness::LiveReport live_;
  RankDirectory rank_directory_;
  AbortSlot abortable_;
  harness::RunGuard guard_;
  // Declared after `backend_` and the guard: on every path (an exception unwinding too) the
  // watchdog loses the backend before it is destroyed.
  std::optional<AbortRegistration> abort_registration_;
};

void Sweep::max_over_ranks(std::span<double> values) {
  if (environment_.max_over_ranks) {
    environment_.max_over_ranks(values);
    return;
  }
  const auto all = world_.allgather(std::as_bytes(values));
  for (const auto& bytes : all) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      double value = 0;
      std::memcpy(&value, bytes.data() + i * sizeof(double), sizeof(double));
      values[i] = std::max(values[i], value);
    }
  }
}

std::vector<std::string> Sweep::report_hosts() const {
  std::vector<std::string> hosts;
  if (!deterministic_) {
    for (const RankInfo& rank : ranks_) {
      hosts.push_back(rank.host);
    }
  }
  return hosts;
}

void Sweep::start_report() {
  std::vector<const char*> argv_pointers;
  for (const auto& argument : options_.argv) {
    argv_pointers.push_back(argument.c_str());
  }
  report_ = reports::start_report(info_.tool, static_cast<int>(argv_pointers.size()),
                                  argv_pointers.data(), deterministic_);
}

// The ranks to name when the run stalls or a peer is lost: from the progress channel (every
// host) on the rank that has its view, else this host's ranks from /proc.
nlohmann::json Sweep::stalled_ranks() const {
  if (const auto view = guard_.not_progressing()) {
    return to_json(*view, deterministic_);
  }
  return rank_directory_.local_ranks_not_running(rank_, my_host_);
}

void Sweep::leave(int code) {
  if (environment_.exit_process) {
    environment_.exit_process(code);  // thread ranks: the aborted backend ends the run
    return;
  }
  end_job(code, guard_.progress(), writer_, environment_.abort_job);
}

harness::StopHandlers Sweep::stop_handlers() {
  harness::StopHandlers handlers;
  handlers.timed_out = [this](const std::string& phase, double /*remaining_s*/) {
    const nlohmann::json stalled = stalled_ranks();
    harness::StopNotice notice;
    notice.partial =
        harness::timeout_report(live_.snapshot(), info_.tool, phase, options_.timeout_s, rank_,
                                my_host_, deterministic_, stalled);
    notice.message = fmt::format(
        "{}: rank {}: timeout after {:g} s in phase '{}'{}", info_.tool, rank_, options_.timeout_s,
        phase,
        stalled.empty() ? std::string()
                        : fmt::format("; not progressing: {}",
                                      harness::describe_ranks(stalled, deterministic_)));
    return notice;
  };
  handlers.leave_after_timeout = [this](int code) {
    abortable_.abort();  // a request only: the thread using the backend aborts it
    leave(code);
  };
  // SIGTERM: a launcher ends the surviving ranks this way when one of them dies. The rank that
  // writes the report names the ranks that are gone (from the progress channel: any host) and
  // exits 4 with the sizes finished; the others first give it the moment to look, while the dead
  // rank is the only one gone.
  handlers.terminated = [this](const std::string& phase) {
    harness::StopNotice notice;
    if (!writer_) {
      std::this_thread::sleep_for(std::chrono::duration<double>(kNonWriterExitGrace_s));
      return notice;
    }
    notice.partial = harness::lost_rank_report(live_.snapshot(), info_.tool, phase, rank_, my_host_,
                                               deterministic_, stalled_ranks());
    notice.message = fmt::format("{}: rank {}: terminated (SIGTERM) in phase '{}': {}", info_.tool,
                                 rank_, phase, notice.partial->checks.back().message);
    return notice;
  };
  handlers.leave_after_termination = [this](int code) {
    // The launcher is already ending the job.
    if (environment_.exit_process) {
      environment_.exit_process(code);
    } else {
      std::_Exit(code);
    }
  };
  return handlers;
}

void Sweep::init_ranks() {
  ranks_ = gather_rank_info(world_, environment_.local_rank);
  rank_directory_.set(ranks_);
  guard_.open_progress(world_, {.comparable_positions = true});
  if (environment_.watch_termination && world_.size() > 1) {
    guard_.watch_termination();
  }
  for (const auto& rank : ranks_) {
    distinct_hosts_.insert(rank.host);
  }
  // The first rank of each host reads its node's counters.
  node_leader_ = std::none_of(ranks_.begin(), ranks_.begin() + rank_, [&](const RankInfo& other) {
    return other.host == ranks_[static_cast<std::size_t>(rank_)].host;
  });
}

void Sweep::describe_run() {
  report_.run.ranks = world_.size();
  report_.run.nodes = static_cast<int>(distinct_hosts_.size());
  if (!deterministic_) {
    report_.run.hosts.assign(distinct_hosts_.begin(), distinct_hosts_.end());
    report_.inventory.env = reports::allowlisted_environment(environment_.environment);
    for (const auto& [name, version] : environment_.versions.items()) {
      report_.inventory.versions[name] = version.get<std::string>();
    }
  }
  report_.inventory.instance_type = options_.instance_type;
  if (report_.inventory.instance_type.empty()) {
    report_.inventory.instance_type =
        environment_.sysfs.read_line("/sys/devices/virtual/dmi/id/product_name").value_or("");
  }
  local_efa_ = efa_device_names(environment_.sysfs);
  for (const auto& device : local_efa_) {
    report_.inventory.efa.push_back({{"name", device}});
  }
  nlohmann::json& details = report_.details;
  details["collective"] = info_.name;
  details["sizes_requested"] = options_.sizes_spec;
  details["dtypes"] = nlohmann::json::array();
  for (const DataType dtype : options_.dtypes) {
    details["dtypes"].push_back(to_string(dtype));
  }
  details["ops"] = nlohmann::json::array();
  for (const ReduceOp op : options_.ops) {
    details["ops"].push_back(to_string(op));
  }
  describe_sampling();
  if (std::find(options_.ops.begin(), options_.ops.end(), ReduceOp::avg) != options_.ops.end()) {
    details["avg"] =
        "the sum divided by the rank count: MPI has no average, so the mpi backend runs MPI_SUM "
        "and divides every element inside the timed region; NCCL runs ncclAvg. Checked only "
        "where the result is exact in the data type";
  }
  details["check_iterations"] = options_.check_iterations;
  details["timeout_s"] = options_.timeout_s;
  for (const auto& [key, value] : environment_.extra_details.items()) {
    details[key] = value;
  }
}

void Sweep::describe_sampling() {
  nlohmann::json& sampling = report_.details["sampling"];
  sampling = harness::sampling_details(options_.sampling);
  sampling["timing"] = to_string(options_.timing);
  if (options_.timing == TimingMode::batch) {
    sampling["batch_iterations"] = batch_length(options_);
    sampling["sample"] = fmt::format(
        "mean over ranks of the time per call of a batch of {} calls launched back "
        "to back after a barrier (nccl-tests' method){}",
        batch_length(options_),
        options_.cuda_graph ? ", the batch captured as one CUDA graph" : "");
  } else {
    sampling["sample"] = "per-iteration maximum over ranks";
    sampling["batch_mean"] =
        "labels batch_mean_time_s / batch_mean_iterations: after the samples, one batch of calls "
        "back to back after a barrier, the time per call averaged over ranks (nccl-tests' and "
        "OSU's mean), as many calls as samples (-n N: N), at most about a quarter of the time "
        "budget";
  }
}

// Every rank learns whether every rank can run the backend, so none of them enters a
// communicator that can never complete.
bool Sweep::backend_available() {
  const std::string unavailable =
      environment_.backend_unavailable ? environment_.backend_unavailable().value_or("") : "";
  const harness::AgreedOutcome agreed = harness::agree_on_outcome(
      world_,
      unavailable.empty() ? harness::SetupOutcome::ok()
                          : harness::SetupOutcome::skip("STEP_SKIPPED", unavailable),
      report_hosts());
  if (agreed.skips.empty()) {
    return true;
  }
  report_.checks.push_back(skip_check("STEP_SKIPPED",
                                      finding_message("STEP_SKIPPED", join(agreed.skips, "; ")),
                                      {{"reason", agreed.skips}}));
  return false;
}

void Sweep::start_backend() {
  backend_ = environment_.make_backend(groups_);
  abort_registration_.emplace(abortable_, *backend_);
  describe_backend();
  counters_before_ =
      node_leader_ ? read_efa_port_counters(environment_.sysfs) : EfaCounterSnapshot{};
}

void Sweep::describe_backend() {
  const std::vector<std::string> descriptions =
      world_.allgather_strings(backend_->describe().dump());
  nlohmann::json& details = report_.details;
  details["backend"]["name"] = backend_->name();
  details["backend"]["transport"] = backend_->transport();
  details["ranks"] = nlohmann::json::array();
  for (std::size_t rank = 0; rank < ranks_.size(); ++rank) {
    nlohmann::json entry{{"rank", rank},
                         {"local_rank", ranks_[rank].local_rank},
                         {"group", colors_[rank]},
                         {"device", nlohmann::json::parse(descriptions[rank])}};
    if (!deterministic_) {
      entry["host"] = ranks_[rank].host;
      entry["pid"] = ranks_[rank].pid;
    }
    if (entry["device"].contains("gpu")) {
      report_.inventory.gpus.push_back({{"rank", rank},
                                        {"name", entry["device"]["gpu"]},
                                        {"pci_bus_id", entry["device"].value("pci_bus_id", "")}});
    }
    details["ranks"].push_back(std::move(entry));
  }
  // The network plugin NCCL loaded on rank 0 (each rank's is in its device description).
  if (!deterministic_ && !details["ranks"].empty()) {
    const nlohmann::json& device = details["ranks"][0]["device"];
    if (device.contains("net_plugin")) {
      for (const auto& plugin : device["net_plugin"].value("loaded", nlohmann::json::array())) {
        report_.inventory.versions["nccl_net_plugin"] =
            plugin["version"].is_string()
                ? fmt::format("{} ({})", plugin["version"].get<std::string>(),
                              plugin["path"].get<std::string>())
                : plugin["path"].get<std::string>();
        break;
      }
    }
  }
}

void Sweep::plan() {
  plan_ = plan_sweep(options_, groups_.group_size);
  const std::string& my_host = ranks_.at(static_cast<std::size_t>(rank_)).host;
  const auto ranks_here = static_cast<std::uint64_t>(std::count_if(
      ranks_.begin(), ranks_.end(), [&](const RankInfo& rank) { return rank.host == my_host; }));
  check_host_memory(plan_.sizes, environment_.backend_name, environment_.sysfs, ranks_here,
                    my_host);
  report_.details["sizes_skipped_as_duplicates"] = plan_.skipped_as_duplicates;
  report_.details["sizes_planned"] = plan_.sizes.size();
  report_.details["sizes_finished"] = 0;
  placements_ = planned_placements(options_);
}

PlacementOutcome Sweep::measure_placement(const PlannedSize& planned, const CollectiveCall& call,
                                          const ReferenceData& reference, bool check) {
  const std::string placement = placement_name(call.in_place);
  const std::size_t element = planned.layout.element_bytes;
  std::vector<std::byte> input(planned.layout.send_count * element);
  std::vector<std::byte> output(planned.layout.recv_count * element);
  CollectiveBackend& backend = *backend_;
  reference.fill_input(backend.rank(), planned.layout, input);
  backend.prepare(call);
  backend.write_input(input);

  guard_.step("warm-up " + placement);
  ProgressChannel* const channel = guard_.progress();
  for (std::size_t i = 0; i < options_.sampling.warmup_iterations; ++i) {
    backend.run();
    channel->set_iteration(static_cast<std::int64_t>(i + 1));
  }

  guard_.step("timing " + placement);
  const TimedSamples timed =
      options_.timing == TimingMode::batch
          ? time_batches(backend, world_, options_, channel)
          : time_iterations(
                backend, options_.sampling,
                [this](std::span<double> values) { max_over_ranks(values); }, channel);
  PlacementOutcome outcome;
  outcome.samples_s = timed.samples_s;
  outcome.stop_reason = timed.stop_reason;
  outcome.own_median_s = median(timed.own_s);
  outcome.host_median_s = median(timed.host_s);
  if (options_.timing == TimingMode::per_iteration) {
    // The mean nccl-tests and OSU print, measured right after the distribution, so a row
    // compares like for like with either kind of peer.
    outcome.batched =
        time_batched_mean(backend, world_,
                          batched_mean_iterations(options_.sampling, timed.samples_s.size(),
                                                  median(timed.samples_s)));
  }
  if (check) {
    guard_.step("check " + placement);
    outcome.wrong = 0;
    for (int iteration = 0; iteration < options_.check_iterations; ++iteration) {
      reference.fill_poison(output);
      backend.write_output(output);
      backend.write_input(input);
      backend.run();
      backend.read_output(output);
      const auto wrong =
          static_cast<std::int64_t>(reference.count_wrong(backend.rank(), planned.layout, output));
      if (wrong > 0 && outcome.first_wrong_element < 0) {
        outcome.first_wrong_element =
            first_wrong_element(reference, backend.rank(), planned.layout, output);
      }
      outcome.wrong += wrong;
    }
  }
  return outcome;
}

void Sweep::measure_size(std::size_t index) {
  const PlannedSize& planned = plan_.sizes[index];
  const std::string step_name = fmt::format("{} {} {} B", to_string(planned.dtype),
                                            to_string(planned.op), planned.layout.size_bytes());
  guard_.begin(fmt::format("{} {}", info_.name, step_name), static_cast<std::int64_t>(index));
  const ReferenceData reference(options_.collective, planned.dtype, planned.op, groups_.group_size,
                                options_.root);
  const bool check = options_.check_iterations > 0 && !reference.inexact_reason();
  if (options_.check_iterations > 0 && reference.inexact_reason()) {
    skipped_notes_.emplace(*reference.inexact_reason(), step_name);
  }
  const RowContext rows{options_, *backend_, groups_.group_size, report_hosts()};
  WrongTally wrong;
  for (const bool in_place : placements_) {
    const CollectiveCall call{.kind = options_.collective,
                              .dtype = planned.dtype,
                              .op = planned.op,
                              .in_place = in_place,
                              .root = options_.root,
                              .layout = planned.layout,
                              .requested_bytes = planned.requested_bytes};
    if (auto reason = backend_->unsupported(call)) {
      skipped_notes_.emplace(*reason, fmt::format("{} {}", step_name, placement_name(in_place)));
      continue;
    }
    const PlacementOutcome outcome = measure_placement(planned, call, reference, check);
    guard_.step("gather " + placement_name(in_place));
    const std::vector<RankOutcome> outcomes = world_.allgather_value(RankOutcome{
        outcome.own_median_s, outcome.host_median_s, outcome.wrong, outcome.first_wrong_element});
    ResultRow row = build_row(rows, planned, in_place, outcome, outcomes);
    if (check) {
      row.wrong_elements = wrong.add(outcomes, in_place);
    }
    report_.results.push_back(std::move(row));
  }
  if (check) {
    ++sizes_checked_;
  }
  if (auto failed = wrong.check(planned, rows.hosts)) {
    wrong_checks_.push_back(std::move(*failed));
  }
  checkpoint_size(index, step_name);
}

// RESULT_CORRECT (pass) once sizes were checked and none was wrong.
std::optional<Check> Sweep::correct_check() const {
  if (!wrong_checks_.empty() || sizes_checked_ == 0) {
    return std::nullopt;
  }
  return pass_check(
      "RESULT_CORRECT", finding_message("RESULT_CORRECT", sizes_checked_, groups_.group_size),
      {{"sizes_checked", sizes_checked_}, {"check_iterations", options_.check_iterations}});
}

// The partial report after a size: the rows so far and the correctness checks so far.
void Sweep::checkpoint_size(std::size_t index, const std::string& step_name) {
  report_.details["sizes_finished"] = index + 1;
  Report base = report_;
  if (auto correct = correct_check()) {
    base.checks.push_back(std::move(*correct));
  }
  base.checks.insert(base.checks.end(), wrong_checks_.begin(), wrong_checks_.end());
  live_.set(base);
  guard_.finish_step(
      [&] {
        return harness::incomplete_report(base, info_.tool, index + 1, plan_.sizes.size(),
                                          deterministic_);
      },
      step_name, index + 1, plan_.sizes.size());
}

// EFA counter deltas, per node (the first rank of each host reads them).
std::vector<Check> Sweep::counter_checks() {
  std::string my_counters = "{}";
  if (node_leader_ && !counters_before_.empty()) {
    const nlohmann::json deltas =
        efa_counter_deltas(counters_before_, read_efa_port_counters(environment_.sysfs));
    my_counters = deltas.dump();
  }
  const std::vector<std::string> all_counters = world_.allgather_strings(my_counters);
  std::vector<Check> checks;
  for (std::size_t rank = 0; rank < all_counters.size(); ++rank) {
    const auto deltas = nlohmann::json::parse(all_counters[rank]).get<EfaCounterSnapshot>();
    const std::string prefix =
        distinct_hosts_.size() > 1 && !deterministic_ ? ranks_[rank].host + "/" : std::string();
    for (const auto& [device, counters] : deltas) {
      report_.hw_counters_delta[prefix + device] = counters;
    }
    for (EfaCounterFinding finding : efa_counter_findings(deltas, std::nullopt)) {
      finding.device = prefix + finding.device;
      checks.push_back(
          fire_check(finding.id, finding.message(),
                     {{"device", finding.device}, {"rank", rank}, {"increases", finding.rises}}));
    }
  }
  return checks;
}

// Teardown: counters, NCCL's log (every rank judges its own, the judgements are merged by
// finding id), the communicator.
void Sweep::teardown() {
  guard_.begin("teardown");
  std::vector<Check> counters = counter_checks();
  if (!environment_.nccl_log_file.empty()) {
    const bool efa_expected = !local_efa_.empty() || options_.expect_efa_nics.has_value();
    transport_checks_ =
        judge_nccl_run_log(world_, report_, options_, environment_.nccl_log_file, efa_expected);
  }
  if (backend_->name() == "nccl") {
    label_requested_nccl_algorithms(report_, environment_.environment,
                                    !environment_.nccl_log_file.empty());
  }
  transport_checks_.insert(transport_checks_.end(), counters.begin(), counters.end());

  backend_->finish();  // the normal end (ncclCommFinalize); the destructor alone would abort
  abort_registration_.reset();
  backend_.reset();
  guard_.end();
  guard_.close_progress();  // says goodbye: rank 0 sees this rank finished, not lost
}

void Sweep::add_verdict_checks() {
  if (options_.check_iterations == 0) {
    report_.checks.push_back(skip_check(
        "STEP_SKIPPED",
        finding_message("STEP_SKIPPED", "results not checked for correctness (--check 0)")));
  } else if (auto correct = correct_check()) {
    report_.checks.push_back(std::move(*correct));
  }
  report_.checks.insert(report_.checks.end(), wrong_checks_.begin(), wrong_checks_.end());
  for (const auto& [reason, first_case] : skipped_notes_) {
    report_.checks.push_back(skip_check(
        "STEP_SKIPPED",
        finding_message("STEP_SKIPPED", fmt::format("{} (first at {})", reason, first_case))));
  }
  report_.checks.insert(report_.checks.end(), transport_checks_.begin(), transport_checks_.end());
  if (auto measured = measured_check(report_, info_, plan_.sizes.size(), groups_.group_size,
                                     report_.details["backend"]["name"].get<std::string>())) {
    report_.checks.push_back(std::move(*measured));
  }
}

Report Sweep::run() {
  start_report();
  if (!environment_.launch_problem.empty()) {
    report_.checks.push_back(
        judged_check("LAUNCH_WORLD_MISMATCH", Status::error,
                     finding_message("LAUNCH_WORLD_MISMATCH", environment_.launch_problem)));
    reports::finish_report(report_, options_.common.warn_as_fail, deterministic_);
    return report_;
  }
  live_.set(report_);
  guard_.set_stop_handlers(stop_handlers());
  // Init starts here: even the first exchange between the ranks has a deadline.
  guard_.begin("init");
  init_ranks();
  describe_run();

  // ---- init: groups, backend ----
  const int my_color = options_.split ? split_color(*options_.split, rank_) : 0;
  colors_ = world_.allgather_value(my_color);
  groups_ = resolve_split(colors_, rank_);
  if (options_.split) {
    report_.details["split"] = {{"spec", options_.split->text},
                                {"groups", groups_.group_count},
                                {"group_size", groups_.group_size}};
  }
  if (info_.rooted && options_.root >= groups_.group_size) {
    throw UsageError(fmt::format("--root {}: the communicator has only {} ranks", options_.root,
                                 groups_.group_size));
  }
  report_.details["backend"] = {{"name", environment_.backend_name},
                                {"selected", environment_.backend_selection}};
  if (!backend_available()) {
    guard_.end();
    reports::finish_report(report_, options_.common.warn_as_fail, deterministic_);
    return report_;
  }
  start_backend();
  plan();
  if (guard_.writes_report()) {
    guard_.checkpoint(
        harness::incomplete_report(report_, info_.tool, 0, plan_.sizes.size(), deterministic_));
  }
  live_.set(report_);
  guard_.restart_step_clock();
  for (std::size_t index = 0; index < plan_.sizes.size(); ++index) {
    measure_size(index);
  }
  teardown();
  add_verdict_checks();
  reports::finish_report(report_, options_.common.warn_as_fail, deterministic_);
  return report_;
}

}  // namespace

Report run_collective(const CollectiveOptions& options, RunEnvironment& environment) {
  Sweep sweep(options, environment);
  return sweep.run();
}

}  // namespace preflight::collectives
