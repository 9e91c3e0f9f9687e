// What the two sides of a libfabric pair exchange besides the data: at bootstrap, the endpoint
// name with the remote-access descriptors of its data buffers (FabricEndpoint::local_address);
// during a write test, the message size in remote CQ data (write_size_cq_data, declared in
// fabric_transport.hpp, defined in fabric_wire.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace preflight::p2p {

struct PeerAddress {
  std::vector<std::byte> name;
  std::uint64_t send_address = 0;
  std::uint64_t send_key = 0;
  std::uint64_t recv_address = 0;
  std::uint64_t recv_key = 0;
};

// The name's length (32 bits), the name, then the four 64-bit fields in declaration order.
[[nodiscard]] std::vector<std::byte> encode_peer_address(const PeerAddress& address);
// Throws preflight::Error on a truncated address.
[[nodiscard]] PeerAddress decode_peer_address(std::span<const std::byte> bytes);

}  // namespace preflight::p2p
