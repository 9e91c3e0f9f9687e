#include "probes/gather_versions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <regex>

#include "common/text.hpp"
#include "preflight/build_config.hpp"
#include "probes/fabric_runtime.hpp"
#include "probes/file_scan.hpp"
#include "probes/library_search.hpp"

#if PREFLIGHT_HAVE_HWLOC
#include <hwloc.h>
#endif

namespace preflight::probes {
namespace {

using nlohmann::json;

constexpr std::string_view kInstallerFile = "/opt/amazon/efa_installed_packages";

ComponentFact absent(std::string reason) {
  ComponentFact fact;
  fact.reason = std::move(reason);
  return fact;
}

ComponentFact found(std::string display, std::string location,
                    std::optional<Version> version = std::nullopt) {
  ComponentFact fact;
  fact.present = true;
  fact.version = version ? std::move(version) : parse_version(display);
  fact.display = std::move(display);
  fact.location = std::move(location);
  return fact;
}

// "not found (tried 12 places)" with the attempts kept as evidence.
ComponentFact not_loadable(std::string_view what, const OpenedLibrary& opened) {
  ComponentFact fact =
      absent(fmt::format("{} not found (tried {} place{}: {}{})", what, opened.attempts.size(),
                         opened.attempts.size() == 1 ? "" : "s",
                         opened.attempts.empty() ? "" : opened.attempts.front(),
                         opened.attempts.size() > 1 ? ", ..." : ""));
  fact.evidence["attempts"] = opened.attempts;
  return fact;
}

// Records where a symbolic link led (/usr/local/lib/libcudart.so.13 -> /usr/local/cuda-13.0/...).
void note_symlink(ComponentFact& fact, const OpenedLibrary& opened) {
  if (!opened.canonical.empty() && opened.canonical != opened.path) {
    fact.evidence["resolved"] = opened.canonical;
  }
}

std::vector<std::string> cuda_library_dirs(const std::map<std::string, std::string>& environment) {
  std::vector<std::string> dirs;
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"}) {
    const std::string home = env_value(environment, variable);
    if (!home.empty()) {
      dirs.push_back(home + "/lib64");
      dirs.push_back(home + "/lib");
    }
  }
  dirs.emplace_back("/usr/local/cuda/lib64");
  dirs.emplace_back("/usr/local/cuda/lib");
  for (const auto& dir : matching_directories("/usr/local/cuda-*/lib*")) {
    dirs.push_back(dir);
  }
  return dirs;
}

void gather_libfabric(VersionFacts& facts, bool query_libraries) {
  const auto header = FabricRuntime::header_version();
  facts.libfabric_header =
      header ? found(header->text, "rdma/fabric.h (build time)", header)
             : absent("built without libfabric headers (turn on PREFLIGHT_WITH_LIBFABRIC)");
  if (!query_libraries) {
    facts.libfabric = absent("library queries disabled");
    facts.providers.reason = facts.libfabric.reason;
    return;
  }
  const FabricRuntime runtime = FabricRuntime::load();
  if (!runtime.loaded()) {
    facts.libfabric = absent(runtime.unavailable_reason());
    facts.providers.reason = facts.libfabric.reason;
    return;
  }
  const auto version = runtime.runtime_version();
  facts.libfabric = found(version ? version->text : "unknown", runtime.path(), version);

  FabricProviders& providers = facts.providers;
  providers.queried = true;
  const auto add_unique = [](std::vector<std::string>& names, std::string_view name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) {
      names.emplace_back(name);
    }
  };
  const FabricQuery usable = runtime.list_all();
  for (const auto& entry : usable.entries) {
    for (const auto layer : split(entry.provider, ';')) {
      add_unique(providers.usable, layer);
    }
    if (split(entry.provider, ';').front() == "efa") {
      providers.efa_usable = true;
      add_unique(providers.efa_fabrics, entry.fabric);
    }
  }
  if (usable.result != 0) {
    facts.libfabric.evidence["fi_getinfo"] = fmt::format("{} ({})", usable.result, usable.error);
  }
  if (const auto registered = runtime.list_registered(); registered && registered->result == 0) {
    for (const auto& entry : registered->entries) {
      add_unique(providers.registered, entry.provider);
    }
  }
  const bool efa_registered = std::find(providers.registered.begin(), providers.registered.end(),
                                        "efa") != providers.registered.end();
  if (providers.efa_usable || efa_registered) {
    providers.efa_compiled_in = true;
  } else {
    // The efa provider registers only when an EFA device exists. Whether this libfabric has one
    // at all: built in, it imports libefa's efadv_* calls; built as a plugin, it sits beside it.
    const std::filesystem::path library(runtime.path());
    std::error_code ec;
    providers.efa_compiled_in =
        file_contains(library, "efadv_query_device") ||
        std::filesystem::exists(library.parent_path() / "libfabric" / "libefa-fi.so", ec);
  }
}

