// One side of a point-to-point connection between two ranks, as the tests use it. Each transport
// (libfabric, MPI, NCCL) implements these few operations; the timing loops and the protocol that
// drives both sides live once, in p2p/pair_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "p2p/buffers.hpp"

namespace preflight::p2p {

enum class TestKind { latency, bw, bibw };
// send: tagged send/receive (MPI_Send, ncclSend); write/read: RMA (libfabric with FI_RMA only).
enum class DataOp { send, write, read };

[[nodiscard]] std::string_view to_string(TestKind test);
[[nodiscard]] std::string_view to_string(DataOp op);

// Small messages of the protocol that keeps the two sides in step (never timed).
struct ControlMessage {
  enum class Kind : std::uint32_t {
    run = 1,
    verify = 2,
    ready = 3,
    stop = 4,
    result = 5,
    verified = 6,
  };
  Kind kind = Kind::run;
  std::uint32_t reserved = 0;
  std::uint64_t count = 0;        // run: iterations; verify: verification index
  std::uint64_t wrong_bytes = 0;  // verified: payload bytes that did not verify at the responder
  std::uint64_t size_errors = 0;  // result: messages of the wrong length at the responder
  std::uint64_t verified_messages = 0;  // verified: messages the responder checked
};
static_assert(sizeof(ControlMessage) == 40);

// Called from inside long waits (completion polling): throws PeerLostError when the peer is known
// to be gone. Empty when the bootstrap cannot tell.
using PeerLivenessCheck = std::function<void()>;

class PairChannel {
 public:
  PairChannel() = default;
  PairChannel(const PairChannel&) = delete;
  PairChannel& operator=(const PairChannel&) = delete;
  PairChannel(PairChannel&&) = delete;
  PairChannel& operator=(PairChannel&&) = delete;
  virtual ~PairChannel() = default;

  [[nodiscard]] virtual DataOp op() const = 0;
  // What this side sends, or exposes to the peer's reads.
  [[nodiscard]] virtual MessageBuffer& send_buffer() = 0;
  // Where this side receives, is written to by the peer, or reads into.
  [[nodiscard]] virtual MessageBuffer& recv_buffer() = 0;

  // latency: the initiator sends (writes, reads) `bytes` and waits for the reply; the responder
  // waits for the message and replies. For read the responder is passive: pong and recv_window
  // do nothing (its progress comes from waiting for the next control message).
  virtual void ping(std::size_t bytes) = 0;
  virtual void pong(std::size_t bytes) = 0;
  // bw: `window` messages in flight, then a 1-byte ack from the receiver (none for read).
  virtual void send_window(std::size_t bytes, int window) = 0;
  virtual void recv_window(std::size_t bytes, int window) = 0;
  // bibw: both sides send a window at once.
  virtual void exchange_window(std::size_t bytes, int window) = 0;

  virtual void send_control(const ControlMessage& message) = 0;
  [[nodiscard]] virtual ControlMessage recv_control() = 0;

  // Received messages whose length was not the expected one since the last call. Transports that
  // cannot tell (NCCL: the length is fixed on both sides by the API) return 0.
  [[nodiscard]] virtual std::uint64_t take_size_errors() = 0;
  // Whether received lengths are checked at all (reported as such).
  [[nodiscard]] virtual bool checks_sizes() const = 0;
};

}  // namespace preflight::p2p
