#include "p2p/fabric_transport.hpp"

#include <fmt/format.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <set>
#include <utility>

#include "common/efa_sysfs.hpp"
#include "common/fabric.hpp"
#include "common/sysfs.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"

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

// Tags keep the message streams apart: a ping-pong receive posted ahead of time never swallows a
// window message, an ack or a control message.
constexpr std::uint64_t kTagPingPong = 0x5046'0001;
constexpr std::uint64_t kTagWindow = 0x5046'0002;
constexpr std::uint64_t kTagAck = 0x5046'0003;
constexpr std::uint64_t kTagControl = 0x5046'0004;

// Layout of the small registered host region for control messages and acks.
constexpr std::size_t kSlotBytes = 64;
constexpr std::size_t kControlSendOffset = 0;
constexpr std::size_t kControlRecvOffset = kSlotBytes;
constexpr std::size_t kAckSendOffset = 2 * kSlotBytes;
constexpr std::size_t kAckRecvOffset = 3 * kSlotBytes;
constexpr std::size_t kControlRegionBytes = 4096;
constexpr std::size_t kAckBytes = 1;

// How often a long wait looks at the peer's liveness: every kSpinsPerClockCheck empty polls it
// reads the clock, and calls the (cheap, non-blocking) check every kLivenessInterval.
constexpr std::uint32_t kSpinsPerClockCheck = 1024;
constexpr double kLivenessInterval_s = 0.05;
// How long teardown waits for an endpoint's cancelled receives and queued transmits to complete.
constexpr double kQuiesce_s = 2.0;

constexpr std::uint64_t kAllAccess =
    FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;

enum class OpKind : std::uint8_t { tx, pingpong_recv, window_recv, ack_recv, control_recv };

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::tx:
      return "transmit";
    case OpKind::pingpong_recv:
      return "ping-pong receive";
    case OpKind::window_recv:
      return "window receive";
    case OpKind::ack_recv:
      return "ack receive";
    case OpKind::control_recv:
      return "control receive";
  }
  return "operation";
}

// The provider's scratch space (fi_context2) first, so op_context points at both.
struct OpContext {
  fi_context2 context;
  OpKind kind;
  OpContext* next_free;
};
static_assert(std::is_standard_layout_v<OpContext>);

// The target side of fi_writedata: no context of ours, the CQ data carries the size.
bool is_remote_write(const fi_cq_tagged_entry& entry) {
  return (entry.flags & FI_REMOTE_WRITE) != 0 ||
         ((entry.flags & FI_REMOTE_CQ_DATA) != 0 && (entry.flags & FI_RECV) == 0);
}

std::string mr_mode_string(int mr_mode) {
  std::string text;
  const std::array<std::pair<int, std::string_view>, 9> bits = {{
      {FI_MR_LOCAL, "local"},
      {FI_MR_RAW, "raw"},
      {FI_MR_VIRT_ADDR, "virt_addr"},
      {FI_MR_ALLOCATED, "allocated"},
      {FI_MR_PROV_KEY, "prov_key"},
      {FI_MR_MMU_NOTIFY, "mmu_notify"},
      {FI_MR_RMA_EVENT, "rma_event"},
      {FI_MR_ENDPOINT, "endpoint"},
      {FI_MR_HMEM, "hmem"},
  }};
  for (const auto& [bit, name] : bits) {
    if ((mr_mode & bit) != 0) {
      text += text.empty() ? "" : "|";
      text += name;
    }
  }
  return text.empty() ? "none" : text;
}

std::string threading_string(fi_threading threading) {
  switch (threading) {
    case FI_THREAD_SAFE:
      return "safe";
    case FI_THREAD_FID:
      return "fid";
    case FI_THREAD_DOMAIN:
      return "domain";
    case FI_THREAD_COMPLETION:
      return "completion";
    case FI_THREAD_ENDPOINT:
      return "endpoint";
    default:
      return "unspec";
  }
}

std::string progress_string(fi_progress progress) {
  switch (progress) {
    case FI_PROGRESS_AUTO:
      return "auto";
    case FI_PROGRESS_MANUAL:
      return "manual";
    default:
      return "unspec";
  }
}

bool wants_any_provider(const std::string& provider) {
  return provider.empty() || provider == "any";
}