void gather_rdma_core(VersionFacts& facts, const RootFs& fs) {
  for (const char* dir : {"/usr/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                          "/lib64", "/usr/lib"}) {
    for (const auto& name : fs.list(dir)) {
      if (const auto version = rdma_core_from_library_name(name)) {
        facts.rdma_core = found(*version, std::string(dir) + "/" + name);
        facts.rdma_core.evidence["method"] = "libibverbs file name (1.<abi>.<rdma-core version>)";
        return;
      }
    }
  }
  if (const auto packages = fs.read(kInstallerFile)) {
    if (const auto version = package_version(*packages, "rdma-core")) {
      facts.rdma_core = found(*version, std::string(kInstallerFile));
      facts.rdma_core.evidence["method"] = "EFA installer package list";
      return;
    }
  }
  facts.rdma_core = absent(
      "no libibverbs.so.1.* in /usr/lib64, /usr/lib/<arch>, /lib64 or "
      "/usr/lib, and no rdma-core in the EFA installer's package list");
}

void gather_nccl(VersionFacts& facts, const std::map<std::string, std::string>& environment) {
  std::vector<std::string> dirs;
  const std::string home = env_value(environment, "NCCL_HOME");
  if (!home.empty()) {
    dirs = {home + "/lib", home + "/lib64", home + "/build/lib", home};
  }
  dirs.emplace_back("/usr/local/cuda/lib");
  dirs.emplace_back("/usr/local/cuda/lib64");
  for (const auto& dir : matching_directories("/usr/local/cuda-*/lib*")) {
    dirs.push_back(dir);
  }
  dirs.emplace_back("/opt/nccl/build/lib");
  const OpenedLibrary opened = open_first_library(library_candidates({"libnccl.so.2"}, dirs));
  if (!opened.library.loaded()) {
    facts.nccl = not_loadable("libnccl.so.2", opened);
    return;
  }
  auto* get_version = opened.library.symbol<int(int*)>("ncclGetVersion");
  int code = 0;
  if (get_version == nullptr || get_version(&code) != 0) {
    facts.nccl = absent(opened.path + ": ncclGetVersion failed");
    return;
  }
  const Version version = version_from_nccl_code(code);
  facts.nccl = found(version.text, opened.path, version);
  note_symlink(facts.nccl, opened);
  facts.nccl.evidence["code"] = code;
}

void gather_cuda_runtime(VersionFacts& facts,
                         const std::map<std::string, std::string>& environment) {
  const OpenedLibrary opened = open_first_library(library_candidates(
      {"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so"},
      cuda_library_dirs(environment)));
  if (!opened.library.loaded()) {
    facts.cuda_runtime = not_loadable("libcudart.so", opened);
    return;
  }
  auto* get_version = opened.library.symbol<int(int*)>("cudaRuntimeGetVersion");
  int code = 0;
  if (get_version == nullptr || get_version(&code) != 0) {
    facts.cuda_runtime = absent(opened.path + ": cudaRuntimeGetVersion failed");
    return;
  }
  const Version version = version_from_cuda_code(code);
  facts.cuda_runtime = found(version.text, opened.path, version);
  note_symlink(facts.cuda_runtime, opened);
}

void gather_cuda_driver(VersionFacts& facts) {
  // Only the soname: the driver library is installed with the kernel driver and is in the ld.so
  // cache; the toolkit's stubs/libcuda.so answers every call with CUDA_ERROR_STUB_LIBRARY.
  const OpenedLibrary opened = open_first_library({"libcuda.so.1"});
  if (!opened.library.loaded()) {
    facts.cuda_driver =
        absent("libcuda.so.1 not loadable: no NVIDIA driver (" + opened.attempts.front() + ")");
    return;
  }
  auto* get_version = opened.library.symbol<int(int*)>("cuDriverGetVersion");
  int code = 0;
  const int result = get_version == nullptr ? -1 : get_version(&code);
  constexpr int kCudaErrorStubLibrary = 34;
  if (result != 0) {
    facts.cuda_driver =
        absent(result == kCudaErrorStubLibrary
                   ? opened.path + " is the toolkit's stub, not a driver"
                   : fmt::format("{}: cuDriverGetVersion returned {}", opened.path, result));
    return;
  }
  const Version version = version_from_cuda_code(code);
  facts.cuda_driver = found(version.text, opened.path, version);
  note_symlink(facts.cuda_driver, opened);
}

void gather_mpi(VersionFacts& facts, const std::map<std::string, std::string>& environment) {
  std::vector<std::string> dirs;
  const std::string home = env_value(environment, "MPI_HOME");
  if (!home.empty()) {
    dirs = {home + "/lib64", home + "/lib"};
  }
  for (const char* dir : {"/opt/amazon/openmpi/lib64", "/opt/amazon/openmpi/lib",
                          "/opt/amazon/openmpi5/lib64", "/opt/amazon/openmpi5/lib"}) {
    dirs.emplace_back(dir);
  }
  const OpenedLibrary opened =
      open_first_library(library_candidates({"libmpi.so.40", "libmpi.so.12"}, dirs));
  if (!opened.library.loaded()) {
    facts.mpi = not_loadable("libmpi.so.40 (Open MPI) or libmpi.so.12 (MPICH)", opened);
    return;
  }
  // MPI_Get_library_version may be called before MPI_Init (MPI-3.0 section 8.1.1).
  auto* get_version = opened.library.symbol<int(char*, int*)>("MPI_Get_library_version");
  std::array<char, 8192> buffer{};  // MPICH's MPI_MAX_LIBRARY_VERSION_STRING, the largest
  int length = 0;
  if (get_version == nullptr || get_version(buffer.data(), &length) != 0) {
    facts.mpi = absent(opened.path + ": MPI_Get_library_version failed");
    return;
  }
  const std::string full(buffer.data(),
                         std::min<std::size_t>(static_cast<std::size_t>(length), buffer.size()));
  const auto lines = split_lines(full);
  std::string first = lines.empty() ? full : std::string(trim(lines.front()));
  if (const auto comma = first.find(", package:"); comma != std::string::npos) {
    first.resize(comma);
  }
  facts.mpi = found(first, opened.path);
  note_symlink(facts.mpi, opened);
  facts.mpi.evidence["library_version"] = std::string(trim(full));
}

void gather_hwloc(VersionFacts& facts, bool query_libraries) {
#if PREFLIGHT_HAVE_HWLOC
  const auto api_version = [](unsigned packed) {
    const int major = static_cast<int>(packed >> 16U);
    const int minor = static_cast<int>((packed >> 8U) & 0xFFU);
    const int revision = static_cast<int>(packed & 0xFFU);
    return Version{{major, minor, revision}, fmt::format("API {}.{}.{}", major, minor, revision)};
  };
  facts.hwloc_header = found(api_version(HWLOC_API_VERSION).text, "hwloc.h (build time)",
                             api_version(HWLOC_API_VERSION));
  if (!query_libraries) {
    facts.hwloc = absent("library queries disabled");
    return;
  }
  const Version runtime_api = api_version(hwloc_get_api_version());
  // The release version is only published as the root object's "hwlocVersion" info; a tiny
  // synthetic topology gets it without touching the machine.
  std::string release;
  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) == 0) {
    if (hwloc_topology_set_synthetic(topology, "pu:1") == 0 && hwloc_topology_load(topology) == 0) {
      const char* value = hwloc_obj_get_info_by_name(hwloc_get_root_obj(topology), "hwlocVersion");
      release = value != nullptr ? value : "";
    }
    hwloc_topology_destroy(topology);
  }
  facts.hwloc = release.empty() ? found(runtime_api.text, "", runtime_api)
                                : found(release, "", parse_version(release));
  facts.hwloc.location = library_path_of(reinterpret_cast<const void*>(&hwloc_get_api_version));
  facts.hwloc.evidence["runtime_api"] = runtime_api.text;
