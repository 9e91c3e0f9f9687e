#include "p2p/fabric_transport.hpp"

#include <fmt/format.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include <array>
#include <cstring>
#include <utility>

#include "p2p/fabric_endpoint.hpp"
#include "p2p/fabric_wire.hpp"

namespace preflight::p2p {
namespace {

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::tx:
      return "transmit";
    case OpKind::pingpong_recv:
      return "ping-pong receive";
    case OpKind::window_recv:
      return "window receive";
    case OpKind::ack_recv:
      return "ack receive";
    case OpKind::control_recv:
      return "control receive";
  }
  return "operation";
}

// One transmit with a completion: a context, the post (`operation` given the context), counted
// until wait_transmits() sees it complete. A template, local to this unit, inlined into each post
// as the loop before it was.
template <typename Operation>
void post_transmit(FabricEndpoint::Impl& endpoint, std::string_view call,
                   const Operation& operation) {
  OpContext* context = endpoint.acquire(OpKind::tx);
  endpoint.post([&] { return operation(context); }, call);
  ++endpoint.tx_posted;
}

// One tagged receive into `buffer`, its completion queued by `kind` (Impl::handle). A template on
// the kind, local to this unit, so that each receive has a post loop of its own that the compiler
// inlines into it, as into the other posts: one shared loop would be a call more per receive, and
// the ping-pong receive is on the latency path.
template <OpKind kind>
void post_tagged_recv(FabricEndpoint::Impl& endpoint, void* buffer, std::size_t bytes, void* desc,
                      std::uint64_t tag) {
  OpContext* context = endpoint.acquire(kind);
  endpoint.post(
      [&] {
        return fi_trecv(endpoint.ep.get(), buffer, bytes, desc, FI_ADDR_UNSPEC, tag, 0, context);
      },
      "fi_trecv");
}

}  // namespace

OpContext* FabricEndpoint::Impl::acquire(OpKind kind) {
  while (free_contexts == nullptr) {
    progress_once();
  }
  OpContext* context = free_contexts;
  free_contexts = context->next_free;
  context->kind = kind;
  return context;
}

void FabricEndpoint::Impl::release(OpContext* context) {
  context->next_free = free_contexts;
  free_contexts = context;
}

void FabricEndpoint::Impl::handle(const fi_cq_tagged_entry& entry) {
  if (is_remote_write(entry) || entry.op_context == nullptr) {
    // The target side of fi_writedata: the CQ data carries the message size (modulo what the
    // provider's cq_data_size holds).
    remote_write_done.push_back((entry.flags & FI_REMOTE_CQ_DATA) != 0 ? entry.data : ~0ULL);
    return;
  }
  auto* context = static_cast<OpContext*>(entry.op_context);
  switch (context->kind) {
    case OpKind::tx:
      ++tx_completed;
      break;
    case OpKind::pingpong_recv:
      pingpong_posted = false;
      pingpong_done.push_back(entry.len);
      break;
    case OpKind::window_recv:
      window_done.push_back(entry.len);
      break;
    case OpKind::ack_recv:
      ack_done.push_back(entry.len);
      break;
    case OpKind::control_recv:
      control_done.push_back(entry.len);
      break;
  }
  release(context);
}

void FabricEndpoint::Impl::throw_cq_error(fid_cq* cq, std::string_view queue) {
  fi_cq_err_entry error{};
  const ssize_t result = fi_cq_readerr(cq, &error, 0);
  if (result < 0) {
    check_fi(result, "fi_cq_readerr", fmt::format("{} queue", queue));
  }
  std::array<char, 256> buffer{};
  const char* decoded =
      fi_cq_strerror(cq, error.prov_errno, error.err_data, buffer.data(), buffer.size());
  std::string operation = std::string(queue);
  if (error.op_context != nullptr) {
    auto* context = static_cast<OpContext*>(error.op_context);
    operation = fmt::format("{} of {} bytes", to_string(context->kind), error.len);
    if (context->kind == OpKind::tx) {
      ++tx_completed;
    }
    release(context);
  }
  throw CompletionError(operation, peer_label, error.err, error.prov_errno,
                        decoded != nullptr ? decoded : "");
}

