// libfabric transport (built with PREFLIGHT_WITH_LIBFABRIC): an RDM endpoint with tagged
// send/receive and, where the provider offers FI_RMA, RMA write (with remote CQ data) and read.
// Completions by polling two CQs (FI_CQ_FORMAT_TAGGED, as fi_pingpong); every fid, MR and AV
// RAII-owned; CQ error entries read with fi_cq_readerr, decoded with fi_cq_strerror and thrown as
// CompletionError naming the operation and the peer. Small messages of the latency test go out
// with fi_tinject below the provider's inject size, as fi_pingpong does; windows use fi_tsend.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
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
  bool disable_shared_memory = false;  // loopback through the NIC (EFA: no shm shortcut)
  int max_window = 64;
};

// What fi_getinfo actually returned for the endpoint (reported as the run's transport).
struct FabricDescription {
  std::string provider;
  std::string fabric;
  std::string domain;
  std::string provider_version;  // "major.minor"
  std::string api_version;       // runtime libfabric
  std::size_t inject_size = 0;
  std::size_t max_msg_size = 0;
  std::string mr_mode;    // e.g. "local|virt_addr|prov_key"
  std::string threading;  // FI_THREAD_*
  std::string data_progress;
  bool rma = false;
  bool hmem = false;
};

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

// The EFA device of a libfabric domain name ("rdmap79s0-rdm" -> "rdmap79s0").
[[nodiscard]] std::string efa_device_of_domain(std::string_view domain);

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

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace preflight::p2p
