#include "common/sysfs.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <system_error>

#include "common/text.hpp"

namespace preflight {

RootFs::RootFs(std::filesystem::path root) : root_(std::move(root)) {
  if (root_.empty()) {
    root_ = "/";
  }
}

std::filesystem::path RootFs::resolve(std::string_view absolute) const {
  std::string_view relative = absolute;
  while (!relative.empty() && relative.front() == '/') {
    relative.remove_prefix(1);
  }
  return root_ / std::filesystem::path(relative);
}

bool RootFs::exists(std::string_view absolute) const {
  std::error_code ec;
  return std::filesystem::exists(resolve(absolute), ec);
}

std::optional<std::string> RootFs::read(std::string_view absolute) const {
  std::ifstream stream(resolve(absolute), std::ios::binary);
  if (!stream) {
    return std::nullopt;
  }
  std::string content;
  std::string chunk(4096, '\0');
  while (stream.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) ||
         stream.gcount() > 0) {
    content.append(chunk.data(), static_cast<std::size_t>(stream.gcount()));
    if (content.size() > kMaxFileBytes) {
      return std::nullopt;
    }
  }
  // Some sysfs attributes fail on read (EIO, EINVAL); that is "unreadable", not "empty".
  if (stream.bad()) {
    return std::nullopt;
  }
  return content;
}

std::optional<std::string> RootFs::read_line(std::string_view absolute) const {
  auto content = read(absolute);
  if (!content) {
    return std::nullopt;
  }
  const auto end = content->find('\n');
  return std::string(trim(std::string_view(*content).substr(0, end)));
}

std::optional<std::int64_t> RootFs::read_int(std::string_view absolute) const {
  auto line = read_line(absolute);
  if (!line) {
    return std::nullopt;
  }
  return parse_integer(*line);
}

std::vector<std::string> RootFs::list(std::string_view absolute) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(resolve(absolute), ec), end; !ec && it != end;
       it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> RootFs::read_link(std::string_view absolute) const {
  std::error_code ec;
  auto target = std::filesystem::read_symlink(resolve(absolute), ec);
  if (ec) {
    return std::nullopt;
  }
  return target.string();
}

std::optional<std::int64_t> parse_integer(std::string_view text, bool leading_only) {
  text = trim(text);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end == text.data()) {
    return std::nullopt;
  }
  if (!leading_only && end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> available_memory_bytes(const RootFs& root) {
  const auto meminfo = root.read("/proc/meminfo");
  if (!meminfo) {
    return std::nullopt;
  }
  for (const auto line : split_lines(*meminfo)) {
    const auto fields = split_whitespace(line);
    if (fields.size() >= 2 && fields[0] == "MemAvailable:") {
      if (const auto kib = parse_integer(fields[1]); kib && *kib >= 0) {
        return static_cast<std::uint64_t>(*kib) * 1024U;
      }
    }
  }
  return std::nullopt;
}

}  // namespace preflight
