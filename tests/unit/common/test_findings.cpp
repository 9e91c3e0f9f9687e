#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <stdexcept>
#include <string>

#include "common/findings.hpp"

namespace preflight {
namespace {

TEST(Findings, CatalogIdsAreStableUppercaseAndUnique) {
  std::set<std::string_view> seen;
  const std::regex id_pattern("^[A-Z][A-Z0-9_]*$");
  for (const auto& entry : finding_catalog()) {
    EXPECT_TRUE(std::regex_match(std::string(entry.id), id_pattern)) << entry.id;
    EXPECT_TRUE(seen.insert(entry.id).second) << entry.id;
    EXPECT_FALSE(entry.message_template.empty()) << entry.id;
    // Every finding an operator must act on says what to do.
    if (entry.severity != Severity::info) {
      EXPECT_FALSE(entry.remediation.empty()) << entry.id;
    }
  }
}

TEST(Findings, DesignDocIdsExist) {
  for (const char* id : {"EFA_COUNT_MISMATCH", "EFA_PORT_DOWN", "OFI_NCCL_NOT_LOADED",
                         "NCCL_FALLBACK_SOCKET", "GPU_NIC_CROSS_NUMA", "PCIE_LINK_DOWNTRAINED",
                         "ENV_RDMAV_FORK_SAFE_SET", "MEMLOCK_LIMITED"}) {
    EXPECT_TRUE(is_known_finding(id)) << id;
  }
}

TEST(Findings, LookupAndMessage) {
  EXPECT_EQ(finding("EFA_COUNT_MISMATCH").severity, Severity::isolate);
  EXPECT_EQ(finding_message("EFA_COUNT_MISMATCH", 15, "p5en.48xlarge", 16),
            "15 EFA devices found, platform p5en.48xlarge has 16");
  EXPECT_THROW((void)finding("NO_SUCH_FINDING"), std::out_of_range);
}

TEST(Findings, SeverityNames) {
  for (const Severity s :
       {Severity::isolate, Severity::reboot, Severity::reset, Severity::monitor, Severity::info}) {
    EXPECT_EQ(parse_severity(to_string(s)), s);
  }
  EXPECT_FALSE(parse_severity("critical").has_value());
}

}  // namespace
}  // namespace preflight
