#include "p2p/runner.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/efa_sysfs.hpp"
#include "common/error.hpp"
#include "common/job_end.hpp"
#include "common/progress_channel.hpp"
#include "common/size_spec.hpp"
#include "common/stats.hpp"
#include "common/sysfs.hpp"
#include "common/tcp_bootstrap.hpp"
#include "common/termination_watch.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "common/watchdog.hpp"
#include "p2p/judgement_report.hpp"
#include "p2p/node_facts.hpp"
#include "p2p/pair_test.hpp"
#include "p2p/provider_choice.hpp"
#include "p2p/rail_order.hpp"
#include "preflight/build_config.hpp"
#if PREFLIGHT_HAVE_LIBFABRIC
#include "p2p/fabric_transport.hpp"
#endif
#if PREFLIGHT_HAVE_MPI
#include "common/mpi.hpp"
#include "p2p/mpi_transport.hpp"
#endif
#include "common/cuda.hpp"
#include "common/gpu_libraries.hpp"
#include "common/nccl.hpp"
#include "p2p/nccl_transport.hpp"

namespace preflight::p2p {
namespace {

using nlohmann::json;
using reports::Check;
using reports::Report;
using reports::ResultRow;

constexpr std::string_view kTool = "preflight-p2p";
// Beyond this many nodes the report lists measured links instead of a full N x N matrix.
constexpr int kMaxMatrixNodes = 128;

// Thrown during set-up when a prerequisite is absent: the run is skipped (exit 3), with reason.
class SkipRun : public std::runtime_error {
 public:
  SkipRun(std::string id, const std::string& reason)
      : std::runtime_error(reason), id_(std::move(id)) {}
  [[nodiscard]] const std::string& id() const { return id_; }

 private:
  std::string id_;
};

// The report under construction, readable by the watchdog thread at any moment.
class SharedReport {
 public:
  explicit SharedReport(Report report) : report_(std::move(report)) {}
  template <typename Update>
  void update(const Update& update) {
    const std::lock_guard lock(mutex_);
    update(report_);
  }
  [[nodiscard]] Report snapshot() const {
    const std::lock_guard lock(mutex_);
    return report_;
  }
  // The peer the rank is working with now ("rank 1 (host)"), for the watchdog and signal threads.
  void set_peer(std::string peer) {
    const std::lock_guard lock(mutex_);
    peer_ = std::move(peer);
  }
  [[nodiscard]] std::string peer() const {
    const std::lock_guard lock(mutex_);
    return peer_;
  }

  // Where every rank is (rank 0's view of the job, common/progress_channel.hpp), while the
  // measuring rank has it open; read by the watchdog and signal threads.
  std::atomic<ProgressChannel*> progress{nullptr};
  // The watchdog or the termination watch, whichever comes first, writes the report.
  JobEnding ending;

  // The ranks not progressing, described ("" when none is known), and as JSON.
  [[nodiscard]] std::pair<std::string, json> stalled(bool deterministic) const {
    const ProgressChannel* channel = progress.load();
    if (channel == nullptr) {
      return {"", json::array()};
    }
    channel->settle(3.5);
    const std::vector<RankProgress> named = ranks_not_progressing(channel->snapshot());
    std::vector<std::string> parts;
    for (const RankProgress& rank : named) {
      parts.push_back(describe(rank, deterministic));
    }
    return {join(parts, "; "), to_json(named, deterministic)};
  }

