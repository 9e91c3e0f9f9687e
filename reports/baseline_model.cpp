#include "reports/baseline_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <utility>

#include "common/error.hpp"
#include "common/size_spec.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "domain/platform.hpp"
#include "preflight/build_config.hpp"

namespace preflight::reports {

// reports/embedded_models.cpp (generated).
std::span<const std::pair<std::string_view, std::string_view>> embedded_model_files();

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, kModelParameters> kParameterNames{
    "ll_base_us",         "ll128_base_extra_us", "simple_base_extra_us", "hop_nvlink_us",
    "hop_network_us",     "ll128_hop_extra",     "simple_hop_extra",     "ll_share_nvlink",
    "ll128_share_nvlink", "ll_share_network",    "ll128_share_network",  "nvlink_efficiency",
    "network_efficiency", "tree_nvlink_share"};

using Parameters = std::array<double, kModelParameters>;

double at(const Parameters& p, ModelParameter which) {
  return p.at(static_cast<std::size_t>(which));
}

// Where the fit starts and how far a parameter may move before the prior costs as much as one
// point's error: log_sigma 10 is no constraint at all, 0.03 pins the value within about 3%.
struct Prior {
  double value = 1;
  double log_sigma = 10;
};

std::array<Prior, kModelParameters> default_priors() {
  using P = ModelParameter;
  std::array<Prior, kModelParameters> priors{};
  const auto set = [&](P which, double value) {
    priors.at(static_cast<std::size_t>(which)) = {value, 10};
  };
  set(P::ll_base_us, 5);
  set(P::ll128_base_extra_us, 5);
  set(P::simple_base_extra_us, 10);
  set(P::hop_nvlink_us, 0.6);
  set(P::hop_network_us, 5);
  set(P::ll128_hop_extra, 0.5);
  set(P::simple_hop_extra, 2);
  set(P::ll_share_nvlink, 0.3);
  set(P::ll128_share_nvlink, 0.8);
  set(P::ll_share_network, 0.3);
  set(P::ll128_share_network, 0.8);
  set(P::nvlink_efficiency, 1.0);
  set(P::network_efficiency, 0.93);
  set(P::tree_nvlink_share, 0.6);
  return priors;
}

std::optional<ModelParameter> parameter_named(std::string_view name) {
  for (std::size_t i = 0; i < kParameterNames.size(); ++i) {
    if (kParameterNames.at(i) == name) {
      return static_cast<ModelParameter>(i);
    }
  }
  return std::nullopt;
}

// ---- the model ---------------------------------------------------------------------------------

struct Protocol {
  std::string_view name;
  double base_us;
  double hop_scale;
  double share_nvlink;
  double share_network;
};

std::array<Protocol, 3> protocols(const Parameters& p) {
  using P = ModelParameter;
  const double ll128_nvlink = std::min(1.0, at(p, P::ll128_share_nvlink));
  const double ll128_network = std::min(1.0, at(p, P::ll128_share_network));
  const double ll128_base = at(p, P::ll_base_us) + at(p, P::ll128_base_extra_us);
  const double ll128_hops = 1 + at(p, P::ll128_hop_extra);
  return {
      {{"LL", at(p, P::ll_base_us), 1.0, std::min(1.0, at(p, P::ll_share_nvlink)) * ll128_nvlink,
        std::min(1.0, at(p, P::ll_share_network)) * ll128_network},
       {"LL128", ll128_base, ll128_hops, ll128_nvlink, ll128_network},
       {"Simple", ll128_base + at(p, P::simple_base_extra_us),
        ll128_hops + at(p, P::simple_hop_extra), 1.0, 1.0}}};
}

int ceil_log2(int n) {
  int levels = 0;
  while ((1 << levels) < n) {
    ++levels;
  }
  return levels;
}

struct Time {
  double time_us = std::numeric_limits<double>::infinity();
  std::string_view algorithm;
  std::string_view protocol;
};

Time model_time(const Parameters& p, const ModelHardware& hw, double size_bytes, int nodes,
                int ranks_per_node) {
  using P = ModelParameter;
  const int n = nodes * ranks_per_node;
  // Fewer ranks than GPUs on a node use the NICs next to those GPUs only.
  const double efa_GBps =
      hw.efa_GBps * std::min(1.0, static_cast<double>(ranks_per_node) / std::max(1, hw.gpus));
  const double ring_factor = 2.0 * (n - 1) / n;  // bus bytes per byte of the buffer
  Time best;
  const auto consider = [&](std::string_view algorithm, std::string_view protocol,
                            double latency_us, double algbw_GBps) {
    // GB/s x 1e3 = bytes per microsecond.
    const double time_us = latency_us + size_bytes / (algbw_GBps * 1e3);
    if (time_us < best.time_us) {
      best = {time_us, algorithm, protocol};
    }
  };
  for (const Protocol& protocol : protocols(p)) {
    const double nvlink = protocol.share_nvlink * at(p, P::nvlink_efficiency) * hw.nvlink_GBps;
    const double network = protocol.share_network * at(p, P::network_efficiency) * efa_GBps;
    if (nodes == 1) {
      const double hops = 2.0 * (n - 1) * at(p, P::hop_nvlink_us);
      consider("ring", protocol.name, protocol.base_us + hops * protocol.hop_scale,
               nvlink / ring_factor);
      continue;
    }
    const double ring_hops =
        2.0 * ((n - nodes) * at(p, P::hop_nvlink_us) + nodes * at(p, P::hop_network_us));
    consider("ring", protocol.name, protocol.base_us + ring_hops * protocol.hop_scale,
             std::min(nvlink, network) / ring_factor);
    const double sent_per_byte = nodes == 2 ? 1.0 : 2.0;
    const double tree_algbw =
        std::min(network / sent_per_byte,
                 protocol.share_nvlink * at(p, P::tree_nvlink_share) * hw.nvlink_GBps);
    const double tree_hops = 2.0 * (ceil_log2(nodes) * at(p, P::hop_network_us) +
                                    (ranks_per_node - 1) * at(p, P::hop_nvlink_us));
    consider("tree", protocol.name, protocol.base_us + tree_hops * protocol.hop_scale, tree_algbw);
  }
  return best;
}

// ---- the fit -----------------------------------------------------------------------------------

// Nelder-Mead on `f` from `start`: deterministic, derivative-free (the objective is a sum of
// absolute values and a minimum over algorithms and protocols: not smooth).
template <typename Function>
std::pair<std::vector<double>, double> nelder_mead(const Function& f, std::vector<double> start,
                                                   double step, int iterations) {
  const std::size_t n = start.size();
  std::vector<std::vector<double>> points{start};
  for (std::size_t i = 0; i < n; ++i) {
    points.push_back(start);
    points.back()[i] += step;
  }
  std::vector<double> values;
  values.reserve(points.size());
  for (const auto& point : points) {
    values.push_back(f(point));
  }
  std::vector<std::size_t> order(points.size());
  const auto combine = [&](const std::vector<double>& a, const std::vector<double>& b, double t) {
    std::vector<double> out(n);
    for (std::size_t j = 0; j < n; ++j) {
      out[j] = a[j] + t * (b[j] - a[j]);
    }
    return out;
  };
  for (int iteration = 0; iteration < iterations; ++iteration) {
    for (std::size_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
    std::vector<std::vector<double>> sorted_points;
    std::vector<double> sorted_values;
    for (const std::size_t i : order) {
      sorted_points.push_back(std::move(points[i]));
      sorted_values.push_back(values[i]);
    }
    points = std::move(sorted_points);
    values = std::move(sorted_values);
    if (values.back() - values.front() < 1e-12) {
      break;
    }
    std::vector<double> centroid(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        centroid[j] += points[i][j] / static_cast<double>(n);
      }
    }
    const std::vector<double> reflected = combine(centroid, points.back(), -1);
    const double reflected_value = f(reflected);
    if (reflected_value < values.front()) {
      const std::vector<double> expanded = combine(centroid, points.back(), -2);
      const double expanded_value = f(expanded);
      if (expanded_value < reflected_value) {
        points.back() = expanded;
        values.back() = expanded_value;
      } else {
        points.back() = reflected;
        values.back() = reflected_value;
      }
    } else if (reflected_value < values[n - 1]) {
      points.back() = reflected;
      values.back() = reflected_value;
    } else {
      const std::vector<double> contracted = combine(centroid, points.back(), 0.5);
      const double contracted_value = f(contracted);
      if (contracted_value < values.back()) {
        points.back() = contracted;
        values.back() = contracted_value;
      } else {
        for (std::size_t i = 1; i <= n; ++i) {
          points[i] = combine(points.front(), points[i], 0.5);
          values[i] = f(points[i]);
        }
      }
    }
  }
  const auto best = std::min_element(values.begin(), values.end()) - values.begin();
  return {points[static_cast<std::size_t>(best)], values[static_cast<std::size_t>(best)]};
}

struct FitPoint {
  double size_bytes;
  int nodes;
  int ranks_per_node;
  double time_us;
};

Parameters fit(const std::vector<FitPoint>& points, const ModelHardware& hw,
               const std::array<Prior, kModelParameters>& priors) {
  const auto objective = [&](const std::vector<double>& logs) {
    Parameters p{};
    double total = 0;
    for (std::size_t k = 0; k < kModelParameters; ++k) {
      p.at(k) = std::exp(logs[k]);
      const double z = (logs[k] - std::log(priors.at(k).value)) / priors.at(k).log_sigma;
      total += z * z;
    }
    for (const FitPoint& point : points) {
      total += std::fabs(
          std::log(model_time(p, hw, point.size_bytes, point.nodes, point.ranks_per_node).time_us /
                   point.time_us));
    }
    return total;
  };
  std::vector<double> start(kModelParameters);
  for (std::size_t k = 0; k < kModelParameters; ++k) {
    start[k] = std::log(priors.at(k).value);
  }
  // Restarts from the best point found, alternating a wide and a narrow simplex: Nelder-Mead
  // alone stalls on this non-smooth objective.
  std::vector<double> best = start;
  double best_value = objective(start);
  for (int round = 0; round < 6; ++round) {
    auto [point, value] = nelder_mead(objective, best, round % 2 == 0 ? 0.7 : 0.2, 8000);
    if (value <= best_value) {
      best = std::move(point);
      best_value = value;
    }
  }
  Parameters fitted{};
  for (std::size_t k = 0; k < kModelParameters; ++k) {
    fitted.at(k) = std::exp(best[k]);
  }
  return fitted;
}

// ---- the data ----------------------------------------------------------------------------------

struct RunData {
  std::string name;
  int nodes = 0;
  int ranks_per_node = 0;
  bool fitted = true;  // "use": "fit" | "reference"
  std::string citation;
  std::set<std::uint64_t> held_out;
  std::vector<std::array<double, 3>> points;  // size_bytes, time_us, busbw_GBps
};

struct ModelData {
  std::string instance_type;
  std::string parameters_from;
  std::string why;
  std::vector<RunData> runs;
  std::map<std::string, std::pair<Prior, std::string>> priors;  // name -> prior, why
  std::string priors_from;
  std::vector<std::string> priors_from_parameters;
  double priors_from_log_sigma = 10;
  std::string priors_from_why;
};

[[noreturn]] void bad_data(std::string_view file, std::string_view what) {
  throw std::invalid_argument(fmt::format("reports/platforms/model/{}: {}", file, what));
}

const json& required(const json& object, std::string_view file, const char* key) {
  if (!object.is_object() || !object.contains(key)) {
    bad_data(file, fmt::format("missing \"{}\"", key));
  }
  return object.at(key);
}

ModelData parse_model_data(std::string_view file, std::string_view text) {
  const json document = json::parse(text.begin(), text.end());
  ModelData data;
  data.instance_type = required(document, file, "instance_type").get<std::string>();
  if (required(document, file, "benchmark").get<std::string>() != "all_reduce") {
    bad_data(file, "only all_reduce is modelled");
  }
  if (document.contains("parameters_from")) {
    data.parameters_from = document.at("parameters_from").get<std::string>();
    data.why = required(document, file, "why").get<std::string>();
    return data;
  }
  for (const auto& run_json : required(document, file, "runs")) {
    RunData run;
    run.name = required(run_json, file, "name").get<std::string>();
    run.nodes = required(run_json, file, "nodes").get<int>();
    run.ranks_per_node = required(run_json, file, "ranks_per_node").get<int>();
    const std::string use = required(run_json, file, "use").get<std::string>();
    if (use != "fit" && use != "reference") {
      bad_data(file, fmt::format("run '{}': use must be fit or reference", run.name));
    }
    run.fitted = use == "fit";
    const json& source = required(run_json, file, "source");
    run.citation =
        fmt::format("{}@{} {} lines {}", required(source, file, "repository").get<std::string>(),
                    required(source, file, "commit").get<std::string>(),
                    required(source, file, "path").get<std::string>(),
                    required(source, file, "lines").get<std::string>());
    const json held_out = run_json.value("held_out_sizes", json::array());
    for (const auto& size : held_out) {
      run.held_out.insert(size.get<std::uint64_t>());
    }
    for (const auto& point : required(run_json, file, "points")) {
      if (!point.is_array() || point.size() != 3) {
        bad_data(file,
                 fmt::format("run '{}': a point is [size_bytes, time_us, busbw_GBps]", run.name));
      }
      run.points.push_back(
          {point[0].get<double>(), point[1].get<double>(), point[2].get<double>()});
    }
    if (run.nodes < 1 || run.ranks_per_node < 1 || run.points.empty()) {
      bad_data(file, fmt::format("run '{}': needs nodes, ranks_per_node and points", run.name));
    }
    data.runs.push_back(std::move(run));
  }
  const json priors = document.value("priors", json::object());
  for (const auto& [name, prior] : priors.items()) {
    if (!parameter_named(name)) {
      bad_data(file, fmt::format("priors: unknown parameter '{}'", name));
    }
    data.priors[name] = {{required(prior, file, "value").get<double>(),
                          required(prior, file, "log_sigma").get<double>()},
                         required(prior, file, "why").get<std::string>()};
  }
  if (document.contains("priors_from")) {
    const json& from = document.at("priors_from");
    data.priors_from = required(from, file, "instance_type").get<std::string>();
    data.priors_from_parameters =
        required(from, file, "parameters").get<std::vector<std::string>>();
    for (const auto& name : data.priors_from_parameters) {
      if (!parameter_named(name)) {
        bad_data(file, fmt::format("priors_from: unknown parameter '{}'", name));
      }
    }
    data.priors_from_log_sigma = required(from, file, "log_sigma").get<double>();
    data.priors_from_why = required(from, file, "why").get<std::string>();
  }
  return data;
}

std::map<std::string, ModelData> all_model_data() {
  std::map<std::string, ModelData> all;
  for (const auto& [file, text] : embedded_model_files()) {
    ModelData data = parse_model_data(file, text);
    const std::string type = data.instance_type;
    all.emplace(type, std::move(data));
  }
  return all;
}

PlatformModel fit_model(const std::map<std::string, ModelData>& all, const std::string& type,
                        int depth) {
  const auto found = all.find(type);
  if (found == all.end()) {
    throw UsageError(fmt::format("--instance-type {}: no collective model (modelled: {})", type,
                                 join(modelled_instance_types(), ", ")));
  }
  if (depth > 3) {
    throw std::invalid_argument("reports/platforms/model: parameters_from loops at " + type);
  }
  const ModelData& data = found->second;
  if (!data.parameters_from.empty()) {
    // Another platform's fit on this platform's hardware.
    PlatformModel model = fit_model(all, data.parameters_from, depth + 1);
    model.hardware = model_hardware(type);
    model.assumptions.insert(model.assumptions.begin(),
                             fmt::format("parameters of {}: {}", data.parameters_from, data.why));
    for (ModelPoint& point : model.points) {
      point.run = data.parameters_from + ": " + point.run;  // measured on the other platform
    }
    return model;
  }
  PlatformModel model;
  model.hardware = model_hardware(type);
  model.fitted_on = type;
  std::array<Prior, kModelParameters> priors = default_priors();
  if (!data.priors_from.empty()) {
    const PlatformModel other = fit_model(all, data.priors_from, depth + 1);
    for (const auto& name : data.priors_from_parameters) {
      const auto which = *parameter_named(name);
      priors.at(static_cast<std::size_t>(which)) = {other.parameter(which),
                                                    data.priors_from_log_sigma};
    }
    model.assumptions.push_back(fmt::format("{} start from the fit of {}: {}",
                                            join(data.priors_from_parameters, ", "),
                                            data.priors_from, data.priors_from_why));
  }
  for (const auto& [name, prior] : data.priors) {
    priors.at(static_cast<std::size_t>(*parameter_named(name))) = prior.first;
    model.assumptions.push_back(fmt::format("{} = {} (log sigma {}): {}", name, prior.first.value,
                                            prior.first.log_sigma, prior.second));
  }
  std::vector<FitPoint> fit_points;
  std::set<int> node_counts;
  for (const RunData& run : data.runs) {
    if (run.fitted) {
      model.sources.push_back(fmt::format("{} ({})", run.citation, run.name));
      node_counts.insert(run.nodes);
    }
    for (const auto& [size, time_us, busbw_GBps] : run.points) {
      if (run.fitted && !run.held_out.contains(static_cast<std::uint64_t>(size)) && size > 0) {
        fit_points.push_back({size, run.nodes, run.ranks_per_node, time_us});
      }
    }
  }
  model.fitted_node_counts.assign(node_counts.begin(), node_counts.end());
  model.parameters = fit(fit_points, model.hardware, priors);
  for (const RunData& run : data.runs) {
    for (const auto& [size, time_us, busbw_GBps] : run.points) {
      if (size <= 0) {
        continue;
      }
      ModelPoint point;
      point.run = run.name;
      point.nodes = run.nodes;
      point.ranks_per_node = run.ranks_per_node;
      point.size_bytes = static_cast<std::uint64_t>(size);
      point.time_s = time_us * 1e-6;
      point.busbw_Bps = busbw_GBps * 1e9;
      point.use = !run.fitted                               ? ModelPoint::Use::reference
                  : run.held_out.contains(point.size_bytes) ? ModelPoint::Use::held_out
                                                            : ModelPoint::Use::fitted;
      const ModelPrediction prediction =
          model.predict(point.size_bytes, run.nodes, run.ranks_per_node);
      const bool latency = point.size_bytes <= kModelLatencyMaxSize;
      point.metric = std::string(latency ? kMetricTime : kMetricBusBw);
      point.measured = latency ? point.time_s : point.busbw_Bps;
      point.predicted = latency ? prediction.time_s : prediction.busbw_Bps;
      point.error = point.measured > 0 ? point.predicted / point.measured - 1 : 0;
      point.algorithm = std::string(prediction.algorithm);
      point.protocol = std::string(prediction.protocol);
      model.points.push_back(std::move(point));
    }
  }
  return model;
}

}  // namespace

