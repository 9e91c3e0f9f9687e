// The JUnit of a `preflight-report history trend --json` report names every regressed row.
#include <gtest/gtest.h>

#include "report_builders.hpp"
#include "reports/render.hpp"

namespace preflight::reports {
namespace {

TEST(RenderJunitTrend, EveryJudgedRowIsACaseAndARegressionFailsByName) {
  Report report = testing::report_with(testing::p5_rows());
  report.details["trend"] = {
      {"run", 5},
      {"status", "fail"},
      {"summary", "fail: run 5: 3 rows judged: 1 regression(s)"},
      {"rows",
       {{{"series", "p5.48xlarge|2n|all_reduce|nccl|float|sum|out_of_place|16r|step=ar;"},
         {"size_bytes", 1073741824},
         {"metric", "busbw_Bps"},
         {"value", 3.0e11},
         {"median", 4.3e11},
         {"band", {4.2e11, 4.4e11}},
         {"previous_runs", 4},
         {"verdict", "regression"}},
        {{"series", "p5.48xlarge|2n|all_reduce|nccl|float|sum|out_of_place|16r|step=ar;"},
         {"size_bytes", 8},
         {"metric", "time_s"},
         {"value", 7e-5},
         {"median", 7e-5},
         {"band", {6.9e-5, 7.1e-5}},
         {"previous_runs", 4},
         {"verdict", "pass"}},
        {{"series", "p5.48xlarge|2n|all_reduce|nccl|float|sum|out_of_place|16r|step=ar;"},
         {"size_bytes", 16},
         {"metric", "time_s"},
         {"value", 7e-5},
         {"previous_runs", 1},
         {"verdict", "insufficient"}}}}};
  const std::string xml = render_report(report, RenderFormat::junit, nullptr);
  EXPECT_NE(xml.find("<testsuite name=\"preflight-allreduce.trend\" tests=\"3\" failures=\"1\" "
                     "errors=\"0\" skipped=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"all_reduce nccl float sum out_of_place x16 on 2x p5.48xlarge "
                     "[step=ar] (1073741824 B)\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<failure message=\"regression: busbw"), std::string::npos) << xml;
}

}  // namespace
}  // namespace preflight::reports
