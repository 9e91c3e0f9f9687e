#include "probes/instance_type.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/text.hpp"

namespace preflight::probes {

bool looks_like_instance_type(std::string_view text) {
  const auto dot = text.find('.');
  if (text.empty() || text.size() > 64 || dot == std::string_view::npos || dot == 0 ||
      dot + 1 == text.size() || text.find('.', dot + 1) != std::string_view::npos) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0 ||
           std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.';
  });
}

PlatformContext resolve_platform(const RootFs& fs, const InstanceTypeQuery& query) {
  PlatformContext context;
  std::vector<std::string> tried;
  const auto adopt = [&](std::string type, std::string source) {
    context.instance_type = std::move(type);
    context.source = std::move(source);
  };
  if (!query.flag_value.empty()) {
    adopt(query.flag_value, "--instance-type");
  } else if (query.input_hint && looks_like_instance_type(*query.input_hint)) {
    adopt(*query.input_hint, "input DMIProductName");
  } else if (query.consult_machine) {
    const auto product = fs.read_line("/sys/devices/virtual/dmi/id/product_name");
    if (product && looks_like_instance_type(*product)) {
      adopt(*product, "DMI product_name");
    } else {
      tried.push_back(product
                          ? fmt::format("DMI product_name '{}' is not an instance type", *product)
                          : std::string("no DMI product_name"));
      if (!fs.is_live()) {
        tried.emplace_back("IMDS not consulted for --root");
      } else if (!query.allow_imds) {
        tried.emplace_back("IMDS disabled (--no-imds)");
      } else {
        const auto answer =
            imds_get(query.imds_endpoint, "/latest/meta-data/instance-type", query.imds_budget);
        if (answer.value && looks_like_instance_type(*answer.value)) {
          adopt(*answer.value, "IMDSv2");
        } else {
          tried.push_back(answer.value ? fmt::format("IMDS answered '{}'", *answer.value)
                                       : answer.error);
        }
      }
    }
  } else {
    tried.emplace_back("the input names no instance type");
  }
  if (context.instance_type.empty()) {
    context.unknown_reason = "instance type unknown (" + join(tried, "; ") + ")";
    return context;
  }
  context.platform = find_platform(context.instance_type);
  if (context.platform == nullptr) {
    context.unknown_reason =
        fmt::format("instance type {} is not in the platform catalog", context.instance_type);
  }
  return context;
}

}  // namespace preflight::probes
