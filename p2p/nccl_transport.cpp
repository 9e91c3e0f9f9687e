#include "p2p/nccl_transport.hpp"

#include <fmt/format.h>

#include <cstring>

#include "common/cuda.hpp"
#include "common/error.hpp"
#include "common/nccl.hpp"
#include "common/timer.hpp"

namespace preflight::p2p {

namespace {
constexpr double kLivenessInterval_s = 0.05;
constexpr std::size_t kAckBytes = 1;
}  // namespace

struct NcclTransport::Impl {
  Impl(Bootstrap& bootstrap, std::size_t max_bytes, int device, PeerLivenessCheck liveness_in,
       const cuda::RuntimeApi& cuda_api, const nccl::Api& nccl_api)
      : cuda(cuda_api),
        nccl(nccl_api),
        cuda_device(device),
        liveness(std::move(liveness_in)),
        send_buffer(MemoryKind::cuda, max_bytes, device, &cuda_api),
        recv_buffer(MemoryKind::cuda, max_bytes, device, &cuda_api),
        control_send(MemoryKind::cuda, 64, device, &cuda_api),
        control_recv(MemoryKind::cuda, 64, device, &cuda_api),
        stream(cuda_api) {
    check_cuda(cuda, cuda.cudaSetDevice(cuda_device), "cudaSetDevice", std::to_string(cuda_device));
    nccl::UniqueId id{};
    if (bootstrap.rank() == 0) {
      check_nccl(nccl, nccl.ncclGetUniqueId(&id), "ncclGetUniqueId", "");
    }
    bootstrap.broadcast_value(id, 0);
    nccl::Comm raw = nullptr;
    check_nccl(nccl, nccl.ncclCommInitRank(&raw, bootstrap.size(), id, bootstrap.rank()),
               "ncclCommInitRank",
               fmt::format("{} ranks, rank {}, device {}", bootstrap.size(), bootstrap.rank(),
                           cuda_device));
    comm = NcclCommunicator(nccl, raw);
  }

  // Waits for the stream, watching NCCL's asynchronous errors and the peer.
  void synchronize(const std::string& label) {
    auto last_check = MonotonicClock::now();
    while (true) {
      const cuda::Status state = cuda.cudaStreamQuery(stream.get());
      if (state == cuda::kSuccess) {
        return;
      }
      if (state != cuda::kErrorNotReady) {
        check_cuda(cuda, state, "cudaStreamQuery", label);
      }
      const auto now = MonotonicClock::now();
      if (seconds_between(last_check, now) >= kLivenessInterval_s) {
        last_check = now;
        comm.check_async_error();
        if (liveness) {
          liveness();
        }
      }
    }
  }

  // An asynchronous copy on the transport's stream: ordered before the send or after the receive
  // that uses the bytes; the caller synchronizes before relying on them.
  void copy(void* destination, const void* source, std::size_t bytes, int direction,
            const std::string& label) {
    check_cuda(cuda, cuda.cudaMemcpyAsync(destination, source, bytes, direction, stream.get()),
               "cudaMemcpyAsync", label);
  }

  const cuda::RuntimeApi& cuda;
  const nccl::Api& nccl;
  int cuda_device;
  PeerLivenessCheck liveness;
  MessageBuffer send_buffer;
  MessageBuffer recv_buffer;
  MessageBuffer control_send;
  MessageBuffer control_recv;
  CudaStream stream;
  NcclCommunicator comm;
};

namespace {

class NcclChannel final : public PairChannel {
 public:
  NcclChannel(NcclTransport::Impl& transport, int peer, std::string label)
      : t_(transport), peer_(peer), label_(std::move(label)) {}

  [[nodiscard]] DataOp op() const override { return DataOp::send; }
  [[nodiscard]] MessageBuffer& send_buffer() override { return t_.send_buffer; }
  [[nodiscard]] MessageBuffer& recv_buffer() override { return t_.recv_buffer; }

  void ping(std::size_t bytes) override {
    send(t_.send_buffer.data(), bytes);
    receive(t_.recv_buffer.data(), bytes);
    t_.synchronize(label_);
  }

