#include <gtest/gtest.h>

#include "report_builders.hpp"
#include "reports/report_io.hpp"
#include "reports/validate.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;
using testing::p5_baseline;
using testing::p5_rows;
using testing::report_with;

bool has_error_at(const Validation& v, const std::string& pointer) {
  for (const auto& error : v.errors) {
    if (error.pointer == pointer) {
      return true;
    }
  }
  return false;
}

TEST(Validate, ReportsAndBaselinesAreRecognisedByTheirSchema) {
  const Validation report = validate_document(json(report_with(p5_rows())));
  EXPECT_TRUE(report.valid());
  EXPECT_EQ(report.schema, "preflight.report/1");
  const Validation baseline = validate_document(json(p5_baseline()));
  EXPECT_TRUE(baseline.valid());
  EXPECT_EQ(baseline.schema, "preflight.baseline/1");
}

TEST(Validate, EachErrorNamesItsJsonPointer) {
  json report = report_with(p5_rows());
  report["results"][3]["time_s"]["median"] = "fast";
  report["results"][1]["size_bytes"] = -8;
  report["checks"][0]["id"] = "lower_case";
  report["verdict"]["exit_code"] = 7;
  const Validation v = validate_document(report);
  EXPECT_FALSE(v.valid());
  EXPECT_TRUE(has_error_at(v, "/results/3/time_s/median"));
  EXPECT_TRUE(has_error_at(v, "/results/1/size_bytes"));
  EXPECT_TRUE(has_error_at(v, "/checks/0/id"));
  EXPECT_TRUE(has_error_at(v, "/verdict/exit_code"));
}

TEST(Validate, BaselineErrorsNamePointersToo) {
  json baseline = p5_baseline();
  baseline["metrics"]["time_s"]["direction"] = "sideways";
  baseline["rows"][1]["metrics"]["busbw_Bps"]["expected"] = -1;
  baseline["budget"].erase("sizes_allowed_to_miss");
  const Validation v = validate_document(baseline);
  EXPECT_TRUE(has_error_at(v, "/metrics/time_s/direction"));
  EXPECT_TRUE(has_error_at(v, "/rows/1/metrics/busbw_Bps/expected"));
  EXPECT_TRUE(has_error_at(v, "/budget"));
}

TEST(Validate, UnknownOrMissingSchema) {
  Validation v = validate_document(json{{"schema", "preflight.report/2"}});
  EXPECT_TRUE(has_error_at(v, "/schema"));
  EXPECT_EQ(v.schema, "");
  v = validate_document(json{{"results", json::array()}});
  EXPECT_TRUE(has_error_at(v, "/"));
  v = validate_document(json::array());
  EXPECT_TRUE(has_error_at(v, "/"));
}

TEST(Validate, ReportsWithTheOptionalNodesFieldValidateAndRoundTrip) {
  Report report = report_with(p5_rows());
  report.run.nodes = 2;
  const std::string text = dump_report(report);
  EXPECT_NE(text.find("\"nodes\": 2"), std::string::npos);
  EXPECT_TRUE(validate_document(json::parse(text)).valid());
  EXPECT_EQ(json::parse(text).get<Report>().run.nodes, 2);
  report.run.nodes = 0;  // unknown: not written, so older readers see what they always saw
  EXPECT_EQ(dump_report(report).find("\"nodes\""), std::string::npos);
}

}  // namespace
}  // namespace preflight::reports
