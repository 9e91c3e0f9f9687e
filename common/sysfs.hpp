// Reads files of a Linux root (sysfs, procfs, /etc, /opt) relative to a root directory, so every
// probe runs the same code on the live machine ("/") and on a fixture tree (`--root DIR`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace preflight {

class RootFs {
 public:
  // Files larger than this are refused: sysfs attributes are one page, and a probe must never
  // read an unbounded file into memory.
  static constexpr std::size_t kMaxFileBytes = 4U << 20U;

  explicit RootFs(std::filesystem::path root = "/");

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }
  [[nodiscard]] bool is_live() const { return root_ == "/"; }

  // `absolute` is a path as seen on the target machine, e.g. "/sys/class/infiniband".
  [[nodiscard]] std::filesystem::path resolve(std::string_view absolute) const;
  [[nodiscard]] bool exists(std::string_view absolute) const;

  // Whole file, or nullopt when absent or unreadable (absent is not empty, and not zero).
  [[nodiscard]] std::optional<std::string> read(std::string_view absolute) const;
  // First line without surrounding whitespace.
  [[nodiscard]] std::optional<std::string> read_line(std::string_view absolute) const;
  // The file as one integer (decimal, or hex with 0x); nullopt when absent or not a number.
  [[nodiscard]] std::optional<std::int64_t> read_int(std::string_view absolute) const;
  // Entry names of a directory, sorted; empty when absent.
  [[nodiscard]] std::vector<std::string> list(std::string_view absolute) const;
  // Target of a symbolic link, as stored.
  [[nodiscard]] std::optional<std::string> read_link(std::string_view absolute) const;

 private:
  std::filesystem::path root_;
};

// Parses an integer attribute: "42", "0x1d0f", " 4: ACTIVE" (leading number only with
// `leading_only`). nullopt for anything else.
[[nodiscard]] std::optional<std::int64_t> parse_integer(std::string_view text,
                                                        bool leading_only = false);

// MemAvailable of `root`/proc/meminfo in bytes; nullopt when it cannot be read.
[[nodiscard]] std::optional<std::uint64_t> available_memory_bytes(const RootFs& root);

}  // namespace preflight