#else
  (void)query_libraries;
  facts.hwloc_header = absent("built without hwloc (turn on PREFLIGHT_WITH_HWLOC)");
  facts.hwloc = facts.hwloc_header;
#endif
}

void gather_efa_installer(VersionFacts& facts, const RootFs& fs) {
  const auto text = fs.read(kInstallerFile);
  if (!text) {
    facts.efa_installer =
        absent(fmt::format("EFA installer not installed ({} absent)", kInstallerFile));
    return;
  }
  const auto version = parse_efa_installer_version(*text);
  if (!version) {
    facts.efa_installer =
        absent(fmt::format("{} has no '# EFA installer version:' line", kInstallerFile));
    return;
  }
  facts.efa_installer = found(*version, std::string(kInstallerFile));
  json packages = json::object();
  for (const char* package : {"libfabric-aws", "rdma-core", "efa", "libnccl-ofi", "openmpi40-aws",
                              "openmpi50-aws", "efa-nv-peermem"}) {
    if (const auto package_version_text = package_version(*text, package)) {
      packages[package] = *package_version_text;
    }
  }
  facts.efa_installer.evidence["packages"] = packages;
}

void gather_ofi_nccl(VersionFacts& facts, const RootFs& fs,
                     const std::map<std::string, std::string>& environment) {
  facts.aws_ofi_nccl_searched = ofi_nccl_search_dirs(fs, environment);
  std::vector<std::string> names;
  const std::string plugin = env_value(environment, "NCCL_NET_PLUGIN");
  if (!plugin.empty() && plugin.find('/') == std::string::npos) {
    names.push_back(plugin.find(".so") != std::string::npos ? plugin
                                                            : "libnccl-net-" + plugin + ".so");
  }
  names.emplace_back("libnccl-net.so");
  names.emplace_back("libnccl-net-ofi.so");
  std::vector<std::string> candidates;
  for (const auto& dir : facts.aws_ofi_nccl_searched) {
    for (const auto& name : names) {
      const std::string path = (std::filesystem::path(dir) / name).string();
      if (fs.exists(path)) {
        candidates.push_back(path);
      }
    }
  }
  if (candidates.empty()) {
    facts.aws_ofi_nccl = absent(fmt::format("aws-ofi-nccl plugin not found (searched {})",
                                            join(facts.aws_ofi_nccl_searched, ", ")));
    facts.aws_ofi_nccl.evidence["searched"] = facts.aws_ofi_nccl_searched;
    return;
  }
  const std::string& chosen = candidates.front();
  // The plugin logs "Initializing aws-ofi-nccl X" (>= 1.6) or "Using aws-ofi-nccl X" (older);
  // both strings are in its text.
  std::optional<std::string> version;
  for (const char* marker :
       {"Initializing aws-ofi-nccl ", "Using aws-ofi-nccl ", "aws-ofi-nccl "}) {
    version = find_version_after(fs.resolve(chosen), marker);
    if (version) {
      break;
    }
  }
  if (!version) {
    facts.aws_ofi_nccl = found("unknown version", chosen, std::nullopt);
    facts.aws_ofi_nccl.reason = "no 'aws-ofi-nccl <version>' string in " + chosen;
  } else {
    facts.aws_ofi_nccl = found(*version, chosen);
  }
  facts.aws_ofi_nccl.evidence["candidates"] = candidates;
  facts.aws_ofi_nccl.evidence["searched"] = facts.aws_ofi_nccl_searched;
}

