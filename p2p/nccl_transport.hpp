// NCCL transport: ncclSend/ncclRecv between GPUs of one communicator over all ranks (created once;
// a pair test involves only its two ranks), NCCL and the CUDA runtime coming in as function tables
// (loaded with dlopen in the binary, the host-memory double in the tests). Latency is a send then a
// receive on one stream, synchronised each iteration (host wall clock); bandwidth a group of
// `window` sends then a 1-byte ack. Control messages are copied on the same stream as the sends
// that carry them. Waits poll the stream and check NCCL's asynchronous error and the peer's
// liveness, so a lost peer never hangs the run. finish() is the normal end (finalize); destroying
// the transport without it aborts the communicator.
#pragma once

#include <memory>
#include <string>

#include "common/bootstrap.hpp"
#include "common/cuda_api.hpp"
#include "common/nccl_api.hpp"
#include "p2p/channel.hpp"

namespace preflight::p2p {

class NcclTransport {
 public:
  // Collective over every rank of `bootstrap`. `cuda_device` is this rank's GPU.
  NcclTransport(Bootstrap& bootstrap, std::size_t max_message_bytes, int cuda_device,
                PeerLivenessCheck liveness, const cuda::RuntimeApi& cuda, const nccl::Api& nccl);
  NcclTransport(const NcclTransport&) = delete;
  NcclTransport& operator=(const NcclTransport&) = delete;
  NcclTransport(NcclTransport&&) = delete;
  NcclTransport& operator=(NcclTransport&&) = delete;
  ~NcclTransport();

  [[nodiscard]] std::unique_ptr<PairChannel> open_channel(int peer_rank, const std::string& label);
  [[nodiscard]] std::string version() const;  // "2.28.9"
  // The normal end: ncclCommFinalize and ncclCommDestroy, on the thread that used the transport.
  void finish();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace preflight::p2p
