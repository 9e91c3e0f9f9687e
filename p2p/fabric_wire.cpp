#include "p2p/fabric_wire.hpp"

#include <cstring>

#include "common/error.hpp"
#include "p2p/fabric_transport.hpp"

namespace preflight::p2p {
namespace {

template <typename T>
void append_value(std::vector<std::byte>& out, const T& value) {
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);  // NOLINT
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

template <typename T>
T read_value(std::span<const std::byte> in, std::size_t& offset) {
  if (offset + sizeof(T) > in.size()) {
    throw Error("preflight", "address exchange", "libfabric", "truncated peer address", 0);
  }
  T value{};
  std::memcpy(&value, in.data() + offset, sizeof(T));
  offset += sizeof(T);
  return value;
}

}  // namespace

std::vector<std::byte> encode_peer_address(const PeerAddress& address) {
  std::vector<std::byte> out;
  append_value(out, static_cast<std::uint32_t>(address.name.size()));
  out.insert(out.end(), address.name.begin(), address.name.end());
  append_value(out, address.send_address);
  append_value(out, address.send_key);
  append_value(out, address.recv_address);
  append_value(out, address.recv_key);
  return out;
}

PeerAddress decode_peer_address(std::span<const std::byte> bytes) {
  PeerAddress address;
  std::size_t offset = 0;
  const auto name_length = read_value<std::uint32_t>(bytes, offset);
  if (offset + name_length > bytes.size()) {
    throw Error("preflight", "address exchange", "libfabric", "truncated peer address", 0);
  }
  address.name.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                      bytes.begin() + static_cast<std::ptrdiff_t>(offset + name_length));
  offset += name_length;
  address.send_address = read_value<std::uint64_t>(bytes, offset);
  address.send_key = read_value<std::uint64_t>(bytes, offset);
  address.recv_address = read_value<std::uint64_t>(bytes, offset);
  address.recv_key = read_value<std::uint64_t>(bytes, offset);
  return address;
}

std::uint64_t write_size_cq_data(std::uint64_t bytes, std::size_t cq_data_bytes) {
  if (cq_data_bytes >= sizeof(std::uint64_t)) {
    return bytes;
  }
  return cq_data_bytes == 0 ? 0 : bytes & ((std::uint64_t{1} << (8 * cq_data_bytes)) - 1);
}

bool write_size_matches(std::uint64_t cq_data, std::uint64_t expected_bytes,
                        std::size_t cq_data_bytes) {
  return write_size_cq_data(cq_data, cq_data_bytes) ==
         write_size_cq_data(expected_bytes, cq_data_bytes);
}

}  // namespace preflight::p2p
