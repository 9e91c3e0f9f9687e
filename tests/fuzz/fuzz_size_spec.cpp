// libFuzzer target: the size-spec parser accepts or rejects with UsageError, never crashes, never
// returns more than kMaxSizes sizes, and always returns a sorted list.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "common/error.hpp"
#include "common/size_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  try {
    const auto sizes = preflight::parse_size_spec(text);
    if (sizes.size() > preflight::kMaxSizes) {
      __builtin_trap();
    }
    for (std::size_t i = 1; i < sizes.size(); ++i) {
      if (sizes[i - 1] >= sizes[i]) {
        __builtin_trap();
      }
    }
  } catch (const preflight::UsageError&) {
  }
  return 0;
}
