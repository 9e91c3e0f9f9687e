// NCCL's own log of a collectives run (--nccl-log): every rank judges its file (does NCCL use
// EFA, with how many NICs, or fall back to sockets), the judgements are merged by finding id into
// the report's checks, and the rows are labelled with the transport the log proved and the
// algorithm and protocol NCCL chose for them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "collectives/options.hpp"
#include "common/bootstrap.hpp"
#include "reports/report.hpp"

namespace preflight::collectives {

// Collective over `world`: judges this rank's `log_file`, merges every rank's judgement into
// checks (returned) and details.nccl_log, and labels the rows of `report`. `efa_expected`: this
// node has EFA devices, or --expect-efa-nics says how many.
[[nodiscard]] std::vector<reports::Check> judge_nccl_run_log(Bootstrap& world,
                                                             reports::Report& report,
                                                             const CollectiveOptions& options,
                                                             const std::string& log_file,
                                                             bool efa_expected);

// The first `limit` bytes of the file at `path`; nullopt when it cannot be opened.
[[nodiscard]] std::optional<std::string> read_text_file(const std::string& path, std::size_t limit);

// NCCL_ALGO / NCCL_PROTO restrict NCCL's choice: recorded on every row, so that a row's figure is
// read against the algorithm it was forced to use; without --nccl-log, details say why the rows
// name no algorithm.
void label_requested_nccl_algorithms(reports::Report& report, const char* const* environment,
                                     bool log_captured);

}  // namespace preflight::collectives
