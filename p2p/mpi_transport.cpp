#include "p2p/mpi_transport.hpp"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace preflight::p2p {
namespace {

constexpr int kTagPingPong = 101;
constexpr int kTagWindow = 102;
constexpr int kTagAck = 103;
constexpr int kTagControl = 104;

class MpiChannel final : public PairChannel {
 public:
  MpiChannel(MPI_Comm comm, int peer, std::string label, MessageBuffer& send_buffer,
             MessageBuffer& recv_buffer, int max_window)
      : comm_(comm),
        peer_(peer),
        label_(std::move(label)),
        send_buffer_(send_buffer),
        recv_buffer_(recv_buffer),
        requests_(static_cast<std::size_t>(2 * max_window)),
        statuses_(requests_.size()) {}

  [[nodiscard]] DataOp op() const override { return DataOp::send; }
  [[nodiscard]] MessageBuffer& send_buffer() override { return send_buffer_; }
  [[nodiscard]] MessageBuffer& recv_buffer() override { return recv_buffer_; }

  // A ping-pong message's length is checked off the round trip: the reply's while the next ping
  // is on its way (or when the errors are taken), the ping's after the reply is sent. Checked
  // between the receive and the send (or the clock reading), MPI_Get_count added about 5 ns to
  // each one-way time of an 8-byte message, 4% of it.
  void ping(std::size_t bytes) override {
    send(send_buffer_.data(), bytes, kTagPingPong);
    check_pending_size();
    receive_pending(bytes, kTagPingPong);
  }

  void pong(std::size_t bytes) override {
    receive_pending(bytes, kTagPingPong);
    send(send_buffer_.data(), bytes, kTagPingPong);
    check_pending_size();
  }

  void send_window(std::size_t bytes, int window) override {
    for (int i = 0; i < window; ++i) {
      check(MPI_Isend(send_buffer_.data(), count_of(bytes), MPI_BYTE, peer_, kTagWindow, comm_,
                      &requests_[static_cast<std::size_t>(i)]),
            "MPI_Isend", bytes);
    }
    wait_all(window);
    std::array<char, 1> ack{};
    MPI_Status status;
    check(MPI_Recv(ack.data(), 1, MPI_BYTE, peer_, kTagAck, comm_, &status), "MPI_Recv", 1);
  }

  void recv_window(std::size_t bytes, int window) override {
    post_receives(window);
    wait_all(window);
    count_sizes(0, window, bytes);
    std::array<char, 1> ack{};
    check(MPI_Send(ack.data(), 1, MPI_BYTE, peer_, kTagAck, comm_), "MPI_Send", 1);
  }

  void exchange_window(std::size_t bytes, int window) override {
    post_receives(window);
    for (int i = 0; i < window; ++i) {
      check(MPI_Isend(send_buffer_.data(), count_of(bytes), MPI_BYTE, peer_, kTagWindow, comm_,
                      &requests_[static_cast<std::size_t>(window + i)]),
            "MPI_Isend", bytes);
    }
    wait_all(2 * window);
    count_sizes(0, window, bytes);
  }

  void send_control(const ControlMessage& message) override {
    check(MPI_Send(&message, sizeof(message), MPI_BYTE, peer_, kTagControl, comm_), "MPI_Send",
          sizeof(message));
  }

  [[nodiscard]] ControlMessage recv_control() override {
    ControlMessage message;
    MPI_Status status;
    check(MPI_Recv(&message, sizeof(message), MPI_BYTE, peer_, kTagControl, comm_, &status),
          "MPI_Recv", sizeof(message));
    return message;
  }

  [[nodiscard]] std::uint64_t take_size_errors() override {
    check_pending_size();
    return std::exchange(size_errors_, 0);
  }
  [[nodiscard]] bool checks_sizes() const override { return true; }

 private:
  static int count_of(std::size_t bytes) { return static_cast<int>(bytes); }

