#include "common/error.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace preflight {
namespace {

std::string format_error(std::string_view library, std::string_view call,
                         std::string_view arguments, std::string_view decoded, long long code,
                         const ProcessIdentity& where) {
  std::string rank = where.rank >= 0 ? fmt::format("rank {}", where.rank) : std::string("process");
  return fmt::format("{}: {}({}) failed: {} ({}) [{} on {}]", library, call, arguments, decoded,
                     code, rank, where.host);
}

int rank_from_environment() {
  // The variables the launchers export, most specific first.
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
    if (value == nullptr) {
      continue;
    }
    int rank = -1;
    const std::string_view text(value);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rank);
    if (ec == std::errc() && end == text.data() + text.size()) {
      return rank;
    }
  }
  return -1;
}

}  // namespace

std::string host_name() {
  std::array<char, 256> buffer{};
  if (gethostname(buffer.data(), buffer.size() - 1) != 0) {
    return "unknown-host";
  }
  return {buffer.data()};
}

ProcessIdentity current_process_identity() {
  return {rank_from_environment(), host_name()};
}

std::string errno_message(int error_number) {
  std::array<char, 256> buffer{};
  // GNU strerror_r returns the message pointer, which may or may not be `buffer`.
  const char* message = strerror_r(error_number, buffer.data(), buffer.size());
  return {message};
}

Error::Error(std::string_view library, std::string_view call, std::string_view arguments,
             std::string_view decoded, long long code)
    : std::runtime_error(
          format_error(library, call, arguments, decoded, code, current_process_identity())),
      library_(library),
      call_(call),
      arguments_(arguments),
      decoded_(decoded),
      code_(code),
      where_(current_process_identity()) {}

FeatureUnavailable::FeatureUnavailable(std::string_view feature, std::string_view cmake_option)
    : std::runtime_error(fmt::format(
          "{} is not available in this build: reconfigure with -D{}=ON (and its dependency "
          "installed) and rebuild",
          feature, cmake_option)) {}

void check_errno(long long result, std::string_view call, std::string_view arguments) {
  if (result == -1) {
    const int saved = errno;
    throw Error("libc", call, arguments, errno_message(saved), saved);
  }
}

void check_errno_value(int error_number, std::string_view library, std::string_view call,
                       std::string_view arguments) {
  if (error_number != 0) {
    throw Error(library, call, arguments, errno_message(error_number), error_number);
  }
}

}  // namespace preflight
