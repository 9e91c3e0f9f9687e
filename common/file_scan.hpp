// Finding version strings inside binary files (the aws-ofi-nccl plugin carries
// "Initializing aws-ofi-nccl X.Y.Z" in its text) by streaming them in bounded chunks, never
// loading or executing them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace preflight {

// Files larger than this are not scanned further (a plugin is a few MiB).
inline constexpr std::size_t kMaxScanBytes = 512U << 20U;

// Calls `on_match` with up to `after_bytes` bytes that follow each occurrence of `needle`; stops
// when it returns true. Returns false when the file cannot be read.
bool scan_file(const std::filesystem::path& path, std::string_view needle, std::size_t after_bytes,
               const std::function<bool(std::string_view)>& on_match);

// The version token at the start of `text` ("1.13.2-aws", "1.5.0aws", "v1.7.3-aws"): printable
// characters up to whitespace, a quote or NUL; nullopt unless it starts with a digit (or 'v' and a
// digit).
[[nodiscard]] std::optional<std::string> version_token(std::string_view text);

// The version after the first occurrence of `marker` whose token parses; nullopt when none.
[[nodiscard]] std::optional<std::string> find_version_after(const std::filesystem::path& path,
                                                            std::string_view marker);

// True when `needle` occurs in the file.
[[nodiscard]] bool file_contains(const std::filesystem::path& path, std::string_view needle);

}  // namespace preflight
