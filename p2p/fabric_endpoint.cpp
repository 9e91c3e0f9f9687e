#include "p2p/fabric_endpoint.hpp"

#include <fmt/format.h>
#include <rdma/fabric.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "common/efa_sysfs.hpp"
#include "common/sysfs.hpp"
#include "common/text.hpp"
#include "p2p/fabric_description.hpp"
#include "p2p/fabric_provider.hpp"

namespace preflight::p2p {
namespace {

// Endpoint options by their ABI values, so a binary built against older headers (Debian's 1.17)
// still uses them with a newer library; each is guarded by the library's version at run time.
constexpr int kOptSharedMemoryPermitted = 11;  // FI_OPT_SHARED_MEMORY_PERMITTED, libfabric 1.21
constexpr int kOptEfaEmulatedRead = -(0xefa << 16) + 1;   // FI_OPT_EFA_EMULATED_READ, 1.18
constexpr int kOptEfaEmulatedWrite = -(0xefa << 16) + 2;  // FI_OPT_EFA_EMULATED_WRITE, 1.18
#ifdef FI_OPT_SHARED_MEMORY_PERMITTED
static_assert(FI_OPT_SHARED_MEMORY_PERMITTED == kOptSharedMemoryPermitted);
#endif
#ifdef FI_PROV_SPECIFIC_EFA
static_assert(FI_OPT_EFA_EMULATED_READ == kOptEfaEmulatedRead);
static_assert(FI_OPT_EFA_EMULATED_WRITE == kOptEfaEmulatedWrite);
#endif
constexpr std::uint32_t kSharedMemoryOptionSince = FI_VERSION(1, 21);
constexpr std::uint32_t kEfaEmulationOptionsSince = FI_VERSION(1, 18);

// How long teardown waits for an endpoint's cancelled receives and queued transmits to complete.
constexpr double kQuiesce_s = 2.0;

constexpr std::uint64_t kAllAccess =
    FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;

}  // namespace

// Opens and binds the endpoint; returns fi_enable's result (the caller decides about FI_EBUSY).
int FabricEndpoint::Impl::open_endpoint(fi_info* selected, const std::string& where) {
  check_fi(fi_endpoint(domain.get(), selected, ep.out(), nullptr), "fi_endpoint", where);
  ep.adopt();
  description.shared_memory = "permitted";
  if (request.disable_shared_memory) {
    // Before fi_enable, as the efa provider requires. The library decides whether it knows the
    // option (1.21+), not the headers this binary was built with.
    std::vector<std::string> how;
    if (const char* variable = std::getenv("FI_EFA_ENABLE_SHM_TRANSFER");  // NOLINT
        variable != nullptr && std::string_view(variable) == "0") {
      how.emplace_back("FI_EFA_ENABLE_SHM_TRANSFER=0");
    }
    if (FI_VERSION_GE(api.library, kSharedMemoryOptionSince)) {
      bool permitted = false;
      const int result = fi_setopt(&ep.get()->fid, FI_OPT_ENDPOINT, kOptSharedMemoryPermitted,
                                   &permitted, sizeof(permitted));
      how.push_back(result == 0 ? std::string("FI_OPT_SHARED_MEMORY_PERMITTED=false")
                                : fmt::format("FI_OPT_SHARED_MEMORY_PERMITTED refused ({})",
                                              fi_strerror(-result)));
    } else {
      how.push_back(fmt::format("no FI_OPT_SHARED_MEMORY_PERMITTED in libfabric {} (< 1.21)",
                                fabric_version_text(api.library)));
    }
    description.shared_memory = "disabled: " + join(how, ", ");
  }
  check_fi(fi_ep_bind(ep.get(), &av.get()->fid, 0), "fi_ep_bind", "av");
  check_fi(fi_ep_bind(ep.get(), &tx_cq.get()->fid, FI_TRANSMIT), "fi_ep_bind", "transmit cq");
  check_fi(fi_ep_bind(ep.get(), &rx_cq.get()->fid, FI_RECV), "fi_ep_bind", "receive cq");
  return fi_enable(ep.get());
}

FabricEndpoint::Impl::Impl(const FabricRequest& request_in, std::size_t max_message_bytes,
                           PeerLivenessCheck liveness_in)
    : request(request_in),
      liveness(std::move(liveness_in)),
      max_bytes(std::max<std::size_t>(max_message_bytes, 1)),
      send_buffer(request.memory, max_bytes, request.cuda_device, request.cuda_runtime),
      recv_buffer(request.memory, max_bytes, request.cuda_device, request.cuda_runtime),
      control_region(MemoryKind::host, kControlRegionBytes),
      contexts(static_cast<std::size_t>(2 * std::max(request.max_window, 1) + 16)) {
  for (OpContext& context : contexts) {
    context.next_free = free_contexts;
    free_contexts = &context;
  }

  info = select_provider(request, api);
  fi_info* selected = info.get();
  mr_mode = selected->domain_attr->mr_mode;
  // Remote CQ data: the provider's size (efa: 4 bytes), at most 8, at most what the request allows.
  cq_data_bytes = std::min<std::size_t>(selected->domain_attr->cq_data_size, sizeof(std::uint64_t));
  if (request.max_cq_data_bytes != 0) {
    cq_data_bytes = std::min(cq_data_bytes, request.max_cq_data_bytes);
  }
  if (request.op == DataOp::write && cq_data_bytes == 0) {
    throw FabricUnavailable(fmt::format(
        "libfabric provider {} ({}) carries no remote CQ data (cq_data_size 0): --op write "
        "signals the target through it",
        selected->fabric_attr->prov_name, selected->domain_attr->name));
  }
  const std::string where =
      fmt::format("{} / {}", selected->fabric_attr->prov_name, selected->domain_attr->name);
  check_fi(fi_fabric(selected->fabric_attr, fabric.out(), nullptr), "fi_fabric", where);
  fabric.adopt();
  check_fi(fi_domain(fabric.get(), selected, domain.out(), nullptr), "fi_domain", where);
  domain.adopt();

  fi_cq_attr cq_attr{};
  cq_attr.format = FI_CQ_FORMAT_TAGGED;
  cq_attr.wait_obj = FI_WAIT_NONE;
  cq_attr.size = request.max_window > 128 ? static_cast<std::size_t>(4 * request.max_window) : 0;
  check_fi(fi_cq_open(domain.get(), &cq_attr, tx_cq.out(), nullptr), "fi_cq_open", "transmit");
  tx_cq.adopt();
  check_fi(fi_cq_open(domain.get(), &cq_attr, rx_cq.out(), nullptr), "fi_cq_open", "receive");
  rx_cq.adopt();

  fi_av_attr av_attr{};
  av_attr.type =
      selected->domain_attr->av_type != FI_AV_UNSPEC ? selected->domain_attr->av_type : FI_AV_TABLE;
  check_fi(fi_av_open(domain.get(), &av_attr, av.out(), nullptr), "fi_av_open", where);
  av.adopt();

  // The shm provider (and efa's shm peer) names its segment "<pid>:<uid>:<endpoint>" in
  // /dev/shm. A segment left by a killed process whose pid this one now reuses makes fi_enable
  // fail with FI_EBUSY (libfabric sees a live owner: us) and unlinks it on the way out, so one
  // fresh endpoint (a new index, and the stale name gone) is enough.
  constexpr int kEnableAttempts = 2;
  for (int attempt = 1;; ++attempt) {
    const int enabled = open_endpoint(selected, where);
    if (enabled == 0) {
      break;
    }
    if (enabled != -FI_EBUSY || attempt == kEnableAttempts) {
      check_fi(enabled, "fi_enable", where);
    }
    std::fprintf(stderr,
                 "preflight: fi_enable (%s) found a shared-memory segment left by an earlier "
                 "process with this pid (FI_EBUSY); it was removed, opening a new endpoint\n",
                 where.c_str());
  }

  register_buffers();
  describe(selected);
  // Injecting from device memory is not portable; only host buffers use it.
  inject_bytes = request.memory == MemoryKind::host ? description.inject_size : 0;

  if (max_bytes > description.max_msg_size) {
    throw UsageError(fmt::format("--sizes: {} bytes exceeds the provider's max_msg_size {}",
                                 max_bytes, description.max_msg_size));
  }
}

// Registers the buffers (after the endpoint, so FI_MR_ENDPOINT binding is possible).
void FabricEndpoint::Impl::register_buffers() {
  std::uint64_t next_key = 1;
  auto register_buffer = [&](const MessageBuffer& buffer, FabricHandle<fid_mr>& mr,
                             std::string_view name) {
    iovec region{buffer.data(), buffer.bytes()};
    fi_mr_attr attr{};
    attr.mr_iov = &region;
    attr.iov_count = 1;
    attr.access = kAllAccess;
    attr.requested_key = next_key++;
    attr.iface = buffer.kind() == MemoryKind::cuda ? FI_HMEM_CUDA : FI_HMEM_SYSTEM;
    if (buffer.kind() == MemoryKind::cuda) {
      attr.device.cuda = buffer.cuda_device();
    }
    check_fi(fi_mr_regattr(domain.get(), &attr, 0, mr.out()), "fi_mr_regattr",
             fmt::format("{} buffer, {} bytes, {} memory", name, buffer.bytes(),
                         to_string(buffer.kind())));
    mr.adopt();
    if ((mr_mode & FI_MR_ENDPOINT) != 0) {
      check_fi(fi_mr_bind(mr.get(), &ep.get()->fid, 0), "fi_mr_bind", name);
      check_fi(fi_mr_enable(mr.get()), "fi_mr_enable", name);
    }
  };
  register_buffer(send_buffer, send_mr, "send");
  register_buffer(recv_buffer, recv_mr, "receive");
  register_buffer(control_region, control_mr, "control");
  send_desc = fi_mr_desc(send_mr.get());
  recv_desc = fi_mr_desc(recv_mr.get());
  control_desc = fi_mr_desc(control_mr.get());
}

// What fi_getinfo returned for this endpoint, as the run's transport reports it.
void FabricEndpoint::Impl::describe(const fi_info* selected) {
  description.provider = selected->fabric_attr->prov_name;
  description.fabric = selected->fabric_attr->name;
  description.domain = selected->domain_attr->name;
  description.provider_version = fabric_version_text(selected->fabric_attr->prov_version);
  description.library_version = fabric_version_text(api.library);
  description.api_requested = fabric_version_text(api.requested);
  description.api_version = fabric_version_text(
      selected->fabric_attr->api_version != 0 ? selected->fabric_attr->api_version : api.granted);
  description.api_fallback = api.fallback;
  description.inject_size = selected->tx_attr->inject_size;
  description.max_msg_size = selected->ep_attr->max_msg_size;
  description.cq_data_size = selected->domain_attr->cq_data_size;
  description.mr_mode = mr_mode_string(mr_mode);
  description.threading = threading_string(selected->domain_attr->threading);
  description.data_progress = progress_string(selected->domain_attr->data_progress);
  description.rma = (selected->caps & FI_RMA) != 0;
  description.hmem = (selected->caps & FI_HMEM) != 0;
  if (selected->nic != nullptr && selected->nic->device_attr != nullptr &&
      selected->nic->device_attr->device_id != nullptr) {
    description.device_id = selected->nic->device_attr->device_id;
  }
  describe_device_rdma();
}

// fabtests' ft_close_fids order: registrations bound to the endpoint (FI_MR_ENDPOINT) first, then
// the endpoint (which flushes the receives still posted), its CQs, the other registrations, AV,
// domain, fabric. Never an MR under a posted receive (fi_efa(7), "MR ABORTING"). A failed close is
// reported on stderr: a destructor cannot throw, and the next run on this node should know.
// Before the endpoint closes. An endpoint whose pair test was given up (a rail past its deadline,
// a peer that failed) still has receives posted and transmits queued toward a slow peer.
// libfabric lets fi_close discard them, but rxm over tcp (1.17) crashed closing a connection with
// transmits still queued: cancel the receives, then reap completions (cancellations arrive as
// error entries) until no operation is outstanding or kQuiesce_s has passed.
void FabricEndpoint::Impl::quiesce() {
  if (!ep) {
    return;
  }
  std::vector<bool> idle(contexts.size(), false);
  const auto index_of = [this](const OpContext* context) {
    return static_cast<std::size_t>(context - contexts.data());
  };
  for (const OpContext* free = free_contexts; free != nullptr; free = free->next_free) {
    idle[index_of(free)] = true;
  }
  std::size_t outstanding = 0;
  for (std::size_t i = 0; i < contexts.size(); ++i) {
    if (idle[i]) {
      continue;
    }
    ++outstanding;
    if (contexts[i].kind != OpKind::tx) {
      (void)fi_cancel(&ep.get()->fid, &contexts[i].context);
    }
  }
  if (outstanding == 0) {
    return;
  }
  const auto reap = [this, &outstanding](fid_cq* cq) {
    std::array<fi_cq_tagged_entry, 16> entries;  // NOLINT: filled by the provider
    const ssize_t count = fi_cq_read(cq, entries.data(), entries.size());
    for (ssize_t i = 0; i < count; ++i) {
      const auto& entry = entries[static_cast<std::size_t>(i)];
      if (entry.op_context != nullptr && !is_remote_write(entry)) {
        release(static_cast<OpContext*>(entry.op_context));
        --outstanding;
      }
    }
    if (count == -FI_EAVAIL) {
      fi_cq_err_entry error{};
      if (fi_cq_readerr(cq, &error, 0) > 0 && error.op_context != nullptr) {
        release(static_cast<OpContext*>(error.op_context));
        --outstanding;
      }
    }
  };
  const auto start = MonotonicClock::now();
  while (outstanding > 0 && seconds_between(start, MonotonicClock::now()) < kQuiesce_s) {
    reap(rx_cq.get());
    reap(tx_cq.get());
  }
  if (outstanding > 0) {
    std::fprintf(stderr,
                 "preflight-p2p: closing the endpoint on %s with %zu operation(s) still "
                 "outstanding after %g s\n",
                 description.domain.c_str(), outstanding, kQuiesce_s);
  }
}

void FabricEndpoint::Impl::teardown() {
  const auto close = [this](auto& handle, std::string_view name) {
    if (!handle) {
      return;
    }
    const int result = handle.close();
    if (request.on_close) {
      request.on_close(name, result);
    }
    if (result != 0) {
      std::fprintf(stderr, "preflight-p2p: fi_close(%.*s) on %s failed: %s\n",
                   static_cast<int>(name.size()), name.data(), description.domain.c_str(),
                   fi_strerror(-result));
    }
  };
  const auto close_registrations = [&] {
    close(send_mr, "send MR");
    close(recv_mr, "receive MR");
    close(control_mr, "control MR");
  };
  quiesce();
  if ((mr_mode & FI_MR_ENDPOINT) != 0) {
    close_registrations();
  }
  close(ep, "endpoint");
  close(rx_cq, "receive CQ");
  close(tx_cq, "transmit CQ");
  close_registrations();
  close(av, "AV");
  close(domain, "domain");
  close(fabric, "fabric");
}

// Whether this endpoint moves RMA through the device: the efa provider answers it per endpoint
// (FI_OPT_EFA_EMULATED_READ/_WRITE, libfabric >= 1.18); below that, its default for the API asked.
void FabricEndpoint::Impl::describe_device_rdma() {
  if (split(description.provider, ';').front() != "efa") {
    description.device_rdma_source = "not an EFA provider";
    return;
  }
  if (FI_VERSION_GE(api.library, kEfaEmulationOptionsSince)) {
    const auto device_does = [this](int option) -> std::optional<bool> {
      bool emulated = true;
      std::size_t length = sizeof(emulated);
      if (fi_getopt(&ep.get()->fid, FI_OPT_ENDPOINT, option, &emulated, &length) != 0) {
        return std::nullopt;
      }
      return !emulated;
    };
    description.device_rdma_read = device_does(kOptEfaEmulatedRead);
    description.device_rdma_write = device_does(kOptEfaEmulatedWrite);
    if (description.device_rdma_read) {
      description.device_rdma_source = "fi_getopt(FI_OPT_EFA_EMULATED_READ/_WRITE)";
      return;
    }
  }
  const auto device_id = parse_integer(description.device_id);
  const char* variable = std::getenv("FI_EFA_USE_DEVICE_RDMA");  // NOLINT(concurrency-mt-unsafe)
  const EfaDeviceRdmaDecision decision = efa_device_rdma_default(
      static_cast<int>(FI_MAJOR(api.granted)), static_cast<int>(FI_MINOR(api.granted)),
      device_id.value_or(0), std::nullopt,
      variable != nullptr ? std::optional<std::string_view>(variable) : std::nullopt);
  description.device_rdma_read = decision.enabled;
  description.device_rdma_source = "libfabric's default: " + decision.why;
}
}  // namespace preflight::p2p
