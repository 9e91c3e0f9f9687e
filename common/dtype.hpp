// Element types of benchmark buffers, named as nccl-tests names them (int8 uint8 int32 uint32
// int64 uint64 half bfloat16 float double), and exact conversions between float and the two
// 16-bit floating-point formats (IEEE binary16 "half" and bfloat16), done in software so that host
// code can fill and check buffers without CUDA's headers. Header-only.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace preflight {

enum class DataType { int8, uint8, int32, uint32, int64, uint64, half, bfloat16, float32, float64 };

inline constexpr std::array kAllDataTypes{
    DataType::int8,   DataType::uint8, DataType::int32,    DataType::uint32,  DataType::int64,
    DataType::uint64, DataType::half,  DataType::bfloat16, DataType::float32, DataType::float64};

[[nodiscard]] constexpr std::size_t element_bytes(DataType type) {
  switch (type) {
    case DataType::int8:
    case DataType::uint8:
      return 1;
    case DataType::half:
    case DataType::bfloat16:
      return 2;
    case DataType::int32:
    case DataType::uint32:
    case DataType::float32:
      return 4;
    case DataType::int64:
    case DataType::uint64:
    case DataType::float64:
      return 8;
  }
  return 1;
}

// nccl-tests' type names (the `type` column of its table).
[[nodiscard]] constexpr std::string_view to_string(DataType type) {
  switch (type) {
    case DataType::int8:
      return "int8";
    case DataType::uint8:
      return "uint8";
    case DataType::int32:
      return "int32";
    case DataType::uint32:
      return "uint32";
    case DataType::int64:
      return "int64";
    case DataType::uint64:
      return "uint64";
    case DataType::half:
      return "half";
    case DataType::bfloat16:
      return "bfloat16";
    case DataType::float32:
      return "float";
    case DataType::float64:
      return "double";
  }
  return "float";
}

// Accepts the nccl-tests names plus the aliases nccl-tests' -d also takes (char, int, uint,
// fp16, bf16, fp32, fp64, float16, float32, float64).
[[nodiscard]] constexpr std::optional<DataType> parse_data_type(std::string_view name) {
  struct Alias {
    std::string_view name;
    DataType type;
  };
  constexpr std::array kAliases{
      Alias{"int8", DataType::int8},         Alias{"char", DataType::int8},
      Alias{"uint8", DataType::uint8},       Alias{"int32", DataType::int32},
      Alias{"int", DataType::int32},         Alias{"uint32", DataType::uint32},
      Alias{"uint", DataType::uint32},       Alias{"int64", DataType::int64},
      Alias{"uint64", DataType::uint64},     Alias{"half", DataType::half},
      Alias{"fp16", DataType::half},         Alias{"float16", DataType::half},
      Alias{"bfloat16", DataType::bfloat16}, Alias{"bf16", DataType::bfloat16},
      Alias{"float", DataType::float32},     Alias{"fp32", DataType::float32},
      Alias{"float32", DataType::float32},   Alias{"double", DataType::float64},
      Alias{"fp64", DataType::float64},      Alias{"float64", DataType::float64},
  };
  for (const Alias& alias : kAliases) {
    if (alias.name == name) {
      return alias.type;
    }
  }
  return std::nullopt;
}

[[nodiscard]] constexpr bool is_floating_point(DataType type) {
  return type == DataType::half || type == DataType::bfloat16 || type == DataType::float32 ||
         type == DataType::float64;
}

[[nodiscard]] constexpr bool is_signed(DataType type) {
  return type != DataType::uint8 && type != DataType::uint32 && type != DataType::uint64;
}

// ---- binary16 / bfloat16 <-> float, round to nearest even ----

// binary16 bits of `value`, rounded to nearest, ties to even; overflow gives infinity, NaN stays
// NaN (quiet).
[[nodiscard]] constexpr std::uint16_t half_from_float(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint32_t>((bits >> 16U) & 0x8000U);
  const auto exponent = static_cast<int>((bits >> 23U) & 0xffU);
  std::uint32_t mantissa = bits & 0x7fffffU;
  if (exponent == 0xff) {
    return static_cast<std::uint16_t>(sign | 0x7c00U | (mantissa != 0 ? 0x200U : 0U));
  }
  const int half_exponent = exponent - 127 + 15;
  if (half_exponent >= 0x1f) {
    return static_cast<std::uint16_t>(sign | 0x7c00U);
  }
  if (half_exponent <= 0) {
    // Subnormal half (or zero): shift the full significand into place, rounding what falls off.
    if (half_exponent < -10) {
      return static_cast<std::uint16_t>(sign);
    }
    mantissa |= 0x800000U;
    const auto shift = static_cast<std::uint32_t>(14 - half_exponent);
    std::uint32_t result = mantissa >> shift;
    const std::uint32_t remainder = mantissa & ((1U << shift) - 1U);
    const std::uint32_t halfway = 1U << (shift - 1U);
    if (remainder > halfway || (remainder == halfway && (result & 1U) != 0)) {
      ++result;
    }
    return static_cast<std::uint16_t>(sign | result);
  }
  std::uint32_t result =
      sign | (static_cast<std::uint32_t>(half_exponent) << 10U) | (mantissa >> 13U);
  const std::uint32_t remainder = mantissa & 0x1fffU;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (remainder > 0x1000U || (remainder == 0x1000U && (result & 1U) != 0)) {
    ++result;
  }
  return static_cast<std::uint16_t>(result);
}

[[nodiscard]] inline float float_from_half(std::uint16_t half) {
  const std::uint32_t sign = (static_cast<std::uint32_t>(half) & 0x8000U) << 16U;
  const std::uint32_t exponent = (half >> 10U) & 0x1fU;
  const std::uint32_t mantissa = half & 0x3ffU;
  if (exponent == 0) {
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) {
    return std::bit_cast<float>(sign | 0x7f800000U | (mantissa << 13U));
  }
  return std::bit_cast<float>(sign | ((exponent - 15U + 127U) << 23U) | (mantissa << 13U));
}

[[nodiscard]] constexpr std::uint16_t bfloat16_from_float(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7f800000U) == 0x7f800000U && (bits & 0x7fffffU) != 0) {
    return static_cast<std::uint16_t>((bits >> 16U) | 0x40U);  // quiet NaN
  }
  const std::uint32_t rounding_bias = 0x7fffU + ((bits >> 16U) & 1U);
  return static_cast<std::uint16_t>((bits + rounding_bias) >> 16U);
}

[[nodiscard]] constexpr float float_from_bfloat16(std::uint16_t value) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16U);
}

}  // namespace preflight
