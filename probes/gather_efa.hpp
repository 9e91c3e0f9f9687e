// Gather for preflight-efa: EFA devices from sysfs under the root (vendor 0x1d0f, device 0xefaN
// under /sys/class/infiniband), their ports and every hw_counters file (absent files stay absent,
// never zero), the efa driver's version and the kernel's, plus, on the live machine, ibverbs
// (ibv_query_device/port, efadv_query_device) and libfabric's efa RDM domains; under --root the
// tree's recorded answers stand in for those two (probes/efa_driver.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/efa_sysfs.hpp"
#include "common/sysfs.hpp"
#include "probes/fabric_runtime.hpp"

namespace preflight::probes {

using CounterMap = EfaCounterMap;

struct EfaPort {
  int number = 1;
  std::optional<int> state;       // 4 = ACTIVE
  std::string state_text;         // "4: ACTIVE"
  std::optional<int> phys_state;  // 5 = LinkUp
  std::string phys_state_text;
  std::optional<double> rate_gbps;
  std::string rate_text;
  std::string link_layer;
  CounterMap counters;                  // ports/<n>/hw_counters/*
  std::vector<std::string> unreadable;  // present but not a number
};

struct VerbsAttributes {
  std::string firmware;
  std::uint32_t vendor_part_id = 0;
  int max_qp = 0;
  std::uint64_t max_mr_size = 0;
  int port_state = 0;  // ibv_port_state: 4 = ACTIVE
  int port_phys_state = 0;
  std::optional<bool> rdma_read;   // efadv caps
  std::optional<bool> rdma_write;  // efadv caps (rdma-core >= 45 names the bit)
  std::uint32_t max_rdma_size = 0;
  std::string error;  // why the query failed, empty when fine
};

struct EfaDevice {
  std::string name;
  std::string pci_bus_id;
  std::uint32_t device_id = 0;
  std::optional<int> numa_node;
  std::vector<EfaPort> ports;
  CounterMap device_counters;  // <dev>/hw_counters/*
  bool device_counters_present = false;
  // Where the setup error counters are: "<dev>/hw_counters", or "ports/1/hw_counters" on kernels
  // before the device/port split; empty when neither holds them.
  std::string setup_counters_location;
  std::optional<VerbsAttributes> verbs;  // live only
};

struct EfaFacts {
  std::string source;
  bool live = true;
  std::vector<EfaDevice> devices;               // sorted by PCI address
  std::vector<std::string> other_rdma_devices;  // RDMA devices that are not EFA
  int count_retries = 0;                        // re-reads while waiting for late devices
  bool verbs_queried = false;
  std::string verbs_reason;
  bool fabric_queried = false;
  std::string fabric_reason;
  FabricQuery fabric;  // provider efa, RDM
  std::string libfabric_version;
  std::string libfabric_source;    // "libfabric <path>" or the recorded fi_info file
  std::string kernel_release;      // /proc/sys/kernel/osrelease
  std::string efa_module_version;  // /sys/module/efa/version (out-of-tree module only)
  // FI_EFA_USE_DEVICE_RDMA as the probe's environment has it (live only).
  std::optional<std::string> use_device_rdma_env;
};

struct EfaGatherOptions {
  bool query_libraries = true;  // ibverbs and libfabric (live machine only)
  int expected_count = 0;       // with `retry_late`, re-read until this many devices appear
  bool retry_late = false;
};

[[nodiscard]] EfaFacts gather_efa(const RootFs& fs, const EfaGatherOptions& options);

// "200 Gb/sec (4X HDR)" -> 200.
[[nodiscard]] std::optional<double> parse_rate_gbps(std::string_view text);

}  // namespace preflight::probes
