#include "common/input_file.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <fstream>

#include "common/error.hpp"

namespace preflight {
namespace {

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6U));
    out += static_cast<char>(0x80 | (code_point & 0x3FU));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12U));
    out += static_cast<char>(0x80 | ((code_point >> 6U) & 0x3FU));
    out += static_cast<char>(0x80 | (code_point & 0x3FU));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18U));
    out += static_cast<char>(0x80 | ((code_point >> 12U) & 0x3FU));
    out += static_cast<char>(0x80 | ((code_point >> 6U) & 0x3FU));
    out += static_cast<char>(0x80 | (code_point & 0x3FU));
  }
}

constexpr std::uint32_t kReplacement = 0xFFFD;

std::string utf16_to_utf8(std::string_view bytes, bool little_endian) {
  std::string out;
  out.reserve(bytes.size() / 2);
  const auto unit_at = [&](std::size_t at) -> std::uint32_t {
    const auto first = static_cast<unsigned char>(bytes[at]);
    const auto second = static_cast<unsigned char>(bytes[at + 1]);
    return little_endian ? (first | (second << 8U)) : ((first << 8U) | second);
  };
  for (std::size_t at = 0; at + 1 < bytes.size(); at += 2) {
    const std::uint32_t unit = unit_at(at);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (at + 3 < bytes.size()) {
        const std::uint32_t low = unit_at(at + 2);
        if (low >= 0xDC00 && low <= 0xDFFF) {
          append_utf8(out, 0x10000 + ((unit - 0xD800) << 10U) + (low - 0xDC00));
          at += 2;
          continue;
        }
      }
      append_utf8(out, kReplacement);
    } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
      append_utf8(out, kReplacement);
    } else {
      append_utf8(out, unit);
    }
  }
  return out;
}

}  // namespace

void check_input_path(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found ||
      (ec && status.type() == std::filesystem::file_type::none)) {
    throw UsageError(fmt::format("{}: no such file", path.string()));
  }
  if (status.type() == std::filesystem::file_type::directory) {
    throw UsageError(fmt::format("{}: is a directory, not a file", path.string()));
  }
}

TextEncoding detect_text_encoding(std::string_view bytes) {
  if (bytes.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(bytes[0]);
    const auto b1 = static_cast<unsigned char>(bytes[1]);
    if (b0 == 0xFF && b1 == 0xFE) {
      return TextEncoding::utf16le;
    }
    if (b0 == 0xFE && b1 == 0xFF) {
      return TextEncoding::utf16be;
    }
  }
  // Without a mark: ASCII text as UTF-16 has a NUL in every other byte. Count them in the first
  // pairs; text in UTF-8 has no NUL at all.
  constexpr std::size_t kSample = 4096;
  const std::size_t pairs = std::min(bytes.size(), kSample) / 2;
  if (pairs < 2) {
    return TextEncoding::utf8;
  }
  std::size_t even_nul = 0;
  std::size_t odd_nul = 0;
  for (std::size_t i = 0; i < pairs; ++i) {
    even_nul += bytes[2 * i] == '\0' ? 1 : 0;
    odd_nul += bytes[2 * i + 1] == '\0' ? 1 : 0;
  }
  if (odd_nul * 10 >= pairs * 9 && even_nul * 10 < pairs) {
    return TextEncoding::utf16le;
  }
  if (even_nul * 10 >= pairs * 9 && odd_nul * 10 < pairs) {
    return TextEncoding::utf16be;
  }
  return TextEncoding::utf8;
}

std::string text_as_utf8(std::string bytes) {
  switch (detect_text_encoding(bytes)) {
    case TextEncoding::utf16le:
    case TextEncoding::utf16be: {
      const bool little = detect_text_encoding(bytes) == TextEncoding::utf16le;
      std::string_view body = bytes;
      const auto b0 = body.empty() ? 0U : static_cast<unsigned char>(body[0]);
      if (b0 == 0xFF || b0 == 0xFE) {
        body.remove_prefix(2);  // the byte-order mark
      }
      return utf16_to_utf8(body, little);
    }
    case TextEncoding::utf8:
      break;
  }
  if (bytes.starts_with("\xEF\xBB\xBF")) {
    bytes.erase(0, 3);
  }
  return bytes;
}

void check_sqlite_database(const std::filesystem::path& path, std::string_view flag) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) == 0 ||
      ec) {
    return;
  }
  static constexpr std::string_view kHeader{"SQLite format 3\0", 16};
  std::array<char, kHeader.size()> header{};
  std::ifstream stream(path, std::ios::binary);
  stream.read(header.data(), header.size());
  if (stream.gcount() != static_cast<std::streamsize>(header.size()) ||
      std::string_view(header.data(), header.size()) != kHeader) {
    throw UsageError(fmt::format(
        "{} {}: not an SQLite database (it does not start with \"SQLite format 3\"); give the "
        "history database, or a new path to create one",
        flag, path.string()));
  }
}

}  // namespace preflight
