// Where one rank's logical input and output sit in its two buffers, for one call. The NCCL
// backend follows NCCL's (and nccl-tests') in-place convention; MPI's differs in two places,
// noted below. Offsets and lengths are in bytes.
#pragma once

#include <cstddef>

#include "collectives/backend.hpp"

namespace preflight::collectives {

enum class Buffer { send, recv };

struct Region {
  Buffer buffer = Buffer::send;
  std::size_t offset_bytes = 0;
  std::size_t length_bytes = 0;
};

struct CallPlacement {
  Region input;   // where the call reads this rank's input
  Region output;  // where the call leaves this rank's result
  // Pointers the call is given: offsets into the send/recv buffers (in place: both recv).
  Region call_send;
  Region call_recv;
};

enum class Convention {
  nccl,  // in place: input at recv + rank * send_inplace_offset, output at
         // recv + rank * recv_inplace_offset (ncclAllGather, ncclReduceScatter)
  mpi,   // MPI_IN_PLACE: reduce_scatter leaves its result at the start of the receive buffer;
         // an out-of-place broadcast reads the root's send buffer and leaves the root's result
         // there (MPI_Bcast has one buffer, and a copy at the root would be timed)
};

[[nodiscard]] CallPlacement place_call(const CollectiveCall& call, int rank, Convention convention);

}  // namespace preflight::collectives