 private:
  mutable std::mutex mutex_;
  Report report_;
  std::string peer_;
};

// ---------------------------------------------------------------------------------------------
// Nodes

struct NodeMap {
  std::vector<std::string> rank_node;  // node name per rank
  std::vector<std::string> rank_host;  // host name per rank
  std::vector<std::string> nodes;      // distinct node names in order of their first rank
  std::vector<int> node_leader;        // lowest rank of each node
  std::vector<int> rank_node_index;
  int local_rank = 0;  // this rank's index among the ranks of its host (GPU choice)
  std::vector<std::string> rank_provider_choice;  // encoded LocalProviderChoice per rank
};

std::string expand_node_name(const std::string& name_template, int rank) {
  if (name_template.empty()) {
    return host_name();
  }
  std::string name = name_template;
  for (auto at = name.find("{rank}"); at != std::string::npos; at = name.find("{rank}")) {
    name.replace(at, 6, std::to_string(rank));
  }
  return name;
}

NodeMap map_nodes(Bootstrap& bootstrap, const std::string& node_name_template,
                  const std::string& provider_choice) {
  NodeMap map;
  const std::string mine = expand_node_name(node_name_template, bootstrap.rank()) + "\n" +
                           host_name() + "\n" + provider_choice;
  for (const std::string& entry : bootstrap.allgather_strings(mine)) {
    const auto split = entry.find('\n');
    const auto second = split == std::string::npos ? split : entry.find('\n', split + 1);
    map.rank_node.push_back(entry.substr(0, split));
    map.rank_host.push_back(
        split == std::string::npos ? "" : entry.substr(split + 1, second - split - 1));
    map.rank_provider_choice.push_back(second == std::string::npos ? "" : entry.substr(second + 1));
  }
  for (std::size_t rank = 0; rank < map.rank_node.size(); ++rank) {
    const auto found = std::find(map.nodes.begin(), map.nodes.end(), map.rank_node[rank]);
    if (found == map.nodes.end()) {
      map.nodes.push_back(map.rank_node[rank]);
      map.node_leader.push_back(static_cast<int>(rank));
      map.rank_node_index.push_back(static_cast<int>(map.nodes.size()) - 1);
    } else {
      map.rank_node_index.push_back(static_cast<int>(found - map.nodes.begin()));
    }
  }
  const auto me = static_cast<std::size_t>(bootstrap.rank());
  for (std::size_t rank = 0; rank < me; ++rank) {
    map.local_rank += map.rank_host[rank] == map.rank_host[me] ? 1 : 0;
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// Transport sessions: one per rank, whatever the transport.

// A rail's deadline for the pair test running on it, read by its endpoint's liveness check (so a
// rail whose peer NIC never answers is given up without ending the run), and whether its last
// test failed (its endpoint is rebuilt before the next round).
struct RailWatch {
  std::atomic<std::int64_t> deadline_ns{std::numeric_limits<std::int64_t>::max()};
  std::atomic<bool> failed{false};
};

// Thrown by a rail's liveness check when its deadline has passed.
class RailGivenUp : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A pair cannot use a rail: one of the two nodes has no device on it.
class RailMissing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Session {
 public:
  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  Session(Session&&) = delete;
  Session& operator=(Session&&) = delete;
  virtual ~Session() = default;
  // Collective: exchanges whatever the peers need to reach this rank.
  virtual void exchange(Bootstrap& bootstrap) = 0;
  [[nodiscard]] virtual std::unique_ptr<PairChannel> open(int peer_rank,
                                                          const std::string& label) = 0;
  [[nodiscard]] virtual json describe() const = 0;
  [[nodiscard]] virtual std::string transport_name() const = 0;  // result rows' "transport"
  [[nodiscard]] virtual std::map<std::string, std::string> labels() const = 0;
  // The normal end, after the teardown barrier (NCCL: finalize); destruction alone is the error
  // end.
  virtual void finish() {}

  // Rails (--rails, libfabric): how many; 0 when the run uses one device per node.
  [[nodiscard]] virtual int rail_count() const { return 0; }
  [[nodiscard]] virtual std::unique_ptr<PairChannel> open_rail(int rail, int peer_rank,
                                                               const std::string& label) {
    (void)rail;
    return open(peer_rank, label);
  }
  // rank -> rail -> device, for the ranks that measure.
  [[nodiscard]] virtual const std::vector<std::vector<std::string>>& rank_rail_domains() const {
    static const std::vector<std::vector<std::string>> kNone;
    return kNone;
  }
  [[nodiscard]] virtual RailWatch* rail_watch(int /*rail*/) { return nullptr; }
  virtual void renew_failed_rails(Bootstrap& /*bootstrap*/) {}
};

#if PREFLIGHT_HAVE_LIBFABRIC
class FabricSession final : public Session {
 public:
  // One endpoint (no rails), or one per rail; `remake` builds rail r's endpoint again after a
  // failed pair test left it with operations in flight.
  FabricSession(std::vector<std::unique_ptr<FabricEndpoint>> endpoints,
                std::vector<std::string> rail_domains,
                std::vector<std::shared_ptr<RailWatch>> watches,
                std::function<std::unique_ptr<FabricEndpoint>(int)> remake)
      : endpoints_(std::move(endpoints)),
        domains_(std::move(rail_domains)),
        watches_(std::move(watches)),
        remake_(std::move(remake)) {}
  void exchange(Bootstrap& bootstrap) override {
    if (rails_run_) {
      exchange_rails(bootstrap);
    } else {
      addresses_.assign(1,
                        bootstrap.allgather(endpoints_.empty() ? std::vector<std::byte>{}
                                                               : endpoints_[0]->local_address()));
    }
    // Every rank learns rank 0's endpoint facts for the report, whoever measured.
    json mine = endpoints_.empty() ? json() : describe_endpoint();
    const auto all = bootstrap.allgather_strings(mine.dump());
    for (const std::string& text : all) {
      if (text != "null") {
        reported_ = json::parse(text);
        break;
      }
    }
    if (rail_count() > 0) {
      reported_["rails"] = rail_count();
    }
  }
  std::unique_ptr<PairChannel> open(int peer_rank, const std::string& label) override {
    return open_rail(0, peer_rank, label);
  }
  std::unique_ptr<PairChannel> open_rail(int rail, int peer_rank,
                                         const std::string& label) override {
    const auto index = static_cast<std::size_t>(rail);
    if (rails_run_ && index < addresses_.size()) {
      if (index >= endpoints_.size() || !endpoints_[index]) {
        throw RailMissing(fmt::format("this node has no device on rail {} (its devices: {})", rail,
                                      join(domains_, ", ")));
      }
      if (addresses_[index].at(static_cast<std::size_t>(peer_rank)).empty()) {
        throw RailMissing(fmt::format("{} has no device on rail {}", label, rail));
      }
    }
    if (index >= endpoints_.size() || !endpoints_[index]) {
      throw Error("preflight", "open channel", label, "this rank has no endpoint", 0);
    }
    return endpoints_[index]->open_channel(
        addresses_.at(index).at(static_cast<std::size_t>(peer_rank)), label);
  }
  json describe() const override { return reported_; }
  std::string transport_name() const override { return reported_.value("provider", ""); }
  std::map<std::string, std::string> labels() const override {
    return {{"provider", reported_.value("provider", "")},
            {"fabric", reported_.value("fabric", "")},
            {"domain", reported_.value("domain", "")}};
  }
  int rail_count() const override { return rails_run_ ? static_cast<int>(addresses_.size()) : 0; }
  const std::vector<std::vector<std::string>>& rank_rail_domains() const override {
    return rank_domains_;
  }
  RailWatch* rail_watch(int rail) override {
    const auto index = static_cast<std::size_t>(rail);
    return index < watches_.size() ? watches_[index].get() : nullptr;
  }
  // Collective: every rank rebuilds the endpoints of the rails whose last pair test failed on it
  // (operations still in flight, receives posted for a peer that is gone) and all learn the new
  // addresses.
  void renew_failed_rails(Bootstrap& bootstrap) override {
    json mine = json::object();
    for (std::size_t rail = 0; rail < watches_.size(); ++rail) {
      if (watches_[rail] && watches_[rail]->failed.exchange(false)) {
        endpoints_[rail].reset();
        endpoints_[rail] = remake_(local_index_[rail]);
        const std::vector<std::byte> address = endpoints_[rail]->local_address();
        mine[std::to_string(rail)] = to_hex(address);
      }
    }
    const auto all = bootstrap.allgather_strings(mine.dump());
    for (std::size_t rank = 0; rank < all.size(); ++rank) {
      const json renewed = json::parse(all[rank]);
      for (auto it = renewed.begin(); it != renewed.end(); ++it) {
        addresses_.at(std::stoul(it.key())).at(rank) = from_hex(it.value().get<std::string>());
      }
    }
  }

  void mark_rails_run() { rails_run_ = true; }

 private:
  json describe_endpoint() const {
    for (const auto& endpoint : endpoints_) {
      if (endpoint) {
        return describe_fabric(endpoint->description());
      }
    }
    return json();
  }

  // Rail r pairs device r of every node. The nodes' device lists are aligned on the longest one:
  // by name where a node's devices all appear in it (a node whose device is down or gone lacks
  // that rail: its NIC there is named, and its other rails are measured), else by position when
  // the counts agree (devices named differently). A node that fits neither is an error.
  void exchange_rails(Bootstrap& bootstrap) {
    rails_run_ = true;
    const auto all = bootstrap.allgather_strings(endpoints_.empty() ? std::string("null")
                                                                    : json(domains_).dump());
    std::vector<std::optional<std::vector<std::string>>> listed(all.size());
    std::vector<std::string> reference;
    for (std::size_t rank = 0; rank < all.size(); ++rank) {
      const json parsed = json::parse(all[rank]);
      if (!parsed.is_null()) {
        listed[rank] = parsed.get<std::vector<std::string>>();
        if (listed[rank]->size() > reference.size()) {
          reference = *listed[rank];
        }
      }
    }
    const std::size_t rails = reference.size();
    rank_domains_.assign(all.size(), {});
    std::vector<int> my_rails;  // local device index -> rail
    std::vector<std::string> problems;
    for (std::size_t rank = 0; rank < all.size(); ++rank) {
      if (!listed[rank]) {
        continue;
      }
      const std::vector<std::string>& devices = *listed[rank];
      std::vector<int> aligned;
      for (const std::string& device : devices) {
        const auto found = std::find(reference.begin(), reference.end(), device);
        if (found == reference.end()) {
          aligned.clear();
          break;
        }
        aligned.push_back(static_cast<int>(found - reference.begin()));
      }
      if (aligned.size() != devices.size()) {
        if (devices.size() != rails) {
          problems.push_back(
              fmt::format("rank {}: {} ({})", rank, devices.size(), join(devices, ", ")));
          continue;
        }
        aligned.clear();
        for (std::size_t i = 0; i < devices.size(); ++i) {
          aligned.push_back(static_cast<int>(i));
        }
      }
      rank_domains_[rank] = reference;  // a missing device keeps its rail's name
      if (static_cast<int>(rank) == bootstrap.rank()) {
        my_rails = aligned;
      }
    }
    if (!problems.empty()) {
      throw Error("preflight", "--rails", "rail count",
                  fmt::format("devices that cannot be paired rail by rail with the longest list "
                              "({}: {}): {}",
                              rails, join(reference, ", "), join(problems, "; ")),
                  0);
    }
    // Local endpoints in rail order, with a gap where this node lacks the rail.
    std::vector<std::unique_ptr<FabricEndpoint>> by_rail(endpoints_.empty() ? 0 : rails);
    std::vector<std::shared_ptr<RailWatch>> watches(by_rail.size());
    local_index_.assign(by_rail.size(), -1);
    for (std::size_t local = 0; local < my_rails.size() && local < endpoints_.size(); ++local) {
      const auto rail = static_cast<std::size_t>(my_rails[local]);
      by_rail[rail] = std::move(endpoints_[local]);
      watches[rail] = watches_[local];
      local_index_[rail] = static_cast<int>(local);
    }
    endpoints_ = std::move(by_rail);
    watches_ = std::move(watches);
    addresses_.assign(rails, {});
    for (std::size_t rail = 0; rail < rails; ++rail) {
      addresses_[rail] = bootstrap.allgather(rail < endpoints_.size() && endpoints_[rail]
                                                 ? endpoints_[rail]->local_address()
                                                 : std::vector<std::byte>{});
    }
  }

  static std::string to_hex(const std::vector<std::byte>& bytes) {
    std::string text;
    for (const std::byte b : bytes) {
      text += fmt::format("{:02x}", static_cast<unsigned>(b));
    }
    return text;
  }
  static std::vector<std::byte> from_hex(const std::string& text) {
    std::vector<std::byte> bytes;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
      bytes.push_back(static_cast<std::byte>(std::stoul(text.substr(i, 2), nullptr, 16)));
    }
    return bytes;
  }

  std::vector<std::unique_ptr<FabricEndpoint>> endpoints_;
  std::vector<std::string> domains_;  // this rank's rail devices
  std::vector<std::shared_ptr<RailWatch>> watches_;
  std::function<std::unique_ptr<FabricEndpoint>(int)> remake_;
  bool rails_run_ = false;
  std::vector<int> local_index_;  // rail -> this node's device index (-1: it lacks the rail)
  std::vector<std::vector<std::vector<std::byte>>> addresses_;  // rail -> rank -> address
  std::vector<std::vector<std::string>> rank_domains_;          // rank -> rail -> device
  json reported_;
};
#endif

#if PREFLIGHT_HAVE_MPI
class MpiSession final : public Session {
 public:
  MpiSession(std::size_t max_bytes, int window) : transport_(max_bytes, window) {}
  void exchange(Bootstrap& /*bootstrap*/) override {}
  std::unique_ptr<PairChannel> open(int peer_rank, const std::string& label) override {
    return transport_.open_channel(peer_rank, label);
  }
  json describe() const override {
    return json{{"backend", "mpi"}, {"library", transport_.library_version()}};
  }
  std::string transport_name() const override { return "mpi"; }
  std::map<std::string, std::string> labels() const override {
    return {{"library", transport_.library_version()}};
  }

 private:
  MpiTransport transport_;
};
#endif

class NcclSession final : public Session {
 public:
  NcclSession(Bootstrap& bootstrap, std::size_t max_bytes, int device, PeerLivenessCheck liveness,
              const GpuLibraries& libraries)
      : transport_(bootstrap, max_bytes, device, std::move(liveness), *libraries.cuda(),
                   *libraries.nccl()),
        device_(device),
        libraries_(libraries.facts()) {}
  void exchange(Bootstrap& /*bootstrap*/) override {}
  std::unique_ptr<PairChannel> open(int peer_rank, const std::string& label) override {
    return transport_.open_channel(peer_rank, label);
  }
  json describe() const override {
    return json{{"backend", "nccl"},
                {"nccl_version", transport_.version()},
                {"libraries", libraries_},
                {"net_plugin", loaded_net_plugins().to_json()}};
  }
  std::string transport_name() const override { return "nccl"; }
  std::map<std::string, std::string> labels() const override {
    return {{"nccl_version", transport_.version()}, {"cuda_device", std::to_string(device_)}};
  }
  void finish() override { transport_.finish(); }

 private:
  NcclTransport transport_;
  int device_;
  json libraries_;
};

// GPUs this rank sees through the loaded CUDA runtime; 0 without one.
int cuda_devices(const GpuLibraries* gpu) {
  return gpu != nullptr && gpu->cuda() != nullptr ? cuda_device_count(*gpu->cuda()) : 0;
}

// Before each exchange of results every rank waits here, sleeping between polls: an MPI
// collective busy-polls, and on an oversubscribed machine (tests, the virtual cluster) the ranks
// that sit a round out would steal the CPU from the pairs still measuring. A no-op without MPI
// (the TCP rendezvous already blocks in poll()).
class StepBarrier {
 public:
  explicit StepBarrier(bool use_mpi) {
#if PREFLIGHT_HAVE_MPI
    if (use_mpi) {
      MPI_Comm duplicate = MPI_COMM_NULL;
      check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &duplicate), "MPI_Comm_dup", "step barrier");
      comm_ = MpiCommunicator(duplicate);
      check_mpi(MPI_Comm_set_errhandler(duplicate, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
                "step barrier");
    }
#else
    (void)use_mpi;
#endif
  }

  void wait() {
#if PREFLIGHT_HAVE_MPI
    if (comm_.get() == MPI_COMM_NULL) {
      return;
    }
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Ibarrier(comm_.get(), &request), "MPI_Ibarrier", "step barrier");
    int done = 0;
    while (true) {
      check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test", "step barrier");
      if (done != 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
#endif
  }

 private:
#if PREFLIGHT_HAVE_MPI
  MpiCommunicator comm_;
#endif
};

// ---------------------------------------------------------------------------------------------
// One rank's run.

struct RankContext {
  const P2pOptions& options;
  Bootstrap& bootstrap;
  PeerLivenessCheck liveness;
  bool mpi_initialised = false;
  Watchdog* watchdog = nullptr;  // null: this thread sets no deadlines (loopback's second side)
  SharedReport& shared;
  reports::IncrementalReportWriter* writer = nullptr;  // set where this rank writes the report
  const std::function<void(const ProgressEvent&)>* progress = nullptr;
  std::mutex* setup_mutex = nullptr;  // loopback: two endpoints set up in one process
  std::string current_peer;           // for error messages
  StepBarrier* step_barrier = nullptr;
  const GpuLibraries* gpu = nullptr;  // --transport nccl / --mem cuda: the loaded libraries
  std::string fabric_provider = {};   // what every node agreed on (p2p/provider_choice.hpp)
  std::string rail_order_basis = {};  // --rails: how this node's rails were ordered
};

void arm(RankContext& context, const std::string& phase) {
  if (context.watchdog != nullptr) {
    context.watchdog->arm(phase, context.options.timeout_s);
  }
  if (ProgressChannel* channel = context.shared.progress.load()) {
    channel->set_phase(phase, -1);
  }
}

// The partial report after a finished size. Until the run ends it says so (BENCH_INCOMPLETE, an
// error): a report left behind by a killed run never reads as a pass or a skip.
void checkpoint(const RankContext& context, std::size_t steps_done, std::size_t steps_total) {
  if (context.writer == nullptr) {
    return;
  }
  Report partial = context.shared.snapshot();
  partial.checks.push_back(reports::make_check(
      "BENCH_INCOMPLETE", Status::error,
      finding_message("BENCH_INCOMPLETE", kTool, steps_done, steps_total,
                      "partial report: the run is still going, or ended before it finished"),
      json{{"steps_done", steps_done}, {"steps_planned", steps_total}}));
  reports::finish_report(partial, context.options.common.warn_as_fail,
                         context.options.common.deterministic);
  partial.run.finished_at.clear();
  context.writer->checkpoint(partial);
}

// Every rank contributes "" (fine), "S<id>\n<reason>" (skip) or "E<reason>" (error); all
// learn everyone's, so all ranks stop together and say why.
struct Agreement {
  std::vector<std::string> skips;
  std::string skip_id;
  std::vector<std::string> errors;
};

Agreement agree(Bootstrap& bootstrap, const std::string& mine) {
  Agreement agreement;
  const auto all = bootstrap.allgather_strings(mine);
  for (std::size_t rank = 0; rank < all.size(); ++rank) {
    const std::string& entry = all[rank];
    if (entry.empty()) {
      continue;
    }
    if (entry.front() == 'S') {
      const auto split = entry.find('\n');
      agreement.skip_id = entry.substr(1, split - 1);
      agreement.skips.push_back(fmt::format("rank {}: {}", rank, entry.substr(split + 1)));
    } else {
      agreement.errors.push_back(fmt::format("rank {}: {}", rank, entry.substr(1)));
    }
  }
  return agreement;
}

std::string display_node(const RankContext& context, const NodeMap& map, int node_index) {
  return context.options.common.deterministic ? fmt::format("node{}", node_index)
                                              : map.nodes.at(static_cast<std::size_t>(node_index));
}

std::string rank_label(const NodeMap& map, int rank) {
  return fmt::format("rank {} ({})", rank, map.rank_host.at(static_cast<std::size_t>(rank)));
}

// A pair test between two ranks, with the node indices it stands for.
struct PairTask {
  int initiator_rank = 0;
  int responder_rank = 1;
  int initiator_node = 0;
  int responder_node = 1;
  MeasurementRole role = MeasurementRole::survey;  // why the survey measures the pair
};

struct GatheredResult {
  ResultRow row;
  PairTask task;
  std::string test;
  int rail = kAllRails;
  bool failed = false;  // the rail gave up (the row is empty; `error` says why)
  std::string error;
};

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
  if (ProgressChannel* progress = context.shared.progress.load()) {
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
                 std::vector<GatheredResult>& results, std::size_t& steps_done,
                 std::size_t steps_total) {
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
      context.shared.update([&](Report& report) { report.results.push_back(result.row); });
    }
  }
  ++steps_done;
  checkpoint(context, steps_done, steps_total);
  if (context.progress != nullptr && *context.progress) {
    (*context.progress)({step, steps_done, steps_total});
  }
}

// Runs every (test, size) of one round: the rank's own pair test if it has one, then the
// exchange of the rows. Returns every pair's rows (identical on all ranks).
std::vector<GatheredResult> run_round(RankContext& context, const NodeMap& map, Session& session,
                                      const std::vector<PairTask>& tasks,
                                      const std::vector<TestKind>& tests,
                                      const std::vector<std::uint64_t>& sizes,
                                      const std::string& phase, std::size_t& steps_done,
                                      std::size_t steps_total) {
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
    const bool initiator = mine->initiator_rank == me;
    const int peer = initiator ? mine->responder_rank : mine->initiator_rank;
    context.current_peer = rank_label(map, peer);
    context.shared.set_peer(context.current_peer);
    pair_text = fmt::format("{} <-> {}", rank_label(map, mine->initiator_rank),
                            rank_label(map, mine->responder_rank));
    arm(context, fmt::format("connect {}", pair_text));
    channel = session.open(peer, context.current_peer);
  }

