// Helpers shared by the collectives unit tests.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "collectives/backend.hpp"
#include "collectives/expected.hpp"
#include "collectives/options.hpp"
#include "domain/dtype.hpp"

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

// A small sweep of `kind` for the runner tests: three sizes, three types, every op, one warm-up
// call; each test sets the iteration counts and timing it looks at.
inline CollectiveOptions small_sweep(CollectiveKind kind) {
  CollectiveOptions options;
  options.collective = kind;
  options.common.deterministic = true;
  options.sizes_spec = "8,1000,4K";
  options.sizes_bytes = {8, 1000, 4096};
  options.dtypes = {DataType::int8, DataType::half, DataType::float32};
  options.ops = collective_info(kind).reduces
                    ? std::vector<ReduceOp>(kReductionOps.begin(), kReductionOps.end())
                    : std::vector<ReduceOp>{ReduceOp::none};
  options.sampling.warmup_iterations = 1;
  options.argv = {"preflight-test"};
  return options;
}

// One checked call of `call` (already prepared on `backend`, a single rank): the input written,
// the output poisoned, `run` (a call, a batch), the output read back; the wrong elements.
template <typename Run>
std::uint64_t wrong_elements_after(CollectiveBackend& backend, const CollectiveCall& call,
                                   const Run& run) {
  const ReferenceData reference(call.kind, call.dtype, call.op, 1, call.root);
  const std::size_t element = element_bytes(call.dtype);
  std::vector<std::byte> input(call.layout.send_count * element);
  std::vector<std::byte> output(call.layout.recv_count * element);
  reference.fill_input(0, call.layout, input);
  reference.fill_poison(output);
  backend.write_output(output);
  backend.write_input(input);
  run();
  backend.read_output(output);
  return reference.count_wrong(0, call.layout, output);
}

}  // namespace preflight::collectives::testing_support
