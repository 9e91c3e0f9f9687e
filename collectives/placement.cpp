#include "collectives/placement.hpp"

namespace preflight::collectives {

CallPlacement place_call(const CollectiveCall& call, int rank, Convention convention) {
  const CollectiveLayout& layout = call.layout;
  const std::size_t element = layout.element_bytes;
  const std::size_t input_bytes = layout.send_count * element;
  const std::size_t output_bytes = layout.recv_count * element;
  const auto r = static_cast<std::size_t>(rank);
  CallPlacement placement;
  if (!call.in_place) {
    placement.input = {Buffer::send, 0, input_bytes};
    placement.output = {Buffer::recv, 0, output_bytes};
    if (convention == Convention::mpi && call.kind == CollectiveKind::broadcast &&
        rank == call.root) {
      placement.output = {Buffer::send, 0, output_bytes};
    }
  } else {
    placement.input = {Buffer::recv, r * layout.send_inplace_offset * element, input_bytes};
    placement.output = {Buffer::recv, r * layout.recv_inplace_offset * element, output_bytes};
    if (convention == Convention::mpi && call.kind == CollectiveKind::reduce_scatter) {
      placement.output.offset_bytes = 0;
    }
  }
  placement.call_send = placement.input;
  placement.call_recv = placement.output;
  return placement;
}

}  // namespace preflight::collectives
