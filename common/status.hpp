// Status values and the one exit-code table every preflight binary obeys (docs/ARCHITECTURE.md).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace preflight {

// A check's or a run's outcome. `warn` is a pass with something to look at: it exits 0 unless the
// operator asked for --warn-as-fail. `usage` only ever describes a run, never a check.
enum class Status { pass, warn, fail, usage, skip, error, timeout };

// Named as the statuses they stand for (exit_code::pass next to Status::pass), not as constants.
// NOLINTBEGIN(readability-identifier-naming)
namespace exit_code {
inline constexpr int pass = 0;
inline constexpr int fail = 1;
inline constexpr int usage = 2;
inline constexpr int skip = 3;
inline constexpr int error = 4;
inline constexpr int timeout = 124;
}  // namespace exit_code
// NOLINTEND(readability-identifier-naming)

[[nodiscard]] std::string_view to_string(Status status);
[[nodiscard]] std::optional<Status> parse_status(std::string_view text);

// The exit code of a run whose verdict is `status`.
[[nodiscard]] int exit_code_for(Status status, bool warn_as_fail = false);

// The verdict of a run from the statuses of its checks: the worst status that ran wins
// (timeout > error > fail > warn > pass); skip only when nothing ran at all, so a skipped check
// can never turn a failing run into a pass nor an empty run into one.
[[nodiscard]] Status combine_statuses(std::span<const Status> statuses);

// The exit-code table as people read it, for every binary's --help: "Exit codes: 0 pass
// (warnings listed; 1 with --warn-as-fail), 1 a check failed, 2 usage (...), 3 nothing could be
// checked (<why_skip>), 4 harness error[, 124 timeout (...)]." One text, so no two binaries
// describe the same code differently.
[[nodiscard]] std::string exit_codes_help(std::string_view why_skip = {},
                                          bool can_time_out = false);

// Whether `candidate` is worse than `than` in the order combine_statuses uses (skip < usage <
// pass < warn < fail < error < timeout).
[[nodiscard]] bool is_worse(Status candidate, Status than);

}  // namespace preflight