void gather_files(VersionFacts& facts, const RootFs& fs, const VersionGatherOptions& options) {
  const auto wanted = [&](VersionComponent component) {
    return options.components.contains(component);
  };
  if (wanted(VersionComponent::efa_installer)) {
    gather_efa_installer(facts, fs);
  }
  if (wanted(VersionComponent::aws_ofi_nccl)) {
    gather_ofi_nccl(facts, fs, options.environment);
  }
  if (wanted(VersionComponent::rdma_core)) {
    gather_rdma_core(facts, fs);
  }
  if (wanted(VersionComponent::efa_kmod)) {
    if (const auto version = fs.read_line("/sys/module/efa/version")) {
      facts.efa_kmod = found(*version, "/sys/module/efa/version");
    } else if (fs.exists("/sys/module/efa")) {
      facts.efa_kmod = found("loaded (no version file)", "/sys/module/efa", std::nullopt);
    } else {
      facts.efa_kmod = absent("efa kernel module not loaded (/sys/module/efa absent)");
    }
  }
  if (wanted(VersionComponent::nvidia_driver)) {
    if (const auto version = fs.read_line("/sys/module/nvidia/version")) {
      facts.nvidia_driver = found(*version, "/sys/module/nvidia/version");
    } else if (const auto proc = fs.read("/proc/driver/nvidia/version")) {
      const auto parsed = parse_nvidia_proc_version(*proc);
      facts.nvidia_driver = parsed ? found(*parsed, "/proc/driver/nvidia/version")
                                   : absent("/proc/driver/nvidia/version names no version");
    } else {
      facts.nvidia_driver = absent(
          "no NVIDIA driver (/sys/module/nvidia and "
          "/proc/driver/nvidia/version absent)");
    }
  }
  if (wanted(VersionComponent::os)) {
    auto os_release = fs.read("/etc/os-release");
    std::string origin = "/etc/os-release";
    if (!os_release) {
      os_release = fs.read("/usr/lib/os-release");
      origin = "/usr/lib/os-release";
    }
    const auto pretty = os_release ? os_release_value(*os_release, "PRETTY_NAME") : std::nullopt;
    if (pretty) {
      const auto version_id = os_release_value(*os_release, "VERSION_ID");
      facts.os = found(*pretty, origin,
                       version_id ? parse_version(*version_id) : std::optional<Version>{});
    } else {
      facts.os = absent("no PRETTY_NAME in /etc/os-release or /usr/lib/os-release");
    }
    if (const auto kernel = fs.read_line("/proc/sys/kernel/osrelease")) {
      facts.kernel = found(*kernel, "/proc/sys/kernel/osrelease");
    } else {
      facts.kernel = absent("/proc/sys/kernel/osrelease absent");
    }
  }
}

