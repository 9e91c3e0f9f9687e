#include "domain/platform.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

namespace preflight {
namespace {

using nlohmann::json;

[[noreturn]] void bad(std::string_view origin, std::string_view key, std::string_view why) {
  throw std::invalid_argument(fmt::format("{}: {}: {}", origin, key, why));
}

const json& member(const json& object, std::string_view origin, const char* key) {
  if (!object.is_object() || !object.contains(key)) {
    bad(origin, key, "missing");
  }
  return object.at(key);
}

int positive_int(const json& object, std::string_view origin, const char* key) {
  const json& value = member(object, origin, key);
  if (!value.is_number_integer() || value.get<int>() < 0) {
    bad(origin, key, "must be a non-negative integer");
  }
  return value.get<int>();
}

std::string text(const json& object, std::string_view origin, const char* key) {
  const json& value = member(object, origin, key);
  if (!value.is_string() || value.get<std::string>().empty()) {
    bad(origin, key, "must be a non-empty string");
  }
  return value.get<std::string>();
}

// Rejects keys the loader does not know, so a typo in a data file is caught by the tests
// instead of silently turning a check off.
void only_keys(const json& object, std::string_view origin, std::string_view where,
               std::initializer_list<std::string_view> allowed) {
  const std::set<std::string_view> known(allowed);
  for (const auto& item : object.items()) {
    if (!known.contains(item.key())) {
      bad(origin, fmt::format("{}{}", where, item.key()), "unknown key");
    }
  }
}

// The object `key` of the document, holding none but the `allowed` keys.
const json& section(const json& document, std::string_view origin, const char* key,
                    std::initializer_list<std::string_view> allowed) {
  const json& object = member(document, origin, key);
  only_keys(object, origin, fmt::format("{}.", key), allowed);
  return object;
}

std::vector<Platform> load_catalog() {
  std::vector<Platform> platforms;
  for (const EmbeddedFile& file : embedded_platform_files()) {
    platforms.push_back(parse_platform(file.text, file.name));
  }
  std::sort(platforms.begin(), platforms.end(),
            [](const Platform& a, const Platform& b) { return a.instance_type < b.instance_type; });
  return platforms;
}

}  // namespace

std::optional<double> Platform::efa_rate_per_device_gbps() const {
  if (!efa_aggregate_gbps || efa_count <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(*efa_aggregate_gbps) / efa_count;
}

Platform parse_platform(std::string_view json_text, std::string_view origin) {
  json document;
  try {
    document = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    bad(origin, "(document)", e.what());
  }
  if (!document.is_object()) {
    bad(origin, "(document)", "must be an object");
  }
  only_keys(
      document, origin, "",
      {"instance_type", "gpu", "efa", "nvlink", "grouping", "min_versions", "notes", "source"});
  Platform platform;
  platform.instance_type = text(document, origin, "instance_type");
  platform.source = text(document, origin, "source");

  const json& gpu = section(document, origin, "gpu", {"model", "count", "pci_vendor_id"});
  platform.gpu_model = text(gpu, origin, "model");
  platform.gpu_count = positive_int(gpu, origin, "count");

  const json& efa = section(
      document, origin, "efa",
      {"count", "aggregate_gbps", "pci_vendor_id", "may_enumerate_late", "non_efa_rdma_devices"});
  platform.efa_count = positive_int(efa, origin, "count");
  const json& aggregate = member(efa, origin, "aggregate_gbps");
  if (aggregate.is_number_integer()) {
    platform.efa_aggregate_gbps = aggregate.get<int>();
  } else if (!aggregate.is_null()) {
    bad(origin, "efa.aggregate_gbps", "must be an integer or null");
  }
  platform.efa_may_enumerate_late = efa.value("may_enumerate_late", false);
  platform.non_efa_rdma_devices = efa.value("non_efa_rdma_devices", 0);

  const json& nvlink = section(document, origin, "nvlink", {"per_gpu", "generation"});
  platform.nvlink_per_gpu = positive_int(nvlink, origin, "per_gpu");
  platform.nvlink_generation = positive_int(nvlink, origin, "generation");

  const json& grouping =
      section(document, origin, "grouping", {"description", "gpus_per_group", "efa_per_group"});
  platform.grouping_description = text(grouping, origin, "description");
  platform.gpus_per_group = positive_int(grouping, origin, "gpus_per_group");
  platform.efa_per_group = positive_int(grouping, origin, "efa_per_group");
  if (platform.gpus_per_group == 0 || platform.efa_per_group == 0) {
    bad(origin, "grouping", "gpus_per_group and efa_per_group must be >= 1");
  }

  const json& minimums = member(document, origin, "min_versions");
  if (!minimums.is_object()) {
    bad(origin, "min_versions", "must be an object");
  }
  for (const auto& item : minimums.items()) {
    if (!item.value().is_string()) {
      bad(origin, "min_versions." + item.key(), "must be a version string");
    }
    auto version = parse_version(item.value().get<std::string>());
    if (!version) {
      bad(origin, "min_versions." + item.key(), "not a version");
    }
    platform.min_versions.emplace(item.key(), std::move(*version));
  }
  if (document.contains("notes")) {
    platform.notes = document.at("notes").get<std::vector<std::string>>();
  }
  return platform;
}

std::span<const Platform> platform_catalog() {
  // Parsed once from the embedded, immutable text; never modified afterwards.
  static const std::vector<Platform> catalog = load_catalog();
  return catalog;
}

const Platform* find_platform(std::string_view instance_type) {
  for (const Platform& platform : platform_catalog()) {
    if (platform.instance_type == instance_type) {
      return &platform;
    }
  }
  return nullptr;
}

}  // namespace preflight