  std::vector<GatheredResult> results;
  for (const TestKind test : tests) {
    for (const std::uint64_t bytes : sizes) {
      const std::string step = fmt::format("{} {}{}", to_string(test), format_size(bytes),
                                           pair_text.empty() ? std::string() : " " + pair_text);
      json contribution = json::array();
      if (mine != nullptr) {
        arm(context, step);
        const PairTestSpec spec = pair_test_spec(context, test, bytes);
        if (mine->initiator_rank == me) {
          const PairSizeOutcome outcome = run_initiator(*channel, spec);
          const ResultRow row = make_row(context, session, test, bytes, outcome, *mine, map, phase,
                                         channel->checks_sizes());
          contribution.push_back(json{{"row", row}, {"task", task_json(*mine)}});
        } else {
          run_responder(*channel, spec);
        }
      }
      gather_step(context, step, contribution, results, steps_done, steps_total);
    }
  }
  context.current_peer.clear();
  context.shared.set_peer("");
  return results;
}

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

// run_round over rails: this rank's pair test on each of its rails at once (`task_rails`: the
// rails of each task, empty for every rail), one result row per rail, labelled with it.
std::vector<GatheredResult> run_rail_round(RankContext& context, const NodeMap& map,
                                           Session& session, const std::vector<PairTask>& tasks,
                                           const std::vector<std::vector<int>>& task_rails,
                                           const std::vector<TestKind>& tests,
                                           const std::vector<std::uint64_t>& sizes,
                                           const std::string& phase, std::size_t& steps_done,
                                           std::size_t steps_total) {
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
    const int peer = initiator ? mine->responder_rank : mine->initiator_rank;
    context.current_peer = rank_label(map, peer);
    context.shared.set_peer(context.current_peer);
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

  std::vector<GatheredResult> results;
  for (const TestKind test : tests) {
    for (const std::uint64_t bytes : sizes) {
      const std::string step = fmt::format("{} {}{}", to_string(test), format_size(bytes),
                                           pair_text.empty() ? std::string() : " " + pair_text);
      json contribution = json::array();
      if (mine != nullptr) {
        arm(context, step);
        const PairTestSpec spec = pair_test_spec(context, test, bytes);
        run_rails_at_once(context, session, runs, spec, initiator);
        for (RailRun& run : runs) {
          if (!run.missing.empty()) {
            if (initiator) {
              contribution.push_back(json{{"failed", true},
                                          {"task", task_json(*mine)},
                                          {"rail", run.rail},
                                          {"test", to_string(test)},
                                          {"error", run.missing}});
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
              contribution.push_back(json{{"failed", true},
                                          {"task", task_json(*mine)},
                                          {"rail", run.rail},
                                          {"test", to_string(test)},
                                          {"error", error_text(run.error)}});
            }
            continue;
          }
          if (initiator && run.outcome) {
            ResultRow row = make_row(context, session, test, bytes, *run.outcome, *mine, map, phase,
                                     run.channel->checks_sizes());
            row.labels["rail"] = std::to_string(run.rail);
            row.labels["domain"] = domain_of(mine->initiator_rank, run.rail);
            row.labels["peer_domain"] = domain_of(mine->responder_rank, run.rail);
            contribution.push_back(
                json{{"row", row}, {"task", task_json(*mine)}, {"rail", run.rail}});
          }
        }
      }
      gather_step(context, step, contribution, results, steps_done, steps_total);
    }
  }
  // Channels close before their endpoints can be rebuilt.
  runs.clear();
  context.current_peer.clear();
  context.shared.set_peer("");
  return results;
}

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
      checks.push_back(reports::make_check(
          "RESULT_WRONG", Status::fail,
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
    checks.push_back(reports::make_check("RESULT_CORRECT", Status::pass,
                                         finding_message("RESULT_CORRECT", verified, ranks),
                                         json{{"rows", verified}}));
  }
  return checks;
}

