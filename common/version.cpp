#include "common/version.hpp"

#include <fmt/format.h>

#include <cctype>

namespace preflight {

std::strong_ordering Version::operator<=>(const Version& other) const {
  const std::size_t n = std::max(parts.size(), other.parts.size());
  for (std::size_t i = 0; i < n; ++i) {
    const int a = i < parts.size() ? parts[i] : 0;
    const int b = i < other.parts.size() ? other.parts[i] : 0;
    if (a != b) {
      return a <=> b;
    }
  }
  return std::strong_ordering::equal;
}

bool Version::operator==(const Version& other) const {
  return (*this <=> other) == std::strong_ordering::equal;
}

std::string Version::numeric() const {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i == 0 ? "" : ".") + std::to_string(parts[i]);
  }
  return out;
}

std::optional<Version> parse_version(std::string_view text) {
  const auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  std::size_t i = 0;
  while (i < text.size() && !is_digit(text[i])) {
    ++i;
  }
  if (i == text.size()) {
    return std::nullopt;
  }
  Version version;
  version.text = std::string(text);
  while (i < text.size() && is_digit(text[i])) {
    long long value = 0;
    while (i < text.size() && is_digit(text[i])) {
      value = value * 10 + (text[i] - '0');
      if (value > 1'000'000'000) {
        return std::nullopt;
      }
      ++i;
    }
    version.parts.push_back(static_cast<int>(value));
    // Continue only through "." followed by a digit: "1.8.1amzn1.2" stops at "amzn".
    if (i + 1 < text.size() && text[i] == '.' && is_digit(text[i + 1])) {
      ++i;
    } else {
      break;
    }
  }
  return version;
}

Version version_from_fi(unsigned packed) {
  const int major = static_cast<int>(packed >> 16U);
  const int minor = static_cast<int>(packed & 0xFFFFU);
  return {{major, minor}, fmt::format("{}.{}", major, minor)};
}

Version version_from_nccl_code(int code) {
  // NCCL < 2.9 used major*1000 + minor*100 + patch.
  const bool old_scheme = code < 20900;
  const int major = old_scheme ? code / 1000 : code / 10000;
  const int minor = old_scheme ? (code % 1000) / 100 : (code % 10000) / 100;
  const int patch = code % 100;
  return {{major, minor, patch}, fmt::format("{}.{}.{}", major, minor, patch)};
}

Version version_from_cuda_code(int code) {
  const int major = code / 1000;
  const int minor = (code % 1000) / 10;
  return {{major, minor}, fmt::format("{}.{}", major, minor)};
}

}  // namespace preflight