  // The message is formatted only on failure: this runs twice per timed iteration.
  void check(int result, std::string_view call, std::size_t bytes) const {
    if (result != MPI_SUCCESS) [[unlikely]] {
      check_mpi(result, call, fmt::format("{} bytes with {}", bytes, label_));
    }
  }

  void send(const void* data, std::size_t bytes, int tag) {
    check(MPI_Send(data, count_of(bytes), MPI_BYTE, peer_, tag, comm_), "MPI_Send", bytes);
  }

  // Receives into the whole buffer, so a longer message is a counted size error, not a
  // truncation error; its length is checked by check_pending_size() (before the next receive at
  // the latest).
  void receive_pending(std::size_t bytes, int tag) {
    check_pending_size();
    check(MPI_Recv(recv_buffer_.data(), count_of(recv_buffer_.bytes()), MPI_BYTE, peer_, tag, comm_,
                   &pending_status_),
          "MPI_Recv", bytes);
    pending_bytes_ = bytes;
    size_pending_ = true;
  }

  void check_pending_size() {
    if (size_pending_) {
      size_pending_ = false;
      count_size(pending_status_, pending_bytes_);
    }
  }

  void post_receives(int window) {
    for (int i = 0; i < window; ++i) {
      check(MPI_Irecv(recv_buffer_.data(), count_of(recv_buffer_.bytes()), MPI_BYTE, peer_,
                      kTagWindow, comm_, &requests_[static_cast<std::size_t>(i)]),
            "MPI_Irecv", recv_buffer_.bytes());
    }
  }

  void wait_all(int count) {
    check(MPI_Waitall(count, requests_.data(), statuses_.data()), "MPI_Waitall",
          static_cast<std::size_t>(count));
  }

  void count_sizes(int first, int count, std::size_t bytes) {
    for (int i = first; i < first + count; ++i) {
      count_size(statuses_[static_cast<std::size_t>(i)], bytes);
    }
  }

  void count_size(const MPI_Status& status, std::size_t bytes) {
    int received = -1;
    MPI_Get_count(&status, MPI_BYTE, &received);
    if (received != count_of(bytes)) {
      ++size_errors_;
    }
  }

  MPI_Comm comm_;
  int peer_;
  std::string label_;
  MessageBuffer& send_buffer_;
  MessageBuffer& recv_buffer_;
  std::vector<MPI_Request> requests_;
  std::vector<MPI_Status> statuses_;
  std::uint64_t size_errors_ = 0;
  MPI_Status pending_status_{};  // the last ping-pong receive, its length not yet checked
  std::size_t pending_bytes_ = 0;
  bool size_pending_ = false;
};

}  // namespace

MpiTransport::MpiTransport(std::size_t max_message_bytes, int max_window)
    : send_buffer_(MemoryKind::host, max_message_bytes),
      recv_buffer_(MemoryKind::host, max_message_bytes),
      max_window_(max_window) {
  if (max_message_bytes > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw UsageError("--sizes: MPI counts are int; the largest size must be below 2 GiB");
  }
  MPI_Comm duplicate = MPI_COMM_NULL;
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &duplicate), "MPI_Comm_dup", "p2p");
  comm_ = MpiCommunicator(duplicate);
  check_mpi(MPI_Comm_set_errhandler(duplicate, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
            "p2p comm");
  std::array<char, MPI_MAX_LIBRARY_VERSION_STRING> version{};
  int length = 0;
  if (MPI_Get_library_version(version.data(), &length) == MPI_SUCCESS) {
    library_version_.assign(version.data(), static_cast<std::size_t>(length));
    library_version_ = library_version_.substr(0, library_version_.find_first_of("\n,"));
  }
}

std::unique_ptr<PairChannel> MpiTransport::open_channel(int peer_rank, const std::string& label) {
  return std::make_unique<MpiChannel>(comm_.get(), peer_rank, label, send_buffer_, recv_buffer_,
                                      max_window_);
}

}  // namespace preflight::p2p
