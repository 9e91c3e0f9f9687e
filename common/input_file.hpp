// Checks and decoding every reader of user-given input files shares, so that a bad path or an
// odd encoding gets the same clear message (and exit 2) from every binary:
//   - a directory given where a file is expected is called a directory, a missing path missing;
//   - text in UTF-16 (with or without a byte-order mark: Windows PowerShell's `>` and
//     `Tee-Object` write UTF-16LE) is decoded to UTF-8, and a UTF-8 byte-order mark is dropped;
//   - a file given as an SQLite database that is not one is named as such.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace preflight {

// Throws UsageError naming `path` when it does not exist or is a directory. FIFOs and devices
// pass (`<(cmd)` is a FIFO); regular files pass.
void check_input_path(const std::filesystem::path& path);

enum class TextEncoding { utf8, utf16le, utf16be };

// The encoding of `bytes`: a UTF-16 byte-order mark, or (without one) the NUL bytes of ASCII text
// written as UTF-16 in the first kilobytes; else UTF-8.
[[nodiscard]] TextEncoding detect_text_encoding(std::string_view bytes);

// `bytes` as UTF-8: UTF-16 is converted (unpaired surrogates become U+FFFD), a UTF-8 byte-order
// mark is removed, anything else is returned as it is.
[[nodiscard]] std::string text_as_utf8(std::string bytes);

// Throws UsageError naming `flag` and `path` when `path` is a non-empty regular file that does
// not start with SQLite's header ("SQLite format 3"). A missing or empty file passes (SQLite
// creates the database in it).
void check_sqlite_database(const std::filesystem::path& path, std::string_view flag);

}  // namespace preflight
