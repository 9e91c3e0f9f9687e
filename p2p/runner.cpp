#include "p2p/runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/job_end.hpp"
#include "common/size_spec.hpp"
#include "common/sysfs.hpp"
#include "common/tcp_bootstrap.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "harness/agreement.hpp"
#include "harness/guard.hpp"
#include "harness/report.hpp"
#include "p2p/judgement_report.hpp"
#include "p2p/node_facts.hpp"
#include "p2p/pair_rounds.hpp"
#include "p2p/provider_choice.hpp"
#include "p2p/run_context.hpp"
#include "p2p/sessions.hpp"
#include "p2p/survey_run.hpp"
#include "preflight/build_config.hpp"
#if PREFLIGHT_HAVE_LIBFABRIC
#include "p2p/fabric_transport.hpp"
#endif

namespace preflight::p2p {
namespace {

using nlohmann::json;
using reports::Check;
using reports::Report;
using reports::ResultRow;

// ---------------------------------------------------------------------------------------------
// Verdicts

std::vector<Check> correctness_checks(const std::vector<ResultRow>& rows, int ranks) {
  std::vector<Check> checks;
  std::size_t verified = 0;
  for (const ResultRow& row : rows) {
    if (row.wrong_elements > 0) {
      const auto label = [&](const char* key) {
        const auto found = row.labels.find(key);
        return found == row.labels.end() ? std::string("?") : found->second;
      };
      checks.push_back(reports::fire_check(
          "RESULT_WRONG",
          finding_message("RESULT_WRONG", row.wrong_elements, row.size_bytes,
                          fmt::format("{} {} from {} to {}: {} payload bytes wrong, {} messages "
                                      "of the wrong length",
                                      row.benchmark, row.op, label("src"), label("dst"),
                                      label("wrong_bytes"), label("size_errors"))),
          json{{"benchmark", row.benchmark},
               {"size_bytes", row.size_bytes},
               {"src", label("src")},
               {"dst", label("dst")},
               {"wrong_bytes", label("wrong_bytes")},
               {"size_errors", label("size_errors")}}));
    } else {
      ++verified;
    }
  }
  if (checks.empty() && verified > 0) {
    checks.push_back(reports::pass_check("RESULT_CORRECT",
                                         finding_message("RESULT_CORRECT", verified, ranks),
                                         json{{"rows", verified}}));
  }
  return checks;
}

Report finish(RankContext& context) {
  Report report = context.live.snapshot();
  reports::finish_report(report, context.options.common.warn_as_fail,
                         context.options.common.deterministic);
  return report;
}

// EFA counters around the measurement: every node's leader reads its devices; all ranks learn
// every node's deltas.
void record_counter_deltas(RankContext& context, const NodeMap& map,
                           const EfaCounterSnapshot& before, bool leader) {
  const RootFs root(context.options.root);
  json mine = json::object();
  if (leader) {
    mine = json(efa_counter_deltas(before, read_efa_port_counters(root)));
  }
  const auto all = context.bootstrap.allgather_strings(mine.dump());
  EfaCounterSnapshot deltas;
  const bool several_nodes = map.nodes.size() > 1;
  for (std::size_t rank = 0; rank < all.size(); ++rank) {
    const auto node_deltas = json::parse(all[rank]).get<EfaCounterSnapshot>();
    const std::string node = display_node(context, map, map.rank_node_index[rank]);
    for (const auto& [device, values] : node_deltas) {
      deltas[several_nodes ? node + "/" + device : device] = values;
    }
  }
  if (deltas.empty()) {
    return;
  }
  context.live.update([&](Report& report) { report.hw_counters_delta = deltas; });
  for (const EfaCounterFinding& finding : efa_counter_findings(deltas, std::nullopt)) {
    add_check(context,
              reports::fire_check(finding.id, finding.message(),
                                  json{{"device", finding.device}, {"increases", finding.rises}}));
  }
}

// ---------------------------------------------------------------------------------------------
// One rank's run.

// What the run does and over which nodes, in details.
void describe_run(RankContext& context, const NodeMap& map) {
  const P2pOptions& options = context.options;
  Bootstrap& bootstrap = context.bootstrap;
  context.live.update([&](Report& report) {
    report.run.ranks = bootstrap.size();
    if (!options.common.deterministic) {
      std::set<std::string> hosts(map.rank_host.begin(), map.rank_host.end());
      report.run.hosts.assign(hosts.begin(), hosts.end());
    }
    json nodes = json::array();
    for (std::size_t node = 0; node < map.nodes.size(); ++node) {
      json ranks = json::array();
      for (std::size_t rank = 0; rank < map.rank_node.size(); ++rank) {
        if (map.rank_node_index[rank] == static_cast<int>(node)) {
          ranks.push_back(rank);
        }
      }
      nodes.push_back(
          json{{"name", display_node(context, map, static_cast<int>(node))}, {"ranks", ranks}});
    }
    report.details["pattern"] = to_string(options.pattern);
    report.details["tests"] = json::array();
    for (const TestKind test : options.tests) {
      report.details["tests"].push_back(to_string(test));
    }
    report.details["op"] = to_string(options.op);
    report.details["memory"] = to_string(options.memory);
    report.details["window"] = options.window;
    report.details["check_iterations"] = options.check_iterations;
    report.details["sizes"] = options.sizes;
    report.details["sampling"] = harness::sampling_details(options.sampling);
    report.details["clock"] = process_sample_clock().describe();  // the initiators' timed loops
    report.details["timeout_s"] = options.timeout_s;
    report.details["bootstrap"] = bootstrap.kind();
    report.details["nodes"] = nodes;
    report.details["loopback"] = options.loopback || options.all_devices;
  });
}

// Why this job cannot run the pattern at all ("" when it can).
std::string pattern_skip_reason(const P2pOptions& options, const NodeMap& map, int ranks) {
  if (options.pattern == Pattern::pair && ranks < 2) {
    return "--pattern pair needs 2 ranks: launch with mpirun -np 2, use --listen/--connect, "
           "or --loopback";
  }
  if (options.pattern != Pattern::pair && map.nodes.size() < 2) {
    return fmt::format(
        "--pattern {} needs at least 2 nodes; found 1 ({} with {} ranks); on one machine give "
        "each rank its own --node-name (PREFLIGHT_NODE_NAME, e.g. 'node{{rank}}')",
        to_string(options.pattern), map.nodes.front(), ranks);
  }
  return "";
}

// One set-up stage of this rank as an outcome for the all-ranks agreement; usage errors and
// missing features still end the run at once.
template <typename Stage>
harness::SetupOutcome outcome_of(const Stage& stage) {
  try {
    return stage();
  } catch (const SkipRun& e) {
    return harness::SetupOutcome::skip(e.id(), e.what());
  } catch (const UsageError&) {
    throw;
  } catch (const FeatureUnavailable&) {
    throw;
  } catch (const std::exception& e) {
    return harness::SetupOutcome::error(e.what());
  }
}

// Whether every rank may go on after a set-up stage; otherwise the report says why (one check).
bool agreed_to_go_on(RankContext& context, const harness::SetupOutcome& mine) {
  const harness::AgreedOutcome agreed = harness::agree_on_outcome(context.bootstrap, mine);
  if (!agreed.errors.empty()) {
    add_check(context,
              reports::judged_check(
                  "HARNESS_ERROR", Status::error,
                  finding_message("HARNESS_ERROR", "set-up failed: " + join(agreed.errors, "; "))));
    return false;
  }
  if (!agreed.skips.empty()) {
    add_check(context, reports::skip_check(agreed.skip_id, join(agreed.skips, "; ")));
    return false;
  }
  return true;
}

// Prerequisites, then the transport; every rank learns every other's outcome of each. Null when
// the run stops here (the report says why).
std::unique_ptr<Session> set_up_session(RankContext& context, const NodeMap& map,
                                        bool participant) {
  const P2pOptions& options = context.options;
  if (!agreed_to_go_on(context,
                       outcome_of([&] { return local_prerequisites(options, context.gpu); }))) {
    return nullptr;
  }
  std::unique_ptr<Session> session;
  if (!agreed_to_go_on(context, outcome_of([&] {
                         session = create_session(context, map, participant, options.sizes.back());
                         return harness::SetupOutcome::ok();
                       }))) {
    return nullptr;
  }
  return session;
}

// The transport every rank uses, its findings and its rails, in the report; returns every node's
// instance type (its NICs' line rate) and how it ordered its rails.
std::vector<NodeFacts> describe_transport(RankContext& context, const NodeMap& map,
                                          Session& session) {
  const P2pOptions& options = context.options;
  session.exchange(context.bootstrap);
  for (Check& check : transport_findings(session.describe())) {
    add_check(context, std::move(check));
  }
  std::vector<NodeFacts> node_facts =
      gather_node_facts(context.bootstrap, map.node_leader,
                        {local_instance_type(RootFs(options.root)), context.rail_order_basis});
  context.live.update([&](Report& report) {
    report.details["transport"] = session.describe();
    if (session.rail_count() > 0) {
      json rails = json::object();
      json order = json::object();
      for (std::size_t node = 0; node < map.nodes.size(); ++node) {
        const std::string name = display_node(context, map, static_cast<int>(node));
        rails[name] =
            session.rank_rail_domains().at(static_cast<std::size_t>(map.node_leader[node]));
        order[name] = node_facts[node].rail_order_basis;
      }
      report.details["rails"] =
          json{{"count", session.rail_count()}, {"devices", rails}, {"order", order}};
    }
  });
  return node_facts;
}

// The measurement: ranks 0 and 1 (--pattern pair) or the link survey, then the teardown.
void measure(RankContext& context, const NodeMap& map, Session& session, bool participant,
             const std::vector<NodeFacts>& node_facts) {
  const P2pOptions& options = context.options;
  const bool loopback = options.loopback || options.all_devices;
  const EfaCounterSnapshot counters_before = participant && !loopback
                                                 ? read_efa_port_counters(RootFs(options.root))
                                                 : EfaCounterSnapshot{};
  StepCounter steps;
  if (options.pattern == Pattern::pair) {
    const PairTask task{0, 1, map.rank_node_index[0], map.rank_node_index[1]};
    steps.total = options.tests.size() * options.sizes.size();
    if (session.rail_count() > 0) {
      (void)run_rail_round(context, map, session, {task}, {}, options.tests, options.sizes, "",
                           steps);
    } else {
      (void)run_round(context, map, session, {task}, options.tests, options.sizes, "", steps);
    }
  } else {
    run_link_survey(context, map, session, node_facts, steps);
  }

  arm(context, "teardown");
  if (!loopback) {  // the loopback's counters are read around both sides, by run()
    record_counter_deltas(context, map, counters_before, participant);
  }
  // Nobody closes an endpoint while its peer may still be reaping the last completions.
  context.bootstrap.barrier();
  session.finish();
  if (context.guard != nullptr) {
    context.guard->end();
  }
}

// Rank 0's view of where every rank is, for the report of a stall or a lost peer (launched runs;
// loopback pairs two threads of this process), open while the rank measures.
class ProgressView {
 public:
  explicit ProgressView(RankContext& context) : guard_(context.guard) {
    const P2pOptions& options = context.options;
    if (guard_ != nullptr && context.bootstrap.size() > 1 && !options.loopback &&
        !options.all_devices) {
      guard_->open_progress(context.bootstrap);
    }
  }
  ProgressView(const ProgressView&) = delete;
  ProgressView& operator=(const ProgressView&) = delete;
  ProgressView(ProgressView&&) = delete;
  ProgressView& operator=(ProgressView&&) = delete;
  ~ProgressView() {
    if (guard_ != nullptr) {
      guard_->close_progress();
    }
  }

