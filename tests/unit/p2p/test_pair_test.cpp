// The pair protocol over an in-memory channel: both sides in threads, payloads copied through a
// "wire" that can corrupt or shorten messages.
#include <gtest/gtest.h>

#include <array>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "p2p/pair_test.hpp"

namespace preflight::p2p {
namespace {

enum class Fault { none, corrupt, shorten };

struct Wire {
  std::mutex mutex;
  std::condition_variable changed;
  std::array<std::deque<std::vector<std::byte>>, 2> data;  // indexed by the receiving side
  std::array<std::deque<ControlMessage>, 2> control;
  std::array<std::deque<int>, 2> acks;
};

class LocalChannel final : public PairChannel {
 public:
  LocalChannel(Wire& wire, int side, DataOp op, Fault fault)
      : wire_(wire),
        side_(side),
        op_(op),
        fault_(fault),
        send_(MemoryKind::host, 1 << 16),
        recv_(MemoryKind::host, 1 << 16) {}
  void set_peer(LocalChannel* peer) { peer_ = peer; }

  DataOp op() const override { return op_; }
  MessageBuffer& send_buffer() override { return send_; }
  MessageBuffer& recv_buffer() override { return recv_; }

  void ping(std::size_t bytes) override {
    if (op_ == DataOp::read) {
      std::memcpy(recv_.data(), peer_->send_.data(), bytes);  // the peer is passive
      return;
    }
    deliver(bytes);
    receive(bytes);
  }
  void pong(std::size_t bytes) override {
    if (op_ == DataOp::read) {
      return;
    }
    receive(bytes);
    deliver(bytes);
  }
  void send_window(std::size_t bytes, int window) override {
    if (op_ == DataOp::read) {
      for (int i = 0; i < window; ++i) {
        std::memcpy(recv_.data(), peer_->send_.data(), bytes);
      }
      return;
    }
    for (int i = 0; i < window; ++i) {
      deliver(bytes);
    }
    std::unique_lock lock(wire_.mutex);
    wire_.changed.wait(lock, [&] { return !wire_.acks[side_].empty(); });
    wire_.acks[side_].pop_front();
  }
  void recv_window(std::size_t bytes, int window) override {
    if (op_ == DataOp::read) {
      return;
    }
    for (int i = 0; i < window; ++i) {
      receive(bytes);
    }
    const std::lock_guard lock(wire_.mutex);
    wire_.acks[1 - side_].push_back(1);
    wire_.changed.notify_all();
  }
  void exchange_window(std::size_t bytes, int window) override {
    if (op_ == DataOp::read) {
      send_window(bytes, window);
      return;
    }
    for (int i = 0; i < window; ++i) {
      deliver(bytes);
    }
    for (int i = 0; i < window; ++i) {
      receive(bytes);
    }
  }
  void send_control(const ControlMessage& message) override {
    const std::lock_guard lock(wire_.mutex);
    wire_.control[1 - side_].push_back(message);
    wire_.changed.notify_all();
  }
  ControlMessage recv_control() override {
    std::unique_lock lock(wire_.mutex);
    wire_.changed.wait(lock, [&] { return !wire_.control[side_].empty(); });
    const ControlMessage message = wire_.control[side_].front();
    wire_.control[side_].pop_front();
    return message;
  }
  std::uint64_t take_size_errors() override { return std::exchange(size_errors_, 0); }
  bool checks_sizes() const override { return true; }

 private:
  void deliver(std::size_t bytes) {
    const auto* begin = static_cast<const std::byte*>(send_.data());
    std::vector<std::byte> message(begin, begin + bytes);
    if (fault_ == Fault::corrupt && !message.empty()) {
      message.back() ^= std::byte{0x40};
    }
    if (fault_ == Fault::shorten && !message.empty()) {
      message.pop_back();
    }
    const std::lock_guard lock(wire_.mutex);
    wire_.data[1 - side_].push_back(std::move(message));
    wire_.changed.notify_all();
  }
  void receive(std::size_t bytes) {
    std::unique_lock lock(wire_.mutex);
    wire_.changed.wait(lock, [&] { return !wire_.data[side_].empty(); });
    const std::vector<std::byte> message = std::move(wire_.data[side_].front());
    wire_.data[side_].pop_front();
    lock.unlock();
    std::memcpy(recv_.data(), message.data(), message.size());
    size_errors_ += message.size() != bytes ? 1 : 0;
  }