std::size_t FabricEndpoint::Impl::poll(fid_cq* cq, std::string_view queue) {
  std::array<fi_cq_tagged_entry, 16> entries;  // NOLINT: filled by the provider
  const ssize_t count = fi_cq_read(cq, entries.data(), entries.size());
  if (cq == tx_cq.get()) {
    injects_unprogressed = 0;  // reading the CQ progresses the endpoint
  }
  if (count > 0) {
    for (ssize_t i = 0; i < count; ++i) {
      handle(entries[static_cast<std::size_t>(i)]);
    }
    return static_cast<std::size_t>(count);
  }
  if (count == -FI_EAGAIN) {
    return 0;
  }
  if (count == -FI_EAVAIL) {
    throw_cq_error(cq, queue);
  }
  if (count < 0) {  // formatted only on failure: this runs in every poll
    check_fi(count, "fi_cq_read", fmt::format("{} queue, peer {}", queue, peer_label));
  }
  return 0;
}

void FabricEndpoint::Impl::post_pingpong_recv() {
  post_tagged_recv<OpKind::pingpong_recv>(*this, recv_buffer.data(), recv_buffer.bytes(), recv_desc,
                                          kTagPingPong);
  pingpong_posted = true;
}

void FabricEndpoint::Impl::post_window_recv() {
  post_tagged_recv<OpKind::window_recv>(*this, recv_buffer.data(), recv_buffer.bytes(), recv_desc,
                                        kTagWindow);
}

void FabricEndpoint::Impl::post_ack_recv() {
  post_tagged_recv<OpKind::ack_recv>(
      *this, static_cast<std::byte*>(control_region.data()) + kAckRecvOffset, kSlotBytes,
      control_desc, kTagAck);
}

void FabricEndpoint::Impl::post_tagged_send(const void* buffer, std::size_t bytes, void* desc,
                                            std::uint64_t tag, bool allow_inject) {
  // Strictly below the inject size, as fi_pingpong decides.
  if (allow_inject && bytes < inject_bytes) {
    post([&] { return fi_tinject(ep.get(), buffer, bytes, peer, tag); }, "fi_tinject");
    ++injects_unprogressed;
    progress_inject();
    return;
  }
  post_transmit(*this, "fi_tsend", [&](OpContext* context) {
    return fi_tsend(ep.get(), buffer, bytes, desc, peer, tag, context);
  });
}

void FabricEndpoint::Impl::post_write(std::size_t bytes, bool with_data) {
  if (with_data) {
    post_transmit(*this, "fi_writedata", [&](OpContext* context) {
      return fi_writedata(ep.get(), send_buffer.data(), bytes, send_desc,
                          write_size_cq_data(bytes, cq_data_bytes), peer, peer_memory.recv_address,
                          peer_memory.recv_key, context);
    });
  } else {
    post_transmit(*this, "fi_write", [&](OpContext* context) {
      return fi_write(ep.get(), send_buffer.data(), bytes, send_desc, peer,
                      peer_memory.recv_address, peer_memory.recv_key, context);
    });
  }
}

void FabricEndpoint::Impl::post_read(std::size_t bytes) {
  post_transmit(*this, "fi_read", [&](OpContext* context) {
    return fi_read(ep.get(), recv_buffer.data(), bytes, recv_desc, peer, peer_memory.send_address,
                   peer_memory.send_key, context);
  });
}

// ---------------------------------------------------------------------------------------------

namespace {

class FabricChannel final : public PairChannel {
 public:
  FabricChannel(FabricEndpoint::Impl& endpoint, DataOp op) : endpoint_(endpoint), op_(op) {}

  [[nodiscard]] DataOp op() const override { return op_; }
  [[nodiscard]] MessageBuffer& send_buffer() override { return endpoint_.send_buffer; }
  [[nodiscard]] MessageBuffer& recv_buffer() override { return endpoint_.recv_buffer; }

