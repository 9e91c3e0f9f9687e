// The libfabric endpoint behind FabricEndpoint (internal to the transport): its objects, buffers
// and completion bookkeeping. fabric_endpoint.cpp opens and closes it; fabric_transport.cpp holds
// the data path (completion handling, posting, the channel's operations), in one translation unit
// so that the compiler may inline the polls and posts into the timed operations as it could
// before the split (the build has no link-time optimisation).
#pragma once

#include <fmt/format.h>
#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/fabric.hpp"
#include "common/timer.hpp"
#include "p2p/fabric_transport.hpp"
#include "p2p/fabric_wire.hpp"

namespace preflight::p2p {

// Tags keep the message streams apart: a ping-pong receive posted ahead of time never swallows a
// window message, an ack or a control message.
inline constexpr std::uint64_t kTagPingPong = 0x5046'0001;
inline constexpr std::uint64_t kTagWindow = 0x5046'0002;
inline constexpr std::uint64_t kTagAck = 0x5046'0003;
inline constexpr std::uint64_t kTagControl = 0x5046'0004;

// Layout of the small registered host region for control messages and acks.
inline constexpr std::size_t kSlotBytes = 64;
inline constexpr std::size_t kControlSendOffset = 0;
inline constexpr std::size_t kControlRecvOffset = kSlotBytes;
inline constexpr std::size_t kAckSendOffset = 2 * kSlotBytes;
inline constexpr std::size_t kAckRecvOffset = 3 * kSlotBytes;
inline constexpr std::size_t kControlRegionBytes = 4096;
inline constexpr std::size_t kAckBytes = 1;

// How often a long wait looks at the peer's liveness: every kSpinsPerClockCheck empty polls it
// reads the clock, and calls the (cheap, non-blocking) check every kLivenessInterval.
inline constexpr std::uint32_t kSpinsPerClockCheck = 1024;
inline constexpr double kLivenessInterval_s = 0.05;

enum class OpKind : std::uint8_t { tx, pingpong_recv, window_recv, ack_recv, control_recv };

// The provider's scratch space (fi_context2) first, so op_context points at both.
struct OpContext {
  fi_context2 context;
  OpKind kind;
  OpContext* next_free;
};
static_assert(std::is_standard_layout_v<OpContext>);

// The target side of fi_writedata: no context of ours, the CQ data carries the size.
inline bool is_remote_write(const fi_cq_tagged_entry& entry) {
  return (entry.flags & FI_REMOTE_WRITE) != 0 ||
         ((entry.flags & FI_REMOTE_CQ_DATA) != 0 && (entry.flags & FI_RECV) == 0);
}

// ---------------------------------------------------------------------------------------------
// The endpoint: objects, buffers and completion bookkeeping. One channel at a time uses it.

struct FabricEndpoint::Impl {
  Impl(const FabricRequest& request_in, std::size_t max_message_bytes,
       PeerLivenessCheck liveness_in);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;
  ~Impl() { teardown(); }
  void teardown();
  void quiesce();
  int open_endpoint(fi_info* selected, const std::string& where);
  void register_buffers();
  void describe(const fi_info* selected);
  void describe_device_rdma();

  // -- completion handling ------------------------------------------------------------------
  OpContext* acquire(OpKind kind);
  void release(OpContext* context);
  void handle(const fi_cq_tagged_entry& entry);
  [[noreturn]] void throw_cq_error(fid_cq* cq, std::string_view queue);
  std::size_t poll(fid_cq* cq, std::string_view queue);
  enum class Queues { rx, tx, both };
  template <typename Done>
  void progress_until(const Done& done, Queues queues);
  void progress_once() {
    (void)poll(tx_cq.get(), "transmit");
    (void)poll(rx_cq.get(), "receive");
  }
  // After an inject: fabtests' ft_post_inject polls the transmit queue, since a provider with
  // manual progress (efa: RNR retries, queued packets) moves an inject on only when progressed.
  void progress_inject() { (void)poll(tx_cq.get(), "transmit"); }
  template <typename Post>
  void post(const Post& post_operation, std::string_view call);
  void wait_transmits() {
    progress_until([this] { return tx_completed == tx_posted; }, Queues::tx);
  }

