// preflight: the umbrella. Parses options into immutable structs, runs one plan (node, cluster,
// ci) through the cli library, writes the outputs and exits with the verdict's code.
#include <fmt/format.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigprocmask, sigset_t
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/launcher.hpp"
#include "cli/plans.hpp"
#include "cli/suite.hpp"
#include "common/atomic_file.hpp"
#include "common/cli.hpp"
#include "common/error.hpp"
#include "common/spawn.hpp"
#include "common/status.hpp"
#include "common/text.hpp"
#include "preflight/build_config.hpp"

namespace {

using preflight::UsageError;
namespace cli = preflight::cli;

// Blocks the stop signals for the whole run, so the step runner sees them pending and takes the
// children's process groups down before we die; unblocked at exit, the pending signal then ends
// the process as it would have.
class StopSignalsDeferred {
 public:
  StopSignalsDeferred() {
    sigemptyset(&signals_);
    for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
      sigaddset(&signals_, signal_number);
    }
    sigprocmask(SIG_BLOCK, &signals_, &previous_);
  }
  StopSignalsDeferred(const StopSignalsDeferred&) = delete;
  StopSignalsDeferred& operator=(const StopSignalsDeferred&) = delete;
  StopSignalsDeferred(StopSignalsDeferred&&) = delete;
  StopSignalsDeferred& operator=(StopSignalsDeferred&&) = delete;
  ~StopSignalsDeferred() { sigprocmask(SIG_SETMASK, &previous_, nullptr); }

 private:
  sigset_t signals_{};
  sigset_t previous_{};
};

std::optional<std::string> environment_value(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  if (value == nullptr || *value == '\0') {
    return std::nullopt;
  }
  return std::string(value);
}