FabricInfo make_hints(const FabricRequest& request, bool with_rma) {
  FabricInfo hints(fi_allocinfo());
  if (!hints) {
    throw std::bad_alloc();
  }
  fi_info* info = hints.get();
  info->ep_attr->type = FI_EP_RDM;
  info->caps = FI_TAGGED;
  if (with_rma) {
    info->caps |= FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
  }
  if (request.memory == MemoryKind::cuda) {
    info->caps |= FI_HMEM;
  }
  info->mode = FI_CONTEXT | FI_CONTEXT2;
  // Every registration mode this code honours; the provider keeps the ones it needs.
  info->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY |
                               FI_MR_ENDPOINT |
                               (request.memory == MemoryKind::cuda ? FI_MR_HMEM : 0);
  info->domain_attr->threading = request.thread_safe ? FI_THREAD_SAFE : FI_THREAD_DOMAIN;
  if (!wants_any_provider(request.provider)) {
    info->fabric_attr->prov_name = strdup(request.provider.c_str());  // freed by fi_freeinfo
  }
  if (!request.domain.empty()) {
    info->domain_attr->name = strdup(request.domain.c_str());
  }
  return hints;
}

std::string describe_request(const FabricRequest& request) {
  return fmt::format("provider '{}', domain '{}', FI_EP_RDM, FI_TAGGED{}{}",
                     wants_any_provider(request.provider) ? "any" : request.provider,
                     request.domain.empty() ? "any" : request.domain,
                     request.op == DataOp::send ? "" : " + FI_RMA",
                     request.memory == MemoryKind::cuda ? " + FI_HMEM" : "");
}

// fi_getinfo with the request's hints; on no match says which part of the request failed.
FabricInfo select_provider(const FabricRequest& request, FabricApi& api) {
  const bool with_rma = request.op != DataOp::send;
  fi_info* found = nullptr;
  FabricInfo hints = make_hints(request, with_rma);
  const int result = fabric_getinfo(hints.get(), &found, api);
  if (result == 0 && found != nullptr) {
    FabricInfo all(found);
    if (request.domain.empty()) {
      return all;
    }
    // Layered providers may ignore the domain hint (libfabric 1.17's tcp;ofi_rxm answers -d lo
    // with eth0 first): pick the exact domain from the list ourselves.
    std::string offered;
    for (fi_info* entry = found; entry != nullptr; entry = entry->next) {
      const char* name = entry->domain_attr != nullptr ? entry->domain_attr->name : nullptr;
      if (name != nullptr && request.domain == name) {
        return FabricInfo(fi_dupinfo(entry));
      }
      if (name != nullptr && offered.find(name) == std::string::npos) {
        offered += (offered.empty() ? "" : ", ") + std::string(name);
      }
    }
    throw FabricUnavailable(fmt::format("libfabric offers no domain '{}' for {} (offered: {})",
                                        request.domain, describe_request(request), offered));
  }
  if (result != -FI_ENODATA) {
    check_fi(result, "fi_getinfo", describe_request(request));
  }
  // Tell "no such provider or domain" from "the provider lacks RMA / HMEM".
  FabricRequest plain = request;
  plain.op = DataOp::send;
  plain.memory = MemoryKind::host;
  FabricInfo plain_hints = make_hints(plain, false);
  fi_info* plain_found = nullptr;
  FabricApi plain_api;
  if (fabric_getinfo(plain_hints.get(), &plain_found, plain_api) == 0 && plain_found != nullptr) {
    const FabricInfo owned(plain_found);
    throw FabricUnavailable(fmt::format(
        "libfabric provider {} ({}) does not offer {}: fi_getinfo found no match for {}",
        owned.get()->fabric_attr->prov_name, owned.get()->domain_attr->name,
        with_rma ? "FI_RMA (needed by --op write|read)" : "FI_HMEM (needed by --mem cuda)",
        describe_request(request)));
  }
  throw FabricUnavailable(fmt::format(
      "libfabric {} has no RDM endpoint for {} (fi_info -l lists the providers; on Debian the tcp "
      "RDM provider is \"tcp;ofi_rxm\")",
      fabric_runtime_version(), describe_request(request)));
}

struct PeerAddress {
  std::vector<std::byte> name;
  std::uint64_t send_address = 0;
  std::uint64_t send_key = 0;
  std::uint64_t recv_address = 0;
  std::uint64_t recv_key = 0;
};

