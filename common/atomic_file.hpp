// Files that are either the old content or the new, never a torn mix: reports, baselines and plan
// outputs are written to a temporary file in the target directory and renamed over the target.
#pragma once

#include <filesystem>
#include <string_view>

namespace preflight {

// Writes `content` to `path` atomically with permissions `mode` (0644 for reports). The
// temporary is created with O_EXCL | O_NOFOLLOW, so a symlink planted in the directory is never
// followed; an existing file at `path` is untouched when anything fails. Throws preflight::Error.
void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       unsigned mode = 0644);

// Checks up front that a report can later be written at `path` (its directory exists and is
// writable, and `path` is not a directory); throws UsageError naming `flag` and the path.
void check_output_path(const std::filesystem::path& path, std::string_view flag);

}  // namespace preflight
