// What the libfabric transport reports of itself: fi_info's bit fields and enums as the text of
// FabricDescription (describe_fabric, in fabric_transport.hpp, turns that into the report's JSON).
// CompletionError, which decodes a CQ error entry, is defined beside them.
#pragma once

#include <rdma/fabric.h>

#include <string>

namespace preflight::p2p {

[[nodiscard]] std::string mr_mode_string(int mr_mode);  // e.g. "local|virt_addr|prov_key"
[[nodiscard]] std::string threading_string(fi_threading threading);  // FI_THREAD_* in lower case
[[nodiscard]] std::string progress_string(fi_progress progress);     // "auto", "manual"

}  // namespace preflight::p2p