template <typename T>
void append_value(std::vector<std::byte>& out, const T& value) {
  const auto* bytes = reinterpret_cast<const std::byte*>(&value);  // NOLINT
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

template <typename T>
T read_value(std::span<const std::byte> in, std::size_t& offset) {
  if (offset + sizeof(T) > in.size()) {
    throw Error("preflight", "address exchange", "libfabric", "truncated peer address", 0);
  }
  T value{};
  std::memcpy(&value, in.data() + offset, sizeof(T));
  offset += sizeof(T);
  return value;
}

PeerAddress decode_peer_address(std::span<const std::byte> bytes) {
  PeerAddress address;
  std::size_t offset = 0;
  const auto name_length = read_value<std::uint32_t>(bytes, offset);
  if (offset + name_length > bytes.size()) {
    throw Error("preflight", "address exchange", "libfabric", "truncated peer address", 0);
  }
  address.name.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                      bytes.begin() + static_cast<std::ptrdiff_t>(offset + name_length));
  offset += name_length;
  address.send_address = read_value<std::uint64_t>(bytes, offset);
  address.send_key = read_value<std::uint64_t>(bytes, offset);
  address.recv_address = read_value<std::uint64_t>(bytes, offset);
  address.recv_key = read_value<std::uint64_t>(bytes, offset);
  return address;
}

}  // namespace

CompletionError::CompletionError(std::string_view operation, std::string_view peer,
                                 int error_number, int provider_error, std::string_view decoded)
    : Error("libfabric", "fi_cq_read", fmt::format("{} with {}", operation, peer),
            fmt::format("completion error: {} (provider error {}: {})", fi_strerror(error_number),
                        provider_error, decoded),
            -error_number),
      peer_(peer),
      error_number_(error_number),
      provider_error_(provider_error) {}

