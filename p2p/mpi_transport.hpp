// MPI transport (built with PREFLIGHT_WITH_MPI): host memory, MPI_Send/MPI_Recv for the
// ping-pong, a window of MPI_Isend (MPI_Irecv at the receiver) then a 1-byte ack for bandwidth,
// as OSU's osu_latency / osu_bw / osu_bibw. Errors are returned, not fatal (the communicator is
// a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN), and name the call and the peer.
#pragma once

#include <memory>
#include <string>

#include "common/mpi.hpp"
#include "p2p/channel.hpp"

namespace preflight::p2p {

class MpiTransport {
 public:
  MpiTransport(std::size_t max_message_bytes, int max_window);
  [[nodiscard]] std::unique_ptr<PairChannel> open_channel(int peer_rank, const std::string& label);
  // MPI_Get_library_version's first line, e.g. "Open MPI v4.1.4, ...".
  [[nodiscard]] const std::string& library_version() const { return library_version_; }

 private:
  MpiCommunicator comm_;
  MessageBuffer send_buffer_;
  MessageBuffer recv_buffer_;
  int max_window_;
  std::string library_version_;
};

}  // namespace preflight::p2p
