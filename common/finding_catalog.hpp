// The findings catalog's table. APPEND-ONLY: never rename, renumber or delete an id (reports,
// dashboards and drain reasons in the field refer to them); retire an id by leaving it unused.
// Each message template is an fmt format string; its arguments are named by the entry's callers.
// The table is constexpr and in a header so that an id and its arguments are checked where a
// finding is fired, at compile time (common/findings.hpp, FindingText).
#pragma once

#include <array>

#include "common/finding_definition.hpp"

namespace preflight::finding_table {

using enum Severity;
using C = Category;

inline constexpr std::array kCatalog = std::to_array<FindingDefinition>({
    // ---- versions (preflight-versions) ----
    {"VERSION_LIBFABRIC", info, C::version, "libfabric {} (built against {})", ""},
    {"VERSION_LIBFABRIC_PROVIDERS", info, C::version, "libfabric providers: {}", ""},
    {"VERSION_RDMA_CORE", info, C::version, "rdma-core {}", ""},
    {"VERSION_NCCL", info, C::version, "NCCL {} loaded from {}", ""},
    {"VERSION_OFI_NCCL", info, C::version, "aws-ofi-nccl {} at {}", ""},
    {"VERSION_MPI", info, C::version, "MPI: {}", ""},
    {"VERSION_CUDA_RUNTIME", info, C::version, "CUDA runtime {} loaded from {}", ""},
    {"VERSION_CUDA_DRIVER", info, C::version, "CUDA driver API {}", ""},
    {"VERSION_HWLOC", info, C::version, "hwloc {} (built against {})", ""},
    {"VERSION_EFA_INSTALLER", info, C::version, "EFA installer {}", ""},
    {"VERSION_EFA_KMOD", info, C::version, "EFA kernel module {}", ""},
    {"VERSION_OS", info, C::version, "{} / kernel {}", ""},
    {"LIBFABRIC_HEADER_RUNTIME_MISMATCH", monitor, C::version,
     "libfabric runtime {} is older than the headers {} this binary was built with",
     "Put the libfabric the binary was built against first on LD_LIBRARY_PATH, or rebuild"},
    {"EFA_PROVIDER_MISSING", isolate, C::version,
     "libfabric {} has no efa provider (providers: {})",
     "Install the AWS EFA installer's libfabric (/opt/amazon/efa) and put /opt/amazon/efa/lib "
     "first on LD_LIBRARY_PATH"},
    {"EFA_INSTALLER_TOO_OLD", monitor, C::version,
     "EFA installer {} is older than the minimum {} ({})",
     "Upgrade the EFA installer "
     "(https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-start.html)"},
    {"NCCL_TOO_OLD", monitor, C::version, "NCCL {} is older than the minimum {} ({})",
     "Upgrade NCCL to the recommended version for this platform"},
    {"OFI_NCCL_TOO_OLD", monitor, C::version, "aws-ofi-nccl {} is older than the minimum {} ({})",
     "Upgrade aws-ofi-nccl (shipped with the EFA installer >= 1.29 in /opt/amazon/ofi-nccl)"},
    {"OFI_NCCL_LIBFABRIC_TOO_OLD", isolate, C::version,
     "aws-ofi-nccl {} needs libfabric >= {}, found {}",
     "Upgrade the EFA installer so libfabric matches the plugin"},
    {"CUDA_TOO_OLD", monitor, C::version, "CUDA {} is older than the minimum {} ({})",
     "Upgrade the CUDA toolkit/runtime"},
    {"CUDA_DRIVER_TOO_OLD", isolate, C::version,
     "CUDA driver API {} is older than the CUDA runtime {}: kernels will fail to launch",
     "Upgrade the NVIDIA driver to one supporting CUDA {}"},
    {"OFI_NCCL_NOT_FOUND", monitor, C::version,
     "aws-ofi-nccl plugin not found (searched {}): NCCL will fall back to TCP sockets",
     "Install aws-ofi-nccl (EFA installer >= 1.29 ships it in /opt/amazon/ofi-nccl) and make sure "
     "its lib directory is in LD_LIBRARY_PATH or /etc/ld.so.conf.d"},

    // ---- platform ----
    {"PLATFORM_UNKNOWN", info, C::topology,
     "instance type {} is not in the platform catalog: platform checks skipped",
     "Pass --instance-type with a catalogued type, or add reports/platforms/<type>.json"},

    // ---- drivers (preflight-drivers) ----
    {"NVIDIA_DRIVER_MISSING", isolate, C::driver, "NVIDIA kernel driver not loaded: {}",
     "Install/load the NVIDIA driver (modprobe nvidia) or replace the instance"},
    {"NVIDIA_DRIVER_VERSION", info, C::driver, "NVIDIA driver {}", ""},
    {"GPU_COUNT_MISMATCH", isolate, C::driver, "{} GPUs visible, platform {} has {}",
     "A GPU fell off the bus: stop the instance and start it again (new host), or replace it"},
    {"GPU_PERSISTENCE_OFF", monitor, C::driver, "persistence mode is off on GPU {}",
     "nvidia-smi -pm 1 (or enable nvidia-persistenced)"},
    {"GPU_ECC_DISABLED", monitor, C::driver, "ECC is disabled on GPU {}",
     "nvidia-smi -e 1 and reboot"},
    {"GPU_ECC_UNCORRECTED", reset, C::driver, "GPU {} has {} uncorrected ECC errors",
     "Reset the GPU (nvidia-smi -r) or reboot; replace the instance if they recur"},
    {"GPU_RETIRED_PAGES_PENDING", reboot, C::driver, "GPU {} has page retirement pending",
     "Reboot to retire the pages"},
    {"GPU_ROW_REMAP_FAILURE", isolate, C::driver, "GPU {} row remapping failed or is pending: {}",
     "Reboot if pending; replace the instance on failure"},
    {"PCIE_LINK_DOWNTRAINED", monitor, C::topology,
     "PCIe link of {} runs at {} x{}, capable of {} x{}",
     "Stop and start the instance (new host); report to AWS if it persists"},
    {"NVLINK_DOWN", isolate, C::driver, "GPU {} has {} of {} NVLinks up",
     "Reset the GPU or reboot; replace the instance if links stay down"},
    {"CUDA_DRIVER_VERSION", info, C::driver, "CUDA driver API {}", ""},
    {"EFA_KMOD_MISSING", isolate, C::driver, "EFA kernel module not loaded",
     "Install the EFA installer (it builds the efa module) and modprobe efa"},
    {"GPUDIRECT_RDMA_UNAVAILABLE", monitor, C::driver,
     "neither nvidia_peermem nor a dma-buf capable stack found: {}",
     "modprobe nvidia_peermem, or use kernel >= 5.12 with NVIDIA driver >= 515 (dma-buf)"},
    {"GDRDRV_MISSING", info, C::driver, "gdrdrv (GDRCopy) not loaded",
     "Install GDRCopy for lower small-message latency (optional)"},
    {"FABRIC_MANAGER_DOWN", isolate, C::driver,
     "{} NVSwitches present but the fabric manager is not running: {}",
     "systemctl start nvidia-fabricmanager (its version must equal the driver's)"},
    {"MEMLOCK_LIMITED", isolate, C::environment,
     "memlock limit is {} (needs unlimited or >= 16 GiB)",
     "Set 'memlock unlimited' in /etc/security/limits.conf and for the Slurm/container runtime "
     "(--ulimit memlock=-1)"},

    // ---- topology (preflight-topology) ----
    {"TOPOLOGY_UNAVAILABLE", info, C::topology, "topology could not be read: {}", ""},
    {"EFA_COUNT_MISMATCH", isolate, C::efa, "{} EFA devices found, platform {} has {}",
     "An EFA device is missing: stop and start the instance (new host), or replace it"},
    // A GPU short of EFA devices behind its own PCIe switch sends its NCCL traffic up through
    // the root complex to another switch's NIC, across the inter-socket link when that NIC is on
    // the other socket: GPUDirect RDMA loses its direct path and the node cannot reach the
    // platform's bandwidth. Both therefore fail acceptance (isolate), not warn. A GPU with more
    // local NICs than expected fires too: it names where the missing ones went.
    {"EFA_PER_GPU_MISMATCH", isolate, C::topology,
     "GPU {} has {} local EFA devices, platform {} expects {}",
     "EFA devices are not where the platform puts them, so a GPU's traffic leaves its own PCIe "
     "switch: stop and start the instance (new host) and report it to AWS if it persists; when "
     "the input was a topology file (--hwloc-xml), fix its GPU/NIC mapping and any "
     "NCCL_TOPO_FILE made from it"},
    {"GPU_NIC_CROSS_NUMA", isolate, C::topology,
     "EFA {} is on NUMA node {} but its GPU {} is on NUMA node {}",
     "The GPU's traffic crosses the inter-socket link: stop and start the instance (new host) "
     "and report it to AWS if it persists; when the input was a topology file (--hwloc-xml), "
     "fix its GPU/NIC mapping and any NCCL_TOPO_FILE made from it"},
    {"NVSWITCH_COUNT_MISMATCH", isolate, C::topology, "{} NVSwitches found, platform {} has {}",
     "Replace the instance"},

    // ---- environment (preflight-env) ----
    {"ENV_RDMAV_FORK_SAFE_SET", monitor, C::environment, "{} is set: {}",
     "Unset RDMAV_FORK_SAFE and every RDMAV_* variable; use FI_EFA_FORK_SAFE on kernels < 5.15"},
    {"ENV_FI_PROVIDER_STALE", monitor, C::environment,
     "FI_PROVIDER={} is only needed for aws-ofi-nccl <= 1.5.0 (found {})", "Unset FI_PROVIDER"},
    {"ENV_NCCL_PROTO_STALE", monitor, C::environment,
     "NCCL_PROTO={} is only needed for aws-ofi-nccl <= 1.5.0 (found {}); it costs bandwidth",
     "Unset NCCL_PROTO"},
    {"ENV_FI_EFA_USE_DEVICE_RDMA_STALE", info, C::environment,
     "FI_EFA_USE_DEVICE_RDMA=1 is not needed with libfabric >= 1.18 and aws-ofi-nccl >= 1.7",
     "Unset FI_EFA_USE_DEVICE_RDMA"},
    {"ENV_FI_EFA_SET_CUDA_SYNC_MEMOPS_NEEDED", monitor, C::environment,
     "EFA installer {} < 1.29.1 with NCCL {} >= 2.19 needs FI_EFA_SET_CUDA_SYNC_MEMOPS=0",
     "export FI_EFA_SET_CUDA_SYNC_MEMOPS=0, or upgrade the EFA installer"},
    {"ENV_FI_EFA_FORK_SAFE_UNNEEDED", info, C::environment,
     "FI_EFA_FORK_SAFE=1 is not needed on kernel {} (>= 5.15)", "Unset it (harmless)"},
    {"ENV_NCCL_SOCKET_IFNAME_NO_MATCH", isolate, C::environment,
     "NCCL_SOCKET_IFNAME={} matches no interface (have: {})",
     "Set NCCL_SOCKET_IFNAME to a prefix of an existing interface (e.g. 'en' on p4d/p5)"},
    {"ENV_NCCL_TUNING_OVERRIDE", monitor, C::environment, "{}={} overrides NCCL's tuning",
     "Leave it at the default unless a measurement shows a gain"},
    {"ENV_HUGE_PAGE_FORK", info, C::environment,
     "FI_EFA_USE_HUGE_PAGE is not 0 and processes may fork (data loaders)",
     "export FI_EFA_USE_HUGE_PAGE=0 for PyTorch jobs with forking data loaders"},
    {"HUGEPAGES_UNAVAILABLE", info, C::environment, "no huge pages configured: {}",
     "Reserve huge pages (vm.nr_hugepages) if the EFA provider should use them"},
    {"ENV_NCCL_SHM_USE_CUDA_MEMCPY_RECOMMENDED", info, C::environment,
     "NCCL_SHM_USE_CUDA_MEMCPY is {} on {}: 1 is recommended on g5/g6",
     "export NCCL_SHM_USE_CUDA_MEMCPY=1"},

    // ---- EFA devices (preflight-efa) ----
    {"EFA_ABSENT", info, C::efa, "no EFA device on this machine", ""},
    {"EFA_PORT_DOWN", isolate, C::efa, "EFA {} port {} is {} / {}",
     "Stop and start the instance; replace it if the port stays down"},
    {"EFA_RDMA_READ_UNSUPPORTED", monitor, C::efa,
     "EFA {} does not support RDMA read: GPUDirect RDMA disabled",
     "Expected on instances without RDMA read; otherwise update the EFA driver"},
    {"EFA_LIBFABRIC_DOMAIN_MISSING", isolate, C::efa,
     "libfabric efa provider lists {} RDM domains, {} devices exist ({} missing)",
     "Check the EFA installer and /dev/infiniband permissions"},
    // EFA_ERROR_COUNTERS_RISING: path events (timeouts, unresponsive or impaired remotes) above
    // their rate, or rx_drops above their share of the packets received (common/efa_sysfs.hpp);
    // monitor, not isolate: the counters count other jobs' traffic and a peer's trouble too.
    {"EFA_ERROR_COUNTERS_RISING", monitor, C::efa, "EFA {} error counters rose: {}",
     "Path or peer trouble during the test (the counters count every job on the device): "
     "re-test the node's links with preflight cluster; drain it if the rise recurs with no other "
     "job on it"},
    {"EFA_SETUP_ERRORS", monitor, C::efa, "EFA {} setup error counters are non-zero: {}",
     "Check memlock limits and process counts per device"},
    {"EFA_PORT_RATE_LOW", monitor, C::efa,
     "EFA {} port {} runs at {} Gb/s, platform {} expects {} Gb/s per device",
     "Stop and start the instance (new host); report to AWS if it persists"},
    {"EFA_DEVICE_UNREADABLE", isolate, C::efa, "EFA {} could not be queried: {}",
     "Check the efa driver and /dev/infiniband permissions; replace the instance if it persists"},
    // EFA_RDMA_WR_ERRORS: device, the rises. EFA_RETRANSMITS_HIGH: device, retransmitted packets
    // and their share of the packets sent.
    {"EFA_RDMA_WR_ERRORS", isolate, C::efa, "EFA {} RDMA work requests failed: {}",
     "The device failed RDMA operations: drain the node; replace the instance if it recurs"},
    {"EFA_RETRANSMITS_HIGH", monitor, C::efa, "EFA {} retransmitted a large share: {}",
     "SRD retransmits under congestion: re-test when the fabric is quiet; report the node to AWS "
     "if its share stays high"},
    // EFA_DEVICE_RDMA_OFF: where (tool or devices), the API version, the vendor part and why.
    {"EFA_DEVICE_RDMA_OFF", monitor, C::efa,
     "{}: libfabric API {} keeps device RDMA off on EFA {} ({})",
     "Install libfabric >= 1.18 (a newer EFA installer) so applications can ask for API 1.18; "
     "until then FI_EFA_USE_DEVICE_RDMA=1 turns it on"},

    // ---- NCCL transport (log rules) ----
    {"OFI_NCCL_NOT_LOADED", isolate, C::nccl, "NCCL did not load the aws-ofi-nccl plugin: {}",
     "Put the plugin's lib directory on LD_LIBRARY_PATH (NCCL_NET_PLUGIN) and check it loads"},
    {"NCCL_FALLBACK_SOCKET", isolate, C::nccl, "NCCL fell back to TCP sockets: {}",
     "Fix the plugin/provider error above; never train on NET/Socket on EFA instances"},
    {"NCCL_EFA_NIC_COUNT_MISMATCH", isolate, C::nccl,
     "aws-ofi-nccl found {} EFA NICs, platform {} has {}", "A NIC is missing or unusable"},
    {"NCCL_GDRDMA_OFF", monitor, C::nccl, "NET channels do not use GPUDirect RDMA: {}",
     "Load nvidia_peermem or enable dma-buf; expected on instances without GPUDirect RDMA"},
    {"NCCL_USES_EFA", info, C::nccl, "NCCL uses EFA: {}", ""},

    // ---- benchmarks ----
    {"RESULT_WRONG", isolate, C::benchmark, "{} wrong elements at {} bytes: {}",
     "Data corruption: drain the node(s) named and rerun with --check on pairs to localize"},
    {"RESULT_CORRECT", info, C::benchmark, "{} sizes checked bit-exact over {} ranks", ""},
    {"BENCH_TIMEOUT", isolate, C::benchmark, "{} did not finish within {} s in phase {}: {}",
     "A rank or link is stuck: check the named ranks' hosts"},
    {"PEER_LOST", isolate, C::benchmark, "peer {} was lost: {}", "Check the named host"},
    {"NODE_UNREACHABLE", isolate, C::benchmark, "node {} could not be reached: {}",
     "Check the node's network and that it is up"},
    // A confirmed bad link (slow in several measurements while both ends are fast with others)
    // keeps the two nodes from running one job together at full speed: isolate, like a bad node.
    {"P2P_LINK_OUTLIER", isolate, C::benchmark, "link {} <-> {} is slow: {}",
     "Keep the two nodes out of one job (drain one of them) and report the pair, with this "
     "evidence, to AWS support"},
    {"P2P_NODE_OUTLIER", isolate, C::benchmark, "node {} is slow with most partners: {}",
     "Drain and replace the node"},
    {"BASELINE_REGRESSION", monitor, C::benchmark, "{} misses the baseline: {}",
     "Compare with history; check versions and topology of the node"},
    // preflight-report (compare, history, import nccl-tests). Arguments: what was compared, the
    // reference (baseline name / previous runs), the comparison's summary.
    {"BASELINE_PASS", info, C::benchmark, "{} meets baseline {}: {}", ""},
    {"BASELINE_INCONCLUSIVE", monitor, C::benchmark, "{} against baseline {} is inconclusive: {}",
     "The confidence interval straddles a band edge: rerun with more iterations or a tighter "
     "--target-precision"},
    {"HISTORY_REGRESSION", monitor, C::benchmark,
     "{} left the band of the previous {} comparable runs: {}",
     "Compare versions, environment and topology with the previous runs (preflight-report diff)"},
    {"HISTORY_PASS", info, C::benchmark,
     "{} within the band of the previous {} comparable runs: {}", ""},
    // preflight-report history add --json: the report, the run id, the database.
    {"HISTORY_RECORDED", info, C::benchmark, "{} recorded as run {} in {}", ""},
    {"NCCL_TESTS_IMPORTED", info, C::benchmark, "imported {} result rows of {} from {}", ""},
    {"NCCL_TESTS_FAILED", isolate, C::benchmark, "nccl-tests reported a failure in {}: {}",
     "Read the failure lines in the evidence; rerun with NCCL_DEBUG=INFO and drain the named host "
     "if it recurs"},
    {"NCCL_TESTS_INCOMPLETE", monitor, C::benchmark, "nccl-tests output {} is incomplete: {}",
     "The run hung or was cut short: rerun under a timeout with NCCL_DEBUG=INFO"},
    // preflight-report import nccl-log: what an NCCL debug log says (versions, network, NICs).
    {"NCCL_LOG_IMPORTED", info, C::nccl, "read {} NCCL lines from {}: {}", ""},
    // An imported log whose NCCL lines decide nothing about EFA (another network, no plugin).
    {"NCCL_TRANSPORT_NOT_JUDGED", info, C::nccl, "NCCL transport of {} not judged: {}",
     "Capture the log with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET on an EFA instance"},
    {"NCCL_TESTS_RANKS_UNKNOWN", info, C::benchmark,
     "{} does not say how many ranks ran ({}): times and printed bandwidths imported with ranks "
     "unknown",
     "Import with --ranks N (and --nodes N) so the rows compare with baselines and trend"},
    // Collectives (preflight-allreduce, ...). COLLECTIVE_MEASURED: collective, ranks, summary
    // naming the peak bus bandwidth and where it was reached. BENCH_INCOMPLETE (partial reports
    // written after every size): tool, sizes finished, sizes planned, why.
    {"COLLECTIVE_MEASURED", info, C::benchmark, "{} measured over {} ranks: {}", ""},
    {"BENCH_INCOMPLETE", monitor, C::harness, "{} stopped after {} of {} sizes: {}",
     "The run was killed or is still running: rerun it; after a timeout check the hosts named "
     "in BENCH_TIMEOUT"},
    // Point-to-point (preflight-p2p). P2P_PROVIDER_UNAVAILABLE: why fi_getinfo found nothing
    // (skip). P2P_COMPLETION_ERROR: peer, decoded CQ error entry. P2P_LINK_SURVEY: nodes, links
    // measured, rounds, schedule mode, re-test rounds.
    {"P2P_PROVIDER_UNAVAILABLE", info, C::benchmark, "{}",
     "Check `fi_info -l` and the provider/domain names (Debian's tcp RDM provider is "
     "\"tcp;ofi_rxm\"); on EFA instances check the EFA installer"},
    {"P2P_COMPLETION_ERROR", isolate, C::benchmark, "completion error with {}: {}",
     "Rerun the pair; check the named peer's host, its EFA error counters and the link"},
    {"P2P_LINK_SURVEY", info, C::benchmark,
     "{} nodes, {} links measured in {} rounds ({} schedule, {} re-test rounds)", ""},
    // P2P_PROVIDER_MISMATCH: the odd nodes, what each side chose. P2P_NO_EFA: the nodes without
    // EFA devices under --provider auto (an error: tcp only when asked for).
    {"P2P_PROVIDER_MISMATCH", isolate, C::benchmark, "nodes disagree on the libfabric provider: {}",
     "The odd nodes lack EFA devices or the efa provider: check them with preflight-efa; pass "
     "--provider tcp only to measure TCP on purpose"},
    {"P2P_NO_EFA", info, C::benchmark, "--provider auto found no EFA device on {}: {}",
     "Run on EFA instances, or pass --provider tcp to measure over TCP on purpose"},

    // ---- harness ----
    {"HARNESS_ERROR", isolate, C::harness, "{}", "See the error; rerun with --verbose"},
    {"STEP_SKIPPED", info, C::harness, "{}", ""},
    {"STEP_FAILED", monitor, C::harness, "step {} failed (exit {}): {}",
     "See the step's checks in the suite report (details.steps)"},
    {"STEP_ERROR", isolate, C::harness, "step {} broke (exit {}): {}",
     "See the step's stderr tail in the suite report; rerun the step alone"},
    {"STEP_TIMEOUT", isolate, C::harness, "step {} did not finish within {} s: {}",
     "A rank, node or link is stuck: rerun the step alone and check the named hosts"},
    {"CLUSTER_LINK_SUSPECT", monitor, C::benchmark, "pair {} <-> {} is slow: {}",
     "With two nodes a bad node cannot be told from a bad link: add a third node and rerun"},
    {"CLUSTER_PAIRS_HEALTHY", info, C::benchmark, "{} node pairs measured, none slow: {}", ""},
    // The pair survey's unconfirmed suspects (preflight-p2p all-pairs/ring, preflight cluster):
    // slow, but not measured often enough (or against enough known-good partners) to blame.
    {"P2P_NODE_SUSPECT", monitor, C::benchmark, "node {} may be slow: {}",
     "Not confirmed: rerun the survey with more re-test rounds (--retest-rounds) before "
     "draining the node"},
    {"P2P_LINK_SUSPECT", monitor, C::benchmark, "link {} <-> {} may be slow: {}",
     "Not confirmed: rerun the survey with more re-test rounds (--retest-rounds), or add nodes "
     "so each end has a known-good partner"},
    // The MPI world a binary sees is not the one its launcher was asked for (a launch without PMI
    // gives N single-rank worlds). The message names what was asked, what was seen and the fix.
    {"LAUNCH_WORLD_MISMATCH", info, C::harness, "{}",
     "Give the ranks a process-management interface: srun --mpi=pmix (or --mpi=pmi2; `srun "
     "--mpi=list` shows what this Slurm has), MpiDefault=pmix in slurm.conf, or launch with "
     "mpirun"},
    // Args: the limit. MEMLOCK_LIMITED's case on a node without EFA, where nothing pins large
    // buffers yet: a finding of its own (monitor), so that MEMLOCK_LIMITED keeps its severity.
    {"MEMLOCK_LIMITED_NO_EFA", monitor, C::environment,
     "memlock limit is {} (EFA and GPUDirect RDMA need unlimited or >= 16 GiB; no EFA device "
     "here)",
     "Set 'memlock unlimited' in /etc/security/limits.conf and for the Slurm/container runtime "
     "(--ulimit memlock=-1) before EFA is used"},
    // Rails (preflight-p2p --rails, preflight cluster): one NIC of a node is slow with every
    // partner on its rail while the node's other NICs are fast: a cable, a port or a device, not
    // the node. Arguments: node, rail, device, evidence.
    {"P2P_NIC_OUTLIER", isolate, C::benchmark, "NIC {} rail {} ({}) is slow: {}",
     "Check the device's cable and switch port (and its counters in preflight-efa); drain the "
     "node until the NIC is replaced"},
    {"P2P_NIC_UNREACHABLE", isolate, C::benchmark, "NIC {} rail {} ({}) could not be reached: {}",
     "Check the device's link state, cable and switch port; drain the node until the NIC "
     "answers"},
    // No pair carried data: every node's typical bandwidth is 0, so there is no healthy level to
    // judge by (a rail dead everywhere, or a --rail-timeout shorter than a size takes). Never a
    // pass. Arguments: where (the rail, or "every pair"), evidence.
    {"P2P_NOTHING_CARRIED", isolate, C::benchmark, "{}: no pair carried data: {}",
     "Check the rail's NICs and switch; with --rails, a --rail-timeout shorter than one size "
     "takes at this rate gives every rail up: raise it"},
    // Rails runs: a node's healthy NICs together, at once, below their line rate (the platform
    // catalog's per-device EFA rate, or --nic-rate-gbps). Arguments: node, what it carried against
    // what. P2P_RAILS_AGGREGATE: the metric, how the aggregates were judged or why not.
    {"P2P_NODE_AGGREGATE_LOW", isolate, C::benchmark,
     "node {} carries less than its NICs should: {}",
     "Check the node's PCIe links (preflight-topology, lspci -vv: a link trained at a lower width "
     "or speed) and its EFA devices' counters (preflight-efa); drain the node until fixed"},
    {"P2P_RAILS_AGGREGATE", info, C::benchmark, "aggregate over rails, {}: {}", ""},
});

}  // namespace preflight::finding_table
