// The immutable options of one preflight-p2p run (main parses the command line into this).
#pragma once

#include <cstdint>
#include <optional>
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

  // Rails (all-pairs, ring, pair over libfabric): empty or "none", one device per node (libfabric's
  // first, or --domain); "all" or a list of rail indices ("0,2"): one endpoint per rail, every rail
  // of a pair measured at once; "auto": all where the agreed provider is efa, else none. Rail r is
  // the r-th of a node's devices (EFA domains; tcp: interfaces, not lo), in the order
  // list_rail_domains gives (p2p/fabric_transport.hpp).
  std::string rails;
  // A rail that has not finished a size this long after it began, or well after the pair's other
  // rails finished, is given up (its NIC is named, the other rails keep their measurements).
  double rail_timeout_s = 20;
  // Rails runs: the line rate of one NIC (Gbit/s) each node's aggregate is judged against; unset:
  // the platform catalog's per-device EFA rate for the node's instance type, where it has one.
  std::optional<double> nic_rate_gbps;
  // A node whose healthy NICs together carry less than this share of their line rate is named.
  double min_line_rate_fraction = 0.8;

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

// Whether --rails asks for a rails run over `provider` (the provider every node agreed on).
[[nodiscard]] bool rails_requested(const std::string& rails, const std::string& provider);

// --rails: the rail indices asked for out of `available` rails (all of them for "all"), ascending.
// Throws UsageError naming --rails for a malformed list or an index the node does not have.
[[nodiscard]] std::vector<int> select_rails(const std::string& rails, int available);

}  // namespace preflight::p2p
