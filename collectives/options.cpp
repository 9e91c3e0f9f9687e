#include "collectives/options.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <span>

#include "collectives/nccl_tests_flags.hpp"
#include "common/error.hpp"
#include "common/size_spec.hpp"
#include "common/status.hpp"
#include "common/text.hpp"

namespace preflight::collectives {
namespace {

// What CLI11 fills in; turned into CollectiveOptions by finalize().
struct RawOptions {
  std::string backend = "auto";
  std::string sizes;
  std::string dtypes = "float";
  std::string ops = "sum";
  std::string placement = "both";
  int root = 0;
  long long warmup = 5;
  long long min_iterations = 10;
  long long max_iterations = 100000;
  long long fixed_iterations = 0;
  double target_precision = 0.01;
  double time_per_size_s = 1.0;
  int check = 1;
  std::string split;
  double timeout_s = 300;
  std::string nccl_log;
  std::string nccl_library;
  std::string timing = "batch";
  long long batch_iterations = static_cast<long long>(kDefaultBatchIterations);
  bool cuda_graph = false;
  bool samples = false;
  int expect_efa_nics = -1;
  std::string instance_type;
};

template <typename T, typename Parse>
std::vector<T> parse_list(const std::string& text, std::string_view flag, Parse parse,
                          std::span<const T> all) {
  std::vector<T> values;
  for (const std::string_view item : split(text, ',')) {
    const std::string name = to_lower(trim(item));
    if (name.empty()) {
      continue;
    }
    if (name == "all") {
      values.assign(all.begin(), all.end());
      continue;
    }
    const auto value = parse(name);
    if (!value) {
      throw UsageError(fmt::format("{}: unknown value '{}'", flag, name));
    }
    if (std::find(values.begin(), values.end(), *value) == values.end()) {
      values.push_back(*value);
    }
  }
  if (values.empty()) {
    throw UsageError(fmt::format("{}: empty list", flag));
  }
  return values;
}

std::size_t to_count(long long value, std::string_view flag) {
  if (value < 0) {
    throw UsageError(fmt::format("{}: must not be negative", flag));
  }
  return static_cast<std::size_t>(value);
}

CollectiveOptions finalize(CollectiveKind kind, const RawOptions& raw, const CommonOptions& common,
                           int argc, char** argv) {
  CollectiveOptions options;
  options.collective = kind;
  options.common = common;
  for (int i = 0; i < argc; ++i) {
    options.argv.emplace_back(argv[i]);  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
  }

  if (raw.backend == "auto") {
    options.backend = BackendChoice::automatic;
  } else if (raw.backend == "mpi") {
    options.backend = BackendChoice::mpi;
  } else if (raw.backend == "nccl") {
    options.backend = BackendChoice::nccl;
  } else {
    throw UsageError(fmt::format("--backend {}: expected auto, mpi or nccl", raw.backend));
  }

  options.sizes_spec = raw.sizes.empty() ? std::string(kDefaultSizes) : raw.sizes;
  try {
    options.sizes_bytes = parse_size_spec(options.sizes_spec);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("--sizes {}: {}", options.sizes_spec, e.what()));
  }

  options.dtypes = parse_list<DataType>(
      raw.dtypes, "--dtype", [](std::string_view name) { return parse_data_type(name); },
      std::span<const DataType>(kAllDataTypes));
  // A size below one element is a call of 0 elements: it moves and checks nothing, so it is
  // refused rather than counted as a checked size.
  for (const DataType dtype : options.dtypes) {
    if (options.sizes_bytes.front() < element_bytes(dtype)) {
      throw UsageError(fmt::format(
          "--sizes {}: {} B is less than one {} element ({} B); a call of 0 elements moves and "
          "checks nothing",
          options.sizes_spec, options.sizes_bytes.front(), to_string(dtype), element_bytes(dtype)));
    }
  }
  if (collective_info(kind).reduces) {
    options.ops = parse_list<ReduceOp>(
        raw.ops, "--op",
        [](std::string_view name) -> std::optional<ReduceOp> {
          const auto op = parse_reduce_op(name);
          return op == ReduceOp::none ? std::nullopt : op;
        },
        std::span<const ReduceOp>(kReductionOps));
  } else {
    options.ops = {ReduceOp::none};  // as nccl-tests, the op of a data-movement collective is none
  }

  if (raw.placement == "both") {
    options.out_of_place = options.in_place = true;
  } else if (raw.placement == "out-of-place") {
    options.in_place = false;
  } else if (raw.placement == "in-place") {
    options.out_of_place = false;
  } else {
    throw UsageError(
        fmt::format("--placement {}: expected both, out-of-place or in-place", raw.placement));
  }

