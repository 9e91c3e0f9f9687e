#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <random>
#include <thread>

#include "common/error.hpp"
#include "common/raii.hpp"

namespace preflight {
namespace {

std::filesystem::path directory_of(const std::filesystem::path& path) {
  auto parent = path.parent_path();
  return parent.empty() ? std::filesystem::path(".") : parent;
}

// A report of a long sweep with samples is a few MiB; refuse to start a run that cannot save it.
constexpr unsigned long long kMinFreeBytes = 4ULL << 20U;

std::string random_suffix() {
  std::random_device device;
  return fmt::format("{:08x}", device());
}

// N when `path` is spelled as an alias of this process's descriptor N: /dev/stdout, /dev/stderr,
// /dev/stdin, /dev/fd/N, /proc/self/fd/N, /proc/thread-self/fd/N, /proc/<own pid>/fd/N. These are
// symlinks (to "pipe:[…]", a terminal, or a file the shell opened), so they are recognised by
// name: following them would open a new description (losing O_APPEND and the offset), and
// replacing them would replace the link.
std::optional<int> descriptor_alias(const std::filesystem::path& path) {
  if (path == "-") {
    return STDOUT_FILENO;
  }
  std::error_code error;
  const auto absolute = path.is_absolute() ? path : std::filesystem::absolute(path, error);
  if (error) {
    return std::nullopt;
  }
  const std::string normal = absolute.lexically_normal().string();
  if (normal == "/dev/stdin") {
    return STDIN_FILENO;
  }
  if (normal == "/dev/stdout") {
    return STDOUT_FILENO;
  }
  if (normal == "/dev/stderr") {
    return STDERR_FILENO;
  }
  for (const std::string& prefix :
       {std::string("/dev/fd/"), std::string("/proc/self/fd/"),
        std::string("/proc/thread-self/fd/"), fmt::format("/proc/{}/fd/", ::getpid())}) {
    if (normal.size() <= prefix.size() || normal.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const std::string_view digits = std::string_view(normal).substr(prefix.size());
    int descriptor = -1;
    const auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), descriptor);
    if (ec == std::errc() && end == digits.data() + digits.size() && descriptor >= 0) {
      return descriptor;
    }
  }
  return std::nullopt;
}

const char* kind_of_node(mode_t mode) {
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  return nullptr;
}

// Blocks SIGPIPE in this thread while a stream is written, so a reader that went away is an
// EPIPE error with a message instead of a silent death, then takes the SIGPIPE that write raised.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;
  SigpipeBlocked(SigpipeBlocked&&) = delete;
  SigpipeBlocked& operator=(SigpipeBlocked&&) = delete;
  ~SigpipeBlocked() {
    sigset_t pending;
    sigemptyset(&pending);
    if (::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1 &&
        sigismember(&previous_, SIGPIPE) == 0) {
      const timespec no_wait{};
      ::sigtimedwait(&pipe_, nullptr, &no_wait);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }

 private:
  sigset_t pipe_{};
  sigset_t previous_{};
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Writes all of `content` into `fd`, waiting (poll) while a non-blocking stream is full, but no
// longer than kStreamWait_s without progress.
void write_stream(int fd, std::string_view content, const std::string& where) {
  const SigpipeBlocked blocked;
  std::size_t written = 0;
  auto last_progress = Clock::now();
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n >= 0) {
      written += static_cast<std::size_t>(n);
      last_progress = Clock::now();
      continue;
    }
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error != EAGAIN && error != EWOULDBLOCK) {
      throw Error("libc", "write",
                  fmt::format("path={}, {} of {} bytes written", where, written, content.size()),
                  error == EPIPE ? "the reader closed its end (EPIPE)" : errno_message(error),
                  error);
    }
    const double left_s = kStreamWait_s - seconds_since(last_progress);
    if (left_s <= 0) {
      throw Error("libc", "write",
                  fmt::format("path={}, {} of {} bytes written", where, written, content.size()),
                  fmt::format("the reader took nothing for {:.0f} s", kStreamWait_s), error);
    }
    pollfd ready{fd, POLLOUT, 0};
    ::poll(&ready, 1, static_cast<int>(std::min(left_s, 1.0) * 1000) + 1);
  }
}