  // -- operations ------------------------------------------------------------------------------
  void post_pingpong_recv();
  void post_window_recv();
  void post_ack_recv();
  void post_tagged_send(const void* buffer, std::size_t bytes, void* desc, std::uint64_t tag,
                        bool allow_inject);
  void post_write(std::size_t bytes, bool with_data);
  void post_read(std::size_t bytes);
  // Pops one completed receive of `queue` and counts a wrong length against `expected`.
  void consume(std::deque<std::uint64_t>& queue, std::uint64_t expected) {
    if (queue.front() != expected) {
      ++size_errors;
    }
    queue.pop_front();
  }
  // Pops one remote write's CQ data: the size in the cq_data_size bytes the provider carries.
  void consume_write(std::uint64_t expected) {
    if (!write_size_matches(remote_write_done.front(), expected, cq_data_bytes)) {
      ++size_errors;
    }
    remote_write_done.pop_front();
  }

  FabricRequest request;
  PeerLivenessCheck liveness;
  std::size_t max_bytes;

  // Buffers and contexts are declared first, so they outlive every fid that may still reference
  // them; the fids close in teardown(), in fabtests' order.
  MessageBuffer send_buffer;
  MessageBuffer recv_buffer;
  MessageBuffer control_region;
  std::vector<OpContext> contexts;
  OpContext* free_contexts = nullptr;

  FabricInfo info;
  int mr_mode = 0;
  FabricHandle<fid_fabric> fabric;
  FabricHandle<fid_domain> domain;
  FabricHandle<fid_cq> tx_cq;
  FabricHandle<fid_cq> rx_cq;
  FabricHandle<fid_av> av;
  FabricHandle<fid_ep> ep;
  FabricHandle<fid_mr> send_mr;
  FabricHandle<fid_mr> recv_mr;
  FabricHandle<fid_mr> control_mr;
  void* send_desc = nullptr;
  void* recv_desc = nullptr;
  void* control_desc = nullptr;

  FabricDescription description;
  FabricApi api;
  std::size_t inject_bytes = 0;   // 0 when inject is not used (device memory)
  std::size_t cq_data_bytes = 8;  // of remote CQ data, as the provider carries it
  std::uint64_t injects_unprogressed = 0;

  // The peer the current channel talks to.
  fi_addr_t peer = FI_ADDR_UNSPEC;
  PeerAddress peer_memory;
  std::string peer_label = "peer";

  // Completion bookkeeping: transmits are counted; each kind of receive queues the lengths (or,
  // for remote writes, the CQ data) of its completions until an operation consumes them, so a
  // completion that lands while this side is still busy elsewhere is checked against the right
  // size.
  std::uint64_t tx_posted = 0;
  std::uint64_t tx_completed = 0;
  std::deque<std::uint64_t> pingpong_done;
  std::deque<std::uint64_t> window_done;
  std::deque<std::uint64_t> ack_done;
  std::deque<std::uint64_t> control_done;
  std::deque<std::uint64_t> remote_write_done;
  bool pingpong_posted = false;
  std::uint64_t size_errors = 0;
  MonotonicClock::time_point last_liveness_check = MonotonicClock::now();
};

template <typename Done>
void FabricEndpoint::Impl::progress_until(const Done& done, Queues queues) {
  std::uint32_t idle_spins = 0;
  while (!done()) {
    std::size_t got = 0;
    if (queues != Queues::tx) {
      got += poll(rx_cq.get(), "receive");
    }
    if (queues != Queues::rx) {
      got += poll(tx_cq.get(), "transmit");
    }
    if (got != 0 || ++idle_spins < kSpinsPerClockCheck) {
      continue;
    }
    idle_spins = 0;
    const auto now = MonotonicClock::now();
    if (liveness && seconds_between(last_liveness_check, now) >= kLivenessInterval_s) {
      last_liveness_check = now;
      liveness();
    }
  }
}

template <typename Post>
void FabricEndpoint::Impl::post(const Post& post_operation, std::string_view call) {
  while (true) {
    const ssize_t result = post_operation();
    if (result == 0) {
      return;
    }
    if (result != -FI_EAGAIN) {
      check_fi(result, call, fmt::format("peer {}", peer_label));
    }
    progress_once();  // resources free up as completions are reaped
  }
}

}  // namespace preflight::p2p