  void pong(std::size_t bytes) override {
    receive(t_.recv_buffer.data(), bytes);
    send(t_.send_buffer.data(), bytes);
    t_.synchronize(label_);
  }

  void send_window(std::size_t bytes, int window) override {
    group_start();
    for (int i = 0; i < window; ++i) {
      send(t_.send_buffer.data(), bytes);
    }
    group_end();
    receive(t_.control_recv.data(), kAckBytes);
    t_.synchronize(label_);
  }

  void recv_window(std::size_t bytes, int window) override {
    group_start();
    for (int i = 0; i < window; ++i) {
      receive(t_.recv_buffer.data(), bytes);
    }
    group_end();
    send(t_.control_send.data(), kAckBytes);
    t_.synchronize(label_);
  }

  void exchange_window(std::size_t bytes, int window) override {
    group_start();
    for (int i = 0; i < window; ++i) {
      receive(t_.recv_buffer.data(), bytes);
      send(t_.send_buffer.data(), bytes);
    }
    group_end();
    t_.synchronize(label_);
  }

  void send_control(const ControlMessage& message) override {
    // Same stream as the send: the copy is complete before NCCL reads the buffer.
    t_.copy(t_.control_send.data(), &message, sizeof(message), cuda::kMemcpyHostToDevice,
            "control message to the device");
    send(t_.control_send.data(), sizeof(message));
    t_.synchronize(label_);
  }

  [[nodiscard]] ControlMessage recv_control() override {
    ControlMessage message;
    receive(t_.control_recv.data(), sizeof(ControlMessage));
    t_.copy(&message, t_.control_recv.data(), sizeof(message), cuda::kMemcpyDeviceToHost,
            "control message to the host");
    t_.synchronize(label_);
    return message;
  }

  // NCCL fixes the length on both sides; there is no received length to check.
  [[nodiscard]] std::uint64_t take_size_errors() override { return 0; }
  [[nodiscard]] bool checks_sizes() const override { return false; }

 private:
  void group_start() { check_nccl(t_.nccl, t_.nccl.ncclGroupStart(), "ncclGroupStart", label_); }
  void group_end() {
    check_nccl(t_.nccl, t_.nccl.ncclGroupEnd(), "ncclGroupEnd", label_, t_.comm.get());
  }
  // Messages are formatted only on failure: these run in timed iterations.
  void send(const void* data, std::size_t bytes) {
    const nccl::Result result =
        t_.nccl.ncclSend(data, bytes, nccl::kUint8, peer_, t_.comm.get(), t_.stream.get());
    if (result != nccl::kSuccess) [[unlikely]] {
      check_nccl(t_.nccl, result, "ncclSend", fmt::format("{} bytes to {}", bytes, label_),
                 t_.comm.get());
    }
  }
  void receive(void* data, std::size_t bytes) {
    const nccl::Result result =
        t_.nccl.ncclRecv(data, bytes, nccl::kUint8, peer_, t_.comm.get(), t_.stream.get());
    if (result != nccl::kSuccess) [[unlikely]] {
      check_nccl(t_.nccl, result, "ncclRecv", fmt::format("{} bytes from {}", bytes, label_),
                 t_.comm.get());
    }
  }

  NcclTransport::Impl& t_;
  int peer_;
  std::string label_;
};

}  // namespace

NcclTransport::NcclTransport(Bootstrap& bootstrap, std::size_t max_message_bytes, int cuda_device,
                             PeerLivenessCheck liveness, const cuda::RuntimeApi& cuda,
                             const nccl::Api& nccl)
    : impl_(std::make_unique<Impl>(bootstrap, max_message_bytes, cuda_device, std::move(liveness),
                                   cuda, nccl)) {}

NcclTransport::~NcclTransport() = default;

std::unique_ptr<PairChannel> NcclTransport::open_channel(int peer_rank, const std::string& label) {
  return std::make_unique<NcclChannel>(*impl_, peer_rank, label);
}

std::string NcclTransport::version() const {
  return version_from_nccl_code(impl_->nccl.version_code).text;
}

void NcclTransport::finish() {
  impl_->comm.finalize();
}

}  // namespace preflight::p2p
