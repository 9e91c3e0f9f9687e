// preflight-p2p's transport sessions: one per rank, whatever the transport (libfabric, MPI,
// NCCL), with the rails of a --rails run (one libfabric endpoint per NIC, each with a deadline of
// its own, rebuilt after a failed pair test). p2p/pair_rounds.hpp runs pair tests over them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bootstrap.hpp"
#include "common/gpu_libraries.hpp"
#include "harness/agreement.hpp"
#include "p2p/channel.hpp"
#include "p2p/options.hpp"
#include "p2p/run_context.hpp"

namespace preflight::p2p {

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

inline std::int64_t steady_now_ns() {
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
  [[nodiscard]] virtual nlohmann::json describe() const = 0;
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

// The session of this rank (`participant`: it measures; the others only take part in the
// exchanges), for messages up to `max_bytes`. Throws SkipRun when a prerequisite is absent.
[[nodiscard]] std::unique_ptr<Session> create_session(RankContext& context, const NodeMap& map,
                                                      bool participant, std::size_t max_bytes);

// NCCL set-up is collective: every rank must reach it, so prerequisites are agreed first. A
// missing library or GPU is a skip that names what is missing.
[[nodiscard]] harness::SetupOutcome local_prerequisites(const P2pOptions& options,
                                                        const GpuLibraries* gpu);

}  // namespace preflight::p2p