  if (raw.root < 0) {
    throw UsageError("--root: must not be negative");
  }
  options.root = collective_info(kind).rooted ? raw.root : 0;

  options.sampling.warmup_iterations = to_count(raw.warmup, "--warmup-iters");
  options.sampling.min_iterations = to_count(raw.min_iterations, "--min-iters");
  options.sampling.max_iterations = to_count(raw.max_iterations, "--max-iters");
  options.sampling.target_precision = raw.target_precision;
  options.sampling.time_budget_s = raw.time_per_size_s;
  if (to_count(raw.fixed_iterations, "--iters") > 0) {
    // nccl-tests' -n: exactly that many iterations, no adaptation.
    options.sampling.fixed = true;
    options.sampling.min_iterations = options.sampling.max_iterations =
        to_count(raw.fixed_iterations, "--iters");
  }
  validate_sampling_policy(options.sampling);

  // Bounds: every value beyond them is a typo, and each check iteration costs a full collective
  // plus a host-side comparison.
  constexpr int kMaxCheckIterations = 1000;
  if (raw.check < 0 || raw.check > kMaxCheckIterations) {
    throw UsageError(
        fmt::format("--check {}: must be between 0 and {}", raw.check, kMaxCheckIterations));
  }
  options.check_iterations = raw.check;
  if (!raw.split.empty()) {
    options.split = parse_split(raw.split);
  }
  constexpr double kMaxTimeout_s = 86400;
  if (!(raw.timeout_s >= 0 && raw.timeout_s <= kMaxTimeout_s)) {
    throw UsageError(fmt::format(
        "--timeout: must be a number of seconds from 0 (no watchdog) to {:.0f}", kMaxTimeout_s));
  }
  options.timeout_s = raw.timeout_s;
  options.nccl_log_path = raw.nccl_log;
  options.nccl_library = raw.nccl_library;
  if (raw.timing == "batch") {
    options.timing = TimingMode::batch;
  } else if (raw.timing == "per-iteration") {
    options.timing = TimingMode::per_iteration;
  } else {
    throw UsageError(fmt::format("--timing {}: expected batch or per-iteration", raw.timing));
  }
  constexpr long long kMaxBatchIterations = 1000000;
  if (raw.batch_iterations < 1 || raw.batch_iterations > kMaxBatchIterations) {
    throw UsageError(fmt::format("--batch-iters {}: must be between 1 and {}", raw.batch_iterations,
                                 kMaxBatchIterations));
  }
  // nccl-tests' -n N is one batch of N calls.
  options.batch_iterations = raw.fixed_iterations > 0
                                 ? static_cast<std::size_t>(raw.fixed_iterations)
                                 : static_cast<std::size_t>(raw.batch_iterations);
  options.cuda_graph = raw.cuda_graph;
  options.keep_samples = raw.samples;
  if (raw.expect_efa_nics >= 0) {
    options.expect_efa_nics = raw.expect_efa_nics;
  }
  options.instance_type = raw.instance_type;
  return options;
}

}  // namespace

std::string_view to_string(TimingMode mode) {
  return mode == TimingMode::batch ? "batch" : "per-iteration";
}

std::string_view to_string(BackendChoice choice) {
  switch (choice) {
    case BackendChoice::automatic:
      return "auto";
    case BackendChoice::mpi:
      return "mpi";
    case BackendChoice::nccl:
      return "nccl";
  }
  return "auto";
}

