// The environment rules of docs/platform-rules.md (EFA cheat sheet, aws-ofi-nccl documentation)
// as data.
// judge_env evaluates them: a rule fires when its variable matches and every version condition
// holds; an unknown version makes it `skip`, never a silent pass.
#pragma once

#include <array>
#include <string_view>

namespace preflight::probes {

enum class ValueMatch {
  is_set,              // the variable is set (any value)
  equals,              // set to `value` (case-insensitive)
  not_equal_or_unset,  // unset, or set to anything but `value`
  prefix_is_set,       // some variable starting with `variable` is set
};

enum class VersionOp { less, greater, at_least };

struct VersionCondition {
  std::string_view component;  // a VersionFacts::component key; empty: no condition
  VersionOp op = VersionOp::at_least;
  std::string_view version;
};

struct EnvRule {
  std::string_view finding_id;
  std::string_view variable;
  ValueMatch match;
  std::string_view value;
  std::array<VersionCondition, 2> conditions;
  bool needs_efa;                      // applies only where EFA devices are present or expected
  std::string_view instance_families;  // e.g. "g5,g6": applies only to these families
  std::string_view source;
};

inline constexpr std::string_view kCheatSheet =
    "docs/platform-rules.md environment rules (EFA cheat sheet)";

// clang-format off
inline constexpr std::array kEnvRules = std::to_array<EnvRule>({
    // id, variable, match, value, version conditions, needs EFA, instance families, source
    {"ENV_RDMAV_FORK_SAFE_SET", "RDMAV_", ValueMatch::prefix_is_set, "", {}, false, "", kCheatSheet},
    {"ENV_FI_PROVIDER_STALE", "FI_PROVIDER", ValueMatch::is_set, "",
     {{{"aws_ofi_nccl", VersionOp::greater, "1.5.0"}, {}}}, false, "", kCheatSheet},
    {"ENV_NCCL_PROTO_STALE", "NCCL_PROTO", ValueMatch::equals, "simple",
     {{{"aws_ofi_nccl", VersionOp::greater, "1.5.0"}, {}}}, false, "", kCheatSheet},
    {"ENV_FI_EFA_USE_DEVICE_RDMA_STALE", "FI_EFA_USE_DEVICE_RDMA", ValueMatch::equals, "1",
     {{{"libfabric", VersionOp::at_least, "1.18"}, {"aws_ofi_nccl", VersionOp::at_least, "1.7"}}},
     false, "", kCheatSheet},
    {"ENV_FI_EFA_SET_CUDA_SYNC_MEMOPS_NEEDED", "FI_EFA_SET_CUDA_SYNC_MEMOPS",
     ValueMatch::not_equal_or_unset, "0",
     {{{"efa_installer", VersionOp::less, "1.29.1"}, {"nccl", VersionOp::at_least, "2.19"}}},
     true, "", kCheatSheet},
    {"ENV_FI_EFA_FORK_SAFE_UNNEEDED", "FI_EFA_FORK_SAFE", ValueMatch::equals, "1",
     {{{"kernel", VersionOp::at_least, "5.15"}, {}}}, false, "", kCheatSheet},
    {"ENV_NCCL_TUNING_OVERRIDE", "NCCL_MIN_CHANNELS", ValueMatch::is_set, "", {}, false, "",
     kCheatSheet},
    {"ENV_NCCL_TUNING_OVERRIDE", "NCCL_BUFFSIZE", ValueMatch::is_set, "", {}, false, "",
     kCheatSheet},
    {"ENV_HUGE_PAGE_FORK", "FI_EFA_USE_HUGE_PAGE", ValueMatch::not_equal_or_unset, "0", {}, true,
     "", kCheatSheet},
    {"ENV_NCCL_SHM_USE_CUDA_MEMCPY_RECOMMENDED", "NCCL_SHM_USE_CUDA_MEMCPY",
     ValueMatch::not_equal_or_unset, "1", {}, false, "g5,g6", kCheatSheet},
});
// clang-format on

}  // namespace preflight::probes