struct MetricPlan {
  SurveyMetric metric;
  TestKind test;
  std::uint64_t size_bytes;
};

std::vector<MetricPlan> survey_metrics(const P2pOptions& options) {
  std::vector<MetricPlan> metrics;
  const std::uint64_t smallest = options.sizes.front();
  const std::uint64_t largest = options.sizes.back();
  for (const TestKind test : options.tests) {
    switch (test) {
      case TestKind::latency:
        metrics.push_back({{"latency_s", Better::lower}, test, smallest});
        break;
      case TestKind::bw:
        metrics.push_back({{"bandwidth_Bps", Better::higher}, test, largest});
        break;
      case TestKind::bibw:
        metrics.push_back({{"bibw_Bps", Better::higher}, test, largest});
        break;
    }
  }
  return metrics;
}

double metric_value(const MetricPlan& plan, const ResultRow& row) {
  return plan.test == TestKind::latency ? row.time_s.median : row.algbw_Bps;
}

json matrix_json(const std::vector<std::string>& names, const MetricJudgement& judged) {
  const std::size_t n = names.size();
  json values = json::array();
  for (std::size_t i = 0; i < n; ++i) {
    values.push_back(json(std::vector<std::nullptr_t>(n, nullptr)));
  }
  for (const LinkEvidence& link : judged.links) {
    if (link.valid == 0) {
      continue;
    }
    values[static_cast<std::size_t>(link.pair.a)][static_cast<std::size_t>(link.pair.b)] =
        link.best;
    values[static_cast<std::size_t>(link.pair.b)][static_cast<std::size_t>(link.pair.a)] =
        link.best;
  }
  return values;
}

// ---------------------------------------------------------------------------------------------

json sampling_json(const SamplingPolicy& policy) {
  return json{{"warmup_iterations", policy.warmup_iterations},
              {"min_iterations", policy.min_iterations},
              {"max_iterations", policy.max_iterations},
              {"target_precision", policy.target_precision},
              {"time_per_size_s", policy.time_budget_s},
              {"fixed", policy.fixed}};
}