std::variant<CollectiveOptions, int> parse_collective_options(CollectiveKind kind, int argc,
                                                              char** argv) {
  const CollectiveInfo& info = collective_info(kind);
  CLI::App app(fmt::format("{}: {} sweep over MPI (host memory) or NCCL (GPU), measured as "
                           "nccl-tests measures it; nccl-tests' flags (-b -e -i -f -g -t -w -n "
                           "-m -N -c -o -d -r -z -y -T -G -a -C -R -u ..., short and long) are "
                           "accepted with their meaning, or refused saying why",
                           info.tool, info.name),
               std::string(info.tool));
  CommonOptions common;
  RawOptions raw;
  add_common_options(app, common);
  app.add_option("--backend", raw.backend,
                 "auto (nccl where GPUs and NCCL exist, else mpi), mpi or nccl")
      ->capture_default_str();
  app.add_option(
      "--sizes", raw.sizes,
      fmt::format("Message sizes, e.g. 8:16M:x2 or 8,1K,1M (default {})", kDefaultSizes));
  app.add_option("--dtype,-d", raw.dtypes,
                 "Comma list of int8 uint8 int32 uint32 int64 uint64 half bfloat16 float double, "
                 "or all")
      ->capture_default_str();
  if (info.reduces) {
    app.add_option("--op,-o", raw.ops,
                   "Comma list of sum prod min max avg, or all (avg: the sum "
                   "divided by the rank count)")
        ->capture_default_str();
  }
  app.add_option("--placement", raw.placement, "both, out-of-place or in-place")
      ->capture_default_str();
  if (info.rooted) {
    app.add_option("--root,-r", raw.root, "Root rank of the broadcast")->capture_default_str();
  }
  app.add_option("--warmup-iters,-w", raw.warmup,
                 "Untimed iterations per size and placement, discarded and counted")
      ->capture_default_str();
  app.add_option("--min-iters", raw.min_iterations, "Fewest timed iterations")
      ->capture_default_str();
  app.add_option("--max-iters", raw.max_iterations, "Most timed iterations")->capture_default_str();
  app.add_option("--iters", raw.fixed_iterations,
                 "Exactly N timed iterations per size, no adaptation (nccl-tests -n)");
  app.add_option("--target-precision", raw.target_precision,
                 "Stop when the 95% CI of the median is within this fraction of it")
      ->capture_default_str();
  app.add_option("--time-per-size", raw.time_per_size_s,
                 "Measured seconds per size and placement before stopping without the precision")
      ->capture_default_str();
  app.add_option("--check,-c", raw.check,
                 "Untimed iterations per size and placement checked bit-exactly (0: no check)")
      ->capture_default_str();
  app.add_option("--split", raw.split,
                 "Run in groups like NCCL_TESTS_SPLIT: mod:8 (rail-only), div:8 (intra-node), "
                 "and:0x7");
  app.add_option("--timeout", raw.timeout_s,
                 "Seconds per size (and for init and teardown) before the run is aborted with "
                 "exit 124 and a partial report; 0 disables")
      ->capture_default_str();
  app.add_option("--nccl-log", raw.nccl_log,
                 "Capture NCCL's INFO log (INIT,NET) to FILE.rank<N> and judge the transport");
  app.add_option("--nccl-lib", raw.nccl_library,
                 "NCCL: test exactly this libnccl.so (the job's own: a PyTorch wheel's, "
                 "/opt/nccl/build/lib's, a container's); default: the one the loader finds");
  app.add_option("--timing", raw.timing,
                 "batch (nccl-tests: back-to-back calls after a barrier, divided by the count, "
                 "mean over ranks) or per-iteration (each call alone, slowest rank)")
      ->capture_default_str();
  app.add_option("--batch-iters", raw.batch_iterations,
                 "--timing batch: calls per timed batch (nccl-tests' -n; -n N runs one batch)")
      ->capture_default_str();
  app.add_flag("--cuda-graph", raw.cuda_graph,
               "NCCL: capture each timed batch (or call) into one CUDA graph");
  app.add_flag("--samples", raw.samples, "Keep every per-iteration sample in the JSON report");
  app.add_option("--expect-efa-nics", raw.expect_efa_nics,
                 "EFA NICs NCCL must find (default: the platform catalog's count)");
  app.add_option("--instance-type", raw.instance_type,
                 "Instance type for the platform lookup (default: read from DMI)");
  bind_environment(app);
  // nccl-tests' flags (collectives/nccl_tests_flags.hpp) become the preflight options that mean
  // the same before CLI11 sees the command line.
  std::vector<std::string> arguments;
  try {
    arguments = translate_nccl_tests_flags(
        kind, std::vector<std::string>(argv + std::min(argc, 1), argv + argc),  // NOLINT
        [&app](std::string_view name) { return option_takes_value(app, name); });
  } catch (const UsageError& e) {
    print_usage_error(info.tool, e.what());
    return exit_code::usage;
  }
  arguments.insert(arguments.begin(), argc > 0 ? argv[0] : std::string(info.tool));
  std::vector<char*> translated;
  translated.reserve(arguments.size());
  for (std::string& argument : arguments) {
    translated.push_back(argument.data());
  }
  if (const auto stop = parse_command_line(app, static_cast<int>(translated.size()),
                                           translated.data(), &common)) {
    return *stop;
  }
  try {
    return finalize(kind, raw, common, argc, argv);
  } catch (const UsageError& e) {
    print_usage_error(info.tool, e.what());
    return exit_code::usage;
  }
}

}  // namespace preflight::collectives