  void ping(std::size_t bytes) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        if (!e.pingpong_posted) {
          e.post_pingpong_recv();
        }
        e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagPingPong, true);
        e.wait_transmits();
        e.progress_until([&e] { return !e.pingpong_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume(e.pingpong_done, bytes);
        e.post_pingpong_recv();
        return;
      case DataOp::write:
        e.post_write(bytes, true);
        e.progress_until(
            [&e] { return e.tx_completed == e.tx_posted && !e.remote_write_done.empty(); },
            FabricEndpoint::Impl::Queues::both);
        e.consume_write(bytes);
        return;
      case DataOp::read:
        e.post_read(bytes);
        e.wait_transmits();
        return;
    }
  }

  void pong(std::size_t bytes) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        if (!e.pingpong_posted && e.pingpong_done.empty()) {
          e.post_pingpong_recv();
        }
        e.progress_until([&e] { return !e.pingpong_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume(e.pingpong_done, bytes);
        e.post_pingpong_recv();
        e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagPingPong, true);
        e.wait_transmits();
        return;
      case DataOp::write:
        e.progress_until([&e] { return !e.remote_write_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume_write(bytes);
        e.post_write(bytes, true);
        e.wait_transmits();
        return;
      case DataOp::read:
        return;  // passive: the initiator reads this side's memory
    }
  }

  void send_window(std::size_t bytes, int window) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
      case DataOp::write: {
        e.post_ack_recv();
        for (int i = 0; i < window; ++i) {
          if (op_ == DataOp::send) {
            e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagWindow, false);
          } else {
            e.post_write(bytes, /*with_data=*/i == window - 1);
          }
        }
        e.progress_until([&e] { return e.tx_completed == e.tx_posted && !e.ack_done.empty(); },
                         FabricEndpoint::Impl::Queues::both);
        e.consume(e.ack_done, kAckBytes);
        return;
      }
      case DataOp::read:
        read_window(bytes, window);
        return;
    }
  }

  void recv_window(std::size_t bytes, int window) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        for (int i = 0; i < window; ++i) {
          e.post_window_recv();
        }
        e.progress_until(
            [&e, window] { return e.window_done.size() >= static_cast<std::size_t>(window); },
            FabricEndpoint::Impl::Queues::rx);
        for (int i = 0; i < window; ++i) {
          e.consume(e.window_done, bytes);
        }
        break;
      case DataOp::write:
        // Only the last write of the window carries CQ data.
        e.progress_until([&e] { return !e.remote_write_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume_write(bytes);
        break;
      case DataOp::read:
        return;
    }
    send_ack();
  }

  void exchange_window(std::size_t bytes, int window) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        for (int i = 0; i < window; ++i) {
          e.post_window_recv();
        }
        for (int i = 0; i < window; ++i) {
          e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagWindow, false);
        }
        e.progress_until(
            [&e, window] {
              return e.tx_completed == e.tx_posted &&
                     e.window_done.size() >= static_cast<std::size_t>(window);
            },
            FabricEndpoint::Impl::Queues::both);
        for (int i = 0; i < window; ++i) {
          e.consume(e.window_done, bytes);
        }
        return;
      case DataOp::write:
        for (int i = 0; i < window; ++i) {
          e.post_write(bytes, i == window - 1);
        }
        e.progress_until(
            [&e] { return e.tx_completed == e.tx_posted && !e.remote_write_done.empty(); },
            FabricEndpoint::Impl::Queues::both);
        e.consume_write(bytes);
        return;
      case DataOp::read:
        read_window(bytes, window);
        return;
    }
  }

  void send_control(const ControlMessage& message) override {
    auto& e = endpoint_;
    std::byte* slot = static_cast<std::byte*>(e.control_region.data()) + kControlSendOffset;
    std::memcpy(slot, &message, sizeof(message));
    // Untimed: sent with a completion, and waited for, so the last message of a test (the
    // responder's result) is out before this side turns to anything else.
    e.post_tagged_send(slot, sizeof(message), e.control_desc, kTagControl, false);
    e.wait_transmits();
  }

  [[nodiscard]] ControlMessage recv_control() override {
    auto& e = endpoint_;
    std::byte* slot = static_cast<std::byte*>(e.control_region.data()) + kControlRecvOffset;
    post_tagged_recv<OpKind::control_recv>(e, slot, kSlotBytes, e.control_desc, kTagControl);
    e.progress_until([&e] { return !e.control_done.empty(); }, FabricEndpoint::Impl::Queues::both);
    const std::uint64_t length = e.control_done.front();
    e.control_done.pop_front();
    if (length != sizeof(ControlMessage)) {
      throw Error(
          "preflight", "pair protocol", e.peer_label,
          fmt::format("control message of {} bytes, expected {}", length, sizeof(ControlMessage)),
          0);
    }
    ControlMessage message;
    std::memcpy(&message, slot, sizeof(message));
    return message;
  }

  [[nodiscard]] std::uint64_t take_size_errors() override {
    return std::exchange(endpoint_.size_errors, 0);
  }
  [[nodiscard]] bool checks_sizes() const override { return true; }

 private:
  // --op read, bw and bibw alike: this side reads `window` messages from the peer's memory and
  // waits for them (the peer takes no part).
  void read_window(std::size_t bytes, int window) {
    for (int i = 0; i < window; ++i) {
      endpoint_.post_read(bytes);
    }
    endpoint_.wait_transmits();
  }

  void send_ack() {
    auto& e = endpoint_;
    std::byte* slot = static_cast<std::byte*>(e.control_region.data()) + kAckSendOffset;
    e.post_tagged_send(slot, kAckBytes, e.control_desc, kTagAck, true);
    e.wait_transmits();
  }

  FabricEndpoint::Impl& endpoint_;
  DataOp op_;
};

}  // namespace

