// The immutable options of one preflight-p2p run (main parses the command line into this).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/sampler.hpp"
#include "p2p/buffers.hpp"
#include "p2p/channel.hpp"
#include "p2p/survey.hpp"

namespace preflight::p2p {

enum class Transport { libfabric, mpi, nccl };
enum class Pattern { pair, all_pairs, ring };

[[nodiscard]] std::string_view to_string(Transport transport);
[[nodiscard]] std::string_view to_string(Pattern pattern);

struct P2pOptions {
  Transport transport = Transport::libfabric;
  // libfabric: "auto" (efa where the node has EFA devices, an error where it has none), empty or
  // "any" (libfabric's first choice), or a provider name, layered ones included. Chosen on each
  // node and agreed by all (p2p/provider_choice.hpp).
  std::string provider;
  std::string root = "/";  // where this rank reads its node's EFA devices (sysfs), for tests
  std::string domain;
  DataOp op = DataOp::send;
  MemoryKind memory = MemoryKind::host;
  std::vector<TestKind> tests = {TestKind::latency, TestKind::bw};
  std::vector<std::uint64_t> sizes;  // from --sizes (common size spec)
  int window = 64;
  int check_iterations = 1;  // verified (untimed) iterations per size
  SamplingPolicy sampling;
  bool keep_samples = false;

  Pattern pattern = Pattern::pair;
  SurveyPolicy survey;  // all-pairs / ring: schedule, scale mode, re-tests, outlier policy

  bool loopback = false;     // both endpoints in this process, through one device
  bool all_devices = false;  // loopback on every EFA device

  std::string listen;   // "[ADDR:]PORT": rank 0 of a run without MPI
  std::string connect;  // "HOST:PORT": rank 1
  double connect_timeout_s = 30;

  double timeout_s = 60;     // deadline of every phase (init, each size, each exchange, teardown)
  std::string node_name;     // this rank's node identity; "{rank}" is replaced by the rank
  std::string nccl_library;  // --nccl-lib / PREFLIGHT_NCCL_LIB: test exactly this libnccl
  CommonOptions common;
};

// The defaults a p2p run starts from (sampling tuned for point-to-point).
[[nodiscard]] P2pOptions default_options();

// Throws UsageError naming the flag for inconsistent options.
void validate_options(const P2pOptions& options);

}  // namespace preflight::p2p
