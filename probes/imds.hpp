// A minimal IMDSv2 client on a plain POSIX socket: PUT a session token, then GET one metadata
// path, within one deadline for both. No HTTP library: the two requests are fixed, the answers
// short, and the probe must never hang on a machine that is not on EC2.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace preflight::probes {

struct ImdsEndpoint {
  std::string ipv4_address = "169.254.169.254";
  std::uint16_t port = 80;
};

// The budget the probes allow the whole IMDS exchange.
inline constexpr std::chrono::milliseconds kImdsBudget{1000};

struct ImdsAnswer {
  std::optional<std::string> value;
  std::string error;  // why there is no value (timeout, refused, HTTP status)
};

// GET `path` (e.g. "/latest/meta-data/instance-type") with an IMDSv2 token; the whole exchange
// (connects, both requests) ends by `budget`.
[[nodiscard]] ImdsAnswer imds_get(const ImdsEndpoint& endpoint, const std::string& path,
                                  std::chrono::milliseconds budget);

}  // namespace preflight::probes
