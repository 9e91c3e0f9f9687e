// Proving NCCL really used EFA: facts read from an NCCL_DEBUG=INFO log (NCCL_DEBUG_SUBSYS=INIT,NET)
// and the judgement of those facts, both pure functions of text so that they are tested on real
// logs. The rules (docs/platform-rules.md, "Proving that NCCL used EFA"):
//   - aws-ofi-nccl loaded and initialised ("NET/OFI Initializing aws-ofi-nccl X", older
//     "NET/OFI Using aws-ofi-nccl X"); init failures ("aws-ofi-nccl initialization failed",
//     "Couldn't find any optimal provider", "fi_getinfo ... provider efa output empty list", ...)
//     mean it was not used                                              -> OFI_NCCL_NOT_LOADED
//   - "Using network Socket", channels "via NET/Socket", or NET/Socket set up without a Libfabric
//     network                                                           -> NCCL_FALLBACK_SOCKET
//   - "Selected provider is efa ... (found N nics)": N must equal the platform's EFA count
//                                                                       ->
//                                                                       NCCL_EFA_NIC_COUNT_MISMATCH
//   - NET channels "via NET/Libfabric/<n>/GDRDMA": GPUDirect RDMA in use; NET channels without it
//                                                                       -> NCCL_GDRDMA_OFF
//   - provider efa over the Libfabric network, and channels that really go over it ("via
//     NET/..."): NCCL 2.28 prints "Using network Libfabric" and the plugin "Selected provider is
//     efa" at every init, also when all traffic stays on NVLink/P2P/SHM inside the node, so
//     without NET channels EFA is not proven and the transport is not judged -> NCCL_USES_EFA
// With NCCL_DEBUG_SUBSYS=TUNING, each call's "<Func>: <bytes> Bytes -> Algo <A> proto <P>" line
// (2.19-2.21: numbers and no function) gives the algorithm and protocol NCCL chose per size.
// Lines may carry launcher prefixes ("[1,0]<stdout>:", srun -l "0: ", pdsh "10.3.35.83: ",
// SkyPilot "(head, rank=0, pid=1) "), bracketed timestamps, or come from a CloudWatch console
// table ("  | 2025-05-16T16:39:51.208-07:00 | line | duplicate"); they are normalised first.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"
#include "domain/collective.hpp"

namespace preflight {

// One log line without launcher prefixes, timestamps or CloudWatch columns.
[[nodiscard]] std::string normalize_log_line(std::string_view line);

// What NCCL chose for calls of one function and size (from TUNING lines).
struct TuningChoice {
  std::string function;     // "AllReduce"; empty in NCCL 2.19-2.21's lines
  std::uint64_t bytes = 0;  // NCCL's count * type size
  std::string algorithm;    // "Ring", "Tree", "NVLS", "CollNetDirect", "PAT", ...
  std::string protocol;     // "LL", "LL128", "Simple"
  std::size_t calls = 0;    // lines seen with this choice
};

struct NcclLogFacts {
  std::size_t nccl_lines = 0;                  // lines from NCCL or the plugin
  std::optional<std::string> nccl_version;     // "2.27.7+cuda13.0"
  std::optional<std::string> plugin_version;   // "1.16.2", "1.5.0aws"
  bool plugin_loaded = false;                  // NCCL loaded a net plugin / NET/OFI lines exist
  std::vector<std::string> plugin_failures;    // one example line per failure signature
  std::optional<std::string> provider;         // "efa"
  std::optional<std::string> fabric;           // "efa"
  std::optional<int> nic_count;                // "(found N nics)"
  std::optional<std::string> platform;         // "p4d.24xlarge" from "Running on ... platform"
  std::vector<std::string> networks;           // distinct "Using network X", in order
  bool socket_transport_set_up = false;        // "NET/Socket : Using [0]ens5..."
  std::size_t net_channels = 0;                // "via NET/<plugin>/..." other than Socket
  std::size_t gdrdma_channels = 0;             // ... ending in /GDRDMA
  std::size_t socket_channels = 0;             // "via NET/Socket/..."
  std::size_t intra_node_channels = 0;         // "via P2P/...", "via SHM/..." (NVLink, PCIe, SHM)
  std::vector<TuningChoice> tuning;            // per (function, bytes, algorithm, protocol)
  std::optional<std::string> socket_evidence;  // the first line proving the socket fallback

  [[nodiscard]] nlohmann::json to_json() const;
};

[[nodiscard]] NcclLogFacts parse_nccl_log(std::string_view text);

// NCCL's name of a collective in its logs ("AllReduce", "AlltoAll").
[[nodiscard]] std::string_view nccl_function_name(CollectiveKind kind);
// The choices (from any rank's facts) for calls of `kind` moving `bytes` (count * type size).
[[nodiscard]] std::vector<TuningChoice> tuning_choices(const std::vector<TuningChoice>& all,
                                                       CollectiveKind kind, std::uint64_t bytes);

struct TransportExpectation {
  std::optional<int> efa_nics;  // the platform's EFA device count, when known
  std::string platform;         // instance type, for messages
};

struct TransportFinding {
  std::string id;  // findings-catalog id
  Status status = Status::pass;
  std::string message;
  nlohmann::json evidence = nlohmann::json::object();
};

struct TransportJudgement {
  bool judged = false;
  // The plugin loaded and chose efa, but no channel of this log went over the network: what
  // NCCL_USES_EFA would have claimed is unproven (empty when it was proven or not relevant).
  std::string efa_unproven_reason;
  std::string not_judged_reason;  // when !judged: why the log decides nothing
  std::vector<TransportFinding> findings;
  [[nodiscard]] bool has(std::string_view id) const;
  [[nodiscard]] const TransportFinding* find(std::string_view id) const;
};

[[nodiscard]] TransportJudgement judge_nccl_transport(const NcclLogFacts& facts,
                                                      const TransportExpectation& expectation);

}  // namespace preflight
