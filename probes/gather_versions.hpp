// Gather for preflight-versions: the user-space stack as facts. File-based rows (EFA installer,
// plugin, kernel module, OS, rdma-core) come from the root (live "/" or a fixture); API-based rows
// (libfabric, NCCL, CUDA, MPI, hwloc) always come from the libraries this process can load.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/sysfs.hpp"
#include "common/version.hpp"

namespace preflight::probes {

enum class VersionComponent {
  libfabric,  // runtime, header, providers
  rdma_core,
  nccl,
  aws_ofi_nccl,
  mpi,
  cuda_runtime,
  cuda_driver,
  hwloc,
  efa_installer,
  efa_kmod,
  nvidia_driver,
  os,  // OS and kernel
};

[[nodiscard]] const std::set<VersionComponent>& all_version_components();

struct ComponentFact {
  bool present = false;
  std::optional<Version> version;  // what the rules compare
  std::string display;             // as shown to people
  std::string location;            // the file or library the fact came from
  std::string reason;              // why it is absent
  nlohmann::json evidence = nlohmann::json::object();
};

struct FabricProviders {
  bool queried = false;
  std::string reason;                    // why not queried
  std::vector<std::string> usable;       // providers in fi_getinfo's answer (layers split)
  std::vector<std::string> registered;   // providers the core registered (FI_PROV_ATTR_ONLY)
  std::vector<std::string> efa_fabrics;  // fabric names of the efa entries
  bool efa_usable = false;
  std::optional<bool> efa_compiled_in;  // efa provider built into (or beside) the library
};

struct VersionFacts {
  std::string root;
  bool live = true;
  ComponentFact libfabric;
  ComponentFact libfabric_header;
  FabricProviders providers;
  ComponentFact rdma_core;
  ComponentFact nccl;
  ComponentFact aws_ofi_nccl;
  std::vector<std::string> aws_ofi_nccl_searched;  // directories, in search order
  ComponentFact mpi;
  ComponentFact cuda_runtime;
  ComponentFact cuda_driver;
  ComponentFact hwloc;
  ComponentFact hwloc_header;
  ComponentFact efa_installer;
  ComponentFact efa_kmod;
  ComponentFact nvidia_driver;
  ComponentFact os;
  ComponentFact kernel;
  int efa_device_count = 0;  // EFA devices under the root's /sys/class/infiniband

  // The fact behind a rule's component key ("nccl", "libfabric", "kernel", ...); nullptr if the
  // key is unknown.
  [[nodiscard]] const ComponentFact* component(std::string_view key) const;
};

struct VersionGatherOptions {
  std::set<VersionComponent> components = all_version_components();
  bool query_libraries = true;  // false: API rows are skipped (fixture tests stay deterministic)
  std::map<std::string, std::string> environment;  // NCCL_HOME, CUDA_HOME, LD_LIBRARY_PATH, ...
};

[[nodiscard]] VersionFacts gather_versions(const RootFs& fs, const VersionGatherOptions& options);

// Pieces, exposed for the unit tests.
[[nodiscard]] std::optional<std::string> parse_efa_installer_version(std::string_view text);
[[nodiscard]] std::optional<std::string> parse_nvidia_proc_version(std::string_view text);
[[nodiscard]] std::optional<std::string> os_release_value(std::string_view text,
                                                          std::string_view key);
// "libibverbs.so.1.14.44.0" -> "44.0" (rdma-core names the library 1.<abi>.<package version>).
[[nodiscard]] std::optional<std::string> rdma_core_from_library_name(std::string_view name);
// "rdma-core-54.0-1.amzn2023.x86_64" in an installer package list -> "54.0".
[[nodiscard]] std::optional<std::string> package_version(std::string_view package_list,
                                                         std::string_view package);
// Directories the aws-ofi-nccl plugin is searched in, in the dynamic loader's order.
[[nodiscard]] std::vector<std::string> ofi_nccl_search_dirs(
    const RootFs& fs, const std::map<std::string, std::string>& environment);
// Number of EFA devices (vendor 0x1d0f) under /sys/class/infiniband.
[[nodiscard]] int count_efa_devices(const RootFs& fs);

}  // namespace preflight::probes