void gather_libraries(VersionFacts& facts, const VersionGatherOptions& options) {
  const auto wanted = [&](VersionComponent component) {
    return options.components.contains(component);
  };
  if (wanted(VersionComponent::libfabric)) {
    gather_libfabric(facts, options.query_libraries);
  }
  if (wanted(VersionComponent::hwloc)) {
    gather_hwloc(facts, options.query_libraries);
  }
  if (!options.query_libraries) {
    const ComponentFact disabled = absent("library queries disabled");
    for (auto [component, fact] : std::array<std::pair<VersionComponent, ComponentFact*>, 4>{
             {{VersionComponent::nccl, &facts.nccl},
              {VersionComponent::cuda_runtime, &facts.cuda_runtime},
              {VersionComponent::cuda_driver, &facts.cuda_driver},
              {VersionComponent::mpi, &facts.mpi}}}) {
      if (wanted(component)) {
        *fact = disabled;
      }
    }
    return;
  }
  if (wanted(VersionComponent::nccl)) {
    gather_nccl(facts, options.environment);
  }
  if (wanted(VersionComponent::cuda_runtime)) {
    gather_cuda_runtime(facts, options.environment);
  }
  if (wanted(VersionComponent::cuda_driver)) {
    gather_cuda_driver(facts);
  }
  if (wanted(VersionComponent::mpi)) {
    gather_mpi(facts, options.environment);
  }
}

}  // namespace