// The Slurm allocation's hosts, expanded by `scontrol show hostnames` (spawned, no shell).
std::vector<std::string> slurm_hosts(const std::string& node_list) {
  auto directory_template = std::to_array("/tmp/preflight-scontrol.XXXXXX");
  if (::mkdtemp(directory_template.data()) == nullptr) {
    preflight::check_errno(-1, "mkdtemp", directory_template.data());
  }
  const std::filesystem::path directory(directory_template.data());
  const auto output = directory / "hostnames";
  const auto result =
      preflight::run_process({"scontrol", "show", "hostnames", node_list}, {}, 30, output);
  std::vector<std::string> hosts;
  std::ifstream input(output);
  std::string line;
  while (std::getline(input, line)) {
    const auto host = std::string(preflight::trim(line));
    if (!host.empty()) {
      hosts.push_back(host);
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);
  if (!result.started || result.exit_code != 0 || hosts.empty()) {
    throw UsageError(fmt::format(
        "SLURM_JOB_NODELIST='{}': `scontrol show hostnames` failed (exit {}); pass --hosts",
        node_list, preflight::shell_style_exit_code(result)));
  }
  return cli::parse_host_list(preflight::join(hosts, ","));
}

// --hosts, then --hostfile, then the Slurm allocation, then the MPI Operator's hostfile.
std::pair<std::vector<std::string>, std::string> resolve_hosts(const std::string& hosts,
                                                               const std::string& hostfile) {
  if (!hosts.empty()) {
    return {cli::parse_host_list(hosts), "--hosts"};
  }
  if (!hostfile.empty()) {
    return {cli::read_hostfile(hostfile), "--hostfile " + hostfile};
  }
  if (const auto node_list = environment_value("SLURM_JOB_NODELIST")) {
    return {slurm_hosts(*node_list), "SLURM_JOB_NODELIST"};
  }
  for (const char* variable :
       {"OMPI_MCA_orte_default_hostfile", "PRTE_MCA_prte_default_hostfile"}) {
    if (const auto file = environment_value(variable)) {
      return {cli::read_hostfile(*file), variable};
    }
  }
  throw UsageError(
      "cluster: no hosts: pass --hosts a,b,c or --hostfile FILE, or run inside a Slurm "
      "allocation or an MPIJob");
}

// What the command line gives as text before it is resolved into cli::GeneralOptions: output
// paths, the binaries' directory, the launcher and its arguments, baseline directories.
struct GeneralArguments {
  std::string html_path;
  std::string junit_path;
  std::string bin_dir;
  std::string launcher_name;
  std::string launcher_args;
  std::string srun_mpi;
  std::vector<std::string> launcher_arg;
  std::vector<std::string> baseline_dirs;
};

// The options every plan takes, before the subcommand.
void add_general_options(CLI::App& app, cli::GeneralOptions& general, GeneralArguments& text) {
  preflight::add_common_options(app, general.common);
  app.add_option("--html", text.html_path, "Write the suite report as HTML to PATH");
  app.add_option(
      "--junit", text.junit_path,
      "Write JUnit XML (one test case per check, classname preflight.HOST.STEP) to PATH");
  app.add_option("--textfile-dir", general.textfile_dir,
                 "Write preflight_<plan>.prom (Prometheus) atomically into DIR, the directory of "
                 "node_exporter's textfile collector");
  app.add_option("--bin-dir", text.bin_dir,
                 "Where the preflight-* binaries are (default: next to "
                 "this one)");
  app.add_option("--launcher", text.launcher_name,
                 "mpirun or srun (default: srun inside a Slurm "
                 "allocation, else mpirun)")
      ->check(CLI::IsMember({"mpirun", "srun"}));
  app.add_option("--launcher-args", text.launcher_args,
                 "Extra launcher flags, split on whitespace (no shell quoting)");
  app.add_option("--srun-mpi", text.srun_mpi,
                 "srun --mpi=VALUE for the ranks' process-management interface (pmix, pmi2, ...; "
                 "default: the site's MpiDefault, or pmix where MpiDefault=none)");
  app.add_option("--launcher-arg", text.launcher_arg,
                 "One extra launcher argument, passed as it is; repeat it "
                 "(--launcher-arg=--mca --launcher-arg=btl_tcp_if_include --launcher-arg=eth0)")
      ->allow_extra_args(false);
  app.add_option("--budget", general.budget_s, "Seconds for the whole plan (node: 60, --quick: 10)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--step-timeout", general.step_timeout_s, "Seconds per step (0: the plan's)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_flag("--keep-work-dir", general.keep_work_dir,
               "Keep the steps' reports and logs (path in details.work_dir)");
  app.add_flag("--report-via-stdout", general.report_via_stdout,
               "Launched steps print their report to stdout instead of a file (rank 0 on "
               "another machine)");
  app.add_option("--baseline-dir", text.baseline_dirs,
                 "Directories of <instance type>.json "
                 "baselines");
}

CLI::App* add_node_command(CLI::App& app, cli::NodeOptions& node) {
  auto* node_command = app.add_subcommand("node", "Check this machine (probes, then local runs)");
  node_command->add_flag("--quick", node.quick, "Probes only, within 10 s (Slurm prolog)");
  node_command->add_option("--local-ranks", node.local_ranks, "Ranks of the host runs")
      ->check(CLI::Range(2, 64));
  node_command->add_option("--nccl-lib", node.nccl_library,
                           "The libnccl.so the GPU steps test (the job's own NCCL)");
  return node_command;
}

// The cluster plan's options given as text: where the hosts come from, preflight-p2p's extra
// arguments, and whether to skip the collective.
struct ClusterArguments {
  std::string hosts;
  std::string hostfile;
  std::string p2p_args;
  std::vector<std::string> p2p_arg;
  bool no_collective = false;
};

CLI::App* add_cluster_command(CLI::App& app, cli::ClusterOptions& cluster, ClusterArguments& text) {
  auto* cluster_command =
      app.add_subcommand("cluster", "Pair tests and a collective across nodes: bad node or link");
  cluster_command->add_option("--hosts", text.hosts, "Comma-separated host names");
  cluster_command->add_option("--hostfile", text.hostfile, "Open MPI hostfile");
  cluster_command->add_option("--provider", cluster.provider,
                              "libfabric provider of the pair tests (default auto: each rank "
                              "uses efa where its node has EFA devices; tcp only when asked)");
  cluster_command->add_option("--p2p-test", cluster.p2p_test, "latency, bw or bibw")
      ->check(CLI::IsMember({"latency", "bw", "bibw"}));
  cluster_command->add_option("--p2p-sizes", cluster.p2p_sizes, "Sizes of the pair tests");
  cluster_command
      ->add_option("--p2p-arg", text.p2p_arg,
                   "One extra preflight-p2p argument, passed as it is; repeat it "
                   "(--p2p-arg=--window --p2p-arg=16)")
      ->allow_extra_args(false);
  cluster_command->add_option("--p2p-args", text.p2p_args,
                              "Extra preflight-p2p arguments, split on whitespace (no quoting: "
                              "prefer --p2p-arg)");
  cluster_command
      ->add_option("--max-rounds", cluster.max_rounds,
                   "Every pair while nodes - 1 <= this, else the ring plus random matchings "
                   "(default 32)")
      ->check(CLI::Range(1, 100000));
  cluster_command
      ->add_option("--retest-rounds", cluster.retest_rounds,
                   "Rounds that re-test suspects (beside a control pair) before blame (default "
                   "14)")
      ->check(CLI::Range(0, 1000));
  cluster_command
      ->add_option("--slow-fraction", cluster.slow_fraction,
                   "A link is slow below (1 - this) of the cluster's reference (default 0.3: a "
                   "node or link at half rate is found, healthy noise is not)")
      ->check(CLI::Range(0.01, 0.99));
  cluster_command
      ->add_option("--partners", cluster.partners_per_suspect,
                   "Known-good partners a suspect node must be slow with in re-tests (at least; "
                   "more on a noisy cluster; default 2)")
      ->check(CLI::Range(1, 64));
  cluster_command->add_option(
      "--rails", cluster.rails,
      "Devices per node the pair survey drives, all at once (rail r: device r of every node): "
      "auto (default: every EFA device where the provider is efa, else one), all (every device; "
      "tcp: every interface but lo), a list of rail indices (0,2), or none (one device)");
  cluster_command
      ->add_option("--reach-timeout", cluster.reach_timeout_s,
                   "Seconds a host may take to answer a trivial launch")
      ->check(CLI::Range(1.0, 3600.0));
  cluster_command->add_option("--collective-sizes", cluster.collective_sizes,
                              "Sizes of the all-node all-reduce");
  cluster_command->add_flag("--no-collective", text.no_collective, "Skip the all-node collective");
  return cluster_command;
}

CLI::App* add_ci_command(CLI::App& app, std::string& plan_path) {
  auto* ci_command = app.add_subcommand("ci", "Run a declarative JSON plan (CI)");
  ci_command->add_option("--plan", plan_path, "Plan file (reports/schema/plan.schema.json)")
      ->required();
  return ci_command;
}

// The general options, checked (output paths writable) and resolved: the binaries' directory, the
// launcher and its arguments, srun's --mpi, the baseline directories, the progress mode.
void resolve_general_options(cli::GeneralOptions& general, const GeneralArguments& text, int argc,
                             char** argv) {
  for (const auto* path : {&text.html_path, &text.junit_path}) {
    if (!path->empty()) {
      preflight::check_output_path(*path, path == &text.html_path ? "--html" : "--junit");
    }
  }
  if (!general.textfile_dir.empty()) {
    if (!std::filesystem::is_directory(general.textfile_dir)) {
      throw UsageError(fmt::format("--textfile-dir {}: no such directory", general.textfile_dir));
    }
    preflight::check_output_path(std::filesystem::path(general.textfile_dir) / "preflight.prom",
                                 "--textfile-dir");
  }
  general.html_path = text.html_path;
  general.junit_path = text.junit_path;
  general.bin_dir = text.bin_dir.empty() ? cli::own_bin_dir() : std::filesystem::path(text.bin_dir);
  if (!text.launcher_name.empty()) {
    general.launcher = cli::parse_launcher(text.launcher_name);
  }
  for (const auto word : preflight::split_whitespace(text.launcher_args)) {
    general.launcher_args.emplace_back(word);
  }
  general.launcher_args.insert(general.launcher_args.end(), text.launcher_arg.begin(),
                               text.launcher_arg.end());
  if (cli::choose_launcher(general.launcher, cli::current_launcher_environment()) ==
      cli::LauncherKind::srun) {
    general.srun_mpi =
        cli::choose_srun_mpi(text.srun_mpi, text.srun_mpi.empty() ? cli::slurm_mpi_default()
                                                                  : std::optional<std::string>());
  }
  general.baseline_dirs = text.baseline_dirs;
  if (general.baseline_dirs.empty()) {
    general.baseline_dirs = {std::string(PREFLIGHT_DATA_INSTALL_DIR) + "/baselines",
                             std::string(PREFLIGHT_SOURCE_DIR) + "/reports/baselines"};
  }
  general.progress =
      preflight::resolve_progress_mode(general.common.progress, general.common.quiet);
  general.argv.assign(argv,
                      argv + argc);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
}

// The cluster plan: its hosts resolved, preflight-p2p's extra arguments split.
preflight::reports::Report run_cluster(const cli::GeneralOptions& general,
                                       cli::ClusterOptions cluster, const ClusterArguments& text) {
  std::tie(cluster.hosts, cluster.hosts_source) = resolve_hosts(text.hosts, text.hostfile);
  for (const auto word : preflight::split_whitespace(text.p2p_args)) {
    cluster.p2p_args.emplace_back(word);
  }
  cluster.p2p_args.insert(cluster.p2p_args.end(), text.p2p_arg.begin(), text.p2p_arg.end());
  cluster.collective = !text.no_collective;
  return cli::run_cluster_plan(general, cluster);
}

// The CI plan: the outputs it names, unless the command line named them.
preflight::reports::Report run_ci(cli::GeneralOptions& general, const std::string& plan_path) {
  const cli::CiPlan plan = cli::read_ci_plan(plan_path);
  if (general.common.json_path.empty()) {
    general.common.json_path = plan.json_path;
  }
  if (general.junit_path.empty()) {
    general.junit_path = plan.junit_path;
  }
  if (general.html_path.empty()) {
    general.html_path = plan.html_path;
  }
  for (const auto& [path, flag] : {std::pair{general.common.json_path, "outputs.json"},
                                   std::pair{general.junit_path, "outputs.junit"},
                                   std::pair{general.html_path, "outputs.html"}}) {
    if (!path.empty() && path != "-") {
      preflight::check_output_path(path, flag);
    }
  }
  return cli::run_ci_plan(general, plan);
}

int run_main(int argc, char** argv) {
  CLI::App app{"preflight: node, cluster and CI plans over the preflight binaries", "preflight"};
  app.fallthrough(true);
  app.require_subcommand(1);

  cli::GeneralOptions general;
  GeneralArguments general_text;
  add_general_options(app, general, general_text);
  cli::NodeOptions node;
  auto* node_command = add_node_command(app, node);
  cli::ClusterOptions cluster;
  ClusterArguments cluster_text;
  auto* cluster_command = add_cluster_command(app, cluster, cluster_text);
  std::string plan_path;
  add_ci_command(app, plan_path);

  preflight::bind_environment(app);
  if (const auto code = preflight::parse_command_line(app, argc, argv, &general.common)) {
    return *code;
  }
  resolve_general_options(general, general_text, argc, argv);

  const StopSignalsDeferred deferred;
  preflight::reports::Report suite;
  if (node_command->parsed()) {
    suite = cli::run_node_plan(general, node);
  } else if (cluster_command->parsed()) {
    suite = run_cluster(general, cluster, cluster_text);
  } else {
    suite = run_ci(general, plan_path);
  }
  return cli::write_outputs(suite, general);
}

}  // namespace

int main(int argc, char** argv) {
  return preflight::run_guarded("preflight", [&] { return run_main(argc, argv); });
}