std::unique_ptr<Session> create_session(RankContext& context, const NodeMap& map, bool participant,
                                        std::size_t max_bytes) {
  const P2pOptions& options = context.options;
  switch (options.transport) {
    case Transport::libfabric: {
#if PREFLIGHT_HAVE_LIBFABRIC
      std::vector<std::unique_ptr<FabricEndpoint>> endpoints;
      std::vector<std::string> rail_domains;
      std::vector<std::shared_ptr<RailWatch>> watches;
      std::function<std::unique_ptr<FabricEndpoint>(int)> remake;
      const bool rails = !options.loopback && !options.all_devices &&
                         rails_requested(options.rails, context.fabric_provider);
      if (participant) {
        FabricRequest request;
        request.provider = context.fabric_provider;
        request.domain = options.domain;
        request.op = options.op;
        request.memory = options.memory;
        request.max_window = options.window;
        request.disable_shared_memory = options.loopback || options.all_devices;
        if (options.memory == MemoryKind::cuda) {
          const int devices = cuda_devices(context.gpu);
          if (devices == 0) {
            throw SkipRun("STEP_SKIPPED", "--mem cuda: no CUDA device on this node");
          }
          request.cuda_device = map.local_rank % devices;
          request.cuda_runtime = context.gpu->cuda();
        }
        const auto make = [&context, max_bytes](const FabricRequest& wanted,
                                                PeerLivenessCheck liveness) {
          std::unique_lock<std::mutex> lock;
          if (context.setup_mutex != nullptr) {
            lock = std::unique_lock(*context.setup_mutex);
          }
          return std::make_unique<FabricEndpoint>(wanted, max_bytes, std::move(liveness));
        };
        try {
          if (!rails) {
            endpoints.push_back(make(request, context.liveness));
          } else {
            // Rail r: the same NIC position under the same GPU on every node (rail_order.hpp).
            RailOrder order =
                order_rails_on_this_node(list_rail_domains(request.provider), RootFs(options.root));
            context.rail_order_basis = order.basis;
            const std::vector<std::string> available = std::move(order.domains);
            if (available.empty()) {
              throw FabricUnavailable(fmt::format(
                  "--rails: provider '{}' offers no device on {} (fi_getinfo lists no domain)",
                  request.provider.empty() ? "any" : request.provider, host_name()));
            }
            std::vector<int> selected;
            try {
              selected = select_rails(options.rails, static_cast<int>(available.size()));
            } catch (const UsageError& e) {  // this node lacks the rail: the run cannot pair it
              throw Error("preflight", "--rails", host_name(),
                          fmt::format("{} (devices: {})", e.what(), join(available, ", ")), 0);
            }
            for (const int rail : selected) {
              rail_domains.push_back(available[static_cast<std::size_t>(rail)]);
            }
            std::vector<FabricRequest> requests;
            std::vector<PeerLivenessCheck> checks;
            for (std::size_t rail = 0; rail < rail_domains.size(); ++rail) {
              auto watch = std::make_shared<RailWatch>();
              FabricRequest on_rail = request;
              on_rail.domain = rail_domains[rail];
              on_rail.thread_safe = true;
              PeerLivenessCheck check = [base = context.liveness, watch, rail,
                                         domain = rail_domains[rail]] {
                if (base) {
                  base();
                }
                if (steady_now_ns() > watch->deadline_ns.load()) {
                  throw RailGivenUp(fmt::format(
                      "rail {} ({}): no progress before the rail's deadline", rail, domain));
                }
              };
              endpoints.push_back(make(on_rail, check));
              requests.push_back(on_rail);
              checks.push_back(check);
              watches.push_back(std::move(watch));
            }
            remake = [make, requests, checks](int rail) {
              const auto index = static_cast<std::size_t>(rail);
              return make(requests[index], checks[index]);
            };
          }
        } catch (const FabricUnavailable& e) {
          if (options.provider == kAutoProvider) {
            // The node has EFA devices (auto chose efa): no usable efa endpoint is a broken
            // node, not a missing prerequisite.
            throw Error("libfabric", "fi_getinfo", "--provider auto chose efa",
                        fmt::format("{} has EFA devices but {}", host_name(), e.what()), 0);
          }
          throw SkipRun("P2P_PROVIDER_UNAVAILABLE", e.what());
        }
      }
      auto session = std::make_unique<FabricSession>(std::move(endpoints), std::move(rail_domains),
                                                     std::move(watches), std::move(remake));
      if (rails) {
        session->mark_rails_run();
      }
      return session;
#else
      throw FeatureUnavailable("the libfabric transport", "PREFLIGHT_WITH_LIBFABRIC");
#endif
    }
    case Transport::mpi: {
#if PREFLIGHT_HAVE_MPI
      if (!context.mpi_initialised) {
        throw UsageError("--transport mpi: launch with mpirun or srun (MPI is not initialised)");
      }
      return std::make_unique<MpiSession>(max_bytes, options.window);
#else
      throw FeatureUnavailable("the MPI transport", "PREFLIGHT_WITH_MPI");
#endif
    }
    case Transport::nccl: {
      const int devices = cuda_devices(context.gpu);
      if (devices == 0 || context.gpu->nccl() == nullptr) {
        throw SkipRun("STEP_SKIPPED", "--transport nccl: no CUDA device or no NCCL on this node");
      }
      return std::make_unique<NcclSession>(context.bootstrap, max_bytes, map.local_rank % devices,
                                           context.liveness, *context.gpu);
    }
  }
  return nullptr;
}

// NCCL set-up is collective: every rank must reach it, so prerequisites are agreed first. A
// missing library or GPU is a skip that names what is missing.
std::string local_prerequisites(const P2pOptions& options, const GpuLibraries* gpu) {
  const bool nccl = options.transport == Transport::nccl;
  if (!nccl && options.memory != MemoryKind::cuda) {
    return "";
  }
  const std::string flag = nccl ? "--transport nccl" : "--mem cuda";
  if (gpu == nullptr) {
    return "STEP_SKIPPED\n" + flag + ": the CUDA runtime was not loaded";
  }
  if (const std::string missing = gpu->missing(nccl); !missing.empty()) {
    return "STEP_SKIPPED\n" + flag + ": " + missing;
  }
  if (auto reason = cuda_unavailable_reason(*gpu->cuda())) {
    return "STEP_SKIPPED\n" + flag + ": " + *reason + " (needs a GPU and its driver)";
  }
  return "";
}

void add_check(RankContext& context, Check check) {
  context.shared.update([&](Report& report) { report.checks.push_back(std::move(check)); });
}

Report finish(RankContext& context) {
  Report report = context.shared.snapshot();
  reports::finish_report(report, context.options.common.warn_as_fail,
                         context.options.common.deterministic);
  return report;
}

JudgementContext judgement_context(const RankContext& context, const NodeMap& map,
                                   const std::vector<MetricPlan>& plans) {
  JudgementContext judged;
  for (int node = 0; node < static_cast<int>(map.nodes.size()); ++node) {
    judged.node_names.push_back(display_node(context, map, node));
  }
  for (const MetricPlan& plan : plans) {
    judged.metrics.push_back({plan.metric, std::string(to_string(plan.test)), plan.size_bytes});
  }
  return judged;
}

json survey_details(const RankContext& context, const JudgementContext& judged,
                    const SurveyResult& survey) {
  const std::vector<std::string>& names = judged.node_names;
  const SurveyPolicy& policy = context.options.survey;
  json details{{"mode", survey.mode},
               {"nodes", names},
               {"initial_rounds", survey.initial_rounds},
               {"retest_rounds", survey.retest_rounds},
               {"rounds", survey.initial_rounds + survey.retest_rounds},
               {"max_rounds", policy.max_rounds},
               {"random_rounds", policy.random_rounds},
               {"max_retest_rounds", policy.retest ? policy.max_retest_rounds : 0},
               {"retest_budget_spent", survey.budget_spent},
               {"seed", policy.seed},
               {"value", "best of the link's valid measurements (noise only lowers a rate)"}};
  json matrices = json::object();
  for (const MetricJudgement& group : survey.judgement.metrics) {
    const auto plan =
        std::find_if(judged.metrics.begin(), judged.metrics.end(),
                     [&](const JudgedMetric& m) { return m.metric.name == group.metric; });
    json entry{{"size_bytes", plan->size_bytes},
               {"test", plan->test},
               {"better", to_string(group.better)},
               {"reference", group.reference},
               {"threshold", group.threshold}};
    if (static_cast<int>(names.size()) <= kMaxMatrixNodes) {
      entry["matrix"] = matrix_json(names, group);
    }
    json links = json::array();
    for (const LinkEvidence& link : group.links) {
      links.push_back(json{{"a", names[static_cast<std::size_t>(link.pair.a)]},
                           {"b", names[static_cast<std::size_t>(link.pair.b)]},
                           {"value", link.best},
                           {"measurements", link.measurements},
                           {"valid", link.valid},
                           {"slow", link.slow}});
    }
    entry["links"] = links;
    matrices[group.metric] = entry;
  }
  details["matrices"] = matrices;
  details["verdict"] = judgement_json(survey.judgement, judged);
  details["initial_verdict"] = judgement_json(survey.initial, judged);
  details["initial_verdict"].erase("evidence");
  details["measurements"] = measurements_json(survey.measurements, judged);
  return details;
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
  context.shared.update([&](Report& report) { report.hw_counters_delta = deltas; });
  for (const EfaCounterFinding& finding : efa_counter_findings(deltas, std::nullopt)) {
    add_check(context,
              reports::make_check(finding.id, finding_status(finding.id), finding.message(),
                                  json{{"device", finding.device}, {"increases", finding.rises}}));
  }
}

