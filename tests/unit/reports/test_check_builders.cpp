// The four ways to make a check: a fired finding takes its status from the catalog whatever the
// caller thinks, and every check carries the catalog's severity; remediation only where the check
// asks the operator to act.
#include <gtest/gtest.h>

#include "common/findings.hpp"
#include "reports/report.hpp"

namespace preflight::reports {
namespace {

TEST(CheckBuilders, FireTakesTheStatusFromTheCatalog) {
  // isolate -> fail, monitor -> warn: the two severities a judge fires most.
  const Check wrong = fire_check("RESULT_WRONG", "3 wrong elements");
  EXPECT_EQ(wrong.status, Status::fail);
  EXPECT_EQ(wrong.severity, Severity::isolate);
  EXPECT_FALSE(wrong.remediation.empty());
  const Check suspect = fire_check("P2P_LINK_SUSPECT", "link 0 <-> 1 may be slow");
  EXPECT_EQ(suspect.status, Status::warn);
  EXPECT_EQ(suspect.severity, Severity::monitor);
  EXPECT_EQ(suspect.status, finding_status("P2P_LINK_SUSPECT"));
}

TEST(CheckBuilders, PassAndSkipCarryNoRemediation) {
  const Check passed = pass_check("RESULT_WRONG", "no wrong element", {{"sizes", 4}});
  EXPECT_EQ(passed.status, Status::pass);
  EXPECT_EQ(passed.severity, Severity::isolate);
  EXPECT_TRUE(passed.remediation.empty());
  EXPECT_EQ(passed.evidence.at("sizes"), 4);
  const Check skipped = skip_check("EFA_ABSENT", "no EFA device");
  EXPECT_EQ(skipped.status, Status::skip);
  EXPECT_EQ(skipped.message, "no EFA device");
  EXPECT_TRUE(skipped.remediation.empty());
}

TEST(CheckBuilders, JudgedKeepsTheCallersStatus) {
  const Check timed_out = judged_check("BENCH_TIMEOUT", Status::timeout, "size 8 stuck");
  EXPECT_EQ(timed_out.status, Status::timeout);
  EXPECT_FALSE(timed_out.remediation.empty());
  // A gate's own threshold may fail a finding whose catalog severity only warns.
  const Check regression = judged_check("BASELINE_REGRESSION", Status::fail, "12% slower");
  EXPECT_EQ(regression.status, Status::fail);
  EXPECT_NE(regression.status, finding_status("BASELINE_REGRESSION"));
}

TEST(CheckBuilders, AnIdOutsideTheCatalogThrows) {
  EXPECT_THROW((void)fire_check("NO_SUCH_FINDING", "x"), std::out_of_range);
  EXPECT_THROW((void)pass_check("NO_SUCH_FINDING", "x"), std::out_of_range);
}

}  // namespace
}  // namespace preflight::reports