std::string_view parameter_name(ModelParameter parameter) {
  return kParameterNames.at(static_cast<std::size_t>(parameter));
}

ModelHardware model_hardware(std::string_view instance_type) {
  const Platform* platform = find_platform(instance_type);
  if (platform == nullptr) {
    throw UsageError(fmt::format("--instance-type {}: not in the platform catalog", instance_type));
  }
  ModelHardware hw;
  hw.instance_type = platform->instance_type;
  hw.gpus = platform->gpu_count;
  // NVLink's rate per link and direction: 25 GB/s for generations 3 and 4, 50 GB/s for 5
  // (A100 12 links: 300 GB/s, H100/H200 18 links: 450 GB/s, B200 18 links: 900 GB/s).
  double per_link_GBps = 0;
  if (platform->nvlink_generation == 3 || platform->nvlink_generation == 4) {
    per_link_GBps = 25;
  } else if (platform->nvlink_generation == 5) {
    per_link_GBps = 50;
  }
  if (per_link_GBps == 0 || platform->nvlink_per_gpu <= 0 || hw.gpus <= 0) {
    throw UsageError(
        fmt::format("--instance-type {}: the catalog gives no NVLink bandwidth the "
                    "model knows (generation {}, {} links per GPU)",
                    instance_type, platform->nvlink_generation, platform->nvlink_per_gpu));
  }
  hw.nvlink_GBps = per_link_GBps * platform->nvlink_per_gpu;
  if (!platform->efa_aggregate_gbps) {
    throw UsageError(
        fmt::format("--instance-type {}: the platform catalog publishes no EFA aggregate bandwidth",
                    instance_type));
  }
  hw.efa_GBps = *platform->efa_aggregate_gbps / 8.0;
  return hw;
}