const std::set<VersionComponent>& all_version_components() {
  static const std::set<VersionComponent> all{
      VersionComponent::libfabric,     VersionComponent::rdma_core,
      VersionComponent::nccl,          VersionComponent::aws_ofi_nccl,
      VersionComponent::mpi,           VersionComponent::cuda_runtime,
      VersionComponent::cuda_driver,   VersionComponent::hwloc,
      VersionComponent::efa_installer, VersionComponent::efa_kmod,
      VersionComponent::nvidia_driver, VersionComponent::os};
  return all;
}

const ComponentFact* VersionFacts::component(std::string_view key) const {
  const std::array<std::pair<std::string_view, const ComponentFact*>, 15> table{{
      {"libfabric", &libfabric},
      {"libfabric_header", &libfabric_header},
      {"rdma_core", &rdma_core},
      {"nccl", &nccl},
      {"aws_ofi_nccl", &aws_ofi_nccl},
      {"mpi", &mpi},
      {"cuda_runtime", &cuda_runtime},
      {"cuda_driver", &cuda_driver},
      {"hwloc", &hwloc},
      {"hwloc_header", &hwloc_header},
      {"efa_installer", &efa_installer},
      {"efa_kmod", &efa_kmod},
      {"nvidia_driver", &nvidia_driver},
      {"os", &os},
      {"kernel", &kernel},
  }};
  for (const auto& [name, fact] : table) {
    if (name == key) {
      return fact;
    }
  }
  return nullptr;
}

VersionFacts gather_versions(const RootFs& fs, const VersionGatherOptions& options) {
  VersionFacts facts;
  facts.root = fs.root().string();
  facts.live = fs.is_live();
  facts.efa_device_count = count_efa_devices(fs);
  gather_files(facts, fs, options);
  gather_libraries(facts, options);
  return facts;
}

