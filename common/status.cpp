#include "common/status.hpp"

#include <array>
#include <utility>

namespace preflight {
namespace {

constexpr std::array<std::pair<Status, std::string_view>, 7> kStatusNames{{
    {Status::pass, "pass"},
    {Status::warn, "warn"},
    {Status::fail, "fail"},
    {Status::usage, "usage"},
    {Status::skip, "skip"},
    {Status::error, "error"},
    {Status::timeout, "timeout"},
}};

// Higher is worse. skip and usage rank below pass: they never hide what ran.
constexpr int severity_rank(Status status) {
  switch (status) {
    case Status::skip:
      return 0;
    case Status::usage:
      return 1;
    case Status::pass:
      return 2;
    case Status::warn:
      return 3;
    case Status::fail:
      return 4;
    case Status::error:
      return 5;
    case Status::timeout:
      return 6;
  }
  return 6;
}

}  // namespace

std::string_view to_string(Status status) {
  for (const auto& [value, name] : kStatusNames) {
    if (value == status) {
      return name;
    }
  }
  return "error";
}

std::optional<Status> parse_status(std::string_view text) {
  for (const auto& [value, name] : kStatusNames) {
    if (name == text) {
      return value;
    }
  }
  return std::nullopt;
}

int exit_code_for(Status status, bool warn_as_fail) {
  switch (status) {
    case Status::pass:
      return exit_code::pass;
    case Status::warn:
      return warn_as_fail ? exit_code::fail : exit_code::pass;
    case Status::fail:
      return exit_code::fail;
    case Status::usage:
      return exit_code::usage;
    case Status::skip:
      return exit_code::skip;
    case Status::error:
      return exit_code::error;
    case Status::timeout:
      return exit_code::timeout;
  }
  return exit_code::error;
}

std::string exit_codes_help(std::string_view why_skip, bool can_time_out) {
  std::string text = "Exit codes: " + std::to_string(exit_code::pass) + " pass (warnings listed; " +
                     std::to_string(exit_code::fail) + " with --warn-as-fail), " +
                     std::to_string(exit_code::fail) + " a check failed, " +
                     std::to_string(exit_code::usage) +
                     " usage (the message names the flag, file or line), " +
                     std::to_string(exit_code::skip) + " nothing could be checked";
  if (!why_skip.empty()) {
    text += " (" + std::string(why_skip) + ")";
  }
  text += ", " + std::to_string(exit_code::error) + " harness error";
  if (can_time_out) {
    text += ", " + std::to_string(exit_code::timeout) + " timeout (the report keeps what finished)";
  }
  return text + ".";
}

bool is_worse(Status candidate, Status than) {
  return severity_rank(candidate) > severity_rank(than);
}

Status combine_statuses(std::span<const Status> statuses) {
  Status worst = Status::skip;
  for (const Status status : statuses) {
    if (severity_rank(status) > severity_rank(worst)) {
      worst = status;
    }
  }
  return worst == Status::usage ? Status::skip : worst;
}

}  // namespace preflight
