// --deterministic reports are the same bytes for the same run, wherever the binary lives and
// wherever the outputs go (golden files): argv keeps the binary's name and no output path.
#include <gtest/gtest.h>

#include <array>

#include "reports/report.hpp"

namespace preflight::reports {
namespace {

TEST(StartReport, DeterministicArgvNamesNoPaths) {
  const std::array<const char*, 11> argv{"/opt/preflight/bin/preflight-allreduce",
                                         "--sizes",
                                         "8:1M:x2",
                                         "--json",
                                         "/tmp/a/r.json",
                                         "--html=/srv/www/r.html",
                                         "-o",
                                         "out.txt",
                                         "--junit",
                                         "-",
                                         "--quiet"};
  const Report report =
      start_report("preflight-allreduce", static_cast<int>(argv.size()), argv.data(), true);
  EXPECT_EQ(report.run.argv,
            (std::vector<std::string>{"preflight-allreduce", "--sizes", "8:1M:x2", "--json", "PATH",
                                      "--html=PATH", "-o", "PATH", "--junit", "-", "--quiet"}));
  EXPECT_TRUE(report.run.id.empty());
  EXPECT_TRUE(report.tool.version.empty());
  // Not deterministic: the command line as given.
  const Report plain =
      start_report("preflight-allreduce", static_cast<int>(argv.size()), argv.data(), false);
  EXPECT_EQ(plain.run.argv.at(0), "/opt/preflight/bin/preflight-allreduce");
  EXPECT_EQ(plain.run.argv.at(4), "/tmp/a/r.json");
}

}  // namespace
}  // namespace preflight::reports