// Opens an existing device, FIFO or socket for writing. A FIFO without a reader is waited for (a
// reader may start after the writer) up to kStreamWait_s; the descriptor is non-blocking, so a
// stalled reader cannot hang the run either.
FileDescriptor open_stream(const std::filesystem::path& path, const OutputTarget& target) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof(address.sun_path)) {
      throw Error("libc", "connect", fmt::format("path={}", path.string()),
                  fmt::format("socket path longer than {} bytes", sizeof(address.sun_path) - 1),
                  ENAMETOOLONG);
    }
    std::memcpy(address.sun_path, path.c_str(), path.native().size());
    FileDescriptor fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    check_errno(fd.get(), "socket", "AF_UNIX, SOCK_STREAM");
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      const int error = errno;
      throw Error("libc", "connect", fmt::format("path={} ({})", path.string(), target.what),
                  error == EPROTOTYPE ? "not a stream socket (SOCK_STREAM) listening there"
                                      : errno_message(error),
                  error);
    }
    return fd;
  }
  const auto start = Clock::now();
  while (true) {
    FileDescriptor fd(
        ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC));
    if (fd) {
      return fd;
    }
    const int error = errno;
    if (error == EINTR) {
      continue;
    }
    if (error == ENXIO && S_ISFIFO(info.st_mode)) {
      if (seconds_since(start) < kStreamWait_s) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      throw Error("libc", "open", fmt::format("path={} (a FIFO), O_WRONLY", path.string()),
                  fmt::format("no process opened it for reading within {:.0f} s", kStreamWait_s),
                  error);
    }
    throw Error("libc", "open", fmt::format("path={} ({}), O_WRONLY", path.string(), target.what),
                errno_message(error), error);
  }
}

void replace_file(const std::filesystem::path& path, std::string_view content, unsigned mode) {
  const auto directory = directory_of(path);
  FileDescriptor fd;
  std::filesystem::path temporary;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    temporary = directory / fmt::format(".{}.tmp.{}", path.filename().string(), random_suffix());
    fd.reset(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    static_cast<mode_t>(mode)));
    if (!fd && errno != EEXIST) {
      break;
    }
  }
  if (!fd) {
    check_errno(-1, "open", fmt::format("path={}, O_CREAT|O_EXCL|O_NOFOLLOW", temporary.string()));
  }
  const auto cleanup_and_throw = [&](std::string_view call) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    throw Error("libc", call, fmt::format("path={}", temporary.string()), errno_message(saved),
                saved);
  };
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      cleanup_and_throw("write");
    }
    written += static_cast<std::size_t>(n);
  }
  // The umask may have narrowed the mode; reports are meant to be readable by monitoring agents.
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
    cleanup_and_throw("fchmod");
  }
  if (::fsync(fd.get()) != 0) {
    cleanup_and_throw("fsync");
  }
  fd.reset();
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    cleanup_and_throw("rename");
  }
  // Persist the rename itself.
  const FileDescriptor directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory_fd) {
    ::fsync(directory_fd.get());
  }
}

}  // namespace

OutputTarget classify_output(const std::filesystem::path& path) {
  OutputTarget target;
  if (const auto descriptor = descriptor_alias(path)) {
    target.kind = OutputKind::descriptor;
    target.descriptor = *descriptor;
    target.what = fmt::format("descriptor {}", *descriptor);
    return target;
  }
  struct stat info {};
  // lstat: a symlink at the path is replaced, never followed (a planted link to /dev/sda must not
  // become a write into the disk).
  if (::lstat(path.c_str(), &info) == 0) {
    if (const char* node = kind_of_node(info.st_mode)) {
      target.kind = OutputKind::stream;
      target.what = node;
      return target;
    }
  }
  target.what = "a file";
  return target;
}

