#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <random>

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

}  // namespace

void write_file_atomic(const std::filesystem::path& path, std::string_view content, unsigned mode) {
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

void check_output_path(const std::filesystem::path& path, std::string_view flag) {
  const auto directory = directory_of(path);
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    throw UsageError(
        fmt::format("{} {}: directory {} does not exist", flag, path.string(), directory.string()));
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
