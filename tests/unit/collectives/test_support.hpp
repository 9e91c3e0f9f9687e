// Helpers shared by the collectives unit tests.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common/dtype.hpp"

namespace preflight::collectives::testing_support {

// A floating-point element as an integer, saturating: buffers poisoned before a run hold
// non-finite and extreme values, and converting those to an integer type directly is undefined
// behaviour (clang's UBSan reports it as float-cast-overflow).
inline std::int64_t saturating_int64(double value) {
  if (std::isnan(value)) {
    return 0;
  }
  // 2^63 is exactly representable as a double; INT64_MAX is not.
  constexpr double two_pow_63 = 9223372036854775808.0;
  if (value >= two_pow_63) {
    return std::numeric_limits<std::int64_t>::max();
  }
  if (value < -two_pow_63) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(value);
}

// One element as an exact integer (all check data is integer-valued).
inline std::int64_t decode_element(DataType dtype, const std::byte* data) {
  switch (dtype) {
    case DataType::int8: {
      std::int8_t v = 0;
      std::memcpy(&v, data, 1);
      return v;
    }
    case DataType::uint8: {
      std::uint8_t v = 0;
      std::memcpy(&v, data, 1);
      return v;
    }
    case DataType::int32: {
      std::int32_t v = 0;
      std::memcpy(&v, data, 4);
      return v;
    }
    case DataType::uint32: {
      std::uint32_t v = 0;
      std::memcpy(&v, data, 4);
      return v;
    }
    case DataType::int64: {
      std::int64_t v = 0;
      std::memcpy(&v, data, 8);
      return v;
    }
    case DataType::uint64: {
      std::uint64_t v = 0;
      std::memcpy(&v, data, 8);
      return static_cast<std::int64_t>(v);
    }
    case DataType::half: {
      std::uint16_t v = 0;
      std::memcpy(&v, data, 2);
      return saturating_int64(float_from_half(v));
    }
    case DataType::bfloat16: {
      std::uint16_t v = 0;
      std::memcpy(&v, data, 2);
      return saturating_int64(float_from_bfloat16(v));
    }
    case DataType::float32: {
      float v = 0;
      std::memcpy(&v, data, 4);
      return saturating_int64(v);
    }
    case DataType::float64: {
      double v = 0;
      std::memcpy(&v, data, 8);
      return saturating_int64(v);
    }
    case DataType::fp8_e4m3: {
      std::uint8_t v = 0;
      std::memcpy(&v, data, 1);
      return saturating_int64(float_from_fp8_e4m3(v));
    }
    case DataType::fp8_e5m2: {
      std::uint8_t v = 0;
      std::memcpy(&v, data, 1);
      return saturating_int64(float_from_fp8_e5m2(v));
    }
  }
  return 0;
}

}  // namespace preflight::collectives::testing_support