ModelPrediction PlatformModel::predict(std::uint64_t size_bytes, int nodes,
                                       int ranks_per_node) const {
  const Time t =
      model_time(parameters, hardware, static_cast<double>(size_bytes), nodes, ranks_per_node);
  const int n = nodes * ranks_per_node;
  ModelPrediction prediction;
  prediction.time_s = t.time_us * 1e-6;
  prediction.busbw_Bps = static_cast<double>(size_bytes) / prediction.time_s * (2.0 * (n - 1) / n);
  prediction.algorithm = t.algorithm;
  prediction.protocol = t.protocol;
  return prediction;
}

double PlatformModel::worst_held_out_error() const {
  double worst = 0;
  for (const auto& point : points) {
    if (point.use == ModelPoint::Use::held_out) {
      worst = std::max(worst, std::fabs(point.error));
    }
  }
  return worst;
}

std::vector<std::string> modelled_instance_types() {
  std::vector<std::string> types;
  for (const auto& [file, text] : embedded_model_files()) {
    std::string name(file);
    types.push_back(name.substr(0, name.size() - std::string_view(".json").size()));
  }
  std::sort(types.begin(), types.end());
  return types;
}

PlatformModel fit_platform_model(std::string_view instance_type) {
  return fit_model(all_model_data(), std::string(instance_type), 0);
}

