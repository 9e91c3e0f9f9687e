#include <gtest/gtest.h>

#include <vector>

#include "p2p/buffers.hpp"

namespace preflight::p2p {
namespace {

TEST(Payload, FillsAndVerifiesEveryLengthExactly) {
  for (const std::size_t length : {0U, 1U, 7U, 8U, 9U, 63U, 4096U, 4099U}) {
    std::vector<std::byte> bytes(length);
    const std::uint64_t seed = payload_seed(length, 3, 0);
    fill_payload(bytes, seed);
    EXPECT_EQ(count_payload_mismatches(bytes, seed), 0U) << length;
    fill_poison(bytes, seed);
    EXPECT_EQ(count_payload_mismatches(bytes, seed), length) << "poison differs in every byte";
  }
}

TEST(Payload, SeedsDependOnSizeIterationAndDirection) {
  const std::uint64_t base = payload_seed(4096, 0, 0);
  EXPECT_NE(base, payload_seed(4096, 1, 0));
  EXPECT_NE(base, payload_seed(4096, 0, 1));
  EXPECT_NE(base, payload_seed(2048, 0, 0));
  std::vector<std::byte> bytes(4096);
  fill_payload(bytes, base);
  EXPECT_GT(count_payload_mismatches(bytes, payload_seed(4096, 1, 0)), 4000U);
}

TEST(Payload, CountsSingleWrongBytes) {
  std::vector<std::byte> bytes(1000);
  const std::uint64_t seed = payload_seed(1000, 0, 0);
  fill_payload(bytes, seed);
  bytes[0] ^= std::byte{1};
  bytes[999] ^= std::byte{0x80};
  EXPECT_EQ(count_payload_mismatches(bytes, seed), 2U);
}

TEST(MessageBuffer, HostBufferIsPageAlignedAndVerifies) {
  MessageBuffer buffer(MemoryKind::host, 10000);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(buffer.data()) % 4096, 0U);
  EXPECT_EQ(buffer.bytes(), 10000U);
  buffer.fill_payload(5000, 11);
  EXPECT_EQ(buffer.count_mismatches(5000, 11), 0U);
  buffer.fill_poison(5000, 11);
  EXPECT_EQ(buffer.count_mismatches(5000, 11), 5000U);
  EXPECT_EQ(to_string(MemoryKind::cuda), "cuda");
}

}  // namespace
}  // namespace preflight::p2p