std::optional<std::string> parse_efa_installer_version(std::string_view text) {
  constexpr std::string_view kMarker = "# EFA installer version:";
  for (const auto line : split_lines(text)) {
    const auto trimmed = trim(line);
    if (starts_with(trimmed, kMarker)) {
      const auto value = trim(trimmed.substr(kMarker.size()));
      if (!value.empty() && parse_version(value)) {
        return std::string(value);
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> parse_nvidia_proc_version(std::string_view text) {
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.127.05  Tue Oct  8 ..." or
  // "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.127.05  Release Build ...":
  // the first field shaped like a dotted number after "Kernel Module".
  const auto lines = split_lines(text);
  if (lines.empty()) {
    return std::nullopt;
  }
  const auto first = lines.front();
  const auto module = first.find("Kernel Module");
  if (module == std::string_view::npos) {
    return std::nullopt;
  }
  static const std::regex kDotted(R"(^\d+\.\d+(\.\d+)*$)");
  for (const auto field : split_whitespace(first.substr(module))) {
    if (std::regex_match(field.begin(), field.end(), kDotted)) {
      return std::string(field);
    }
  }
  return std::nullopt;
}

std::optional<std::string> os_release_value(std::string_view text, std::string_view key) {
  for (const auto line : split_lines(text)) {
    const auto trimmed = trim(line);
    if (trimmed.size() > key.size() && starts_with(trimmed, key) && trimmed[key.size()] == '=') {
      auto value = trimmed.substr(key.size() + 1);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
          value.back() == value.front()) {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
  }
  return std::nullopt;
}

std::optional<std::string> rdma_core_from_library_name(std::string_view name) {
  constexpr std::string_view kPrefix = "libibverbs.so.1.";
  if (!starts_with(name, kPrefix)) {
    return std::nullopt;
  }
  const auto parts = split(name.substr(kPrefix.size()), '.');
  // 1.<abi minor>.<rdma-core major>.<rdma-core minor>
  if (parts.size() != 3) {
    return std::nullopt;
  }
  for (const auto part : parts) {
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return std::nullopt;
    }
  }
  return fmt::format("{}.{}", parts[1], parts[2]);
}

std::optional<std::string> package_version(std::string_view package_list,
                                           std::string_view package) {
  const std::string prefix = std::string(package) + "-";
  for (const auto line : split_lines(package_list)) {
    if (starts_with(trim(line), "#")) {
      continue;
    }
    for (const auto token : split_whitespace(line)) {
      if (!starts_with(token, prefix) || token.size() == prefix.size() ||
          std::isdigit(static_cast<unsigned char>(token[prefix.size()])) == 0) {
        continue;
      }
      const auto rest = token.substr(prefix.size());
      return std::string(rest.substr(0, rest.find('-')));
    }
  }
  return std::nullopt;
}

std::vector<std::string> ofi_nccl_search_dirs(
    const RootFs& fs, const std::map<std::string, std::string>& environment) {
  std::vector<std::string> dirs;
  const auto add = [&](std::string_view dir) {
    const auto trimmed = trim(dir);
    if (!trimmed.empty() && trimmed.front() == '/' &&
        std::find(dirs.begin(), dirs.end(), trimmed) == dirs.end()) {
      dirs.emplace_back(trimmed);
    }
  };
  // The dynamic loader's order for NCCL's dlopen("libnccl-net.so"): LD_LIBRARY_PATH (only
  // meaningful for the live machine), then the ld.so.conf.d directories, then the install
  // locations the EFA installer and older plugin builds use.
  if (fs.is_live()) {
    const std::string library_path = env_value(environment, "LD_LIBRARY_PATH");
    for (const auto dir : split(library_path, ':')) {
      add(dir);
    }
  }
  for (const auto& conf : fs.list("/etc/ld.so.conf.d")) {
    const std::string lower = to_lower(conf);
    if (lower.find("ofinccl") == std::string::npos && lower.find("ofi-nccl") == std::string::npos &&
        lower.find("ofi_nccl") == std::string::npos) {
      continue;
    }
    if (const auto text = fs.read("/etc/ld.so.conf.d/" + conf)) {
      for (const auto line : split_lines(*text)) {
        if (!starts_with(trim(line), "#")) {
          add(line);
        }
      }
    }
  }
  for (const char* dir :
       {"/opt/amazon/ofi-nccl/lib", "/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu",
        "/opt/amazon/ofi-nccl/lib/aarch64-linux-gnu", "/opt/amazon/ofi-nccl/lib64",
        "/opt/aws-ofi-nccl/lib", "/opt/aws-ofi-nccl/lib/x86_64-linux-gnu",
        "/opt/aws-ofi-nccl/lib/aarch64-linux-gnu"}) {
    add(dir);
  }
  return dirs;
}

int count_efa_devices(const RootFs& fs) {
  int count = 0;
  for (const auto& name : fs.list("/sys/class/infiniband")) {
    if (fs.read_int("/sys/class/infiniband/" + name + "/device/vendor") == 0x1d0f) {
      ++count;
    }
  }
  return count;
}

}  // namespace preflight::probes
