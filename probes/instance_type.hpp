// Which instance type this machine (or the fixture it is judged as) is, and its catalog entry.
// Order: --instance-type; the input's own record (an hwloc XML's DMIProductName); the DMI
// product name under the root (Nitro instances publish the type there); IMDSv2 with a 1 s budget,
// only on the live machine and unless --no-imds.
#pragma once

#include <optional>
#include <string>

#include "common/sysfs.hpp"
#include "domain/platform.hpp"
#include "probes/imds.hpp"

namespace preflight::probes {

struct InstanceTypeQuery {
  std::string flag_value;                 // --instance-type
  std::optional<std::string> input_hint;  // e.g. DMIProductName from --hwloc-xml
  bool consult_machine = true;            // false when the input describes another machine
  bool allow_imds = true;                 // --no-imds turns it off
  ImdsEndpoint imds_endpoint;
  std::chrono::milliseconds imds_budget = kImdsBudget;
};

struct PlatformContext {
  std::string instance_type;  // empty when unknown
  std::string source;         // "--instance-type", "hwloc XML", "DMI product_name", "IMDSv2"
  const Platform* platform = nullptr;
  std::string unknown_reason;  // why platform is null, for the skip messages

  [[nodiscard]] bool known() const { return platform != nullptr; }
};

// True for strings shaped like an EC2 instance type ("p5en.48xlarge", "p6-b200.48xlarge").
[[nodiscard]] bool looks_like_instance_type(std::string_view text);

[[nodiscard]] PlatformContext resolve_platform(const RootFs& fs, const InstanceTypeQuery& query);

}  // namespace preflight::probes
