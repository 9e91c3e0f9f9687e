#include "collectives/expected.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

namespace preflight::collectives {
namespace {

// Largest integer every partial sum may reach while staying exact in the type (a little below
// the type's maximum for 8-bit integers, so that the poison value is never a correct result).
std::int64_t exact_sum_limit(DataType dtype) {
  switch (dtype) {
    case DataType::int8:
      return 126;
    case DataType::uint8:
      return 254;
    case DataType::half:
      return 2048;
    case DataType::bfloat16:
      return 256;
    case DataType::fp8_e4m3:
      return 16;
    case DataType::fp8_e5m2:
      return 8;
    case DataType::int32:
    case DataType::uint32:
      return std::int64_t{1} << 30;
    case DataType::float32:
      return std::int64_t{1} << 24;
    case DataType::int64:
    case DataType::uint64:
    case DataType::float64:
      return std::int64_t{1} << 50;
  }
  return 126;
}

// Largest power of two a product may reach (int8 holds 64, not 128; half holds 2^15).
int max_power_of_two(DataType dtype) {
  switch (dtype) {
    case DataType::int8:
      return 6;
    case DataType::uint8:
      return 7;
    case DataType::half:
    case DataType::fp8_e5m2:
      return 15;
    case DataType::fp8_e4m3:
      return 8;
    case DataType::int32:
      return 30;
    case DataType::uint32:
      return 31;
    default:
      return 62;  // fits the int64 the values are computed in
  }
}

// Modulus of the min/max and data-movement patterns: a prime whose values stay exact.
std::int64_t pattern_modulus(DataType dtype) {
  switch (dtype) {
    case DataType::int8:
      return 127;
    case DataType::uint8:
    case DataType::bfloat16:
      return 251;
    case DataType::half:
      return 2039;
    case DataType::fp8_e4m3:
      return 17;  // -8 .. 8
    case DataType::fp8_e5m2:
      return 7;  // -3 .. 3
    default:
      return 65521;
  }
}

// Variety of the dense sum pattern when the range allows it.
constexpr std::int64_t kDenseSumModulus = 61;

// Values h(k) = k (k < M) over keys mod P, such that n consecutive keys sum to at most `bound`.
ReferenceData::Pattern sum_pattern(int ranks, std::int64_t bound) {
  const std::int64_t n = ranks;
  ReferenceData::Pattern pattern;
  if (bound >= n * (kDenseSumModulus - 1)) {
    pattern.modulus = kDenseSumModulus;
    pattern.period = static_cast<std::uint64_t>(kDenseSumModulus);
  } else if (bound >= n) {
    pattern.modulus = bound / n + 1;
    pattern.period = static_cast<std::uint64_t>(pattern.modulus);
  } else {
    // More ranks than the range holds: 0/1 inputs, a 1 on every P-th key, at most `bound` ones.
    pattern.modulus = 2;
    pattern.period = static_cast<std::uint64_t>((n + bound - 1) / bound);
  }
  return pattern;
}

std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

void encode_element(DataType dtype, std::int64_t value, std::byte* out) {
  switch (dtype) {
    case DataType::int8: {
      const auto v = static_cast<std::int8_t>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::uint8: {
      const auto v = static_cast<std::uint8_t>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::int32: {
      const auto v = static_cast<std::int32_t>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::uint32: {
      const auto v = static_cast<std::uint32_t>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::int64: {
      std::memcpy(out, &value, sizeof value);
      return;
    }
    case DataType::uint64: {
      const auto v = static_cast<std::uint64_t>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::half: {
      const std::uint16_t v = half_from_float(static_cast<float>(value));
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::bfloat16: {
      const std::uint16_t v = bfloat16_from_float(static_cast<float>(value));
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::float32: {
      const auto v = static_cast<float>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::float64: {
      const auto v = static_cast<double>(value);
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::fp8_e4m3: {
      const std::uint8_t v = fp8_e4m3_from_float(static_cast<float>(value));
      std::memcpy(out, &v, sizeof v);
      return;
    }
    case DataType::fp8_e5m2: {
      const std::uint8_t v = fp8_e5m2_from_float(static_cast<float>(value));
      std::memcpy(out, &v, sizeof v);
      return;
    }
  }
}

ReferenceData::ReferenceData(CollectiveKind kind, DataType dtype, ReduceOp op, int ranks, int root)
    : kind_(kind),
      dtype_(dtype),
      op_(collective_info(kind).reduces ? op : ReduceOp::none),
      ranks_(ranks),
      root_(root) {
  if (ranks < 1) {
    throw std::invalid_argument("ReferenceData: at least one rank");
  }
  const std::int64_t n = ranks;
  const std::int64_t limit = exact_sum_limit(dtype);
  switch (op_) {
    case ReduceOp::sum:
      pattern_ = sum_pattern(ranks, limit);
      break;
    case ReduceOp::avg:
      if (is_fp8(dtype) && (n & (n - 1)) != 0) {
        inexact_ = fmt::format(
            "avg in {} is checked only over a power-of-two rank count: NCCL scales each input by "
            "1/{} in the 8-bit type first, which rounds",
            to_string(dtype), ranks);
        pattern_ = sum_pattern(ranks, 1);
      } else if (n > limit) {
        inexact_ = fmt::format(
            "avg over {} ranks cannot be exact in {}: the sum of one unit per rank already "
            "exceeds its exact integer range ({})",
            ranks, to_string(dtype), limit);
        pattern_ = sum_pattern(ranks, 1);
      } else {
        pattern_ = sum_pattern(ranks, limit / n);
      }
      pattern_.scale = n;
      break;
    case ReduceOp::prod:
      pattern_.period =
          std::max<std::uint64_t>(2, ceil_div(static_cast<std::uint64_t>(n),
                                              static_cast<std::uint64_t>(max_power_of_two(dtype))));
      break;
    case ReduceOp::min:
    case ReduceOp::max:
    case ReduceOp::none:
      pattern_.modulus = pattern_modulus(dtype);
      pattern_.period = static_cast<std::uint64_t>(pattern_.modulus);
      pattern_.offset = is_signed(dtype) ? pattern_.modulus / 2 : 0;
      break;
  }
}

std::int64_t ReferenceData::reduction_input(int rank, std::uint64_t global_index) const {
  const std::uint64_t key = (static_cast<std::uint64_t>(rank) + global_index) % pattern_.period;
  switch (op_) {
    case ReduceOp::sum:
    case ReduceOp::avg: {
      const auto k = static_cast<std::int64_t>(key);
      return (k < pattern_.modulus ? k : 0) * pattern_.scale;
    }
    case ReduceOp::prod:
      return key == 0 ? 2 : 1;
    case ReduceOp::min:
    case ReduceOp::max:
    case ReduceOp::none:
      return static_cast<std::int64_t>(key) - pattern_.offset;
  }
  return 0;
}

std::int64_t ReferenceData::reduced(std::uint64_t global_index) const {
  const auto n = static_cast<std::uint64_t>(ranks_);
  const std::uint64_t period = pattern_.period;
  const std::uint64_t first = global_index % period;  // keys first .. first + n - 1 (mod P)
  switch (op_) {
    case ReduceOp::sum:
    case ReduceOp::avg: {
      // Sum of h over keys [0, x): whole periods plus a partial one.
      const auto m = static_cast<std::uint64_t>(pattern_.modulus);
      const auto prefix = [&](std::uint64_t x) -> std::uint64_t {
        const std::uint64_t partial = std::min(x % period, m);
        return (x / period) * (m * (m - 1) / 2) + partial * (partial - (partial > 0 ? 1 : 0)) / 2;
      };
      // The average of ranks * h over the ranks is the plain sum of h.
      return static_cast<std::int64_t>(prefix(first + n) - prefix(first));
    }
    case ReduceOp::prod: {
      const std::uint64_t twos = ceil_div(first + n, period) - ceil_div(first, period);
      return std::int64_t{1} << twos;
    }
    case ReduceOp::min:
    case ReduceOp::max: {
      std::int64_t low = 0;
      std::int64_t high = pattern_.modulus - 1;
      if (n < period && first + n - 1 < period) {  // the window does not wrap
        low = static_cast<std::int64_t>(first);
        high = static_cast<std::int64_t>(first + n - 1);
      }
      return (op_ == ReduceOp::min ? low : high) - pattern_.offset;
    }
    case ReduceOp::none:
      break;
  }
  throw std::logic_error("reduced() of a data-movement collective");
}

std::int64_t ReferenceData::movement_value(int rank, std::uint64_t index) const {
  const std::uint64_t key = (index + 7 * static_cast<std::uint64_t>(rank)) % pattern_.period;
  return static_cast<std::int64_t>(key) - pattern_.offset;
}

std::int64_t ReferenceData::input_value(int rank, std::uint64_t index,
                                        const CollectiveLayout& /*layout*/) const {
  if (op_ != ReduceOp::none) {
    return reduction_input(rank, index);
  }
  return movement_value(rank, index);
}

std::int64_t ReferenceData::expected_value(int rank, std::uint64_t index,
                                           const CollectiveLayout& layout) const {
  const std::uint64_t chunk = layout.param_count;
  switch (kind_) {
    case CollectiveKind::all_reduce:
      return reduced(index);
    case CollectiveKind::reduce_scatter:
      return reduced(static_cast<std::uint64_t>(rank) * chunk + index);
    case CollectiveKind::all_gather:
      return movement_value(static_cast<int>(index / chunk), index % chunk);
    case CollectiveKind::broadcast:
      return movement_value(root_, index);
    case CollectiveKind::alltoall: {
      const auto source = static_cast<int>(index / chunk);
      return movement_value(source, static_cast<std::uint64_t>(rank) * chunk + index % chunk);
    }
  }
  return 0;
}

void ReferenceData::fill_input(int rank, const CollectiveLayout& layout,
                               std::span<std::byte> out) const {
  const std::size_t size = element_bytes(dtype_);
  if (out.size() < layout.send_count * size) {
    throw std::invalid_argument("fill_input: buffer smaller than the input");
  }
  for (std::uint64_t i = 0; i < layout.send_count; ++i) {
    encode_element(dtype_, input_value(rank, i, layout), out.data() + i * size);
  }
}

void ReferenceData::fill_poison(std::span<std::byte> out) const {
  const std::size_t size = element_bytes(dtype_);
  std::array<std::byte, 8> poison{};
  if (is_signed(dtype_) && !is_floating_point(dtype_)) {
    std::memset(poison.data(), 0, size);
    poison[size - 1] = std::byte{0x80};  // the minimum, little-endian
  } else {
    poison.fill(std::byte{0xff});  // NaN in every floating-point format; an unsigned maximum
  }
  for (std::size_t offset = 0; offset + size <= out.size(); offset += size) {
    std::memcpy(out.data() + offset, poison.data(), size);
  }
}

std::uint64_t ReferenceData::count_wrong(int rank, const CollectiveLayout& layout,
                                         std::span<const std::byte> actual) const {
  const std::size_t size = element_bytes(dtype_);
  if (actual.size() < layout.recv_count * size) {
    throw std::invalid_argument("count_wrong: buffer smaller than the output");
  }
  std::uint64_t wrong = 0;
  std::array<std::byte, 8> expected{};
  for (std::uint64_t i = 0; i < layout.recv_count; ++i) {
    encode_element(dtype_, expected_value(rank, i, layout), expected.data());
    if (std::memcmp(expected.data(), actual.data() + i * size, size) != 0) {
      ++wrong;
    }
  }
  return wrong;
}

}  // namespace preflight::collectives