bool is_replaced_atomically(const std::filesystem::path& path) {
  return classify_output(path).kind == OutputKind::file;
}

bool writes_to_stdout(const std::filesystem::path& path) {
  const auto descriptor = descriptor_alias(path);
  return descriptor && *descriptor == STDOUT_FILENO;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view content, unsigned mode) {
  const OutputTarget target = classify_output(path);
  switch (target.kind) {
    case OutputKind::file:
      replace_file(path, content, mode);
      return;
    case OutputKind::descriptor:
      // Keep the order of what this process already printed on the same descriptor.
      if (target.descriptor == STDOUT_FILENO) {
        std::cout.flush();
        std::fflush(stdout);
      } else if (target.descriptor == STDERR_FILENO) {
        std::cerr.flush();
        std::fflush(stderr);
      }
      write_stream(target.descriptor, content, path.string());
      return;
    case OutputKind::stream: {
      const FileDescriptor fd = open_stream(path, target);
      write_stream(fd.get(), content, fmt::format("{} ({})", path.string(), target.what));
      return;
    }
  }
}

void check_output_path(const std::filesystem::path& path, std::string_view flag) {
  const OutputTarget target = classify_output(path);
  if (target.kind == OutputKind::descriptor) {
    const int flags = ::fcntl(target.descriptor, F_GETFL);
    if (flags < 0) {
      throw UsageError(
          fmt::format("{} {}: descriptor {} is not open", flag, path.string(), target.descriptor));
    }
    if ((flags & O_ACCMODE) == O_RDONLY) {
      throw UsageError(fmt::format("{} {}: descriptor {} is open for reading only", flag,
                                   path.string(), target.descriptor));
    }
    return;
  }
  if (target.kind == OutputKind::stream) {
    // Not opened here: a FIFO's reader would see the open and close as an empty report, and
    // opening some devices (tapes, serial lines) has effects of its own.
    if (::access(path.c_str(), W_OK) != 0) {
      throw UsageError(fmt::format("{} {}: {} that is not writable: {}", flag, path.string(),
                                   target.what, errno_message(errno)));
    }
    return;
  }
  const auto directory = directory_of(path);
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    // CI workspaces start empty: `--json results/suite.json` makes results/.
    std::filesystem::create_directories(directory, ec);
    if (ec) {
      throw UsageError(fmt::format("{} {}: cannot create directory {}: {}", flag, path.string(),
                                   directory.string(), ec.message()));
    }
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw UsageError(fmt::format("{} {}: is a directory", flag, path.string()));
  }
  struct statvfs filesystem {};
  if (::statvfs(directory.c_str(), &filesystem) == 0) {
    if ((filesystem.f_flag & ST_RDONLY) != 0U) {
      throw UsageError(fmt::format("{} {}: {} is on a read-only file system", flag, path.string(),
                                   directory.string()));
    }
    const auto free_bytes =
        static_cast<unsigned long long>(filesystem.f_bavail) * filesystem.f_frsize;
    if (free_bytes < kMinFreeBytes) {
      throw UsageError(fmt::format("{} {}: only {} bytes free in {} (need {} for the report)", flag,
                                   path.string(), free_bytes, directory.string(), kMinFreeBytes));
    }
  }
  if (::access(directory.c_str(), W_OK) != 0) {
    throw UsageError(fmt::format("{} {}: directory {} is not writable: {}", flag, path.string(),
                                 directory.string(), errno_message(errno)));
  }
  // A read-only file system passes access(W_OK) for root: prove a file can be created.
  const auto probe = directory / fmt::format(".preflight-write-probe.{}", random_suffix());
  const FileDescriptor fd(
      ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    throw UsageError(fmt::format("{} {}: cannot create files in {}: {}", flag, path.string(),
                                 directory.string(), errno_message(errno)));
  }
  ::unlink(probe.c_str());
}

}  // namespace preflight
