// libfabric transport (built with PREFLIGHT_WITH_LIBFABRIC): an RDM endpoint with tagged
// send/receive and, where the provider offers FI_RMA, RMA write (with remote CQ data) and read.
// Completions by polling two CQs (FI_CQ_FORMAT_TAGGED, as fi_pingpong); every fid, MR and AV
// RAII-owned; CQ error entries read with fi_cq_readerr, decoded with fi_cq_strerror and thrown as
// CompletionError naming the operation and the peer. Small messages of the latency test and the
// acks go out with fi_tinject below the provider's inject size, as fi_pingpong does, and the
// transmit queue is polled after each (fabtests' ft_post_inject: with manual progress an inject
// may wait in the provider until then); windows use fi_tsend, and so do the untimed control
// messages, whose completion is waited for. API version >= 1.18 (common/fabric.hpp). Teardown in
// fabtests' order (ft_close_fids): the endpoint before the memory registrations, unless they are
// bound to it (FI_MR_ENDPOINT), then the CQs, the registrations, the AV, domain and fabric
// (fi_efa(7): closing an MR with a receive still posted into it is undefined).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "p2p/channel.hpp"

namespace preflight::p2p {

struct FabricRequest {
  std::string
      provider;        // empty or "any": libfabric's first choice; layered names ("tcp;ofi_rxm") ok
  std::string domain;  // empty: any
  DataOp op = DataOp::send;
  MemoryKind memory = MemoryKind::host;
  int cuda_device = 0;
  const cuda::RuntimeApi* cuda_runtime = nullptr;  // --mem cuda: the loaded CUDA runtime
  // Loopback through the NIC: FI_OPT_SHARED_MEMORY_PERMITTED = false where the library has it
  // (>= 1.21); the runner also sets FI_EFA_ENABLE_SHM_TRANSFER=0 before libfabric loads.
  bool disable_shared_memory = false;
  int max_window = 64;
  // Several endpoints driven from threads of one process (--rails): FI_THREAD_SAFE instead of
  // FI_THREAD_DOMAIN, since providers share state between domains (tcp;ofi_rxm crashed without).
  bool thread_safe = false;
  // At most this many bytes of remote CQ data (0: the provider's cq_data_size). Tests use 4 to run
  // efa's limit over shm and tcp, which carry 8.
  std::size_t max_cq_data_bytes = 0;
  // Told of every fid teardown closes, in order, with fi_close's result (tests).
  std::function<void(std::string_view fid, int result)> on_close;
};

// What fi_getinfo actually returned for the endpoint (reported as the run's transport).
struct FabricDescription {
  std::string provider;
  std::string fabric;
  std::string domain;
  std::string provider_version;  // "major.minor"
  std::string library_version;   // fi_version() of the loaded libfabric
  std::string api_requested;     // the API version asked for first (>= 1.18)
  std::string api_version;       // the API version granted (fabric_attr->api_version)
  std::string api_fallback;      // why it is below the one asked for; empty when it is not
  std::size_t inject_size = 0;
  std::size_t max_msg_size = 0;
  std::size_t cq_data_size = 0;  // bytes of remote CQ data the provider carries (efa: 4)
  std::string mr_mode;           // e.g. "local|virt_addr|prov_key"
  std::string threading;         // FI_THREAD_*
  std::string data_progress;
  bool rma = false;
  bool hmem = false;
  std::string device_id;  // the NIC's PCI device id as fi_info's nic says ("0xefa1"); may be empty
  // efa only: device RDMA read/write of this endpoint, from fi_getopt(FI_OPT_EFA_EMULATED_READ /
  // _WRITE) where the library has them (>= 1.18), else libfabric's default for the granted API.
  std::optional<bool> device_rdma_read;
  std::optional<bool> device_rdma_write;
  std::string device_rdma_source;
  std::string shared_memory;  // "permitted", or how it was turned off
};

// The transport as the report shows it (details.transport).
[[nodiscard]] nlohmann::json describe_fabric(const FabricDescription& description);

// Remote CQ data of fi_writedata: the message size in the provider's cq_data_size bytes (efa
// carries 4), so a size is compared modulo 2^(8 * cq_data_bytes): 5 GiB arrives as 1 GiB.
[[nodiscard]] std::uint64_t write_size_cq_data(std::uint64_t bytes, std::size_t cq_data_bytes);
[[nodiscard]] bool write_size_matches(std::uint64_t cq_data, std::uint64_t expected_bytes,
                                      std::size_t cq_data_bytes);

// No provider/domain matches the request: a prerequisite is absent (skip, exit 3), not an error.
class FabricUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A completion queue error entry, decoded.
class CompletionError : public Error {
 public:
  CompletionError(std::string_view operation, std::string_view peer, int error_number,
                  int provider_error, std::string_view decoded);
  [[nodiscard]] const std::string& peer() const { return peer_; }
  [[nodiscard]] int error_number() const { return error_number_; }
  [[nodiscard]] int provider_error() const { return provider_error_; }
  // The error says the peer or the path to it is gone (connection reset, unreachable, ...).
  [[nodiscard]] bool peer_unreachable() const;

 private:
  std::string peer_;
  int error_number_;
  int provider_error_;
};

// The RDM domains the efa provider offers on this node (one per EFA device, e.g.
// "rdmap79s0-rdm"); empty when there is no EFA device or no efa provider.
[[nodiscard]] std::vector<std::string> list_efa_domains();

// The devices a rails run uses on this node, rail 0 first: the RDM domains `provider` offers
// (efa: one per EFA device; tcp: one per interface), loopback ("lo") left out, in natural order
// (rdmap16s27 before rdmap160s27; eth2 before eth10). Empty when the provider offers none.
[[nodiscard]] std::vector<std::string> list_rail_domains(const std::string& provider);

class FabricEndpoint {
 public:
  // Throws FabricUnavailable when fi_getinfo finds no match (with the reason: no such provider,
  // or no FI_RMA for --op write|read), preflight::Error on any other failure.
  FabricEndpoint(const FabricRequest& request, std::size_t max_message_bytes,
                 PeerLivenessCheck liveness);
  FabricEndpoint(const FabricEndpoint&) = delete;
  FabricEndpoint& operator=(const FabricEndpoint&) = delete;
  FabricEndpoint(FabricEndpoint&&) = delete;
  FabricEndpoint& operator=(FabricEndpoint&&) = delete;
  ~FabricEndpoint();

  [[nodiscard]] const FabricDescription& description() const;
  // The endpoint name plus the remote-access descriptors of the data buffers, for the bootstrap.
  [[nodiscard]] std::vector<std::byte> local_address() const;
  // A channel to the peer whose local_address() is `peer_address`. One channel is used at a
  // time; it borrows this endpoint, which must outlive it.
  [[nodiscard]] std::unique_ptr<PairChannel> open_channel(std::span<const std::byte> peer_address,
                                                          const std::string& peer_label);

  // Injected messages not yet followed by a poll of the transmit queue (0 after every channel
  // operation: a provider with manual progress may hold an inject until it is progressed).
  [[nodiscard]] std::uint64_t injects_awaiting_progress() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace preflight::p2p