Report run_rank(RankContext& context) {
  const P2pOptions& options = context.options;
  Bootstrap& bootstrap = context.bootstrap;
  try {
    arm(context, "init");
    const NodeMap map = map_nodes(bootstrap, options.node_name,
                                  options.transport == Transport::libfabric
                                      ? local_provider_choice(options.provider, options.root)
                                      : "");
    // Rank 0's view of where every rank is, for the report of a stall or a lost peer (launched
    // runs; loopback pairs two threads of this process).
    std::unique_ptr<ProgressChannel> progress;
    if (context.watchdog != nullptr && bootstrap.size() > 1 && !options.loopback &&
        !options.all_devices) {
      progress = ProgressChannel::open(bootstrap);
      context.shared.progress.store(progress.get());
    }
    class ForgetProgress {
     public:
      explicit ForgetProgress(SharedReport& shared) : shared_(shared) {}
      ForgetProgress(const ForgetProgress&) = delete;
      ForgetProgress& operator=(const ForgetProgress&) = delete;
      ForgetProgress(ForgetProgress&&) = delete;
      ForgetProgress& operator=(ForgetProgress&&) = delete;
      ~ForgetProgress() { shared_.progress.store(nullptr); }

     private:
      SharedReport& shared_;
    };
    const ForgetProgress forget_progress(context.shared);
    StepBarrier step_barrier(context.mpi_initialised && bootstrap.kind() == "mpi" &&
                             bootstrap.size() > 2);
    context.step_barrier = &step_barrier;
    context.shared.update([&](Report& report) {
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
      report.details["sampling"] = sampling_json(options.sampling);
      report.details["clock"] = process_sample_clock().describe();  // the initiators' timed loops
      report.details["timeout_s"] = options.timeout_s;
      report.details["bootstrap"] = bootstrap.kind();
      report.details["nodes"] = nodes;
      report.details["loopback"] = options.loopback || options.all_devices;
    });

    // Who measures: ranks 0 and 1 (pair) or one rank per node (all-pairs, ring).
    std::string skip_reason;
    if (options.pattern == Pattern::pair && bootstrap.size() < 2) {
      skip_reason =
          "--pattern pair needs 2 ranks: launch with mpirun -np 2, use --listen/--connect, "
          "or --loopback";
    } else if (options.pattern != Pattern::pair && map.nodes.size() < 2) {
      skip_reason = fmt::format(
          "--pattern {} needs at least 2 nodes; found 1 ({} with {} ranks); on one machine give "
          "each rank its own --node-name (PREFLIGHT_NODE_NAME, e.g. 'node{{rank}}')",
          to_string(options.pattern), map.nodes.front(), bootstrap.size());
    }
    if (!skip_reason.empty()) {
      add_check(context, reports::make_check("STEP_SKIPPED", Status::skip, skip_reason));
      return finish(context);
    }
    if (options.transport == Transport::libfabric) {
      // Every node chose its provider itself; measure only when they agree.
      ProviderAgreement agreement = agree_on_provider(map.rank_node, map.rank_provider_choice);
      context.shared.update(
          [&](Report& report) { report.details["provider_choice"] = agreement.details; });
      if (agreement.finding) {
        add_check(context, std::move(*agreement.finding));
        return finish(context);
      }
      context.fabric_provider = agreement.provider;
    }
    const bool participant =
        options.pattern == Pattern::pair
            ? bootstrap.rank() < 2
            : map.node_leader[static_cast<std::size_t>(
                  map.rank_node_index[static_cast<std::size_t>(bootstrap.rank())])] ==
                  bootstrap.rank();

    // Prerequisites, then the transport; every rank learns every other's outcome.
    std::unique_ptr<Session> session;
    for (const int stage : {0, 1}) {
      std::string outcome;
      try {
        if (stage == 0) {
          outcome = local_prerequisites(options, context.gpu);
        } else {
          session = create_session(context, map, participant, options.sizes.back());
        }
        if (!outcome.empty()) {
          outcome = "S" + outcome;
        }
      } catch (const SkipRun& e) {
        outcome = "S" + e.id() + "\n" + e.what();
      } catch (const UsageError&) {
        throw;
      } catch (const FeatureUnavailable&) {
        throw;
      } catch (const std::exception& e) {
        outcome = std::string("E") + e.what();
      }
      const Agreement agreement = agree(bootstrap, outcome);
      if (!agreement.errors.empty()) {
        add_check(context, reports::make_check(
                               "HARNESS_ERROR", Status::error,
                               finding_message("HARNESS_ERROR",
                                               "set-up failed: " + join(agreement.errors, "; "))));
        return finish(context);
      }
      if (!agreement.skips.empty()) {
        add_check(context, reports::make_check(agreement.skip_id, Status::skip,
                                               join(agreement.skips, "; ")));
        return finish(context);
      }
    }
    session->exchange(bootstrap);
    for (Check& check : transport_findings(session->describe())) {
      add_check(context, std::move(check));
    }
    // Every node's instance type (its NICs' line rate) and how it ordered its rails.
    const std::vector<NodeFacts> node_facts =
        gather_node_facts(bootstrap, map.node_leader,
                          {local_instance_type(RootFs(options.root)), context.rail_order_basis});
    context.shared.update([&](Report& report) {
      report.details["transport"] = session->describe();
      if (session->rail_count() > 0) {
        json rails = json::object();
        json order = json::object();
        for (std::size_t node = 0; node < map.nodes.size(); ++node) {
          const std::string name = display_node(context, map, static_cast<int>(node));
          rails[name] =
              session->rank_rail_domains().at(static_cast<std::size_t>(map.node_leader[node]));
          order[name] = node_facts[node].rail_order_basis;
        }
        report.details["rails"] =
            json{{"count", session->rail_count()}, {"devices", rails}, {"order", order}};
      }
    });

    const bool loopback = options.loopback || options.all_devices;
    const EfaCounterSnapshot counters_before = participant && !loopback
                                                   ? read_efa_port_counters(RootFs(options.root))
                                                   : EfaCounterSnapshot{};
    std::size_t steps_done = 0;

    if (options.pattern == Pattern::pair) {
      const PairTask task{0, 1, map.rank_node_index[0], map.rank_node_index[1]};
      const std::size_t steps = options.tests.size() * options.sizes.size();
      if (session->rail_count() > 0) {
        (void)run_rail_round(context, map, *session, {task}, {}, options.tests, options.sizes, "",
                             steps_done, steps);
      } else {
        (void)run_round(context, map, *session, {task}, options.tests, options.sizes, "",
                        steps_done, steps);
      }
    } else {
      const std::vector<MetricPlan> plans = survey_metrics(options);
      std::vector<SurveyMetric> metrics;
      for (const MetricPlan& plan : plans) {
        metrics.push_back(plan.metric);
      }
      SurveyPolicy policy = options.survey;
      if (options.pattern == Pattern::ring) {
        policy.schedule = InitialSchedule::ring;
      }
      const int node_count = static_cast<int>(map.nodes.size());
      const std::size_t initial_steps = plan_initial_rounds(node_count, policy).rounds.size() *
                                        options.tests.size() * options.sizes.size();
      const MeasureRound measure = [&](const PlannedRound& round, int index) {
        std::vector<PairTask> tasks;
        for (std::size_t i = 0; i < round.pairs.size(); ++i) {
          const NodePair& pair = round.pairs[i];
          tasks.push_back({map.node_leader[static_cast<std::size_t>(pair.a)],
                           map.node_leader[static_cast<std::size_t>(pair.b)], pair.a, pair.b,
                           round.roles[i]});
        }
        // The re-tests measure only what the verdict looks at.
        std::vector<std::uint64_t> sizes = options.sizes;
        std::size_t total = initial_steps;
        if (round.phase == SurveyPhase::retest) {
          sizes.clear();
          for (const MetricPlan& plan : plans) {
            if (std::find(sizes.begin(), sizes.end(), plan.size_bytes) == sizes.end()) {
              sizes.push_back(plan.size_bytes);
            }
          }
          std::sort(sizes.begin(), sizes.end());
          total = steps_done + options.tests.size() * sizes.size();
        }
        const std::string phase = fmt::format("{} round {}", to_string(round.phase), index + 1);
        std::vector<std::vector<int>> task_rails;
        for (std::size_t i = 0; i < round.pairs.size(); ++i) {
          task_rails.push_back(round.rails_of(i));
        }
        const auto results = session->rail_count() > 0
                                 ? run_rail_round(context, map, *session, tasks, task_rails,
                                                  options.tests, sizes, phase, steps_done, total)
                                 : run_round(context, map, *session, tasks, options.tests, sizes,
                                             phase, steps_done, total);
        std::vector<Measurement> measurements;
        std::set<std::pair<NodePair, int>> failed_rails;
        for (const GatheredResult& result : results) {
          if (result.failed) {
            // Nothing arrived over this rail: a bandwidth of 0 (latency has no value to give).
            const NodePair pair =
                make_pair_of(result.task.initiator_node, result.task.responder_node);
            if (!failed_rails.insert({pair, result.rail}).second) {
              continue;
            }
            for (std::size_t m = 0; m < plans.size(); ++m) {
              if (plans[m].metric.better == Better::higher) {
                measurements.push_back({pair, m, 0.0, 0, MeasurementRole::survey, result.rail});
              }
            }
            continue;
          }
          for (std::size_t m = 0; m < plans.size(); ++m) {
            if (result.test == to_string(plans[m].test) &&
                result.row.size_bytes == plans[m].size_bytes) {
              Measurement measurement;
              measurement.pair =
                  make_pair_of(result.task.initiator_node, result.task.responder_node);
              measurement.metric = m;
              measurement.value = metric_value(plans[m], result.row);
              measurement.rail = result.rail;
              measurements.push_back(measurement);
            }
          }
        }
        return measurements;
      };
      const SurveyResult survey = run_survey(node_count, metrics, policy, measure);
      JudgementContext judged = judgement_context(context, map, plans);
      if (session->rail_count() > 0) {
        for (const int leader : map.node_leader) {
          judged.rail_devices.push_back(
              session->rank_rail_domains().at(static_cast<std::size_t>(leader)));
        }
        std::vector<std::string> instance_types;
        for (const NodeFacts& facts : node_facts) {
          instance_types.push_back(facts.instance_type);
        }
        judged.nic_line_rates = nic_line_rates(instance_types, options.nic_rate_gbps);
        judged.min_line_rate_fraction = options.min_line_rate_fraction;
      }
      for (Check& check : judgement_checks(survey.judgement, judged)) {
        add_check(context, std::move(check));
      }
      const json details = survey_details(context, judged, survey);
      context.shared.update([&](Report& report) { report.details["survey"] = details; });
      std::size_t links_measured = 0;
      for (const MetricJudgement& group : survey.judgement.metrics) {
        links_measured = std::max(links_measured, group.links.size());
      }
      add_check(context,
                reports::make_check("P2P_LINK_SURVEY", Status::pass,
                                    finding_message("P2P_LINK_SURVEY", node_count, links_measured,
                                                    survey.initial_rounds + survey.retest_rounds,
                                                    survey.mode, survey.retest_rounds),
                                    json{{"nodes", node_count},
                                         {"initial_rounds", survey.initial_rounds},
                                         {"retest_rounds", survey.retest_rounds},
                                         {"measurements", survey.measurements.size()}}));
    }

    arm(context, "teardown");
    if (!loopback) {  // the loopback's counters are read around both sides, by run()
      record_counter_deltas(context, map, counters_before, participant);
    }
    // Nobody closes an endpoint while its peer may still be reaping the last completions.
    bootstrap.barrier();
    session->finish();
    if (context.watchdog != nullptr) {
      context.watchdog->disarm();
    }
  } catch (const UsageError&) {
    throw;
  } catch (const FeatureUnavailable&) {
    throw;
  } catch (const PeerLostError& e) {
    add_check(context, reports::make_check(
                           "PEER_LOST", Status::error,
                           finding_message("PEER_LOST",
                                           context.current_peer.empty() ? "of the bootstrap"
                                                                        : context.current_peer,
                                           e.what()),
                           json{{"peer", context.current_peer}}));
#if PREFLIGHT_HAVE_LIBFABRIC
  } catch (const CompletionError& e) {
    const bool lost = e.peer_unreachable();
    add_check(context, reports::make_check(
                           lost ? "PEER_LOST" : "P2P_COMPLETION_ERROR", Status::error,
                           lost ? finding_message("PEER_LOST", e.peer(), e.what())
                                : finding_message("P2P_COMPLETION_ERROR", e.peer(), e.what()),
                           json{{"peer", e.peer()},
                                {"error", e.error_number()},
                                {"provider_error", e.provider_error()}}));
#endif
  } catch (const TimeoutError& e) {
    add_check(context,
              reports::make_check(
                  "BENCH_TIMEOUT", Status::timeout,
                  finding_message("BENCH_TIMEOUT", kTool, options.timeout_s,
                                  context.watchdog != nullptr ? context.watchdog->current_phase()
                                                              : std::string("bootstrap"),
                                  e.what())));
  } catch (const std::exception& e) {
    const std::string peer =
        context.current_peer.empty() ? std::string() : " (peer " + context.current_peer + ")";
    add_check(context, reports::make_check("HARNESS_ERROR", Status::error,
                                           finding_message("HARNESS_ERROR", e.what() + peer)));
  }
  return finish(context);
}

