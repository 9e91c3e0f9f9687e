#include "p2p/sessions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>

#include "common/cuda.hpp"
#include "common/error.hpp"
#include "common/gpu_libraries.hpp"
#include "common/nccl.hpp"
#include "common/text.hpp"
#include "p2p/nccl_transport.hpp"
#include "p2p/provider_choice.hpp"
#include "p2p/rail_order.hpp"
#include "preflight/build_config.hpp"
#if PREFLIGHT_HAVE_LIBFABRIC
#include "p2p/fabric_transport.hpp"
#endif
#if PREFLIGHT_HAVE_MPI
#include "p2p/mpi_transport.hpp"
#endif

namespace preflight::p2p {
namespace {

using nlohmann::json;

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
  [[nodiscard]] json describe() const override { return reported_; }
  [[nodiscard]] std::string transport_name() const override {
    return reported_.value("provider", "");
  }
  [[nodiscard]] std::map<std::string, std::string> labels() const override {
    return {{"provider", reported_.value("provider", "")},
            {"fabric", reported_.value("fabric", "")},
            {"domain", reported_.value("domain", "")}};
  }
  [[nodiscard]] int rail_count() const override {
    return rails_run_ ? static_cast<int>(addresses_.size()) : 0;
  }
  [[nodiscard]] const std::vector<std::vector<std::string>>& rank_rail_domains() const override {
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
  [[nodiscard]] json describe_endpoint() const {
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
  [[nodiscard]] json describe() const override {
    return json{{"backend", "mpi"}, {"library", transport_.library_version()}};
  }
  [[nodiscard]] std::string transport_name() const override { return "mpi"; }
  [[nodiscard]] std::map<std::string, std::string> labels() const override {
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
  [[nodiscard]] json describe() const override {
    return json{{"backend", "nccl"},
                {"nccl_version", transport_.version()},
                {"libraries", libraries_},
                {"net_plugin", loaded_net_plugins().to_json()}};
  }
  [[nodiscard]] std::string transport_name() const override { return "nccl"; }
  [[nodiscard]] std::map<std::string, std::string> labels() const override {
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

#if PREFLIGHT_HAVE_LIBFABRIC
// The endpoint this rank asks libfabric for: the provider every node agreed on and the options'
// domain, operation, memory and window; loopback keeps the traffic off shared memory (through the
// NIC); --mem cuda uses this rank's GPU among its node's.
FabricRequest fabric_request(const RankContext& context, const NodeMap& map) {
  const P2pOptions& options = context.options;
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
  return request;
}
#endif

}  // namespace

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
        const FabricRequest request = fabric_request(context, map);
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

harness::SetupOutcome local_prerequisites(const P2pOptions& options, const GpuLibraries* gpu) {
  const bool nccl = options.transport == Transport::nccl;
  if (!nccl && options.memory != MemoryKind::cuda) {
    return harness::SetupOutcome::ok();
  }
  const std::string flag = nccl ? "--transport nccl" : "--mem cuda";
  if (gpu == nullptr) {
    return harness::SetupOutcome::skip("STEP_SKIPPED", flag + ": the CUDA runtime was not loaded");
  }
  if (const std::string missing = gpu->missing(nccl); !missing.empty()) {
    return harness::SetupOutcome::skip("STEP_SKIPPED", flag + ": " + missing);
  }
  if (auto reason = cuda_unavailable_reason(*gpu->cuda())) {
    return harness::SetupOutcome::skip("STEP_SKIPPED",
                                       flag + ": " + *reason + " (needs a GPU and its driver)");
  }
  return harness::SetupOutcome::ok();
}

}  // namespace preflight::p2p