bool CompletionError::peer_unreachable() const {
  switch (error_number_) {
    case FI_ECONNRESET:
    case FI_ECONNREFUSED:
    case FI_ECONNABORTED:
    case FI_ENOTCONN:
    case FI_EHOSTUNREACH:
    case FI_ENETUNREACH:
    case FI_ETIMEDOUT:
    case FI_EIO:
    case FI_ESHUTDOWN:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> list_efa_domains() {
  return list_rail_domains("efa");
}

std::vector<std::string> list_rail_domains(const std::string& provider) {
  FabricRequest request;
  request.provider = provider;
  FabricInfo hints = make_hints(request, false);
  fi_info* found = nullptr;
  std::set<std::string> domains;
  FabricApi api;
  if (fabric_getinfo(hints.get(), &found, api) == 0 && found != nullptr) {
    const FabricInfo owned(found);
    for (fi_info* info = found; info != nullptr; info = info->next) {
      if (info->domain_attr != nullptr && info->domain_attr->name != nullptr &&
          std::string_view(info->domain_attr->name) != "lo") {
        domains.insert(info->domain_attr->name);
      }
    }
  }
  std::vector<std::string> ordered(domains.begin(), domains.end());
  std::sort(ordered.begin(), ordered.end(),
            [](const std::string& a, const std::string& b) { return natural_less(a, b); });
  return ordered;
}

std::uint64_t write_size_cq_data(std::uint64_t bytes, std::size_t cq_data_bytes) {
  if (cq_data_bytes >= sizeof(std::uint64_t)) {
    return bytes;
  }
  return cq_data_bytes == 0 ? 0 : bytes & ((std::uint64_t{1} << (8 * cq_data_bytes)) - 1);
}

bool write_size_matches(std::uint64_t cq_data, std::uint64_t expected_bytes,
                        std::size_t cq_data_bytes) {
  return write_size_cq_data(cq_data, cq_data_bytes) ==
         write_size_cq_data(expected_bytes, cq_data_bytes);
}

nlohmann::json describe_fabric(const FabricDescription& d) {
  const auto optional_bool = [](const std::optional<bool>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  nlohmann::json api{
      {"requested", d.api_requested}, {"granted", d.api_version}, {"library", d.library_version}};
  if (!d.api_fallback.empty()) {
    api["fallback"] = d.api_fallback;
  }
  return nlohmann::json{{"backend", "libfabric"},
                        {"provider", d.provider},
                        {"fabric", d.fabric},
                        {"domain", d.domain},
                        {"provider_version", d.provider_version},
                        {"libfabric_version", d.library_version},
                        {"api", api},
                        {"endpoint_type", "FI_EP_RDM"},
                        {"inject_size_bytes", d.inject_size},
                        {"max_msg_size_bytes", d.max_msg_size},
                        {"cq_data_size_bytes", d.cq_data_size},
                        {"mr_mode", d.mr_mode},
                        {"threading", d.threading},
                        {"data_progress", d.data_progress},
                        {"rma", d.rma},
                        {"hmem", d.hmem},
                        {"device_id", d.device_id},
                        {"device_rdma",
                         {{"read", optional_bool(d.device_rdma_read)},
                          {"write", optional_bool(d.device_rdma_write)},
                          {"source", d.device_rdma_source}}},
                        {"shared_memory", d.shared_memory}};
}

// ---------------------------------------------------------------------------------------------
// The endpoint: objects, buffers and completion bookkeeping. One channel at a time uses it.

struct FabricEndpoint::Impl {
  Impl(const FabricRequest& request_in, std::size_t max_message_bytes,
       PeerLivenessCheck liveness_in);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;
  ~Impl() { teardown(); }
  void teardown();
  void quiesce();
  int open_endpoint(fi_info* selected, const std::string& where);
  void describe_device_rdma();

  // -- completion handling ------------------------------------------------------------------
  OpContext* acquire(OpKind kind);
  void release(OpContext* context);
  void handle(const fi_cq_tagged_entry& entry);
  [[noreturn]] void throw_cq_error(fid_cq* cq, std::string_view queue);
  std::size_t poll(fid_cq* cq, std::string_view queue);
  enum class Queues { rx, tx, both };
  template <typename Done>
  void progress_until(const Done& done, Queues queues);
  void progress_once() {
    (void)poll(tx_cq.get(), "transmit");
    (void)poll(rx_cq.get(), "receive");
  }
  // After an inject: fabtests' ft_post_inject polls the transmit queue, since a provider with
  // manual progress (efa: RNR retries, queued packets) moves an inject on only when progressed.
  void progress_inject() { (void)poll(tx_cq.get(), "transmit"); }
  template <typename Post>
  void post(const Post& post_operation, std::string_view call);
  void wait_transmits() {
    progress_until([this] { return tx_completed == tx_posted; }, Queues::tx);
  }

  // -- operations ------------------------------------------------------------------------------
  void post_pingpong_recv();
  void post_window_recv();
  void post_ack_recv();
  void post_tagged_send(const void* buffer, std::size_t bytes, void* desc, std::uint64_t tag,
                        bool allow_inject);
  void post_write(std::size_t bytes, bool with_data);
  void post_read(std::size_t bytes);
  // Pops one completed receive of `queue` and counts a wrong length against `expected`.
  void consume(std::deque<std::uint64_t>& queue, std::uint64_t expected) {
    if (queue.front() != expected) {
      ++size_errors;
    }
    queue.pop_front();
  }
  // Pops one remote write's CQ data: the size in the cq_data_size bytes the provider carries.
  void consume_write(std::uint64_t expected) {
    if (!write_size_matches(remote_write_done.front(), expected, cq_data_bytes)) {
      ++size_errors;
    }
    remote_write_done.pop_front();
  }

  FabricRequest request;
  PeerLivenessCheck liveness;
  std::size_t max_bytes;

  // Buffers and contexts are declared first, so they outlive every fid that may still reference
  // them; the fids close in teardown(), in fabtests' order.
  MessageBuffer send_buffer;
  MessageBuffer recv_buffer;
  MessageBuffer control_region;
  std::vector<OpContext> contexts;
  OpContext* free_contexts = nullptr;

  FabricInfo info;
  int mr_mode = 0;
  FabricHandle<fid_fabric> fabric;
  FabricHandle<fid_domain> domain;
  FabricHandle<fid_cq> tx_cq;
  FabricHandle<fid_cq> rx_cq;
  FabricHandle<fid_av> av;
  FabricHandle<fid_ep> ep;
  FabricHandle<fid_mr> send_mr;
  FabricHandle<fid_mr> recv_mr;
  FabricHandle<fid_mr> control_mr;
  void* send_desc = nullptr;
  void* recv_desc = nullptr;
  void* control_desc = nullptr;

  FabricDescription description;
  FabricApi api;
  std::size_t inject_bytes = 0;   // 0 when inject is not used (device memory)
  std::size_t cq_data_bytes = 8;  // of remote CQ data, as the provider carries it
  std::uint64_t injects_unprogressed = 0;

  // The peer the current channel talks to.
  fi_addr_t peer = FI_ADDR_UNSPEC;
  PeerAddress peer_memory;
  std::string peer_label = "peer";

  // Completion bookkeeping: transmits are counted; each kind of receive queues the lengths (or,
  // for remote writes, the CQ data) of its completions until an operation consumes them, so a
  // completion that lands while this side is still busy elsewhere is checked against the right
  // size.
  std::uint64_t tx_posted = 0;
  std::uint64_t tx_completed = 0;
  std::deque<std::uint64_t> pingpong_done;
  std::deque<std::uint64_t> window_done;
  std::deque<std::uint64_t> ack_done;
  std::deque<std::uint64_t> control_done;
  std::deque<std::uint64_t> remote_write_done;
  bool pingpong_posted = false;
  std::uint64_t size_errors = 0;
  MonotonicClock::time_point last_liveness_check = MonotonicClock::now();
};

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

  // Register the buffers (after the endpoint, so FI_MR_ENDPOINT binding is possible).
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
  // Injecting from device memory is not portable; only host buffers use it.
  inject_bytes = request.memory == MemoryKind::host ? description.inject_size : 0;

  if (max_bytes > description.max_msg_size) {
    throw UsageError(fmt::format("--sizes: {} bytes exceeds the provider's max_msg_size {}",
                                 max_bytes, description.max_msg_size));
  }
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

std::uint64_t FabricEndpoint::injects_awaiting_progress() const {
  return impl_->injects_unprogressed;
}

OpContext* FabricEndpoint::Impl::acquire(OpKind kind) {
  while (free_contexts == nullptr) {
    progress_once();
  }
  OpContext* context = free_contexts;
  free_contexts = context->next_free;
  context->kind = kind;
  return context;
}

void FabricEndpoint::Impl::release(OpContext* context) {
  context->next_free = free_contexts;
  free_contexts = context;
}

void FabricEndpoint::Impl::handle(const fi_cq_tagged_entry& entry) {
  if (is_remote_write(entry) || entry.op_context == nullptr) {
    // The target side of fi_writedata: the CQ data carries the message size (modulo what the
    // provider's cq_data_size holds).
    remote_write_done.push_back((entry.flags & FI_REMOTE_CQ_DATA) != 0 ? entry.data : ~0ULL);
    return;
  }
  auto* context = static_cast<OpContext*>(entry.op_context);
  switch (context->kind) {
    case OpKind::tx:
      ++tx_completed;
      break;
    case OpKind::pingpong_recv:
      pingpong_posted = false;
      pingpong_done.push_back(entry.len);
      break;
    case OpKind::window_recv:
      window_done.push_back(entry.len);
      break;
    case OpKind::ack_recv:
      ack_done.push_back(entry.len);
      break;
    case OpKind::control_recv:
      control_done.push_back(entry.len);
      break;
  }
  release(context);
}

void FabricEndpoint::Impl::throw_cq_error(fid_cq* cq, std::string_view queue) {
  fi_cq_err_entry error{};
  const ssize_t result = fi_cq_readerr(cq, &error, 0);
  if (result < 0) {
    check_fi(result, "fi_cq_readerr", fmt::format("{} queue", queue));
  }
  std::array<char, 256> buffer{};
  const char* decoded =
      fi_cq_strerror(cq, error.prov_errno, error.err_data, buffer.data(), buffer.size());
  std::string operation = std::string(queue);
  if (error.op_context != nullptr) {
    auto* context = static_cast<OpContext*>(error.op_context);
    operation = fmt::format("{} of {} bytes", to_string(context->kind), error.len);
    if (context->kind == OpKind::tx) {
      ++tx_completed;
    }
    release(context);
  }
  throw CompletionError(operation, peer_label, error.err, error.prov_errno,
                        decoded != nullptr ? decoded : "");
}

std::size_t FabricEndpoint::Impl::poll(fid_cq* cq, std::string_view queue) {
  std::array<fi_cq_tagged_entry, 16> entries;  // NOLINT: filled by the provider
  const ssize_t count = fi_cq_read(cq, entries.data(), entries.size());
  if (cq == tx_cq.get()) {
    injects_unprogressed = 0;  // reading the CQ progresses the endpoint
  }
  if (count > 0) {
    for (ssize_t i = 0; i < count; ++i) {
      handle(entries[static_cast<std::size_t>(i)]);
    }
    return static_cast<std::size_t>(count);
  }
  if (count == -FI_EAGAIN) {
    return 0;
  }
  if (count == -FI_EAVAIL) {
    throw_cq_error(cq, queue);
  }
  if (count < 0) {  // formatted only on failure: this runs in every poll
    check_fi(count, "fi_cq_read", fmt::format("{} queue, peer {}", queue, peer_label));
  }
  return 0;
}

template <typename Done>
void FabricEndpoint::Impl::progress_until(const Done& done, Queues queues) {
  std::uint32_t idle_spins = 0;
  while (!done()) {
    std::size_t got = 0;
    if (queues != Queues::tx) {
      got += poll(rx_cq.get(), "receive");
    }
    if (queues != Queues::rx) {
      got += poll(tx_cq.get(), "transmit");
    }
    if (got != 0 || ++idle_spins < kSpinsPerClockCheck) {
      continue;
    }
    idle_spins = 0;
    const auto now = MonotonicClock::now();
    if (liveness && seconds_between(last_liveness_check, now) >= kLivenessInterval_s) {
      last_liveness_check = now;
      liveness();
    }
  }
}

template <typename Post>
void FabricEndpoint::Impl::post(const Post& post_operation, std::string_view call) {
  while (true) {
    const ssize_t result = post_operation();
    if (result == 0) {
      return;
    }
    if (result != -FI_EAGAIN) {
      check_fi(result, call, fmt::format("peer {}", peer_label));
    }
    progress_once();  // resources free up as completions are reaped
  }
}

void FabricEndpoint::Impl::post_pingpong_recv() {
  OpContext* context = acquire(OpKind::pingpong_recv);
  post(
      [&] {
        return fi_trecv(ep.get(), recv_buffer.data(), recv_buffer.bytes(), recv_desc,
                        FI_ADDR_UNSPEC, kTagPingPong, 0, context);
      },
      "fi_trecv");
  pingpong_posted = true;
}

void FabricEndpoint::Impl::post_window_recv() {
  OpContext* context = acquire(OpKind::window_recv);
  post(
      [&] {
        return fi_trecv(ep.get(), recv_buffer.data(), recv_buffer.bytes(), recv_desc,
                        FI_ADDR_UNSPEC, kTagWindow, 0, context);
      },
      "fi_trecv");
}

void FabricEndpoint::Impl::post_ack_recv() {
  OpContext* context = acquire(OpKind::ack_recv);
  std::byte* slot = static_cast<std::byte*>(control_region.data()) + kAckRecvOffset;
  post(
      [&] {
        return fi_trecv(ep.get(), slot, kSlotBytes, control_desc, FI_ADDR_UNSPEC, kTagAck, 0,
                        context);
      },
      "fi_trecv");
}

void FabricEndpoint::Impl::post_tagged_send(const void* buffer, std::size_t bytes, void* desc,
                                            std::uint64_t tag, bool allow_inject) {
  // Strictly below the inject size, as fi_pingpong decides.
  if (allow_inject && bytes < inject_bytes) {
    post([&] { return fi_tinject(ep.get(), buffer, bytes, peer, tag); }, "fi_tinject");
    ++injects_unprogressed;
    progress_inject();
    return;
  }
  OpContext* context = acquire(OpKind::tx);
  post([&] { return fi_tsend(ep.get(), buffer, bytes, desc, peer, tag, context); }, "fi_tsend");
  ++tx_posted;
}

void FabricEndpoint::Impl::post_write(std::size_t bytes, bool with_data) {
  OpContext* context = acquire(OpKind::tx);
  if (with_data) {
    post(
        [&] {
          return fi_writedata(ep.get(), send_buffer.data(), bytes, send_desc,
                              write_size_cq_data(bytes, cq_data_bytes), peer,
                              peer_memory.recv_address, peer_memory.recv_key, context);
        },
        "fi_writedata");
  } else {
    post(
        [&] {
          return fi_write(ep.get(), send_buffer.data(), bytes, send_desc, peer,
                          peer_memory.recv_address, peer_memory.recv_key, context);
        },
        "fi_write");
  }
  ++tx_posted;
}

void FabricEndpoint::Impl::post_read(std::size_t bytes) {
  OpContext* context = acquire(OpKind::tx);
  post(
      [&] {
        return fi_read(ep.get(), recv_buffer.data(), bytes, recv_desc, peer,
                       peer_memory.send_address, peer_memory.send_key, context);
      },
      "fi_read");
  ++tx_posted;
}

// ---------------------------------------------------------------------------------------------

namespace {

class FabricChannel final : public PairChannel {
 public:
  FabricChannel(FabricEndpoint::Impl& endpoint, DataOp op) : endpoint_(endpoint), op_(op) {}

  [[nodiscard]] DataOp op() const override { return op_; }
  [[nodiscard]] MessageBuffer& send_buffer() override { return endpoint_.send_buffer; }
  [[nodiscard]] MessageBuffer& recv_buffer() override { return endpoint_.recv_buffer; }

  void ping(std::size_t bytes) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        if (!e.pingpong_posted) {
          e.post_pingpong_recv();
        }
        e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagPingPong, true);
        e.wait_transmits();
        e.progress_until([&e] { return !e.pingpong_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume(e.pingpong_done, bytes);
        e.post_pingpong_recv();
        return;
      case DataOp::write:
        e.post_write(bytes, true);
        e.progress_until(
            [&e] { return e.tx_completed == e.tx_posted && !e.remote_write_done.empty(); },
            FabricEndpoint::Impl::Queues::both);
        e.consume_write(bytes);
        return;
      case DataOp::read:
        e.post_read(bytes);
        e.wait_transmits();
        return;
    }
  }

  void pong(std::size_t bytes) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        if (!e.pingpong_posted && e.pingpong_done.empty()) {
          e.post_pingpong_recv();
        }
        e.progress_until([&e] { return !e.pingpong_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume(e.pingpong_done, bytes);
        e.post_pingpong_recv();
        e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagPingPong, true);
        e.wait_transmits();
        return;
      case DataOp::write:
        e.progress_until([&e] { return !e.remote_write_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume_write(bytes);
        e.post_write(bytes, true);
        e.wait_transmits();
        return;
      case DataOp::read:
        return;  // passive: the initiator reads this side's memory
    }
  }

  void send_window(std::size_t bytes, int window) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
      case DataOp::write: {
        e.post_ack_recv();
        for (int i = 0; i < window; ++i) {
          if (op_ == DataOp::send) {
            e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagWindow, false);
          } else {
            e.post_write(bytes, /*with_data=*/i == window - 1);
          }
        }
        e.progress_until([&e] { return e.tx_completed == e.tx_posted && !e.ack_done.empty(); },
                         FabricEndpoint::Impl::Queues::both);
        e.consume(e.ack_done, kAckBytes);
        return;
      }
      case DataOp::read:
        for (int i = 0; i < window; ++i) {
          e.post_read(bytes);
        }
        e.wait_transmits();
        return;
    }
  }

  void recv_window(std::size_t bytes, int window) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        for (int i = 0; i < window; ++i) {
          e.post_window_recv();
        }
        e.progress_until(
            [&e, window] { return e.window_done.size() >= static_cast<std::size_t>(window); },
            FabricEndpoint::Impl::Queues::rx);
        for (int i = 0; i < window; ++i) {
          e.consume(e.window_done, bytes);
        }
        break;
      case DataOp::write:
        // Only the last write of the window carries CQ data.
        e.progress_until([&e] { return !e.remote_write_done.empty(); },
                         FabricEndpoint::Impl::Queues::rx);
        e.consume_write(bytes);
        break;
      case DataOp::read:
        return;
    }
    send_ack();
  }

  void exchange_window(std::size_t bytes, int window) override {
    auto& e = endpoint_;
    switch (op_) {
      case DataOp::send:
        for (int i = 0; i < window; ++i) {
          e.post_window_recv();
        }
        for (int i = 0; i < window; ++i) {
          e.post_tagged_send(e.send_buffer.data(), bytes, e.send_desc, kTagWindow, false);
        }
        e.progress_until(
            [&e, window] {
              return e.tx_completed == e.tx_posted &&
                     e.window_done.size() >= static_cast<std::size_t>(window);
            },
            FabricEndpoint::Impl::Queues::both);
        for (int i = 0; i < window; ++i) {
          e.consume(e.window_done, bytes);
        }
        return;
      case DataOp::write:
        for (int i = 0; i < window; ++i) {
          e.post_write(bytes, i == window - 1);
        }
        e.progress_until(
            [&e] { return e.tx_completed == e.tx_posted && !e.remote_write_done.empty(); },
            FabricEndpoint::Impl::Queues::both);
        e.consume_write(bytes);
        return;
      case DataOp::read:
        for (int i = 0; i < window; ++i) {
          e.post_read(bytes);
        }
        e.wait_transmits();
        return;
    }
  }

  void send_control(const ControlMessage& message) override {
    auto& e = endpoint_;
    std::byte* slot = static_cast<std::byte*>(e.control_region.data()) + kControlSendOffset;
    std::memcpy(slot, &message, sizeof(message));
    // Untimed: sent with a completion, and waited for, so the last message of a test (the
    // responder's result) is out before this side turns to anything else.
    e.post_tagged_send(slot, sizeof(message), e.control_desc, kTagControl, false);
    e.wait_transmits();
  }

  [[nodiscard]] ControlMessage recv_control() override {
    auto& e = endpoint_;
    std::byte* slot = static_cast<std::byte*>(e.control_region.data()) + kControlRecvOffset;
    OpContext* context = e.acquire(OpKind::control_recv);
    e.post(
        [&] {
          return fi_trecv(e.ep.get(), slot, kSlotBytes, e.control_desc, FI_ADDR_UNSPEC, kTagControl,
                          0, context);
        },
        "fi_trecv");
    e.progress_until([&e] { return !e.control_done.empty(); }, FabricEndpoint::Impl::Queues::both);
    const std::uint64_t length = e.control_done.front();
    e.control_done.pop_front();
    if (length != sizeof(ControlMessage)) {
      throw Error(
          "preflight", "pair protocol", e.peer_label,
          fmt::format("control message of {} bytes, expected {}", length, sizeof(ControlMessage)),
          0);
    }
    ControlMessage message;
    std::memcpy(&message, slot, sizeof(message));
    return message;
  }

  [[nodiscard]] std::uint64_t take_size_errors() override {
    return std::exchange(endpoint_.size_errors, 0);
  }
  [[nodiscard]] bool checks_sizes() const override { return true; }

 private:
  void send_ack() {
    auto& e = endpoint_;
    std::byte* slot = static_cast<std::byte*>(e.control_region.data()) + kAckSendOffset;
    e.post_tagged_send(slot, kAckBytes, e.control_desc, kTagAck, true);
    e.wait_transmits();
  }

  FabricEndpoint::Impl& endpoint_;
  DataOp op_;
};

}  // namespace

