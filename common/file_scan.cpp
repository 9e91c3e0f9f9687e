#include "common/file_scan.hpp"

#include <cctype>
#include <fstream>
#include <vector>

namespace preflight {

bool scan_file(const std::filesystem::path& path, std::string_view needle, std::size_t after_bytes,
               const std::function<bool(std::string_view)>& on_match) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream || needle.empty()) {
    return false;
  }
  constexpr std::size_t kChunkBytes = 1U << 20U;
  // A match is reported only once the bytes after it are in the buffer (or the file ended), so
  // the tail kept between chunks is one needle plus the context, minus one byte.
  const std::size_t keep = needle.size() + after_bytes - 1;
  std::string buffer;
  std::vector<char> chunk(kChunkBytes);
  std::size_t total = 0;
  bool at_end = false;
  while (!at_end) {
    stream.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(stream.gcount());
    buffer.append(chunk.data(), got);
    total += got;
    at_end = got < chunk.size() || total >= kMaxScanBytes;
    const std::size_t limit =
        at_end ? buffer.size() : buffer.size() - std::min(keep, buffer.size());
    std::size_t position = 0;
    while ((position = buffer.find(needle, position)) != std::string::npos && position < limit) {
      const std::string_view after =
          std::string_view(buffer).substr(position + needle.size(), after_bytes);
      if (on_match(after)) {
        return true;
      }
      ++position;
    }
    buffer.erase(0, limit);
  }
  return !stream.bad();
}

std::optional<std::string> version_token(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && end < 64) {
    const auto c = static_cast<unsigned char>(text[end]);
    if (c == 0 || std::isspace(c) != 0 || c == '"' || c == '\'' || std::isprint(c) == 0) {
      break;
    }
    ++end;
  }
  std::string_view token = text.substr(0, end);
  while (!token.empty() && (token.back() == '.' || token.back() == ',' || token.back() == ')')) {
    token.remove_suffix(1);
  }
  const bool digit_first =
      !token.empty() && std::isdigit(static_cast<unsigned char>(token[0])) != 0;
  const bool v_digit = token.size() > 1 && token[0] == 'v' &&
                       std::isdigit(static_cast<unsigned char>(token[1])) != 0;
  if (!digit_first && !v_digit) {
    return std::nullopt;
  }
  return std::string(token);
}

std::optional<std::string> find_version_after(const std::filesystem::path& path,
                                              std::string_view marker) {
  std::optional<std::string> found;
  scan_file(path, marker, 64, [&](std::string_view after) {
    found = version_token(after);
    return found.has_value();
  });
  return found;
}

bool file_contains(const std::filesystem::path& path, std::string_view needle) {
  bool found = false;
  scan_file(path, needle, 1, [&](std::string_view) {
    found = true;
    return true;
  });
  return found;
}

}  // namespace preflight