// ---------------------------------------------------------------------------------------------
// Loopback: both endpoints in this process, through one device, paired over 127.0.0.1.

void run_loopback(const P2pOptions& options, const Report& started,
                  const RunEnvironment& environment, Watchdog& watchdog, SharedReport& shared) {
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
        SharedReport own(started);
        RankContext context{.options = options,
                            .bootstrap = *bootstrap,
                            .liveness = [&b = *bootstrap] { b.check_peer_alive(); },
                            .mpi_initialised = false,
                            .watchdog = nullptr,
                            .shared = own,
                            .writer = nullptr,
                            .progress = nullptr,
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
                        .watchdog = &watchdog,
                        .shared = shared,
                        .writer = environment.writer,
                        .progress = &environment.progress,
                        .setup_mutex = &setup_mutex,
                        .current_peer = {},
                        .gpu = environment.gpu};
    initiator_side = run_rank(context);
  }  // the initiator's socket closes here, so a responder still waiting learns it is alone
  if (!responder_error.empty() && initiator_side.verdict.status != Status::pass &&
      initiator_side.verdict.status != Status::warn &&
      initiator_side.verdict.status != Status::skip) {
    shared.update([&](Report& report) {
      report.checks.push_back(reports::make_check(
          "HARNESS_ERROR", Status::error,
          finding_message("HARNESS_ERROR", "loopback responder side: " + responder_error)));
    });
  }
}

std::string device_list(const std::vector<std::string>& domains) {
  return join(domains, ", ");
}

// Ends the process from a watchdog or signal thread: the partial report gets `check` and is
// written where this rank writes reports, then _exit (the main thread may be blocked for good and
// must not run destructors that wait on a dead peer).
[[noreturn]] void abandon_run(SharedReport& shared, reports::IncrementalReportWriter* writer,
                              const P2pOptions& options, Check check, int code,
                              const std::function<void(int)>& end) {
  if (writer != nullptr) {
    Report partial = shared.snapshot();
    partial.checks.push_back(std::move(check));
    reports::finish_report(partial, options.common.warn_as_fail, options.common.deterministic);
    try {
      writer->finish(partial);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: could not write the partial report: %s\n",
                   std::string(kTool).c_str(), e.what());
    }
  }
  shared.ending.report_written();
  std::fflush(stdout);
  std::fflush(stderr);
  if (end) {
    end(code);
  }
  ::_exit(code);
}

}  // namespace

