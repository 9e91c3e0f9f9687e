// Provider selection for the libfabric transport: the fi_getinfo hints a FabricRequest stands for,
// and the one fi_info the endpoint opens. list_rail_domains and list_efa_domains
// (fabric_transport.hpp) ask the same question of every domain.
#pragma once

#include "common/fabric.hpp"
#include "p2p/fabric_transport.hpp"

namespace preflight::p2p {

// fi_getinfo with the request's hints; on no match says which part of the request failed.
[[nodiscard]] FabricInfo select_provider(const FabricRequest& request, FabricApi& api);

}  // namespace preflight::p2p
