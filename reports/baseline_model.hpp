// Expected all-reduce curves for any node count (`preflight-report baseline model`): a latency-
// bandwidth model of NCCL's all-reduce, its bandwidths from the platform catalog, its other
// parameters fitted to published nccl-tests runs.
//
// For each algorithm (ring; tree on two nodes or more) and protocol (LL, LL128, Simple) the time of
// a size S is  latency + S / bandwidth, and NCCL's choice is the fastest of them:
//   ring  bandwidth  min(nvlink_efficiency x NVLink per GPU, network_efficiency x EFA per node)
//                    as bus bandwidth (NVLink only on one node); latency: 2 passes over every hop
//                    of the ring, NVLink hops inside nodes and one network hop per node
//   tree  bandwidth  min(network_efficiency x EFA per node / c, tree_nvlink_share x NVLink) as
//                    algorithm bandwidth, c = 1 on two nodes (each node sends S once) and 2 on
//                    more (an inner node of the double binary tree sends 2S); latency: up and
//                    down ceil(log2 nodes) network hops and the chain of ranks inside a node
//   LL, LL128        reach a share of those bandwidths (fitted, separately over NVLink and over
//                    the network) with lower latency than Simple (base and per-hop latency grow
//                    LL <= LL128 <= Simple by construction)
// The data (reports/platforms/model/<instance type>.json, compiled in) holds the published runs
// with their sources, which of their points are held out of the fit, and the priors of the
// parameters the runs cannot pin down. The fit minimises the sum of |log(predicted / measured)|
// times over the fitted points plus the priors' penalty (Nelder-Mead in log space, deterministic).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "reports/baseline.hpp"

namespace preflight::reports {

enum class ModelParameter : std::size_t {
  ll_base_us,
  ll128_base_extra_us,
  simple_base_extra_us,
  hop_nvlink_us,
  hop_network_us,
  ll128_hop_extra,
  simple_hop_extra,
  ll_share_nvlink,
  ll128_share_nvlink,
  ll_share_network,
  ll128_share_network,
  nvlink_efficiency,
  network_efficiency,
  tree_nvlink_share,
};
inline constexpr std::size_t kModelParameters = 14;
[[nodiscard]] std::string_view parameter_name(ModelParameter parameter);

// What the platform catalog says about bandwidth.
struct ModelHardware {
  std::string instance_type;
  int gpus = 0;
  double nvlink_GBps = 0;  // per GPU and direction: links x the generation's rate per link
  double efa_GBps = 0;     // per node and direction: the EFA aggregate
};
// Throws UsageError when the catalog lacks the type or a figure the model needs.
[[nodiscard]] ModelHardware model_hardware(std::string_view instance_type);

struct ModelPrediction {
  double time_s = 0;
  double busbw_Bps = 0;
  std::string_view algorithm;  // ring | tree
  std::string_view protocol;   // LL | LL128 | Simple
};

// One published point and how the model does on it.
struct ModelPoint {
  std::string run;
  int nodes = 0;
  int ranks_per_node = 0;
  std::uint64_t size_bytes = 0;
  double time_s = 0;
  double busbw_Bps = 0;
  enum class Use { fitted, held_out, reference } use = Use::fitted;
  // Judged on time up to 64 KiB, on bus bandwidth above (as baselines are).
  std::string metric;
  double measured = 0;
  double predicted = 0;
  double error = 0;  // predicted / measured - 1
  std::string algorithm;
  std::string protocol;
};

struct PlatformModel {
  ModelHardware hardware;
  std::array<double, kModelParameters> parameters{};
  std::string fitted_on;                 // the instance type whose runs were fitted
  std::vector<std::string> sources;      // "repository@commit path lines (run)" of the fitted runs
  std::vector<std::string> assumptions;  // priors that decide what no run pins down, with why
  std::vector<ModelPoint> points;        // every published point, with the model's error
  std::vector<int> fitted_node_counts;

  [[nodiscard]] double parameter(ModelParameter which) const {
    return parameters.at(static_cast<std::size_t>(which));
  }
  [[nodiscard]] ModelPrediction predict(std::uint64_t size_bytes, int nodes,
                                        int ranks_per_node) const;
  // The largest |error| over the held-out points (0 when none).
  [[nodiscard]] double worst_held_out_error() const;
};

// The model of `instance_type`, fitted now. Throws UsageError when the type has no model data
// (naming the types that have), or the catalog lacks what the model needs.
[[nodiscard]] PlatformModel fit_platform_model(std::string_view instance_type);
// Instance types with model data, sorted.
[[nodiscard]] std::vector<std::string> modelled_instance_types();

struct BaselineModelOptions {
  std::string instance_type;
  int nodes = 0;
  int ranks_per_node = 0;  // 0: one rank per GPU
  std::string benchmark = "all_reduce";
  std::uint64_t min_size_bytes = 8;
  std::uint64_t max_size_bytes = std::uint64_t{16} << 30U;
  std::string name;  // default: <type>-<N>node-all_reduce-nccl-model
  bool deterministic = false;
};

// Bands of a model baseline: wider than those of a measured one (the model's own error, and a
// node count it may not have seen).
inline constexpr double kModelBusBwWarn = 0.20;
inline constexpr double kModelBusBwFail = 0.35;
inline constexpr double kModelTimeWarn = 0.35;
inline constexpr double kModelTimeFail = 0.70;
inline constexpr double kModelTimeFloorWarn_s = 10e-6;
inline constexpr double kModelTimeFloorFail_s = 20e-6;
inline constexpr std::uint64_t kModelLatencyMaxSize = 65536;

// A baseline of the model's curve for `options`: time_s up to 64 KiB, busbw above, sizes doubling
// from min to max; notes with the parameters and the error on every held-out published point.
// Throws UsageError on options the model cannot serve (another benchmark, nodes < 1, ...).
[[nodiscard]] Baseline model_baseline(const BaselineModelOptions& options,
                                      const PlatformModel& model);

}  // namespace preflight::reports