Baseline model_baseline(const BaselineModelOptions& options, const PlatformModel& model) {
  if (options.benchmark != "all_reduce") {
    throw UsageError(fmt::format("--benchmark {}: the model is fitted to all_reduce runs only",
                                 options.benchmark));
  }
  if (options.nodes < 1) {
    throw UsageError("--nodes: at least 1");
  }
  const int ranks_per_node =
      options.ranks_per_node > 0 ? options.ranks_per_node : model.hardware.gpus;
  if (ranks_per_node > model.hardware.gpus) {
    throw UsageError(fmt::format("--ranks-per-node {}: {} has {} GPUs", ranks_per_node,
                                 model.hardware.instance_type, model.hardware.gpus));
  }
  if (options.nodes * ranks_per_node < 2) {
    throw UsageError("--nodes x --ranks-per-node: an all-reduce needs at least 2 ranks");
  }
  if (options.min_size_bytes < 1 || options.max_size_bytes < options.min_size_bytes) {
    throw UsageError("--min-size and --max-size: 1 <= min <= max");
  }
  const std::string& type = model.hardware.instance_type;
  Baseline b;
  b.name = !options.name.empty()
               ? options.name
               : fmt::format("{}-{}node-all_reduce-nccl-model", type, options.nodes);
  b.description = fmt::format(
      "Expected nccl-tests all_reduce (float sum, out-of-place) on {} x {} with {} ranks per "
      "node, from the latency-bandwidth model fitted to published runs (docs/baseline-model.md)",
      options.nodes, type, ranks_per_node);
  b.source =
      fmt::format("preflight-report baseline model; fitted to {}", join(model.sources, "; "));
  b.created_by = options.deterministic ? std::string("preflight-report baseline model")
                                       : fmt::format("preflight-report baseline model {} ({})",
                                                     PREFLIGHT_VERSION_STRING, PREFLIGHT_GIT_SHA);
  if (!options.deterministic) {
    b.created_at = utc_timestamp_now();
  }
  b.match.instance_type = type;
  b.match.nodes = options.nodes;
  b.match.ranks_per_node = ranks_per_node;
  b.match.backend = "nccl";
  b.match.benchmark = "all_reduce";
  b.match.dtype = "float";
  b.match.op = "sum";
  b.match.placement = "out_of_place";
  b.metrics[std::string(kMetricBusBw)] = {
      Direction::higher, {kModelBusBwWarn, 0}, {kModelBusBwFail, 0}};
  b.metrics[std::string(kMetricTime)] = {Direction::lower,
                                         {kModelTimeWarn, kModelTimeFloorWarn_s},
                                         {kModelTimeFail, kModelTimeFloorFail_s}};
  b.sizes_allowed_to_miss = 2;
  for (std::uint64_t size = options.min_size_bytes; size <= options.max_size_bytes; size *= 2) {
    const ModelPrediction prediction = model.predict(size, options.nodes, ranks_per_node);
    BaselineRow row;
    row.size_bytes = size;
    const bool latency = size <= kModelLatencyMaxSize;
    row.metrics[std::string(latency ? kMetricTime : kMetricBusBw)].expected =
        latency ? prediction.time_s : prediction.busbw_Bps;
    row.note = fmt::format("model: {} {}", prediction.algorithm, prediction.protocol);
    b.rows.push_back(std::move(row));
    if (size > std::numeric_limits<std::uint64_t>::max() / 2) {
      break;
    }
  }
  // What the model is and how well it does, for whoever reads the file.
  b.notes.push_back(fmt::format(
      "Model of {} fitted on {} ({} GPUs, NVLink {:.0f} GB/s per GPU, EFA {:.0f} GB/s per node "
      "from the platform catalog); bands wider than a measured baseline's: busbw "
      "-{:.0f}%/-{:.0f}%, "
      "time +{:.0f}%/+{:.0f}% (floors {:.0f}/{:.0f} us), {} sizes may miss.",
      type, model.fitted_on, model.hardware.gpus, model.hardware.nvlink_GBps,
      model.hardware.efa_GBps, kModelBusBwWarn * 100, kModelBusBwFail * 100, kModelTimeWarn * 100,
      kModelTimeFail * 100, kModelTimeFloorWarn_s * 1e6, kModelTimeFloorFail_s * 1e6,
      b.sizes_allowed_to_miss));
  if (std::find(model.fitted_node_counts.begin(), model.fitted_node_counts.end(), options.nodes) ==
      model.fitted_node_counts.end()) {
    std::vector<std::string> seen;
    for (const int nodes : model.fitted_node_counts) {
      seen.push_back(std::to_string(nodes));
    }
    b.notes.push_back(fmt::format(
        "{} nodes: extrapolated (the fitted runs have {} node(s)); the bandwidth follows the "
        "algorithms' traffic per node, small-message times the per-hop latencies.",
        options.nodes, join(seen, ", ")));
  }
  for (const auto& assumption : model.assumptions) {
    b.notes.push_back("Assumed: " + assumption);
  }
  std::vector<std::string> parameters;
  for (std::size_t k = 0; k < kModelParameters; ++k) {
    parameters.push_back(fmt::format("{}={:.4g}", kParameterNames.at(k), model.parameters.at(k)));
  }
  b.notes.push_back("Parameters: " + join(parameters, " "));
  for (const auto& point : model.points) {
    if (point.use != ModelPoint::Use::held_out) {
      continue;
    }
    const bool time = point.metric == kMetricTime;
    b.notes.push_back(fmt::format(
        "Held out of the fit: {}, {} B: {} {:.{}f} measured, {:.{}f} predicted ({:+.1f}%)",
        point.run, point.size_bytes, time ? "time us" : "busbw GB/s",
        point.measured * (time ? 1e6 : 1e-9), 2, point.predicted * (time ? 1e6 : 1e-9), 2,
        point.error * 100));
  }
  return b;
}

}  // namespace preflight::reports