FabricEndpoint::FabricEndpoint(const FabricRequest& request, std::size_t max_message_bytes,
                               PeerLivenessCheck liveness)
    : impl_(std::make_unique<Impl>(request, max_message_bytes, std::move(liveness))) {}

FabricEndpoint::~FabricEndpoint() = default;

const FabricDescription& FabricEndpoint::description() const {
  return impl_->description;
}

std::vector<std::byte> FabricEndpoint::local_address() const {
  std::size_t length = 0;
  const int probe = fi_getname(&impl_->ep.get()->fid, nullptr, &length);
  if (probe != -FI_ETOOSMALL && probe != 0) {
    check_fi(probe, "fi_getname", "length");
  }
  std::vector<std::byte> name(length);
  check_fi(fi_getname(&impl_->ep.get()->fid, name.data(), &length), "fi_getname", "endpoint");
  name.resize(length);

  const bool virtual_addresses = (impl_->info.get()->domain_attr->mr_mode & FI_MR_VIRT_ADDR) != 0;
  auto remote_address = [&](const MessageBuffer& buffer) -> std::uint64_t {
    return virtual_addresses ? reinterpret_cast<std::uintptr_t>(buffer.data()) : 0;  // NOLINT
  };
  return encode_peer_address(PeerAddress{.name = std::move(name),
                                         .send_address = remote_address(impl_->send_buffer),
                                         .send_key = fi_mr_key(impl_->send_mr.get()),
                                         .recv_address = remote_address(impl_->recv_buffer),
                                         .recv_key = fi_mr_key(impl_->recv_mr.get())});
}

std::uint64_t FabricEndpoint::injects_awaiting_progress() const {
  return impl_->injects_unprogressed;
}

std::unique_ptr<PairChannel> FabricEndpoint::open_channel(std::span<const std::byte> peer_address,
                                                          const std::string& peer_label) {
  Impl& e = *impl_;
  e.peer_memory = decode_peer_address(peer_address);
  e.peer_label = peer_label;
  fi_addr_t address = FI_ADDR_UNSPEC;
  const int inserted = fi_av_insert(e.av.get(), e.peer_memory.name.data(), 1, &address, 0, nullptr);
  if (inserted != 1) {
    check_fi(inserted < 0 ? inserted : -FI_EINVAL, "fi_av_insert", peer_label);
  }
  e.peer = address;
  if (!e.pingpong_posted && e.request.op == DataOp::send) {
    e.post_pingpong_recv();  // always one receive ahead, as fi_pingpong
  }
  return std::make_unique<FabricChannel>(e, e.request.op);
}

}  // namespace preflight::p2p
