// The platform catalog: what an instance type should look like (GPU and EFA counts, NVLink, the
// GPU<->EFA grouping, minimum versions). The data lives in reports/platforms/<type>.json, each file
// citing its source, and is compiled into the library so no tool depends on where the data files
// were installed. Every layer reads the catalog here: the probes judge against it, the NCCL log
// judge takes its EFA count, p2p its per-device rate, the baseline model its bandwidths.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/version.hpp"

namespace preflight {

struct Platform {
  std::string instance_type;
  std::string gpu_model;
  int gpu_count = 0;
  int efa_count = 0;
  std::optional<int> efa_aggregate_gbps;  // absent where the reference publishes none
  bool efa_may_enumerate_late = false;    // p5en: retry the device count before judging
  int non_efa_rdma_devices = 0;           // p6-b200 lists two ibp* devices beside the EFA ones
  int nvlink_per_gpu = 0;
  int nvlink_generation = 0;
  // The PCIe grouping: each group (one switch) holds gpus_per_group GPUs and efa_per_group EFA
  // devices, so a GPU needs efa_per_group local EFA devices and an EFA serves gpus_per_group GPUs.
  int gpus_per_group = 1;
  int efa_per_group = 1;
  std::string grouping_description;
  std::map<std::string, Version> min_versions;  // keyed by version component ("nccl", ...)
  std::vector<std::string> notes;
  std::string source;

  // Expected per-device EFA port rate, when the aggregate is published.
  [[nodiscard]] std::optional<double> efa_rate_per_device_gbps() const;
};

// Parses one catalog file's JSON text; throws std::invalid_argument naming `origin` and the key
// on a missing or mistyped field (the catalog is data the tests check file by file).
[[nodiscard]] Platform parse_platform(std::string_view json_text, std::string_view origin);

// All platforms compiled in, sorted by instance type.
[[nodiscard]] std::span<const Platform> platform_catalog();
// nullptr when the type is not in the catalog.
[[nodiscard]] const Platform* find_platform(std::string_view instance_type);

// The embedded catalog files: {file name, JSON text}.
struct EmbeddedFile {
  std::string_view name;
  std::string_view text;
};
[[nodiscard]] std::span<const EmbeddedFile> embedded_platform_files();

}  // namespace preflight
