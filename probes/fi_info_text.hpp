// fi_info(1) output as operators collect it: `fi_info --version`, `fi_info -p efa -t FI_EP_RDM`
// (the short records), `fi_info -v` (verbose records separated by "---"), the failure line
// `fi_getinfo: -61`, and all of it run through `mpirun --tag-output` ("[1,0]<stdout>:" prefixes,
// records of several ranks) or pasted with extra indentation, ssh warnings, shell prompts and
// "..." where lines were cut. preflight-efa reads a recorded copy under --root
// (preflight/fi_info.txt) to judge a node from its collected outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace preflight::probes {

struct FiInfoRecord {
  std::string tag;  // "[1,0]" under mpirun --tag-output, else empty
  std::string provider;
  std::string fabric;
  std::string domain;
  std::string version;  // provider version, "120.10"
  std::string type;     // "FI_EP_RDM"
  std::string protocol;
  // Verbose records only.
  std::string api_version;  // fi_fabric_attr.api_version
  std::optional<std::size_t> cq_data_size;
  std::optional<std::size_t> inject_size;
  std::optional<std::uint64_t> max_msg_size;
  std::string mr_mode;
  std::vector<std::string> caps;  // fi_info.caps
  std::string device_id;          // nic.fi_device_attr.device_id, "0xefa1"
  std::string device_name;        // nic.fi_device_attr.name
  std::optional<std::uint64_t> link_speed_bps;
  std::string link_state;  // "FI_LINK_UP"
};

struct FiInfoText {
  std::vector<FiInfoRecord> records;
  std::string fi_info_version;       // "1.19.0amzn3.0" (fi_info --version)
  std::string libfabric_version;     // "1.19.0amzn3.0"
  std::string api_version;           // "1.19"
  std::optional<int> getinfo_error;  // fi_getinfo: -61 (-FI_ENODATA: no such provider)
  bool elided = false;               // a "..." line: records were cut from the output
};

[[nodiscard]] FiInfoText parse_fi_info_text(std::string_view text);

}  // namespace preflight::probes