Report run(const P2pOptions& options, Report report, const RunEnvironment& environment) {
  validate_options(options);
  if (!environment.launch_problem.empty()) {
    report.checks.push_back(
        reports::make_check("LAUNCH_WORLD_MISMATCH", Status::error,
                            finding_message("LAUNCH_WORLD_MISMATCH", environment.launch_problem)));
    reports::finish_report(report, options.common.warn_as_fail, options.common.deterministic);
    return report;
  }
  {
    // A size this host cannot hold is a usage error before anything runs, not a bad_alloc on
    // both sides. Each endpoint holds a send and a receive buffer of the largest size, plus the
    // verification copy; loopback holds both endpoints in this process.
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
  if (environment.bootstrap == nullptr && !options.loopback && !options.all_devices) {
    throw UsageError(
        "preflight-p2p needs a peer: launch with mpirun/srun, use --listen/--connect, "
        "or --loopback");
  }
  if (options.loopback || options.all_devices) {
    // Loopback must cross the NIC, whichever provider libfabric picks (--provider any picks efa
    // on an EFA node): the efa provider would otherwise hand a message between two endpoints of
    // one process to its shared-memory path. Read by libfabric when it first loads its
    // providers, which has not happened yet in this process; set before any thread starts.
    ::setenv("FI_EFA_ENABLE_SHM_TRANSFER", "0", 1);  // NOLINT(concurrency-mt-unsafe)
  }
  const Report started = report;
  SharedReport shared(std::move(report));
  reports::IncrementalReportWriter* const writer = environment.writer;
  const int rank = environment.bootstrap != nullptr ? environment.bootstrap->rank() : 0;
  // On expiry: the partial report (written where this rank writes reports) gets the timeout
  // check, then the process ends with 124. The main thread is stuck and must not unwind.
  // After a timeout the job ends, so the launcher exits too (common/job_end.hpp): rank 0 aborts it
  // once its report is written (or its text printed, without --json); the others wait for that,
  // at most past rank 0's own deadline (it may be waiting in a later phase than theirs).
  const std::function<void(int)> end_the_job = [&shared, rank, &options, &environment](int code) {
    end_job(code, shared.progress.load(), rank == 0, environment.abort_job,
            {.writer_wait_s = options.timeout_s + JobEndTimes{}.writer_wait_s});
  };
  Watchdog watchdog(
      [&shared, writer, rank, &options, &end_the_job](const std::string& phase, double deadline_s) {
        if (!shared.ending.begin(exit_code::timeout)) {
          shared.ending.leave_after_first();
        }
        const std::string who = fmt::format("{} rank {} on {}", kTool, rank, host_name());
        const auto [stalled, stalled_json] = shared.stalled(options.common.deterministic);
        const std::string detail =
            stalled.empty()
                ? std::string(
                      "no progress from the peer named in the phase (hung, stopped or "
                      "unreachable); the partial report keeps every size finished")
                : fmt::format("not progressing: {}; the partial report keeps every size finished",
                              stalled);
        std::fprintf(stderr, "%s: timeout: phase '%s' did not finish within %g s: %s\n",
                     std::string(kTool).c_str(), phase.c_str(), deadline_s, detail.c_str());
        abandon_run(
            shared, writer, options,
            reports::make_check("BENCH_TIMEOUT", Status::timeout,
                                finding_message("BENCH_TIMEOUT", who, deadline_s, phase, detail),
                                json{{"phase", phase},
                                     {"deadline_s", deadline_s},
                                     {"rank", rank},
                                     {"ranks_not_progressing", stalled_json}}),
            exit_code::timeout, end_the_job);
      });

  // SIGTERM (blocked by main in every thread) arrives here: a launcher ends the other ranks this
  // way when one of them dies, so under a multi-rank launch the rank names the peer of the phase
  // it was in (and, from the progress channel, every rank that is gone or cut off) and exits 4
  // with its partial report.
  std::optional<TerminationWatch> termination_watch;
  if (environment.watch_termination) {
    const bool launched = environment.bootstrap != nullptr && environment.bootstrap->size() > 1 &&
                          environment.mpi_initialised;
    termination_watch.emplace([&shared, writer, rank, &options, &watchdog, launched] {
      if (!shared.ending.begin(exit_code::error)) {
        shared.ending.leave_after_first();
      }
      const std::string phase = watchdog.current_phase();
      const auto [stalled, stalled_json] = shared.stalled(options.common.deterministic);
      const std::string peer = !stalled.empty() ? stalled : shared.peer();
      const std::string detail = fmt::format(
          "rank {} on {} was terminated (SIGTERM) in phase '{}'{}", rank, host_name(), phase,
          launched ? ": the launcher ends a job this way when one of its ranks dies" : "");
      std::fprintf(stderr, "%s: %s\n", std::string(kTool).c_str(), detail.c_str());
      abandon_run(shared, writer, options,
                  launched
                      ? reports::make_check(
                            "PEER_LOST", Status::error,
                            finding_message("PEER_LOST",
                                            peer.empty() ? "(none in this phase)" : peer, detail),
                            json{{"peer", peer},
                                 {"phase", phase},
                                 {"signal", "SIGTERM"},
                                 {"ranks_not_progressing", stalled_json}})
                      : reports::make_check("HARNESS_ERROR", Status::error,
                                            finding_message("HARNESS_ERROR", detail),
                                            json{{"phase", phase}, {"signal", "SIGTERM"}}),
                  exit_code::error, {});
    });
  }

  const bool loopback = options.loopback || options.all_devices;
  const RootFs root(options.root);
  const EfaCounterSnapshot counters_before =
      loopback ? read_efa_port_counters(root) : EfaCounterSnapshot{};
  if (options.all_devices) {
#if PREFLIGHT_HAVE_LIBFABRIC
    const std::vector<std::string> domains = list_efa_domains();
    if (domains.empty()) {
      shared.update([&](Report& r) {
        r.details["loopback"] = true;
        r.details["devices"] = json::array();
        r.checks.push_back(reports::make_check(
            "P2P_PROVIDER_UNAVAILABLE", Status::skip,
            "--all-devices: no EFA device (libfabric provider efa lists no RDM domain on this "
            "node)"));
      });
    }
    json devices = json::array();
    for (const std::string& domain : domains) {
      P2pOptions device_options = options;
      device_options.provider = "efa";
      device_options.domain = domain;
      run_loopback(device_options, started, environment, watchdog, shared);
      const Report so_far = shared.snapshot();
      devices.push_back(json{{"domain", domain},
                             {"device", efa_device_of_domain(domain)},
                             {"transport", so_far.details.value("transport", json())}});
    }
    if (!domains.empty()) {
      shared.update([&](Report& r) {
        r.details["devices"] = devices;
        r.details["device_list"] = device_list(domains);
      });
    }
#else
    throw FeatureUnavailable("--all-devices (libfabric)", "PREFLIGHT_WITH_LIBFABRIC");
#endif
  } else if (options.loopback) {
    run_loopback(options, started, environment, watchdog, shared);
  } else {
    RankContext context{.options = options,
                        .bootstrap = *environment.bootstrap,
                        .liveness = environment.liveness,
                        .mpi_initialised = environment.mpi_initialised,
                        .watchdog = &watchdog,
                        .shared = shared,
                        .writer = writer,
                        .progress = &environment.progress,
                        .setup_mutex = nullptr,
                        .current_peer = {},
                        .gpu = environment.gpu};
    (void)run_rank(context);
  }
  watchdog.disarm();

  if (loopback) {
    const EfaCounterSnapshot deltas =
        efa_counter_deltas(counters_before, read_efa_port_counters(root));
    shared.update([&](Report& r) {
      if (!deltas.empty()) {
        r.hw_counters_delta = deltas;
      }
      for (const EfaCounterFinding& finding : efa_counter_findings(deltas, std::nullopt)) {
        r.checks.push_back(
            reports::make_check(finding.id, finding_status(finding.id), finding.message(),
                                json{{"device", finding.device}, {"increases", finding.rises}}));
      }
    });
  }
  Report final_report = shared.snapshot();
  const int ranks = options.pattern == Pattern::pair ? 2 : final_report.run.ranks;
  for (Check& check : correctness_checks(final_report.results, ranks)) {
    final_report.checks.push_back(std::move(check));
  }
  reports::finish_report(final_report, options.common.warn_as_fail, options.common.deterministic);
  return final_report;
}

}  // namespace preflight::p2p
