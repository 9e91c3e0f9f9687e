// NCCL's own debug lines (NCCL_DEBUG=INFO) in imported logs, judged by the same NCCL log judge as
// live runs (collectives/nccl_log.hpp): socket fallback, a plugin that failed to initialise and an
// empty provider list fail; EFA through aws-ofi-nccl with NET channels passes.
//
//   - inside an nccl-tests log (`preflight-report import nccl-tests`): the report's checks gain
//     the transport findings, so a table measured over NET/Socket never imports as a pass;
//   - alone (`preflight-report import nccl-log FILE`): any NCCL debug log (a training job's
//     output, with mpirun tags, srun -l labels, pdsh hosts, CloudWatch columns, timestamps)
//     becomes a report of the NCCL and plugin versions, provider and fabric, network, GDRDMA,
//     NICs found and per GPU, every WARN line, and the findings.
// A log whose NCCL used another network without any sign of aws-ofi-nccl (InfiniBand, a
// vendor's plugin) is not an EFA run: its transport is recorded, not judged.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report.hpp"

namespace preflight::reports {

struct ImportedTransport {
  bool judged = false;
  std::vector<Check> checks;                          // the judge's findings as checks
  nlohmann::json details = nlohmann::json::object();  // facts, and why not judged
  std::optional<std::string> row_transport;           // "efa" or "socket" when the log proves it
};

// Judges the NCCL lines of `content` (any text; lines that are not NCCL's are ignored).
// `instance_type` names the platform in messages (empty: the log's "Running on" line).
[[nodiscard]] ImportedTransport judge_imported_nccl_lines(std::string_view content,
                                                          std::string_view instance_type);

// FNV-1a (64 bits) of a text: an imported log's run id and the history's report digest, the same
// for the same text wherever it is read.
[[nodiscard]] std::uint64_t text_fingerprint(std::string_view text);

struct NcclLogImportOptions {
  std::string instance_type;
  bool deterministic = false;
};

// A report (tool "nccl-log") of what an NCCL debug log says about its transport. Throws
// UsageError naming the origin when the text holds no NCCL or aws-ofi-nccl line.
[[nodiscard]] Report import_nccl_log(std::string_view content, std::string_view origin,
                                     const NcclLogImportOptions& options);
[[nodiscard]] Report import_nccl_log_file(const std::filesystem::path& path,
                                          const NcclLogImportOptions& options);

}  // namespace preflight::reports
