// libFuzzer target: the small text parsers every probe uses on files it does not control
// (version strings, sysfs integers, whitespace/line splitting).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/sysfs.hpp"
#include "common/text.hpp"
#include "common/version.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  if (const auto version = preflight::parse_version(text)) {
    if (version->parts.empty()) {
      __builtin_trap();
    }
    (void)(*version < *version);
  }
  (void)preflight::parse_integer(text);
  (void)preflight::parse_integer(text, true);
  for (const auto line : preflight::split_lines(text)) {
    (void)preflight::split_whitespace(line);
    (void)preflight::trim(line);
  }
  return 0;
}
