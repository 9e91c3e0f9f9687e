// The version rules of docs/platform-rules.md as data: minimum versions, "X from version V needs Y
// >= W", and "X must not be older than Y". judge_versions evaluates them; nothing here is code.
#pragma once

#include <array>
#include <string_view>

namespace preflight::probes {

enum class VersionRuleKind {
  minimum,         // component >= threshold (a platform's min_versions entry overrides it)
  requires_other,  // component >= threshold needs other_component >= other_threshold
  not_older_than,  // component >= other_component
};

struct VersionRule {
  std::string_view finding_id;
  VersionRuleKind kind;
  std::string_view component;
  std::string_view threshold;
  std::string_view other_component;
  std::string_view other_threshold;
  std::string_view source;
};

inline constexpr std::string_view kMinimumsSource =
    "docs/platform-rules.md: minimums on p5 (AWS EFA and aws-ofi-nccl documentation)";

inline constexpr std::array kVersionRules = std::to_array<VersionRule>({
    {"EFA_INSTALLER_TOO_OLD", VersionRuleKind::minimum, "efa_installer", "1.29.0", "", "",
     kMinimumsSource},
    {"NCCL_TOO_OLD", VersionRuleKind::minimum, "nccl", "2.18", "", "", kMinimumsSource},
    {"OFI_NCCL_TOO_OLD", VersionRuleKind::minimum, "aws_ofi_nccl", "1.7.2", "", "",
     kMinimumsSource},
    {"CUDA_TOO_OLD", VersionRuleKind::minimum, "cuda_runtime", "12.0", "", "", kMinimumsSource},
    {"OFI_NCCL_LIBFABRIC_TOO_OLD", VersionRuleKind::requires_other, "aws_ofi_nccl", "1.17.2",
     "libfabric", "1.22", "docs/platform-rules.md: aws-ofi-nccl >= 1.17.2 needs libfabric >= 1.22"},
    {"CUDA_DRIVER_TOO_OLD", VersionRuleKind::not_older_than, "cuda_driver", "", "cuda_runtime", "",
     "CUDA: the driver API version must be >= the runtime's (CUDA compatibility guide)"},
    {"LIBFABRIC_HEADER_RUNTIME_MISMATCH", VersionRuleKind::not_older_than, "libfabric", "",
     "libfabric_header", "", "libfabric: a runtime older than the headers lacks their API"},
});

}  // namespace preflight::probes
