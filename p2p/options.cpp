#include "p2p/options.hpp"

#include <fmt/format.h>

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

}  // namespace preflight::p2p
