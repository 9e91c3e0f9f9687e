// The MPI channel checks a ping-pong message's length off the round trip (the reply's while the
// next ping travels or when the errors are taken, the ping's after the reply is sent): every
// wrong length must still be counted exactly once, the last message's included, and a right one
// never. Rank 0 pings 8-byte messages; rank 1 answers each with its own pong size: 16 bytes (both
// sides see a wrong length every time), then 8 (none).
//
//   mpirun -np 2 p2p_mpi_channel_sizes      exit 0: counted right; 1: miscounted
#include <mpi.h>

#include <cstdint>
#include <cstdio>

#include "common/mpi.hpp"
#include "p2p/mpi_transport.hpp"

namespace {

constexpr int kMessages = 7;

// Runs kMessages round trips and returns the wrong lengths this side counted.
std::uint64_t round_trips(preflight::p2p::PairChannel& channel, int rank, std::size_t pong_bytes) {
  for (int i = 0; i < kMessages; ++i) {
    if (rank == 0) {
      channel.ping(8);
    } else {
      channel.pong(pong_bytes);
    }
  }
  return channel.take_size_errors();
}

}  // namespace

int main(int argc, char** argv) {
  const preflight::MpiSession session(&argc, &argv, MPI_THREAD_SINGLE);
  int rank = 0;
  int ranks = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  if (ranks != 2) {
    std::fprintf(stderr, "mpi_channel_sizes: needs exactly 2 ranks, got %d\n", ranks);
    return 2;
  }
  preflight::p2p::MpiTransport transport(64, 4);
  const auto channel = transport.open_channel(1 - rank, "peer");
  const std::uint64_t wrong = round_trips(*channel, rank, 16);
  const std::uint64_t right = round_trips(*channel, rank, 8);
  const bool ok = wrong == kMessages && right == 0;
  std::printf(
      "rank %d: %llu wrong lengths counted of %d mismatched messages, %llu of %d matching: %s\n",
      rank, static_cast<unsigned long long>(wrong), kMessages,
      static_cast<unsigned long long>(right), kMessages, ok ? "ok" : "MISCOUNTED");
  return ok ? 0 : 1;
}
