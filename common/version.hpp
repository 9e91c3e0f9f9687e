// Version strings as the stack prints them: "1.22.0", "1.8.1amzn1.2", "2.13.0g", "v1.7.3-aws",
// "119.0" (libfabric provider), "2.28.9+cuda13.0". The numeric dotted prefix is what compares;
// the rest is kept for display.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace preflight {

struct Version {
  std::vector<int> parts;  // numeric components, at least one
  std::string text;        // as found

  // Missing components compare as 0: 1.7 == 1.7.0 < 1.7.3.
  [[nodiscard]] std::strong_ordering operator<=>(const Version& other) const;
  [[nodiscard]] bool operator==(const Version& other) const;
  [[nodiscard]] std::string numeric() const;  // "1.8.1"
};

// The first run of dot-separated integers in `text` (a leading 'v' is skipped).
[[nodiscard]] std::optional<Version> parse_version(std::string_view text);
// libfabric packs versions as (major << 16) | minor: FI_VERSION(1, 17) -> "1.17".
[[nodiscard]] Version version_from_fi(unsigned packed);
// NCCL's integer code: 22809 -> 2.28.9 (>= 2.9: major*10000 + minor*100 + patch).
[[nodiscard]] Version version_from_nccl_code(int code);
// CUDA's integer code: 13000 -> 13.0 (major*1000 + minor*10).
[[nodiscard]] Version version_from_cuda_code(int code);

}  // namespace preflight
