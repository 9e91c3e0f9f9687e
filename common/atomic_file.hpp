// Where reports, baselines and plan outputs go. A regular file (or a new path) is replaced
// atomically: the content goes to a temporary file in the target directory, which is renamed over
// the target, so a reader sees the old content or the new, never a torn mix. Anything else a user
// points an output at (a character or block device such as /dev/null, a FIFO, a socket,
// /dev/stdout, /dev/fd/N from a shell's process substitution) is written into, never replaced:
// renaming a file over /dev/null as root would break every later `> /dev/null` on the machine.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace preflight {

// How an output path is written.
enum class OutputKind {
  file,        // a regular file, a new path or a symlink (replaced, never followed): atomic
  stream,      // an existing character or block device, FIFO or socket: opened and written into
  descriptor,  // /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N: written to descriptor N
};

struct OutputTarget {
  OutputKind kind = OutputKind::file;
  int descriptor = -1;  // OutputKind::descriptor: N
  std::string what;     // "a FIFO", "a character device", ... for messages
};

// What `path` names as an output, from its spelling (descriptor aliases) and lstat (the rest).
[[nodiscard]] OutputTarget classify_output(const std::filesystem::path& path);

// True when `path` is written by atomic replace (a regular file or a new path). Reports re-written
// after every finished size are re-written only to such paths; a stream gets the report once.
[[nodiscard]] bool is_replaced_atomically(const std::filesystem::path& path);

// True for "-" and the aliases of descriptor 1 (/dev/stdout, /dev/fd/1, /proc/self/fd/1).
[[nodiscard]] bool writes_to_stdout(const std::filesystem::path& path);

// Writes `content` to `path`. A regular file or new path is replaced atomically with permissions
// `mode` (0644 for reports): the temporary is created with O_EXCL | O_NOFOLLOW, so a symlink
// planted in the directory is never followed, and an existing file at `path` is untouched when
// anything fails. A device, FIFO, socket or descriptor alias is opened and written into once (a
// FIFO waits up to kStreamWait_s for its reader, a stalled reader as long). Throws
// preflight::Error.
void write_file_atomic(const std::filesystem::path& path, std::string_view content,
                       unsigned mode = 0644);

// How long a stream output may wait for a reader to open it, or for a stalled reader to read.
inline constexpr double kStreamWait_s = 30;

// Checks up front that a report can later be written at `path`, so nothing is measured for a
// report that cannot be saved. For a file: creates its directory (with parents) when missing,
// then checks that the directory is writable with room for a report, and that `path` is not a
// directory. For a stream: that it is writable (a FIFO is not opened: its reader would see an
// end of file). For a descriptor alias: that the descriptor is open for writing. Throws
// UsageError naming `flag` and the path.
void check_output_path(const std::filesystem::path& path, std::string_view flag);

}  // namespace preflight