  Wire& wire_;
  int side_;
  DataOp op_;
  Fault fault_;
  LocalChannel* peer_ = nullptr;
  MessageBuffer send_;
  MessageBuffer recv_;
  std::uint64_t size_errors_ = 0;
};

PairTestSpec fixed_spec(TestKind test, std::size_t bytes, std::size_t iterations) {
  PairTestSpec spec;
  spec.test = test;
  spec.bytes = bytes;
  spec.window = 4;
  spec.check_iterations = 2;
  spec.sampling.warmup_iterations = 3;
  spec.sampling.min_iterations = iterations;
  spec.sampling.max_iterations = iterations;
  spec.sampling.fixed = true;
  return spec;
}

// Runs one size with the initiator on this thread and the responder on another.
PairSizeOutcome run_pair(const PairTestSpec& spec, DataOp op = DataOp::send,
                         Fault initiator_fault = Fault::none, Fault responder_fault = Fault::none) {
  Wire wire;
  LocalChannel initiator(wire, 0, op, initiator_fault);
  LocalChannel responder(wire, 1, op, responder_fault);
  initiator.set_peer(&responder);
  responder.set_peer(&initiator);
  std::thread other([&] { run_responder(responder, spec); });
  PairSizeOutcome outcome = run_initiator(initiator, spec);
  other.join();
  return outcome;
}

TEST(PairTest, LatencyVerifiesBothDirectionsAndTimesExactlyTheFixedCount) {
  const PairSizeOutcome outcome = run_pair(fixed_spec(TestKind::latency, 4096, 50));
  EXPECT_EQ(outcome.samples_s.size(), 50U);
  EXPECT_EQ(outcome.timed_iterations, 50U);
  EXPECT_EQ(outcome.warmup_iterations, 3U);
  EXPECT_EQ(outcome.stop_reason, StopReason::fixed);
  EXPECT_EQ(outcome.wrong_bytes, 0U);
  EXPECT_EQ(outcome.size_errors, 0U);
  EXPECT_EQ(outcome.verified_messages, 4U);  // 2 checks x 2 directions
  for (const double sample : outcome.samples_s) {
    EXPECT_GT(sample, 0);
  }
  // The batched mean: as many iterations as the fixed count, timed as one run.
  EXPECT_EQ(outcome.batch_mean_iterations, 50U);
  EXPECT_GT(outcome.batch_mean_s, 0);
}

TEST(PairTest, BandwidthVerifiesTheWindowAtTheReceiver) {
  const PairSizeOutcome outcome = run_pair(fixed_spec(TestKind::bw, 1000, 7));
  EXPECT_EQ(outcome.samples_s.size(), 7U);
  EXPECT_EQ(outcome.wrong_bytes, 0U);
  EXPECT_EQ(outcome.verified_messages, 8U);  // 2 checks x window 4, one direction
}

TEST(PairTest, BidirectionalVerifiesBothSides) {
  const PairSizeOutcome outcome = run_pair(fixed_spec(TestKind::bibw, 333, 5));
  EXPECT_EQ(outcome.wrong_bytes, 0U);
  EXPECT_EQ(outcome.verified_messages, 16U);
}

TEST(PairTest, CorruptedPayloadIsCountedOnEitherSide) {
  EXPECT_GT(
      run_pair(fixed_spec(TestKind::latency, 64, 5), DataOp::send, Fault::corrupt).wrong_bytes, 0U);
  EXPECT_GT(
      run_pair(fixed_spec(TestKind::latency, 64, 5), DataOp::send, Fault::none, Fault::corrupt)
          .wrong_bytes,
      0U);
  EXPECT_GT(run_pair(fixed_spec(TestKind::bw, 64, 5), DataOp::send, Fault::corrupt).wrong_bytes,
            0U);
}

TEST(PairTest, WrongLengthsAreCountedInTimedIterationsToo) {
  const PairSizeOutcome outcome =
      run_pair(fixed_spec(TestKind::bw, 64, 5), DataOp::send, Fault::shorten);
  // Every message of every window: 2 checks + 3 warm-up + 5 timed + 5 batched-mean windows of 4.
  EXPECT_EQ(outcome.batch_mean_iterations, 5U);
  EXPECT_EQ(outcome.size_errors, (2U + 3U + 5U + 5U) * 4U);
}

TEST(PairTest, ReadLatencyVerifiesTheResponderData) {
  const PairSizeOutcome outcome = run_pair(fixed_spec(TestKind::latency, 512, 5), DataOp::read);
  EXPECT_EQ(outcome.wrong_bytes, 0U);
  EXPECT_EQ(outcome.verified_messages, 2U);
  EXPECT_EQ(data_flows(TestKind::bw, DataOp::read).initiator_to_responder, false);
  EXPECT_EQ(data_flows(TestKind::bibw, DataOp::write).responder_to_initiator, true);
}

TEST(PairTest, AdaptiveSamplingStopsWithinTheBudget) {
  PairTestSpec spec = fixed_spec(TestKind::latency, 8, 0);
  spec.sampling = SamplingPolicy{};
  spec.sampling.min_iterations = 10;
  spec.sampling.max_iterations = 100000;
  spec.sampling.time_budget_s = 0.05;
  spec.sampling.target_precision = 1e-9;  // unreachable: the budget must stop it
  const PairSizeOutcome outcome = run_pair(spec);
  EXPECT_EQ(outcome.stop_reason, StopReason::time_budget);
  EXPECT_GE(outcome.samples_s.size(), 10U);
  double total = 0;
  for (const double sample : outcome.samples_s) {
    total += sample;
  }
  EXPECT_GE(total, 0.05);
  EXPECT_LT(total, 1.0);
  // The batched mean after it: no more iterations than samples, about a quarter of the budget.
  EXPECT_GE(outcome.batch_mean_iterations, 1U);
  EXPECT_LE(outcome.batch_mean_iterations, outcome.samples_s.size());
  EXPECT_LT(outcome.batch_mean_s * static_cast<double>(outcome.batch_mean_iterations), 0.5);
}

}  // namespace
}  // namespace preflight::p2p
