// The command line of the collective binaries, parsed once into an immutable options struct.
// nccl-tests' flags are accepted too (-b -e -f -i for sizes, -n -w -c -d -o -r -G), so existing
// command lines keep working.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "collectives/split.hpp"
#include "common/cli.hpp"
#include "common/sampler.hpp"
#include "domain/collective.hpp"
#include "domain/dtype.hpp"

namespace preflight::collectives {

enum class BackendChoice { automatic, mpi, nccl };
[[nodiscard]] std::string_view to_string(BackendChoice choice);

// batch: nccl-tests' method (the default): each sample is a batch of calls launched back to back
// after a barrier, timed as one and divided by their count, averaged over the ranks.
// per-iteration: each call timed alone, the sample being the slowest rank's time of that call
// (distributions of single calls; small messages then include launch and skew between ranks).
enum class TimingMode { batch, per_iteration };
[[nodiscard]] std::string_view to_string(TimingMode mode);

// nccl-tests' default -n: calls per timed batch.
inline constexpr std::size_t kDefaultBatchIterations = 20;

struct CollectiveOptions {
  CollectiveKind collective = CollectiveKind::all_reduce;
  CommonOptions common;
  std::vector<std::string> argv;
  BackendChoice backend = BackendChoice::automatic;
  std::string sizes_spec;  // as given (or built from -b/-e/-f/-i)
  std::vector<std::uint64_t> sizes_bytes;
  std::vector<DataType> dtypes{DataType::float32};
  std::vector<ReduceOp> ops{ReduceOp::sum};  // {none} for the data-movement collectives
  bool out_of_place = true;
  bool in_place = true;
  int root = 0;
  SamplingPolicy sampling;
  int check_iterations = 1;
  std::optional<SplitSpec> split;
  double timeout_s = 300;  // per size (and for init and teardown); 0 disables the watchdog
  std::string nccl_log_path;
  std::string nccl_library;  // --nccl-lib / PREFLIGHT_NCCL_LIB: test exactly this libnccl
  TimingMode timing = TimingMode::batch;
  std::size_t batch_iterations = kDefaultBatchIterations;  // -n N sets it (and one batch)
  bool cuda_graph = false;
  bool keep_samples = false;
  std::optional<int> expect_efa_nics;
  std::string instance_type;  // empty: read from DMI
};

// Default of --sizes.
inline constexpr std::string_view kDefaultSizes = "8:128M:x2";

// Parses and validates the command line of `kind`'s binary. Returns the options, or the exit code
// to stop with (0 after --help/--version, 2 after a usage error; the message is printed).
[[nodiscard]] std::variant<CollectiveOptions, int> parse_collective_options(CollectiveKind kind,
                                                                            int argc, char** argv);

}  // namespace preflight::collectives
