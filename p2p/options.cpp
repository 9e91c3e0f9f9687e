#include "p2p/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace preflight::p2p {

std::string_view to_string(Transport transport) {
  switch (transport) {
    case Transport::libfabric:
      return "libfabric";
    case Transport::mpi:
      return "mpi";
    case Transport::nccl:
      return "nccl";
  }
  return "libfabric";
}

std::string_view to_string(Pattern pattern) {
  switch (pattern) {
    case Pattern::pair:
      return "pair";
    case Pattern::all_pairs:
      return "all-pairs";
    case Pattern::ring:
      return "ring";
  }
  return "pair";
}

P2pOptions default_options() {
  P2pOptions options;
  options.sampling.warmup_iterations = 10;
  options.sampling.min_iterations = 10;
  options.sampling.max_iterations = 1'000'000;
  options.sampling.target_precision = 0.01;
  options.sampling.time_budget_s = 0.5;
  return options;
}

void validate_options(const P2pOptions& options) {
  validate_sampling_policy(options.sampling);
  if (options.sizes.empty()) {
    throw UsageError("--sizes: no size given");
  }
  if (options.window < 1 || options.window > 4096) {
    throw UsageError(fmt::format("--window {}: must be 1-4096", options.window));
  }
  if (options.check_iterations < 1 || options.check_iterations > 1000) {
    throw UsageError(
        fmt::format("--check {}: must be 1-1000 (every size is verified at least once)",
                    options.check_iterations));
  }
  if (!(options.timeout_s > 0)) {
    throw UsageError("--timeout: must be a positive number of seconds");
  }
  if (!options.sampling.fixed && options.timeout_s <= 2 * options.sampling.time_budget_s) {
    throw UsageError(fmt::format(
        "--timeout {} s must exceed twice --time-per-size ({} s): a size would time out while "
        "measuring",
        options.timeout_s, options.sampling.time_budget_s));
  }
  if (!(options.connect_timeout_s > 0)) {
    throw UsageError("--connect-timeout: must be a positive number of seconds");
  }
  if (options.op != DataOp::send && options.transport != Transport::libfabric) {
    throw UsageError(
        fmt::format("--op {}: RMA needs --transport libfabric", to_string(options.op)));
  }
  if (options.memory == MemoryKind::cuda && options.transport == Transport::mpi) {
    throw UsageError(
        "--mem cuda: use --transport libfabric (FI_HMEM) or nccl; the MPI transport "
        "measures host memory");
  }
  if (!options.listen.empty() && !options.connect.empty()) {
    throw UsageError("--listen and --connect: one side listens, the other connects");
  }
  const bool rendezvous = !options.listen.empty() || !options.connect.empty();
  if ((options.loopback || options.all_devices) && options.transport != Transport::libfabric) {
    throw UsageError("--loopback/--all-devices: need --transport libfabric");
  }
  if ((options.loopback || options.all_devices) && rendezvous) {
    throw UsageError(
        "--loopback/--all-devices run both endpoints in this process: drop "
        "--listen/--connect");
  }
  if ((options.loopback || options.all_devices) && options.pattern != Pattern::pair) {
    throw UsageError("--loopback/--all-devices: only --pattern pair");
  }
  if (options.all_devices && !options.provider.empty() && options.provider != "efa" &&
      options.provider != "auto") {
    throw UsageError(
        "--all-devices tests every EFA device: --provider must be efa or auto (or omitted)");
  }
  if (options.all_devices && !options.domain.empty()) {
    throw UsageError("--all-devices picks every EFA domain itself: drop --domain");
  }
  if (options.transport == Transport::mpi && rendezvous) {
    throw UsageError("--transport mpi needs an MPI launch (mpirun/srun), not --listen/--connect");
  }
  if (!options.rails.empty() && options.rails != "none" && options.rails != "auto") {
    if (options.rails != "all") {
      (void)select_rails(options.rails, std::numeric_limits<int>::max());  // the syntax, here
    }
    if (options.transport != Transport::libfabric) {
      throw UsageError("--rails: needs --transport libfabric (one endpoint per device)");
    }
    if (options.loopback || options.all_devices || !options.domain.empty()) {
      throw UsageError(
          "--rails picks the devices itself: drop --domain, --loopback and --all-devices");
    }
    if (!(options.rail_timeout_s > 0)) {
      throw UsageError("--rail-timeout: must be a positive number of seconds");
    }
  }
  if (options.nic_rate_gbps &&
      !(*options.nic_rate_gbps > 0 && std::isfinite(*options.nic_rate_gbps))) {
    throw UsageError("--nic-rate-gbps: must be a positive number of Gbit/s");
  }
  if (!(options.min_line_rate_fraction > 0 && options.min_line_rate_fraction <= 1)) {
    throw UsageError("--min-line-rate-fraction: must be in (0, 1]");
  }
  const SurveyPolicy& survey = options.survey;
  if (survey.max_rounds < 1 || survey.random_rounds < 1 ||
      survey.judgement.node_confirmations < 1 || survey.judgement.link_confirmations < 1) {
    throw UsageError(
        "--max-rounds, --random-rounds, --retest-partners and --link-confirmations must be at "
        "least 1");
  }
  if (survey.max_retest_rounds < 0) {
    throw UsageError("--retest-rounds: must be 0 or more");
  }
  if (!(survey.judgement.slow_fraction > 0 && survey.judgement.slow_fraction < 1)) {
    throw UsageError(fmt::format(
        "--slow-fraction {}: must be a fraction between 0 and 1 (0.3: slow below 70% of the "
        "reference)",
        survey.judgement.slow_fraction));
  }
}

bool rails_requested(const std::string& rails, const std::string& provider) {
  if (rails == "auto") {
    return provider == "efa";
  }
  return !rails.empty() && rails != "none";
}

std::vector<int> select_rails(const std::string& rails, int available) {
  std::vector<int> selected;
  if (rails == "all" || rails == "auto") {
    for (int rail = 0; rail < available; ++rail) {
      selected.push_back(rail);
    }
    return selected;
  }
  std::size_t start = 0;
  while (start <= rails.size()) {
    const std::size_t comma = std::min(rails.find(',', start), rails.size());
    const std::string item = rails.substr(start, comma - start);
    int rail = -1;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), rail);
    if (item.empty() || error != std::errc() || end != item.data() + item.size() || rail < 0) {
      throw UsageError(fmt::format(
          "--rails {}: expected 'all' or rail indices from 0, comma-separated (e.g. 0,2); '{}' "
          "is not one",
          rails, item));
    }
    if (rail >= available) {
      throw UsageError(fmt::format("--rails {}: rail {} does not exist here ({} rail(s): 0-{})",
                                   rails, rail, available, available - 1));
    }
    if (std::find(selected.begin(), selected.end(), rail) == selected.end()) {
      selected.push_back(rail);
    }
    start = comma + 1;
  }
  std::sort(selected.begin(), selected.end());
  return selected;
}

}  // namespace preflight::p2p
