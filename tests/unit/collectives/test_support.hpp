// Helpers shared by the collectives unit tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/dtype.hpp"

namespace preflight::collectives::testing_support {

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
      return static_cast<std::int64_t>(float_from_half(v));
    }
    case DataType::bfloat16: {
      std::uint16_t v = 0;
      std::memcpy(&v, data, 2);
      return static_cast<std::int64_t>(float_from_bfloat16(v));
    }
    case DataType::float32: {
      float v = 0;
      std::memcpy(&v, data, 4);
      return static_cast<std::int64_t>(v);
    }
    case DataType::float64: {
      double v = 0;
      std::memcpy(&v, data, 8);
      return static_cast<std::int64_t>(v);
    }
  }
  return 0;
}

}  // namespace preflight::collectives::testing_support