 private:
  harness::RunGuard* guard_;
};

// One rank's run: nodes, the run's details, the agreements on the provider, the prerequisites
// and the transport, then the measurement. A stop before measuring leaves its check in the
// report; failures while measuring are thrown to run_rank.
void run_rank_steps(RankContext& context) {
  const P2pOptions& options = context.options;
  Bootstrap& bootstrap = context.bootstrap;
  arm(context, "init");
  const NodeMap map = map_nodes(bootstrap, options.node_name,
                                options.transport == Transport::libfabric
                                    ? local_provider_choice(options.provider, options.root)
                                    : "");
  const ProgressView progress(context);
  StepBarrier step_barrier(context.mpi_initialised && bootstrap.kind() == "mpi" &&
                           bootstrap.size() > 2);
  context.step_barrier = &step_barrier;
  describe_run(context, map);
  // Who measures: ranks 0 and 1 (pair) or one rank per node (all-pairs, ring).
  if (const std::string skip = pattern_skip_reason(options, map, bootstrap.size()); !skip.empty()) {
    add_check(context, reports::skip_check("STEP_SKIPPED", skip));
    return;
  }
  if (options.transport == Transport::libfabric) {
    // Every node chose its provider itself; measure only when they agree.
    ProviderAgreement agreement = agree_on_provider(map.rank_node, map.rank_provider_choice);
    context.live.update(
        [&](Report& report) { report.details["provider_choice"] = agreement.details; });
    if (agreement.finding) {
      add_check(context, std::move(*agreement.finding));
      return;
    }
    context.fabric_provider = agreement.provider;
  }
  const bool participant =
      options.pattern == Pattern::pair
          ? bootstrap.rank() < 2
          : map.node_leader[static_cast<std::size_t>(
                map.rank_node_index[static_cast<std::size_t>(bootstrap.rank())])] ==
                bootstrap.rank();
  const std::unique_ptr<Session> session = set_up_session(context, map, participant);
  if (!session) {
    return;
  }
  const std::vector<NodeFacts> node_facts = describe_transport(context, map, *session);
  measure(context, map, *session, participant, node_facts);
}

Report run_rank(RankContext& context) {
  try {
    run_rank_steps(context);
  } catch (const UsageError&) {
    throw;
  } catch (const FeatureUnavailable&) {
    throw;
  } catch (const PeerLostError& e) {
    add_check(context, reports::judged_check(
                           "PEER_LOST", Status::error,
                           finding_message("PEER_LOST",
                                           context.current_peer.empty() ? "of the bootstrap"
                                                                        : context.current_peer,
                                           e.what()),
                           json{{"peer", context.current_peer}}));
#if PREFLIGHT_HAVE_LIBFABRIC
  } catch (const CompletionError& e) {
    const bool lost = e.peer_unreachable();
    add_check(context, reports::judged_check(
                           lost ? "PEER_LOST" : "P2P_COMPLETION_ERROR", Status::error,
                           lost ? finding_message("PEER_LOST", e.peer(), e.what())
                                : finding_message("P2P_COMPLETION_ERROR", e.peer(), e.what()),
                           json{{"peer", e.peer()},
                                {"error", e.error_number()},
                                {"provider_error", e.provider_error()}}));
#endif
  } catch (const TimeoutError& e) {
    add_check(context, reports::judged_check(
                           "BENCH_TIMEOUT", Status::timeout,
                           finding_message("BENCH_TIMEOUT", kTool, context.options.timeout_s,
                                           context.guard != nullptr ? context.guard->current_phase()
                                                                    : std::string("bootstrap"),
                                           e.what())));
  } catch (const std::exception& e) {
    const std::string peer =
        context.current_peer.empty() ? std::string() : " (peer " + context.current_peer + ")";
    add_check(context, reports::judged_check("HARNESS_ERROR", Status::error,
                                             finding_message("HARNESS_ERROR", e.what() + peer)));
  }
  return finish(context);
}

// ---------------------------------------------------------------------------------------------
// Loopback: both endpoints in this process, through one device, paired over 127.0.0.1.

void run_loopback(const P2pOptions& options, const Report& started,
                  const RunEnvironment& environment, harness::RunGuard& guard,
                  harness::LiveReport& live) {
  const TcpListener listener({"127.0.0.1", 0});
  TcpBootstrapOptions bootstrap_options;
  bootstrap_options.connect_timeout_s = options.connect_timeout_s;
  bootstrap_options.operation_timeout_s = options.timeout_s;
  std::mutex setup_mutex;
  std::string responder_error;
  Report initiator_side;
  {
    // jthread: joined even when the initiator side throws.
    const std::jthread responder([&] {
      try {
        auto bootstrap = TcpBootstrap::connect({"127.0.0.1", listener.port()}, bootstrap_options);
        harness::LiveReport own(started);
        RankContext context{.options = options,
                            .bootstrap = *bootstrap,
                            .liveness = [&b = *bootstrap] { b.check_peer_alive(); },
                            .mpi_initialised = false,
                            .guard = nullptr,
                            .live = own,
                            .setup_mutex = &setup_mutex,
                            .current_peer = {},
                            .gpu = environment.gpu};
        const Report side = run_rank(context);
        for (const Check& check : side.checks) {
          if (check.status == Status::error || check.status == Status::timeout) {
            responder_error = check.message;
          }
        }
      } catch (const std::exception& e) {
        responder_error = e.what();
      }
    });
    const auto bootstrap = TcpBootstrap::accept(listener, bootstrap_options);
    RankContext context{.options = options,
                        .bootstrap = *bootstrap,
                        .liveness = [&b = *bootstrap] { b.check_peer_alive(); },
                        .mpi_initialised = false,
                        .guard = &guard,
                        .live = live,
                        .setup_mutex = &setup_mutex,
                        .current_peer = {},
                        .gpu = environment.gpu};
    initiator_side = run_rank(context);
  }  // the initiator's socket closes here, so a responder still waiting learns it is alone
  if (!responder_error.empty() && initiator_side.verdict.status != Status::pass &&
      initiator_side.verdict.status != Status::warn &&
      initiator_side.verdict.status != Status::skip) {
    live.add_check(reports::judged_check(
        "HARNESS_ERROR", Status::error,
        finding_message("HARNESS_ERROR", "loopback responder side: " + responder_error)));
  }
}

// --all-devices: the loopback on every EFA device of this node, one after the other.
void run_all_devices(const P2pOptions& options, const Report& started,
                     const RunEnvironment& environment, harness::RunGuard& guard,
                     harness::LiveReport& live) {
#if PREFLIGHT_HAVE_LIBFABRIC
  const std::vector<std::string> domains = list_efa_domains();
  if (domains.empty()) {
    live.update([&](Report& r) {
      r.details["loopback"] = true;
      r.details["devices"] = json::array();
      r.checks.push_back(reports::skip_check(
          "P2P_PROVIDER_UNAVAILABLE",
          "--all-devices: no EFA device (libfabric provider efa lists no RDM domain on this "
          "node)"));
    });
    return;
  }
  json devices = json::array();
  for (const std::string& domain : domains) {
    P2pOptions device_options = options;
    device_options.provider = "efa";
    device_options.domain = domain;
    run_loopback(device_options, started, environment, guard, live);
    const Report so_far = live.snapshot();
    devices.push_back(json{{"domain", domain},
                           {"device", efa_device_of_domain(domain)},
                           {"transport", so_far.details.value("transport", json())}});
  }
  live.update([&](Report& r) {
    r.details["devices"] = devices;
    r.details["device_list"] = join(domains, ", ");
  });
#else
  (void)options, (void)started, (void)environment, (void)guard, (void)live;
  throw FeatureUnavailable("--all-devices (libfabric)", "PREFLIGHT_WITH_LIBFABRIC");
#endif
}

// ---------------------------------------------------------------------------------------------
// Stops: what the harness writes when a phase runs past --timeout or SIGTERM arrives.

// The ranks not progressing, described ("" when none is known), and as JSON.
std::pair<std::string, json> stalled_ranks(const harness::RunGuard& guard, bool deterministic) {
  const auto named = guard.not_progressing();
  if (!named) {
    return {"", json::array()};
  }
  std::vector<std::string> parts;
  for (const RankProgress& rank : *named) {
    parts.push_back(describe(rank, deterministic));
  }
  return {join(parts, "; "), to_json(*named, deterministic)};
}

// On expiry: the partial report (written where this rank writes reports) gets the timeout check,
// then the process ends with 124; the main thread is stuck and must not unwind. After a timeout
// the job ends, so the launcher exits too (common/job_end.hpp): rank 0 aborts it once its report
// is written (or its text printed, without --json); the others wait for that, at most past rank
// 0's own deadline (it may be waiting in a later phase than theirs).
//   SIGTERM (blocked by main in every thread): a launcher ends the other ranks this way when one
// of them dies, so under a multi-rank launch the rank names the peer of the phase it was in (and,
// from the progress channel, every rank that is gone or cut off) and exits 4 with its partial
// report.
harness::StopHandlers stop_handlers(const P2pOptions& options, const RunEnvironment& environment,
                                    harness::RunGuard& guard, harness::LiveReport& live, int rank) {
  const bool deterministic = options.common.deterministic;
  const bool warn_as_fail = options.common.warn_as_fail;
  harness::StopHandlers handlers;
  handlers.timed_out = [&, rank, deterministic, warn_as_fail](const std::string& phase,
                                                              double deadline_s) {
    const std::string who = fmt::format("{} rank {} on {}", kTool, rank, host_name());
    const auto [stalled, stalled_json] = stalled_ranks(guard, deterministic);
    const std::string detail =
        stalled.empty()
            ? std::string(
                  "no progress from the peer named in the phase (hung, stopped or "
                  "unreachable); the partial report keeps every size finished")
            : fmt::format("not progressing: {}; the partial report keeps every size finished",
                          stalled);
    harness::StopNotice notice;
    notice.message = fmt::format("{}: timeout: phase '{}' did not finish within {:g} s: {}", kTool,
                                 phase, deadline_s, detail);
    notice.partial = harness::stopped_report(
        live.snapshot(),
        reports::judged_check("BENCH_TIMEOUT", Status::timeout,
                              finding_message("BENCH_TIMEOUT", who, deadline_s, phase, detail),
                              json{{"phase", phase},
                                   {"deadline_s", deadline_s},
                                   {"rank", rank},
                                   {"ranks_not_progressing", stalled_json}}),
        warn_as_fail, deterministic, harness::FinishedAt::stamped);
    return notice;
  };
  handlers.leave_after_timeout = [&, rank](int code) {
    end_job(code, guard.progress(), rank == 0, environment.abort_job,
            {.writer_wait_s = options.timeout_s + JobEndTimes{}.writer_wait_s});
  };
  const bool launched = environment.bootstrap != nullptr && environment.bootstrap->size() > 1 &&
                        environment.mpi_initialised;
  handlers.terminated = [&, rank, deterministic, warn_as_fail, launched](const std::string& phase) {
    const auto [stalled, stalled_json] = stalled_ranks(guard, deterministic);
    const std::string peer = !stalled.empty() ? stalled : live.peer();
    const std::string detail = fmt::format(
        "rank {} on {} was terminated (SIGTERM) in phase '{}'{}", rank, host_name(), phase,
        launched ? ": the launcher ends a job this way when one of its ranks dies" : "");
    Check check = launched
                      ? reports::judged_check(
                            "PEER_LOST", Status::error,
                            finding_message("PEER_LOST",
                                            peer.empty() ? "(none in this phase)" : peer, detail),
                            json{{"peer", peer},
                                 {"phase", phase},
                                 {"signal", "SIGTERM"},
                                 {"ranks_not_progressing", stalled_json}})
                      : reports::judged_check("HARNESS_ERROR", Status::error,
                                              finding_message("HARNESS_ERROR", detail),
                                              json{{"phase", phase}, {"signal", "SIGTERM"}});
    harness::StopNotice notice;
    notice.message = fmt::format("{}: {}", kTool, detail);
    notice.partial = harness::stopped_report(live.snapshot(), std::move(check), warn_as_fail,
                                             deterministic, harness::FinishedAt::stamped);
    return notice;
  };
  handlers.leave_after_termination = [](int code) { ::_exit(code); };
  return handlers;
}

// A size this host cannot hold is a usage error before anything runs, not a bad_alloc on both
// sides. Each endpoint holds a send and a receive buffer of the largest size, plus the
// verification copy; loopback holds both endpoints in this process.
void check_host_memory(const P2pOptions& options) {
  const std::uint64_t largest = *std::max_element(options.sizes.begin(), options.sizes.end());
  const std::uint64_t buffers = (options.loopback || options.all_devices) ? 8 : 4;
  const auto available = available_memory_bytes(RootFs("/"));
  if (available && largest > *available / buffers) {
    throw UsageError(fmt::format(
        "--sizes: the largest size, {} ({} B), needs about {} x {} B of host memory in this "
        "process; {} has {} B available (MemAvailable); choose a smaller maximum size",
        format_size(largest), largest, buffers, largest, host_name(), *available));
  }
}

// EFA counters read around both sides of a loopback, by this process.
void record_loopback_counters(harness::LiveReport& live, const EfaCounterSnapshot& before,
                              const RootFs& root) {
  const EfaCounterSnapshot deltas = efa_counter_deltas(before, read_efa_port_counters(root));
  live.update([&](Report& r) {
    if (!deltas.empty()) {
      r.hw_counters_delta = deltas;
    }
    for (const EfaCounterFinding& finding : efa_counter_findings(deltas, std::nullopt)) {
      r.checks.push_back(
          reports::fire_check(finding.id, finding.message(),
                              json{{"device", finding.device}, {"increases", finding.rises}}));
    }
  });
}

}  // namespace

Report run(const P2pOptions& options, Report report, const RunEnvironment& environment) {
  validate_options(options);
  if (!environment.launch_problem.empty()) {
    report.checks.push_back(reports::judged_check(
        "LAUNCH_WORLD_MISMATCH", Status::error,
        finding_message("LAUNCH_WORLD_MISMATCH", environment.launch_problem)));
    reports::finish_report(report, options.common.warn_as_fail, options.common.deterministic);
    return report;
  }
  check_host_memory(options);
  if (environment.bootstrap == nullptr && !options.loopback && !options.all_devices) {
    throw UsageError(
        "preflight-p2p needs a peer: launch with mpirun/srun, use --listen/--connect, "
        "or --loopback");
  }
  const bool loopback = options.loopback || options.all_devices;
  if (loopback) {
    // Loopback must cross the NIC, whichever provider libfabric picks (--provider any picks efa
    // on an EFA node): the efa provider would otherwise hand a message between two endpoints of
    // one process to its shared-memory path. Read by libfabric when it first loads its
    // providers, which has not happened yet in this process; set before any thread starts.
    ::setenv("FI_EFA_ENABLE_SHM_TRANSFER", "0", 1);  // NOLINT(concurrency-mt-unsafe)
  }
  const Report started = report;
  harness::LiveReport live(std::move(report));
  const int rank = environment.bootstrap != nullptr ? environment.bootstrap->rank() : 0;
  harness::RunGuard guard({.tool = std::string(kTool),
                           .timeout_s = options.timeout_s,
                           .writer = environment.writer,
                           .on_progress = environment.progress});
  guard.set_stop_handlers(stop_handlers(options, environment, guard, live, rank));
  if (environment.watch_termination) {
    guard.watch_termination();
  }

  const RootFs root(options.root);
  const EfaCounterSnapshot counters_before =
      loopback ? read_efa_port_counters(root) : EfaCounterSnapshot{};
  if (options.all_devices) {
    run_all_devices(options, started, environment, guard, live);
  } else if (options.loopback) {
    run_loopback(options, started, environment, guard, live);
  } else {
    RankContext context{.options = options,
                        .bootstrap = *environment.bootstrap,
                        .liveness = environment.liveness,
                        .mpi_initialised = environment.mpi_initialised,
                        .guard = &guard,
                        .live = live,
                        .setup_mutex = nullptr,
                        .current_peer = {},
                        .gpu = environment.gpu};
    (void)run_rank(context);
  }
  guard.end();

  if (loopback) {
    record_loopback_counters(live, counters_before, root);
  }
  Report final_report = live.snapshot();
  const int ranks = options.pattern == Pattern::pair ? 2 : final_report.run.ranks;
  for (Check& check : correctness_checks(final_report.results, ranks)) {
    final_report.checks.push_back(std::move(check));
  }
  reports::finish_report(final_report, options.common.warn_as_fail, options.common.deterministic);
  return final_report;
}

}  // namespace preflight::p2p
