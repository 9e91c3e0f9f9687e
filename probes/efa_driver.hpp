// What the efa kernel driver tells truly, by its version, and the recorded answers of the
// live-only queries that a fixture tree (--root) carries in place of ibverbs.
//
// The driver reports every port ACTIVE / LinkUp whatever the link does (efa_query_port sets both
// unconditionally), so the port state is no health signal. Its rate is: until "RDMA/efa: Report
// link speed according to device attributes" (out-of-tree efa 2.13.0, Linux 6.13) it reported a
// fixed 4X EDR, 100 Gb/s, on every device, so a p5en (200 Gb/s per device) on an older driver
// shows 100 Gb/s on all 16 devices while healthy.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/sysfs.hpp"
#include "probes/gather_efa.hpp"

namespace preflight::probes {

struct LinkRateReporting {
  bool truthful = false;  // the rate file says what the device runs at
  std::string driver;     // "efa module 2.13.0g" or "in-tree efa of Linux 6.1.119-..."
  std::string why;        // for the report when not truthful
};

// `efa_module_version`: /sys/module/efa/version (the out-of-tree module; empty for the in-tree
// driver); `kernel_release`: /proc/sys/kernel/osrelease.
[[nodiscard]] LinkRateReporting efa_link_rate_reporting(std::string_view efa_module_version,
                                                        std::string_view kernel_release);

// The recorded ibverbs / efadv answers of a fixture tree: <root>/preflight/verbs.json
// ({"schema": "preflight.efa-verbs/1", "devices": {"<dev>": {vendor_part_id, fw_ver, max_qp,
// max_mr_size, port_state, port_phys_state, device_caps: {rdma_read, rdma_write},
// max_rdma_size}}}). nullopt when the tree has none; throws UsageError naming the file and key when
// it is malformed.
inline constexpr std::string_view kRecordedVerbsPath = "/preflight/verbs.json";
inline constexpr std::string_view kRecordedFiInfoPath = "/preflight/fi_info.txt";
[[nodiscard]] std::optional<std::map<std::string, VerbsAttributes>> read_recorded_verbs(
    const RootFs& fs);

// `ibv_devinfo` (or -v) output: per hca_id, fw_ver, vendor_part_id and port 1's state. It says
// nothing of the efadv caps (rdma_read/rdma_write stay unknown). A tree may record it as
// preflight/ibv_devinfo.txt instead of verbs.json.
inline constexpr std::string_view kRecordedDevinfoPath = "/preflight/ibv_devinfo.txt";
[[nodiscard]] std::map<std::string, VerbsAttributes> parse_ibv_devinfo(std::string_view text);

}  // namespace preflight::probes
