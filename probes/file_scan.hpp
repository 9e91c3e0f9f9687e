// Finding version strings inside binary files: common/file_scan.hpp (NCCL's network plugin is
// read the same way by the collectives and preflight-p2p).
#pragma once

#include "common/file_scan.hpp"

namespace preflight::probes {

using preflight::file_contains;
using preflight::find_version_after;
using preflight::kMaxScanBytes;
using preflight::scan_file;
using preflight::version_token;

}  // namespace preflight::probes
