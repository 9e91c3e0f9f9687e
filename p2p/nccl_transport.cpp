#include "p2p/nccl_transport.hpp"

#include <fmt/format.h>
#include <nccl.h>

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
  Impl(Bootstrap& bootstrap, std::size_t max_bytes, int device, PeerLivenessCheck liveness_in)
      : cuda_device(device),
        liveness(std::move(liveness_in)),
        send_buffer(MemoryKind::cuda, max_bytes, device),
        recv_buffer(MemoryKind::cuda, max_bytes, device),
        control_send(MemoryKind::cuda, 64, device),
        control_recv(MemoryKind::cuda, 64, device) {
    check_cuda(cudaSetDevice(cuda_device), "cudaSetDevice", std::to_string(cuda_device));
    ncclUniqueId id{};
    if (bootstrap.rank() == 0) {
      check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", "");
    }
    bootstrap.broadcast_value(id, 0);
    ncclComm_t raw = nullptr;
    check_nccl(ncclCommInitRank(&raw, bootstrap.size(), id, bootstrap.rank()), "ncclCommInitRank",
               fmt::format("{} ranks, rank {}", bootstrap.size(), bootstrap.rank()));
    comm = NcclCommunicator(raw);
  }

  // Waits for the stream, watching NCCL's asynchronous errors and the peer.
  void synchronize(const std::string& label) {
    auto last_check = MonotonicClock::now();
    while (true) {
      const cudaError_t state = cudaStreamQuery(stream.get());
      if (state == cudaSuccess) {
        return;
      }
      if (state != cudaErrorNotReady) {
        check_cuda(state, "cudaStreamQuery", label);
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
    check_nccl(ncclGroupStart(), "ncclGroupStart", label_);
    for (int i = 0; i < window; ++i) {
      send(t_.send_buffer.data(), bytes);
    }
    check_nccl(ncclGroupEnd(), "ncclGroupEnd", label_, t_.comm.get());
    receive(t_.control_recv.data(), kAckBytes);
    t_.synchronize(label_);
  }

  void recv_window(std::size_t bytes, int window) override {
    check_nccl(ncclGroupStart(), "ncclGroupStart", label_);
    for (int i = 0; i < window; ++i) {
      receive(t_.recv_buffer.data(), bytes);
    }
    check_nccl(ncclGroupEnd(), "ncclGroupEnd", label_, t_.comm.get());
    send(t_.control_send.data(), kAckBytes);
    t_.synchronize(label_);
  }

  void exchange_window(std::size_t bytes, int window) override {
    check_nccl(ncclGroupStart(), "ncclGroupStart", label_);
    for (int i = 0; i < window; ++i) {
      receive(t_.recv_buffer.data(), bytes);
      send(t_.send_buffer.data(), bytes);
    }
    check_nccl(ncclGroupEnd(), "ncclGroupEnd", label_, t_.comm.get());
    t_.synchronize(label_);
  }

  void send_control(const ControlMessage& message) override {
    check_cuda(
        cudaMemcpy(t_.control_send.data(), &message, sizeof(message), cudaMemcpyHostToDevice),
        "cudaMemcpy", "control");
    send(t_.control_send.data(), sizeof(message));
    t_.synchronize(label_);
  }

  [[nodiscard]] ControlMessage recv_control() override {
    receive(t_.control_recv.data(), sizeof(ControlMessage));
    t_.synchronize(label_);
    ControlMessage message;
    check_cuda(
        cudaMemcpy(&message, t_.control_recv.data(), sizeof(message), cudaMemcpyDeviceToHost),
        "cudaMemcpy", "control");
    return message;
  }

  // NCCL fixes the length on both sides; there is no received length to check.
  [[nodiscard]] std::uint64_t take_size_errors() override { return 0; }
  [[nodiscard]] bool checks_sizes() const override { return false; }

 private:
  // Messages are formatted only on failure: these run in timed iterations.
  void send(const void* data, std::size_t bytes) {
    const ncclResult_t result =
        ncclSend(data, bytes, ncclUint8, peer_, t_.comm.get(), t_.stream.get());
    if (result != ncclSuccess) [[unlikely]] {
      check_nccl(result, "ncclSend", fmt::format("{} bytes to {}", bytes, label_), t_.comm.get());
    }
  }
  void receive(void* data, std::size_t bytes) {
    const ncclResult_t result =
        ncclRecv(data, bytes, ncclUint8, peer_, t_.comm.get(), t_.stream.get());
    if (result != ncclSuccess) [[unlikely]] {
      check_nccl(result, "ncclRecv", fmt::format("{} bytes from {}", bytes, label_), t_.comm.get());
    }
  }

  NcclTransport::Impl& t_;
  int peer_;
  std::string label_;
};

}  // namespace

NcclTransport::NcclTransport(Bootstrap& bootstrap, std::size_t max_message_bytes, int cuda_device,
                             PeerLivenessCheck liveness)
    : impl_(
          std::make_unique<Impl>(bootstrap, max_message_bytes, cuda_device, std::move(liveness))) {}

NcclTransport::~NcclTransport() = default;

std::unique_ptr<PairChannel> NcclTransport::open_channel(int peer_rank, const std::string& label) {
  return std::make_unique<NcclChannel>(*impl_, peer_rank, label);
}

std::string NcclTransport::version() const {
  int code = 0;
  ncclGetVersion(&code);
  return fmt::format("{}.{}.{}", code / 10000, (code % 10000) / 100, code % 100);
}

void NcclTransport::abort() {
  impl_->comm.abort();
}

}  // namespace preflight::p2p