FabricEndpoint::FabricEndpoint(const FabricRequest& request, std::size_t max_message_bytes,
                               PeerLivenessCheck liveness)
    : impl_(std::make_unique<Impl>(request, max_message_bytes, std::move(liveness))) {}

FabricEndpoint::~FabricEndpoint() = default;

const FabricDescription& FabricEndpoint::description() const {
  return impl_->description;
}

std::vector<std::byte> FabricEndpoint::local_address() const {
  std::size_t length = 0;
  const int probe = fi_getname(&impl_->ep.get()->fid, nullptr, &length);
  if (probe != -FI_ETOOSMALL && probe != 0) {
    check_fi(probe, "fi_getname", "length");
  }
  std::vector<std::byte> name(length);
  check_fi(fi_getname(&impl_->ep.get()->fid, name.data(), &length), "fi_getname", "endpoint");
  name.resize(length);

  const bool virtual_addresses = (impl_->info.get()->domain_attr->mr_mode & FI_MR_VIRT_ADDR) != 0;
  auto remote_address = [&](const MessageBuffer& buffer) -> std::uint64_t {
    return virtual_addresses ? reinterpret_cast<std::uintptr_t>(buffer.data()) : 0;  // NOLINT
  };
  std::vector<std::byte> out;
  append_value(out, static_cast<std::uint32_t>(name.size()));
  out.insert(out.end(), name.begin(), name.end());
  append_value(out, remote_address(impl_->send_buffer));
  append_value(out, fi_mr_key(impl_->send_mr.get()));
  append_value(out, remote_address(impl_->recv_buffer));
  append_value(out, fi_mr_key(impl_->recv_mr.get()));
  return out;
}

std::unique_ptr<PairChannel> FabricEndpoint::open_channel(std::span<const std::byte> peer_address,
                                                          const std::string& peer_label) {
  Impl& e = *impl_;
  e.peer_memory = decode_peer_address(peer_address);
  e.peer_label = peer_label;
  fi_addr_t address = FI_ADDR_UNSPEC;
  const int inserted = fi_av_insert(e.av.get(), e.peer_memory.name.data(), 1, &address, 0, nullptr);
  if (inserted != 1) {
    check_fi(inserted < 0 ? inserted : -FI_EINVAL, "fi_av_insert", peer_label);
  }
  e.peer = address;
  if (!e.pingpong_posted && e.request.op == DataOp::send) {
    e.post_pingpong_recv();  // always one receive ahead, as fi_pingpong
  }
  return std::make_unique<FabricChannel>(e, e.request.op);
}

}  // namespace preflight::p2p
