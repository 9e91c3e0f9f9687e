// Element types of benchmark buffers, named as nccl-tests names them (int8 uint8 int32 uint32
// int64 uint64 half bfloat16 float double f8e4m3 f8e5m2), and exact conversions between float and
// the 16-bit (IEEE binary16 "half", bfloat16) and 8-bit (OCP FP8 E4M3 and E5M2, as NCCL >= 2.24
// and CUDA's __nv_fp8_* define them) floating-point formats, done in software so that host code
// can fill and check buffers without CUDA's headers. Header-only.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace preflight {

enum class DataType {
  int8,
  uint8,
  int32,
  uint32,
  int64,
  uint64,
  half,
  bfloat16,
  float32,
  float64,
  fp8_e4m3,
  fp8_e5m2
};

// What `--dtype all` means: every type but FP8, which only NCCL >= 2.24 has (name it explicitly).
inline constexpr std::array kAllDataTypes{
    DataType::int8,   DataType::uint8, DataType::int32,    DataType::uint32,  DataType::int64,
    DataType::uint64, DataType::half,  DataType::bfloat16, DataType::float32, DataType::float64};

[[nodiscard]] constexpr bool is_fp8(DataType type) {
  return type == DataType::fp8_e4m3 || type == DataType::fp8_e5m2;
}

[[nodiscard]] constexpr std::size_t element_bytes(DataType type) {
  switch (type) {
    case DataType::int8:
    case DataType::uint8:
    case DataType::fp8_e4m3:
    case DataType::fp8_e5m2:
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
    case DataType::fp8_e4m3:
      return "f8e4m3";
    case DataType::fp8_e5m2:
      return "f8e5m2";
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
      Alias{"f8e4m3", DataType::fp8_e4m3},   Alias{"fp8_e4m3", DataType::fp8_e4m3},
      Alias{"e4m3", DataType::fp8_e4m3},     Alias{"f8e5m2", DataType::fp8_e5m2},
      Alias{"fp8_e5m2", DataType::fp8_e5m2}, Alias{"e5m2", DataType::fp8_e5m2},
  };
  for (const Alias& alias : kAliases) {
    if (alias.name == name) {
      return alias.type;
    }
  }
  return std::nullopt;
}

// The element size of a type as nccl-tests prints or takes its name (every name and alias above,
// and "fp8" of builds that printed one name for both FP8 formats); 0 when unknown.
[[nodiscard]] constexpr std::size_t printed_type_bytes(std::string_view name) {
  if (const auto type = parse_data_type(name)) {
    return element_bytes(*type);
  }
  return name == "fp8" ? 1 : 0;
}

[[nodiscard]] constexpr bool is_floating_point(DataType type) {
  return type == DataType::half || type == DataType::bfloat16 || type == DataType::float32 ||
         type == DataType::float64 || is_fp8(type);
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

// ---- FP8 (E4M3: bias 7, no infinity, S.1111.111 is NaN, largest 448; E5M2: bias 15, IEEE-like
// with infinity) <-> float, round to nearest even; E4M3 saturates to +-448, E5M2 overflows to
// infinity, NaN stays NaN ----

namespace detail {
template <int ExponentBits, int MantissaBits>
[[nodiscard]] inline std::uint8_t fp8_from_float(float value) {
  constexpr bool kIsE4m3 = ExponentBits == 4;
  constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
  constexpr int kMantissaSteps = 1 << MantissaBits;
  const std::uint8_t sign = std::signbit(value) ? 0x80U : 0x00U;
  if (std::isnan(value)) {
    return static_cast<std::uint8_t>(sign | 0x7fU);  // NaN in both formats
  }
  const float magnitude = std::fabs(value);
  const int largest_exponent = kIsE4m3 ? 15 : 30;  // E5M2's 31 holds infinity and NaN
  const int largest_mantissa = kIsE4m3 ? 6 : kMantissaSteps - 1;
  const auto overflow = [&] {
    return static_cast<std::uint8_t>(
        sign | (kIsE4m3 ? (0x0fU << 3U) | 6U : 0x1fU << MantissaBits));  // 448 or infinity
  };
  if (std::isinf(magnitude)) {
    return overflow();
  }
  int exponent = 0;
  (void)std::frexp(magnitude, &exponent);  // magnitude = f * 2^exponent, f in [0.5, 1)
  int biased = exponent - 1 + kBias;
  if (magnitude == 0.0F || biased < 1) {
    // Subnormal: a multiple of 2^(1 - kBias - MantissaBits); a carry into 2^MantissaBits is the
    // smallest normal number, which the same bit pattern encodes.
    const auto steps =
        static_cast<unsigned>(std::nearbyint(std::ldexp(magnitude, kBias - 1 + MantissaBits)));
    return static_cast<std::uint8_t>(sign | steps);
  }
  auto fraction = static_cast<int>(
      std::nearbyint(std::ldexp(magnitude, -(exponent - 1)) * kMantissaSteps - kMantissaSteps));
  if (fraction == kMantissaSteps) {
    fraction = 0;
    ++biased;
  }
  if (biased > largest_exponent || (biased == largest_exponent && fraction > largest_mantissa)) {
    return overflow();
  }
  return static_cast<std::uint8_t>(sign | (static_cast<unsigned>(biased) << MantissaBits) |
                                   static_cast<unsigned>(fraction));
}
}  // namespace detail

[[nodiscard]] inline std::uint8_t fp8_e4m3_from_float(float value) {
  return detail::fp8_from_float<4, 3>(value);
}
[[nodiscard]] inline std::uint8_t fp8_e5m2_from_float(float value) {
  return detail::fp8_from_float<5, 2>(value);
}

[[nodiscard]] inline float float_from_fp8_e4m3(std::uint8_t value) {
  const bool negative = (value & 0x80U) != 0;
  const unsigned exponent = (value >> 3U) & 0x0fU;
  const unsigned mantissa = value & 0x07U;
  float magnitude = 0;
  if (exponent == 0x0f && mantissa == 0x07) {
    magnitude = std::numeric_limits<float>::quiet_NaN();
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -9);
  } else {
    magnitude =
        std::ldexp(1.0F + static_cast<float>(mantissa) / 8.0F, static_cast<int>(exponent) - 7);
  }
  return negative ? -magnitude : magnitude;
}

[[nodiscard]] inline float float_from_fp8_e5m2(std::uint8_t value) {
  // E5M2 is the upper byte of an IEEE binary16.
  return float_from_half(static_cast<std::uint16_t>(static_cast<unsigned>(value) << 8U));
}

}  // namespace preflight
