// preflight-p2p: point-to-point latency, bandwidth and link matrices over libfabric, MPI or NCCL.
// main parses the options into an immutable struct, picks the bootstrap (MPI launch, TCP
// rendezvous, or none for --loopback), calls p2p::run, renders, and returns the verdict's code.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>

#include "common/bootstrap.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/gpu_libraries.hpp"
#include "common/job_end.hpp"
#include "common/launch_world.hpp"
#include "common/size_spec.hpp"
#include "common/status.hpp"
#include "common/tcp_bootstrap.hpp"
#include "common/termination_watch.hpp"
#include "common/text.hpp"
#include "p2p/options.hpp"
#include "p2p/render.hpp"
#include "p2p/runner.hpp"
#include "preflight/build_config.hpp"
#include "reports/report.hpp"
#include "reports/report_io.hpp"

#if PREFLIGHT_HAVE_MPI
#include "common/mpi.hpp"
#endif
#if PREFLIGHT_HAVE_LIBFABRIC
#include "common/fabric.hpp"
#endif

extern char** environ;  // NOLINT: POSIX

namespace preflight::p2p {
namespace {

constexpr std::string_view kTool = "preflight-p2p";

// The one of `choices` whose name (to_string) is `name`; nullopt when none is.
template <typename Enum>
std::optional<Enum> find_named(std::string_view name, std::initializer_list<Enum> choices) {
  for (const Enum choice : choices) {
    if (to_string(choice) == name) {
      return choice;
    }
  }
  return std::nullopt;
}

std::vector<TestKind> parse_tests(const std::string& text) {
  std::vector<TestKind> tests;
  for (const std::string_view item : split(text, ',')) {
    const auto test = find_named(trim(item), {TestKind::latency, TestKind::bw, TestKind::bibw});
    if (!test) {
      throw UsageError(
          fmt::format("--test '{}': expected latency, bw, bibw or a list of them", trim(item)));
    }
    if (std::find(tests.begin(), tests.end(), *test) == tests.end()) {
      tests.push_back(*test);
    }
  }
  return tests;
}

// One of `choices` (the flag's value, in any case), or a usage error naming the flag and the
// choices.
template <typename Enum>
Enum parse_choice(std::string_view flag, const std::string& value,
                  std::initializer_list<Enum> choices) {
  if (const auto choice = find_named(to_lower(value), choices)) {
    return *choice;
  }
  std::string names;
  for (const Enum choice : choices) {
    names += (names.empty() ? "" : ", ") + std::string(to_string(choice));
  }
  throw UsageError(fmt::format("{} '{}': expected one of {}", flag, value, names));
}

struct CommandLine {
  P2pOptions options = default_options();
  std::string transport = "libfabric";
  std::string op = "send";
  std::string memory = "host";
  std::string pattern = "pair";
  std::string sizes = "1:16M";
  std::string tests = "latency,bw";
  std::optional<std::size_t> fixed_iterations;
  bool no_retest = false;
};

void add_options(CLI::App& app, CommandLine& line) {
  P2pOptions& o = line.options;
  app.add_option("--transport", line.transport, "libfabric (default), mpi or nccl");
  app.add_option("--provider", o.provider,
                 "libfabric provider: auto (efa where each node has EFA devices; a node without "
                 "is an error, never a silent tcp), efa, tcp, shm, any name fi_info -l lists "
                 "(layered names such as \"tcp;ofi_rxm\" too); default: libfabric's first choice. "
                 "Every node chooses for itself and all must agree");
  app.add_option("--root", o.root,
                 "read this node's EFA devices (sysfs) from this tree instead of / (the probes' "
                 "--root; env PREFLIGHT_ROOT gives each rank its own in tests)");
  app.add_option("--domain", o.domain, "libfabric domain (an EFA device: rdmap79s0-rdm; tcp: lo)");
  app.add_option("--op", line.op, "send (tagged, default), write or read (RMA; needs FI_RMA)");
  app.add_option("--mem", line.memory, "host (default) or cuda (FI_HMEM / NCCL; needs a GPU)");
  app.add_option("--test", line.tests, "latency, bw, bibw, or a comma list (default latency,bw)");
  app.add_option("--sizes", line.sizes, "message sizes, e.g. 1:16M (x2), 8,1K,1M (default 1:16M)");
  app.add_option("--window", o.window, "messages in flight for bw/bibw (default 64, as OSU)");
  app.add_option("--check", o.check_iterations,
                 "verified (untimed) iterations per size, payload and length (default 1)");
  app.add_option("--warmup-iters", o.sampling.warmup_iterations,
                 "warm-up iterations per size, discarded (default 10)");
  app.add_option("--min-iters", o.sampling.min_iterations, "minimum timed iterations (default 10)");
  app.add_option("--max-iters", o.sampling.max_iterations, "maximum timed iterations");
  app.add_option("--iters", line.fixed_iterations,
                 "exactly N timed iterations per size, no adaptation (like fi_pingpong -I)");
  app.add_option("--target-precision", o.sampling.target_precision,
                 "stop when the 95% CI of the median is within this fraction (default 0.01)");
  app.add_option("--time-per-size", o.sampling.time_budget_s,
                 "measured seconds per size at most (default 0.5)");
  app.add_flag("--samples", o.keep_samples, "keep every sample in the JSON report");
  app.add_option("--pattern", line.pattern,
                 "pair (ranks 0<->1, default), all-pairs or ring (one rank per node)");
  app.add_option("--max-rounds", o.survey.max_rounds,
                 "all-pairs: every pair while nodes-1 <= this, else k random matchings + ring "
                 "(default 32)");
  app.add_option("--random-rounds", o.survey.random_rounds,
                 "scale mode: random perfect matchings after the ring (default 4)");
  app.add_option("--retest-rounds", o.survey.max_retest_rounds,
                 "all-pairs/ring: at most this many rounds re-testing suspects before blame "
                 "(default 14)");
  app.add_option("--retest-partners", o.survey.judgement.node_confirmations,
                 "known-good partners a suspect node must be slow with in re-tests before it is "
                 "blamed (default 2)");
  app.add_option("--link-confirmations", o.survey.judgement.link_confirmations,
                 "slow measurements (one a re-test) before a link is blamed (default 3)");
  app.add_flag("--no-retest", line.no_retest,
               "skip the re-tests: suspects stay suspects (warnings), nothing is blamed");
  app.add_option("--seed", o.survey.seed, "seed of the random matchings (default 1)");
  app.add_option("--slow-fraction,--outlier-deviation", o.survey.judgement.slow_fraction,
                 "a link is slow when its best rate is below (1 - this) x the cluster's reference "
                 "(latency: its inverse); default 0.3, so a node or link at half rate is found");
  app.add_option("--rails", o.rails,
                 "all, rail indices (0,2), auto (all where the provider is efa) or none (default): "
                 "one endpoint per device (EFA: every rdmap*-rdm; "
                 "tcp: every interface but lo), every rail of a pair measured at once; a rail is "
                 "the devices with the same index on each node");
  app.add_option("--rail-timeout", o.rail_timeout_s,
                 "--rails: give a rail up when a size has not finished this long after it began "
                 "(default 20 s), naming its NIC; the other rails keep their measurements");
  app.add_option("--nic-rate-gbps", o.nic_rate_gbps,
                 "--rails: the line rate of one NIC in Gbit/s that each node's aggregate over its "
                 "rails is judged against (default: the platform catalog's EFA rate per device "
                 "for the node's instance type, judged from 1 MiB)");
  app.add_option("--min-line-rate-fraction", o.min_line_rate_fraction,
                 "--rails: name a node whose healthy NICs together carry less than this share "
                 "of their line rate (default 0.8)");
  app.add_flag("--loopback", o.loopback,
               "both endpoints in this process through one device (--domain; EFA: shm disabled)");
  app.add_flag("--all-devices", o.all_devices, "--loopback on every EFA device of this node");
  app.add_option("--listen", o.listen,
                 "no MPI: wait for the peer on [ADDR:]PORT (this side is rank 0)");
  app.add_option("--connect", o.connect, "no MPI: connect to the peer at HOST:PORT (rank 1)");
  app.add_option("--connect-timeout", o.connect_timeout_s,
                 "seconds to wait for the --listen/--connect peer (default 30)");
  app.add_option("--timeout", o.timeout_s,
                 "deadline in seconds of every phase (init, each size, each exchange, teardown); "
                 "past it: partial report, exit 124 (default 60)");
  app.add_option("--nccl-lib", o.nccl_library,
                 "--transport nccl: test exactly this libnccl.so (the job's own); default: the "
                 "one the dynamic loader finds");
  app.add_option("--node-name", o.node_name,
                 "this rank's node identity for all-pairs/ring (default: host name; '{rank}' is "
                 "replaced by the rank). Env PREFLIGHT_NODE_NAME: lets tests declare several "
                 "nodes on one machine");
}

// Only rank 0 reports; a rank that ends the job by itself says why, or nobody will.
void say_why_the_rank_stopped(const reports::Report& result, int rank) {
  for (const auto& check : result.checks) {
    if (check.status == Status::error || check.status == Status::timeout) {
      std::fprintf(stderr, "%s: rank %d on %s: %s %s: %s\n", std::string(kTool).c_str(), rank,
                   host_name().c_str(), check.id.c_str(),
                   std::string(to_string(check.status)).c_str(), check.message.c_str());
    }
  }
}

// The options the command line gave as text, parsed into `line.options`.
void complete_options(CommandLine& line) {
  P2pOptions& options = line.options;
  options.sizes = parse_size_spec(line.sizes);
  options.tests = parse_tests(line.tests);
  options.transport = parse_choice("--transport", line.transport,
                                   {Transport::libfabric, Transport::mpi, Transport::nccl});
  options.op = parse_choice("--op", line.op, {DataOp::send, DataOp::write, DataOp::read});
  options.memory = parse_choice("--mem", line.memory, {MemoryKind::host, MemoryKind::cuda});
  options.pattern =
      parse_choice("--pattern", line.pattern, {Pattern::pair, Pattern::all_pairs, Pattern::ring});
  if (line.fixed_iterations) {
    options.sampling.fixed = true;
    options.sampling.min_iterations = *line.fixed_iterations;
    options.sampling.max_iterations =
        std::max(options.sampling.max_iterations, *line.fixed_iterations);
  }
  options.survey.retest = !line.no_retest;
}

int run_main(int argc, char** argv) {
  CLI::App app{
      "Point-to-point latency, bandwidth and link matrices over libfabric (efa, tcp, "
      "shm), MPI or NCCL",
      std::string(kTool)};
  CommandLine line;
  add_options(app, line);
  add_common_options(app, line.options.common);
  bind_environment(app);
  if (const auto stop = parse_command_line(app, argc, argv, &line.options.common)) {
    return *stop;
  }
  P2pOptions& options = line.options;
  complete_options(line);
  validate_options(options);
  // NCCL and the CUDA runtime, loaded only when this run uses them; a --nccl-lib that is missing
  // or is not NCCL is a usage error here.
  const bool needs_nccl = options.transport == Transport::nccl;
  GpuLibraries gpu;
  if (needs_nccl || options.memory == MemoryKind::cuda) {
    gpu.load(needs_nccl, options.nccl_library);
  }
  if (!options.nccl_library.empty() && !needs_nccl) {
    std::fprintf(stderr, "%s: note: --nccl-lib applies to --transport nccl only; ignored\n",
                 std::string(kTool).c_str());
  }

  // The bootstrap: TCP rendezvous, an MPI launch, or none (loopback pairs two threads itself).
  TcpBootstrapOptions tcp_options;
  tcp_options.connect_timeout_s = options.connect_timeout_s;
  tcp_options.operation_timeout_s = options.timeout_s;
#if PREFLIGHT_HAVE_MPI
  std::optional<MpiSession> mpi;  // declared first: finalised after every communicator is freed
#endif
  std::unique_ptr<TcpBootstrap> tcp;
  std::unique_ptr<Bootstrap> other;
  Bootstrap* bootstrap = nullptr;
  RunEnvironment environment;
  const bool loopback = options.loopback || options.all_devices;
  if (!options.listen.empty()) {
    const TcpListener listener(parse_tcp_endpoint(options.listen, "--listen"));
    if (!options.common.quiet) {
      std::fprintf(stderr, "%s: waiting for the peer on port %u (--connect HOST:%u)\n",
                   std::string(kTool).c_str(), listener.port(), listener.port());
    }
    tcp = TcpBootstrap::accept(listener, tcp_options);
  } else if (!options.connect.empty()) {
    tcp = TcpBootstrap::connect(parse_tcp_endpoint(options.connect, "--connect"), tcp_options);
  } else if (!loopback) {
#if PREFLIGHT_HAVE_MPI
    // The world asked for (common/launch_world.hpp): a launch that cannot form it measures nothing.
    const LaunchRequest launch_request = read_launch_request();
    environment.launch_problem =
        launch_problem_before_init(launch_request, mpi_pmi_needs()).value_or("");
    if (launched_as_mpi_rank() && environment.launch_problem.empty()) {
      block_termination_signal();  // before MPI starts its threads: they inherit the mask
      // MPI_THREAD_SINGLE, as OSU and the reference loops: only this thread calls MPI (the
      // watchdog and signal threads never do), and Open MPI 4.1 adds 60-100 ns to every small
      // send/receive at FUNNELED or SERIALIZED (measured here, bench/results/p2p.md).
      mpi.emplace(&argc, &argv, MPI_THREAD_SINGLE);
      other = make_mpi_bootstrap();
      environment.mpi_initialised = true;
      environment.launch_problem = check_launched_world(*other, launch_request).value_or("");
      // After a timeout the rank that wrote the report ends the whole job, so the launcher exits.
      environment.abort_job = [](int code) { MPI_Abort(MPI_COMM_WORLD, code); };
    }
#else
    if (launched_as_rank(read_launch_request())) {
      throw FeatureUnavailable("launching by mpirun/srun (MPI bootstrap)", "PREFLIGHT_WITH_MPI");
    }
#endif
    if (!other) {
      other = make_single_bootstrap();
    }
  }
  if (tcp) {
    bootstrap = tcp.get();
    environment.liveness = [&bootstrap = *tcp] { bootstrap.check_peer_alive(); };
  } else {
    bootstrap = other.get();
  }
  environment.bootstrap = bootstrap;
  environment.gpu = &gpu;
  const int rank = bootstrap != nullptr ? bootstrap->rank() : 0;
  // A launch without PMI leaves N worlds of one: only the launcher's rank 0 speaks for the job.
  const bool reporter = rank == 0 && (environment.launch_problem.empty() ||
                                      reports_for_the_launch(read_launch_request()));

  reports::Report report = reports::start_report(kTool, argc, argv, options.common.deterministic);
  report.inventory.env = reports::allowlisted_environment(environ);
  if (!options.common.deterministic) {
#if PREFLIGHT_HAVE_LIBFABRIC
    report.inventory.versions["libfabric"] = fabric_runtime_version();
#endif
    if (const auto& nccl = gpu.nccl_library()) {
      report.inventory.versions["nccl"] = nccl->version().text;
      report.inventory.versions["nccl_library"] = nccl->path();
    }
    if (const auto& runtime = gpu.cuda_library()) {
      report.inventory.versions["cuda_runtime"] = runtime->version().text;
    }
  }
  std::optional<reports::IncrementalReportWriter> writer;
  if (reporter && !options.common.json_path.empty()) {
    writer.emplace(options.common.json_path);
    environment.writer = &*writer;
  }
  ProgressPrinter progress(
      std::string(kTool), reporter
                              ? resolve_progress_mode(options.common.progress, options.common.quiet)
                              : ProgressMode::none);
  if (progress.active()) {
    environment.progress = [&progress](const ProgressEvent& event) {
      progress.update(fmt::format("[{}/{}] {}", event.done, event.total, event.step),
                      event.done == event.total);
    };
  }

  block_termination_signal();
  environment.watch_termination = true;
  const reports::Report result = run(options, std::move(report), environment);
  unblock_termination_signal();  // a SIGTERM that came after run() ended acts as usual now
  progress.finish();
  if (reporter) {
    if (writer) {
      writer->finish(result);
    }
    if (!options.common.quiet && options.common.json_path != "-") {
      std::cout << render_text(result) << std::flush;
    }
  }
  const int code = result.verdict.exit_code;
  if (!reporter && (code == exit_code::error || code == exit_code::timeout)) {
    say_why_the_rank_stopped(result, rank);
  }
#if PREFLIGHT_HAVE_MPI
  // A rank that lost its peer must not wait for it in MPI_Finalize: the job ends now. Rank 0 ends
  // it once its report is written; the others wait for that (an abort from them would have the
  // launcher kill rank 0 in the middle of its report), common/job_end.hpp.
  if (mpi && bootstrap->size() > 1 && (code == exit_code::error || code == exit_code::timeout)) {
    end_job(code, nullptr, reporter, environment.abort_job);
  }
#endif
  return code;
}

}  // namespace
}  // namespace preflight::p2p

int main(int argc, char** argv) {
  return preflight::run_guarded("preflight-p2p",
                                [&] { return preflight::p2p::run_main(argc, argv); });
}
