// Compile-fail checks of the findings API (common/findings.hpp): built as three targets, one that
// must compile (PREFLIGHT_FINDING_CHECK 0) and two that must not (1: an id not in the catalog;
// 2: fewer arguments than the message template has fields). tests/unit/common/CMakeLists.txt
// builds the last two from CTest and passes only on the compiler's "not a constant expression".
#include <string>

#include "common/findings.hpp"

#ifndef PREFLIGHT_FINDING_CHECK
#error "PREFLIGHT_FINDING_CHECK must be 0, 1 or 2"
#endif

std::string finding_compile_check() {
  const std::string runtime_version = "1.22.0";
#if PREFLIGHT_FINDING_CHECK == 0
  return preflight::finding_message("VERSION_LIBFABRIC", runtime_version, "1.22");
#elif PREFLIGHT_FINDING_CHECK == 1
  return preflight::finding_message("VERSION_LIBFABRIK", runtime_version, "1.22");
#else
  return preflight::finding_message("VERSION_LIBFABRIC", runtime_version);
#endif
}
