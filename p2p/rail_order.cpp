#include "p2p/rail_order.hpp"

#include <algorithm>
#include <map>

#include "common/text.hpp"

namespace preflight::p2p {
namespace {

void sort_by_name(std::vector<std::string>& domains) {
  std::sort(domains.begin(), domains.end(),
            [](const std::string& a, const std::string& b) { return natural_less(a, b); });
}

RailOrder by_name(std::vector<std::string> domains, std::string why) {
  sort_by_name(domains);
  RailOrder order;
  order.gpus.assign(domains.size(), {});
  order.domains = std::move(domains);
  order.basis = std::move(why);
  return order;
}

}  // namespace

std::string domain_device(const std::string& domain) {
  for (const std::string_view suffix : {"-rdm", "-dgrm"}) {
    if (domain.size() > suffix.size() && domain.ends_with(suffix)) {
      return domain.substr(0, domain.size() - suffix.size());
    }
  }
  return domain;
}

RailOrder order_rails(std::vector<std::string> domains, const probes::TopologyFacts& facts,
                      const probes::TopologyAnalysis& analysis) {
  if (facts.gpus.empty()) {
    return by_name(std::move(domains), "device names (no GPU in the topology)");
  }
  std::map<std::string, std::size_t> position;  // device -> its place in the topology's order
  std::map<std::string, std::vector<int>> gpus_of;
  const std::vector<probes::RailSlot> slots = probes::rail_order(facts, analysis);
  for (std::size_t place = 0; place < slots.size(); ++place) {
    const std::string& device = facts.efa[slots[place].efa].name;
    position.emplace(device, place);
    gpus_of[device] = slots[place].gpus;
  }
  sort_by_name(domains);
  std::stable_sort(domains.begin(), domains.end(), [&](const std::string& a, const std::string& b) {
    const auto at = position.find(domain_device(a));
    const auto bt = position.find(domain_device(b));
    const std::size_t unplaced = slots.size();
    return (at == position.end() ? unplaced : at->second) <
           (bt == position.end() ? unplaced : bt->second);
  });
  RailOrder order;
  std::size_t placed = 0;
  for (const std::string& domain : domains) {
    const auto found = gpus_of.find(domain_device(domain));
    order.gpus.push_back(found == gpus_of.end() ? std::vector<int>{} : found->second);
    placed += found == gpus_of.end() ? 0 : 1;
  }
  order.domains = std::move(domains);
  order.basis = placed == 0 ? "device names (the topology places none of these devices)"
                            : fmt::format(
                                  "GPU <-> NIC topology ({}; {} GPU, {} of {} devices "
                                  "under a GPU, GPU-local first)",
                                  facts.source, facts.gpus.size(), placed, order.domains.size());
  return order;
}

RailOrder order_rails_on_this_node(std::vector<std::string> domains, const RootFs& fs) {
  const bool rdma = std::any_of(domains.begin(), domains.end(), [&](const std::string& domain) {
    return fs.exists("/sys/class/infiniband/" + domain_device(domain));
  });
  if (!rdma) {
    return by_name(std::move(domains), "device names (not RDMA devices: no GPU <-> NIC topology)");
  }
  const probes::TopologyFacts facts =
      fs.is_live() ? probes::gather_topology_live() : probes::gather_topology_sysfs(fs);
  if (!facts.available) {
    return by_name(std::move(domains),
                   fmt::format("device names (topology unavailable: {})", facts.reason));
  }
  return order_rails(std::move(domains), facts, probes::analyse_topology(facts, nullptr));
}

}  // namespace preflight::p2p
