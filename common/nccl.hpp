// NCCL support over the function table of common/nccl_api.hpp: error checks with NCCL's own
// text and last error, and an owning communicator.
//
// Ending a communicator: finalize() on the normal path (flushes the issued work, then destroys);
// anything else (an exception unwinding, an error, a watchdog abort request) aborts, because
// ncclCommFinalize waits for work that a dead peer never completes. NCCL calls on one
// communicator are not thread-safe, so all of these run on the thread that uses the
// communicator; other threads only ever *request* an abort (see the backends).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/nccl_api.hpp"

namespace preflight {

// "ncclRemoteError: remote process exited or there was a network error (last error: ...)".
[[nodiscard]] std::string describe_nccl_error(const nccl::Api& api, nccl::Result result,
                                              nccl::Comm comm = nullptr);
// Throws preflight::Error (library NCCL) with the decoded error; success and ncclInProgress
// pass.
void check_nccl(const nccl::Api& api, nccl::Result result, std::string_view call,
                std::string_view arguments, nccl::Comm comm = nullptr);

class NcclCommunicator {
 public:
  NcclCommunicator() = default;
  NcclCommunicator(const nccl::Api& api, nccl::Comm comm) : api_(&api), comm_(comm) {}
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  NcclCommunicator(NcclCommunicator&& other) noexcept;
  NcclCommunicator& operator=(NcclCommunicator&& other) noexcept;
  // Aborts a communicator that was not finalized.
  ~NcclCommunicator();

  [[nodiscard]] nccl::Comm get() const { return comm_; }
  // The normal end: ncclCommFinalize, then ncclCommDestroy. Throws (after aborting) when NCCL
  // reports an error.
  void finalize();
  // ncclCommAbort now; afterwards the object is empty.
  void abort() noexcept;
  // ncclCommGetAsyncError; throws the decoded error.
  void check_async_error() const;

 private:
  const nccl::Api* api_ = nullptr;
  nccl::Comm comm_ = nullptr;
};

// The network plugin NCCL loaded into this process, as far as can be told from here:
// NCCL_NET_PLUGIN and NCCL_NET as set, and the libnccl-net*.so files mapped (after a
// communicator exists; NCCL loads the plugin at its first init).
struct NetPluginFacts {
  std::string requested;           // NCCL_NET_PLUGIN, empty when unset
  std::string network;             // NCCL_NET, empty when unset
  std::vector<std::string> paths;  // mapped libnccl-net*.so files
  // Per path: the aws-ofi-nccl version its text carries ("1.16.2"), empty when none does.
  std::vector<std::string> versions;
  [[nodiscard]] nlohmann::json to_json() const;
};
[[nodiscard]] NetPluginFacts loaded_net_plugins();

}  // namespace preflight
