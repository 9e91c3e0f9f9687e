// Every probe's report validates against reports/schema/report.schema.json (the C++ validator)
// and exits 0, 1 or 3, live and on every fixture.
#include <gtest/gtest.h>

#include "probe_test_support.hpp"
#include "probes/drivers_probe.hpp"
#include "probes/efa_probe.hpp"
#include "probes/env_probe.hpp"
#include "probes/topology_probe.hpp"
#include "probes/versions_probe.hpp"
#include "reports/json_schema.hpp"
#include "reports/report_io.hpp"

namespace preflight::probes {
namespace {

using testing::options_for;
using testing::sysfs_fixture;

void expect_valid(const reports::Report& report, const std::string& what) {
  const auto document = nlohmann::json::parse(reports::dump_report(report));
  const auto errors = reports::report_schema().validate(document);
  for (const auto& error : errors) {
    ADD_FAILURE() << what << ": " << error.pointer << ": " << error.message;
  }
  const int code = report.verdict.exit_code;
  EXPECT_TRUE(code == 0 || code == 1 || code == 3) << what << ": exit " << code;
  for (const auto& check : report.checks) {
    EXPECT_TRUE(is_known_finding(check.id)) << what << ": " << check.id;
  }
  // Round trip through the typed structs.
  EXPECT_EQ(document.get<reports::Report>().checks.size(), report.checks.size()) << what;
}

TEST(ProbeReports, ValidateLiveAndOnEveryFixture) {
  std::vector<std::string> roots{"/"};
  for (const char* name :
       {"p5en-healthy", "p5en-missing-device", "p5en-port-down", "p5en-counters-before",
        "p5en-counters-after", "p4d-healthy", "old-versions"}) {
    roots.push_back(sysfs_fixture(name).string());
  }
  for (const auto& root : roots) {
    const ProbeOptions options = options_for(root);
    expect_valid(run_versions(options).report, "versions " + root);
    expect_valid(run_drivers(options).report, "drivers " + root);
    TopologyOptions topology;
    topology.probe = options;
    expect_valid(run_topology(topology).report, "topology " + root);
    EnvOptions env;
    env.probe = options;
    expect_valid(run_env(env).report, "env " + root);
    EfaOptions efa;
    efa.probe = options;
    expect_valid(run_efa(efa).report, "efa " + root);
  }
}

TEST(ProbeReports, DeterministicReportsCarryNoTimestampsOrHosts) {
  const auto report = run_drivers(options_for(sysfs_fixture("p5en-healthy"))).report;
  EXPECT_TRUE(report.run.started_at.empty());
  EXPECT_TRUE(report.run.hosts.empty());
  EXPECT_EQ(report.inventory.instance_type, "p5en.48xlarge");
  EXPECT_EQ(report.tool.name, "preflight-drivers");
}

}  // namespace
}  // namespace preflight::probes
