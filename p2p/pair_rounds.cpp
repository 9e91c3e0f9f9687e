#include "p2p/pair_rounds.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <thread>

#include "common/size_spec.hpp"
#include "common/stats.hpp"
#include "harness/report.hpp"

namespace preflight::p2p {

using nlohmann::json;
using reports::Report;
using reports::ResultRow;

namespace {

ResultRow make_row(const RankContext& context, const Session& session, TestKind test,
                   std::size_t bytes, const PairSizeOutcome& outcome, const PairTask& task,
                   const NodeMap& map, const std::string& phase, bool sizes_checked) {
  const P2pOptions& options = context.options;
  ResultRow row;
  row.benchmark = std::string(to_string(test));
  row.backend = std::string(to_string(options.transport));
  row.transport = session.transport_name();
  row.dtype = "uint8";
  row.op = std::string(to_string(options.op));
  row.size_bytes = bytes;
  row.count = bytes;
  row.ranks = 2;
  // Samples are per iteration: a round trip (one-way = half), one read, or one window (per
  // message = window time / window).
  double scale = 1.0;
  std::string time_unit = "one_way";
  if (test == TestKind::latency) {
    scale = options.op == DataOp::read ? 1.0 : 0.5;
    time_unit = options.op == DataOp::read ? "read_completion" : "one_way";
  } else {
    scale = 1.0 / options.window;
    time_unit = "per_message";
  }
  std::vector<double> scaled(outcome.samples_s.size());
  std::transform(outcome.samples_s.begin(), outcome.samples_s.end(), scaled.begin(),
                 [scale](double sample) { return sample * scale; });
  const SampleSummary summary = summarize(scaled);
  row.time_s = reports::to_time_stats(summary);
  const double directions = test == TestKind::bibw ? 2.0 : 1.0;
  if (summary.median > 0) {
    row.algbw_Bps = directions * static_cast<double>(bytes) / summary.median;
    row.message_rate_per_s = directions / summary.median;
  }
  row.busbw_Bps = row.algbw_Bps;
  row.busbw_factor = 1.0;
  row.wrong_elements = static_cast<std::int64_t>(outcome.wrong_bytes + outcome.size_errors);
  row.slowest_rank = -1;
  row.warmup_iterations = outcome.warmup_iterations;
  row.stop_reason = std::string(to_string(outcome.stop_reason));
  row.labels = session.labels();
  row.labels["src"] = display_node(context, map, task.initiator_node);
  row.labels["dst"] = display_node(context, map, task.responder_node);
  row.labels["src_rank"] = std::to_string(task.initiator_rank);
  row.labels["dst_rank"] = std::to_string(task.responder_rank);
  row.labels["memory"] = std::string(to_string(options.memory));
  row.labels["time"] = time_unit;
  row.labels["wrong_bytes"] = std::to_string(outcome.wrong_bytes);
  row.labels["size_errors"] = std::to_string(outcome.size_errors);
  row.labels["size_check"] = sizes_checked ? "checked" : "not_checked";
  row.labels["verified_messages"] = std::to_string(outcome.verified_messages);
  row.labels["timed_iterations"] = std::to_string(outcome.timed_iterations);
  // The batched mean in the row's unit: OSU's and fi_pingpong's figure next to the distribution.
  row.labels["batch_mean_time_s"] = fmt::format("{:.9g}", outcome.batch_mean_s * scale);
  row.labels["batch_mean_iterations"] = std::to_string(outcome.batch_mean_iterations);
  if (test != TestKind::latency) {
    row.labels["window"] = std::to_string(options.window);
  }
  if (!phase.empty()) {
    row.labels["phase"] = phase;
    row.labels["role"] = std::string(to_string(task.role));
  }
  if (options.keep_samples) {
    row.samples_s = scaled;
  }
  return row;
}

// One size of one test as the options ask, reporting its iterations on the progress channel.
PairTestSpec pair_test_spec(const RankContext& context, TestKind test, std::uint64_t bytes) {
  const P2pOptions& options = context.options;
  PairTestSpec spec;
  spec.test = test;
  spec.bytes = bytes;
  spec.window = options.window;
  spec.check_iterations = options.check_iterations;
  spec.sampling = options.sampling;
  if (ProgressChannel* progress = context.guard != nullptr ? context.guard->progress() : nullptr) {
    spec.on_iterations = [progress](std::int64_t done) { progress->set_iteration(done); };
  }
  return spec;
}

json task_json(const PairTask& task) {
  return json{task.initiator_rank, task.responder_rank, task.initiator_node, task.responder_node};
}

// After one (test, size) of a round: every rank's rows (and failed rails) to every rank, the
// report's results, the checkpoint and the progress line.
void gather_step(RankContext& context, const std::string& step, const json& contribution,
                 std::vector<GatheredResult>& results, StepCounter& steps) {
  arm(context, fmt::format("exchange of results after {}", step));
  if (context.step_barrier != nullptr) {
    context.step_barrier->wait();
  }
  for (const std::string& text : context.bootstrap.allgather_strings(contribution.dump())) {
    for (const json& entry : json::parse(text)) {
      GatheredResult result;
      const auto& task = entry.at("task");
      result.task = {task.at(0).get<int>(), task.at(1).get<int>(), task.at(2).get<int>(),
                     task.at(3).get<int>()};
      result.rail = entry.value("rail", kAllRails);
      if (entry.value("failed", false)) {
        result.failed = true;
        result.error = entry.value("error", "");
        result.test = entry.value("test", "");
        results.push_back(result);
        continue;
      }
      result.row = entry.at("row").get<ResultRow>();
      result.test = result.row.benchmark;
      results.push_back(result);
      context.live.update([&](Report& report) { report.results.push_back(result.row); });
    }
  }
  ++steps.done;
  // The partial report after a finished step. Until the run ends it says so (BENCH_INCOMPLETE, an
  // error): a report left behind by a killed run never reads as a pass or a skip.
  if (context.guard != nullptr) {
    const auto& common = context.options.common;
    context.guard->finish_step(
        [&] {
          return harness::incomplete_report(context.live.snapshot(), kTool, steps.done, steps.total,
                                            common.deterministic, harness::kPairSteps,
                                            common.warn_as_fail);
        },
        step, steps.done, steps.total);
  }
}

// Runs every (test, size) of one round: the rank's own pair test if it has one, then the
// exchange of the rows. Returns every pair's rows (identical on all ranks).
// This rank's peer in `task`, named from now on in error messages and stop reports.
int start_pair(RankContext& context, const NodeMap& map, const PairTask& task) {
  const int me = context.bootstrap.rank();
  const int peer = task.initiator_rank == me ? task.responder_rank : task.initiator_rank;
  context.current_peer = rank_label(map, peer);
  context.live.set_peer(context.current_peer);
  return peer;
}

void end_pair(RankContext& context) {
  context.current_peer.clear();
  context.live.set_peer("");
}

// Every (test, size) of a round in order: this rank's pair test (`measure(test, bytes, spec)`
// returns its contribution; only where the rank has a pair), then the exchange of every rank's
// rows.
template <typename Measure>
std::vector<GatheredResult> run_steps(RankContext& context, const std::vector<TestKind>& tests,
                                      const std::vector<std::uint64_t>& sizes,
                                      const std::string& pair_text, bool measuring,
                                      StepCounter& steps, const Measure& measure) {
  std::vector<GatheredResult> results;
  for (const TestKind test : tests) {
    for (const std::uint64_t bytes : sizes) {
      const std::string step = fmt::format("{} {}{}", to_string(test), format_size(bytes),
                                           pair_text.empty() ? std::string() : " " + pair_text);
      json contribution = json::array();
      if (measuring) {
        arm(context, step);
        contribution = measure(test, bytes, pair_test_spec(context, test, bytes));
      }
      gather_step(context, step, contribution, results, steps);
    }
  }
  return results;
}

}  // namespace

std::vector<GatheredResult> run_round(RankContext& context, const NodeMap& map, Session& session,
                                      const std::vector<PairTask>& tasks,
                                      const std::vector<TestKind>& tests,
                                      const std::vector<std::uint64_t>& sizes,
                                      const std::string& phase, StepCounter& steps) {
  const int me = context.bootstrap.rank();
  const PairTask* mine = nullptr;
  for (const PairTask& task : tasks) {
    if (task.initiator_rank == me || task.responder_rank == me) {
      mine = &task;
    }
  }
  std::unique_ptr<PairChannel> channel;
  std::string pair_text;
  if (mine != nullptr) {
    const int peer = start_pair(context, map, *mine);
    pair_text = fmt::format("{} <-> {}", rank_label(map, mine->initiator_rank),
                            rank_label(map, mine->responder_rank));
    arm(context, fmt::format("connect {}", pair_text));
    channel = session.open(peer, context.current_peer);
  }
  const auto measure = [&](TestKind test, std::uint64_t bytes, const PairTestSpec& spec) {
    json contribution = json::array();
    if (mine->initiator_rank == me) {
      const PairSizeOutcome outcome = run_initiator(*channel, spec);
      const ResultRow row = make_row(context, session, test, bytes, outcome, *mine, map, phase,
                                     channel->checks_sizes());
      contribution.push_back(json{{"row", row}, {"task", task_json(*mine)}});
    } else {
      run_responder(*channel, spec);
    }
    return contribution;
  };
  auto results = run_steps(context, tests, sizes, pair_text, mine != nullptr, steps, measure);
  end_pair(context);
  return results;
}

namespace {

// --rails: one rail's pair test of one size, run on a thread of its own beside the other rails.
struct RailRun {
  int rail = 0;
  std::unique_ptr<PairChannel> channel;
  bool given_up = false;  // failed earlier in this round: not measured again with this partner
  std::string missing;    // a node of the pair has no device on the rail (reported once)
  std::optional<PairSizeOutcome> outcome;
  std::exception_ptr error;
  std::atomic<bool> done{false};
  std::atomic<std::int64_t> finished_ns{0};
};

// A rail that finished first sets how long the others may still take: the longer of this and
// three times its own time (a rail at half rate takes twice as long).
constexpr std::int64_t kRailGrace_ns = 5'000'000'000;

std::string error_text(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

// A rail of the pair that carried nothing in this step, for the exchange of results.
json failed_rail(const PairTask& task, int rail, TestKind test, const std::string& error) {
  return json{{"failed", true},
              {"task", task_json(task)},
              {"rail", rail},
              {"test", to_string(test)},
              {"error", error}};
}

bool is_rail_given_up(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const RailGivenUp&) {
    return true;
  } catch (...) {
    return false;
  }
}

// Runs one size on every rail of this rank's pair at once; a rail that fails or stalls is given
// up (its endpoint is rebuilt before the next round). When every rail fails and one of them by an
// error other than its deadline, that error ends the round as it would without rails (a lost peer
// is a lost node, not a NIC); rails that all missed their deadline are a pair too slow on every
// rail, recorded as such (a bandwidth of 0) like any failed rail.
void run_rails_at_once(RankContext& context, Session& session, std::vector<RailRun>& runs,
                       const PairTestSpec& spec, bool initiator) {
  const std::int64_t start = steady_now_ns();
  const auto limit = start + static_cast<std::int64_t>(context.options.rail_timeout_s * 1e9);
  std::vector<std::thread> threads;
  for (RailRun& run : runs) {
    run.outcome.reset();
    run.error = nullptr;
    run.done = run.given_up;
    if (run.given_up) {
      continue;
    }
    session.rail_watch(run.rail)->deadline_ns = limit;
    threads.emplace_back([&run, &spec, initiator] {
      try {
        if (initiator) {
          run.outcome = run_initiator(*run.channel, spec);
        } else {
          run_responder(*run.channel, spec);
        }
      } catch (...) {
        run.error = std::current_exception();
      }
      run.finished_ns = steady_now_ns();
      run.done = true;
    });
  }
  while (true) {
    bool all_done = true;
    std::int64_t first_ok = 0;
    for (const RailRun& run : runs) {
      if (!run.done) {
        all_done = false;
      } else if (!run.given_up && !run.error &&
                 (first_ok == 0 || run.finished_ns.load() < first_ok)) {
        first_ok = run.finished_ns;
      }
    }
    if (all_done) {
      break;
    }
    if (first_ok != 0) {
      const std::int64_t until = first_ok + std::max(kRailGrace_ns, 3 * (first_ok - start));
      for (const RailRun& run : runs) {
        if (!run.done) {
          RailWatch& watch = *session.rail_watch(run.rail);
          watch.deadline_ns = std::min(watch.deadline_ns.load(), until);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  // The first error that is not a deadline: a rail given up for slowness is a measurement (its
  // link is too slow), not a lost peer.
  std::exception_ptr first_error;
  bool any_ok = false;
  for (RailRun& run : runs) {
    if (run.given_up) {
      continue;
    }
    session.rail_watch(run.rail)->deadline_ns = std::numeric_limits<std::int64_t>::max();
    if (!run.error) {
      any_ok = true;
    } else if (!first_error && !is_rail_given_up(run.error)) {
      first_error = run.error;
    }
  }
  if (first_error && !any_ok) {
    std::rethrow_exception(first_error);
  }
}

}  // namespace

std::vector<GatheredResult> run_rail_round(RankContext& context, const NodeMap& map,
                                           Session& session, const std::vector<PairTask>& tasks,
                                           const std::vector<std::vector<int>>& task_rails,
                                           const std::vector<TestKind>& tests,
                                           const std::vector<std::uint64_t>& sizes,
                                           const std::string& phase, StepCounter& steps) {
  const int me = context.bootstrap.rank();
  arm(context, fmt::format("{}: renewing the endpoints of failed rails", phase));
  session.renew_failed_rails(context.bootstrap);
  const PairTask* mine = nullptr;
  std::vector<int> rails;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].initiator_rank == me || tasks[i].responder_rank == me) {
      mine = &tasks[i];
      rails = i < task_rails.size() ? task_rails[i] : std::vector<int>{};
    }
  }
  if (rails.empty()) {
    for (int rail = 0; rail < session.rail_count(); ++rail) {
      rails.push_back(rail);
    }
  }
  const auto& domains = session.rank_rail_domains();
  const auto domain_of = [&](int rank, int rail) {
    const auto& listed = domains.at(static_cast<std::size_t>(rank));
    return static_cast<std::size_t>(rail) < listed.size() ? listed[static_cast<std::size_t>(rail)]
                                                          : std::string("?");
  };
  std::vector<RailRun> runs(rails.size());
  std::string pair_text;
  bool initiator = false;
  if (mine != nullptr) {
    initiator = mine->initiator_rank == me;
    const int peer = start_pair(context, map, *mine);
    pair_text = fmt::format("{} <-> {} rails {}", rank_label(map, mine->initiator_rank),
                            rank_label(map, mine->responder_rank), fmt::join(rails, ","));
    arm(context, fmt::format("connect {}", pair_text));
    for (std::size_t i = 0; i < rails.size(); ++i) {
      runs[i].rail = rails[i];
      try {
        runs[i].channel = session.open_rail(rails[i], peer,
                                            fmt::format("{} rail {} ({})", context.current_peer,
                                                        rails[i], domain_of(peer, rails[i])));
      } catch (const RailMissing& e) {
        runs[i].given_up = true;
        runs[i].missing = e.what();
      }
    }
  }

  const auto measure = [&](TestKind test, std::uint64_t bytes, const PairTestSpec& spec) {
    json contribution = json::array();
    run_rails_at_once(context, session, runs, spec, initiator);
    for (RailRun& run : runs) {
      if (!run.missing.empty()) {
        if (initiator) {
          contribution.push_back(failed_rail(*mine, run.rail, test, run.missing));
        }
        run.missing.clear();  // once per round
        continue;
      }
      if (run.given_up) {
        continue;
      }
      if (run.error) {
        run.given_up = true;
        session.rail_watch(run.rail)->failed = true;
        if (initiator) {
          contribution.push_back(failed_rail(*mine, run.rail, test, error_text(run.error)));
        }
        continue;
      }
      if (initiator && run.outcome) {
        ResultRow row = make_row(context, session, test, bytes, *run.outcome, *mine, map, phase,
                                 run.channel->checks_sizes());
        row.labels["rail"] = std::to_string(run.rail);
        row.labels["domain"] = domain_of(mine->initiator_rank, run.rail);
        row.labels["peer_domain"] = domain_of(mine->responder_rank, run.rail);
        contribution.push_back(json{{"row", row}, {"task", task_json(*mine)}, {"rail", run.rail}});
      }
    }
    return contribution;
  };
  auto results = run_steps(context, tests, sizes, pair_text, mine != nullptr, steps, measure);
  // Channels close before their endpoints can be rebuilt.
  runs.clear();
  end_pair(context);
  return results;
}

}  // namespace preflight::p2p
