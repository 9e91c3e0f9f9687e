// The streaming reader and the direct writer against the DOM path they replace: the writer must
// write nlohmann's dump(2) byte for byte, and the reader must give the same structs for every
// valid document and give up (never accept) on every document the schema rejects. Documents:
// every report and baseline fixture, generated edge cases, and every single-point mutation of
// them (a member dropped, added, retyped, duplicated, out of range).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "report_builders.hpp"
#include "reports/baseline.hpp"
#include "reports/import_nccl_tests.hpp"
#include "reports/json_reader.hpp"
#include "reports/json_schema.hpp"
#include "reports/report_io.hpp"
#include "reports/validate.hpp"

namespace preflight::reports {
namespace {

using nlohmann::json;
using testing::fixtures_dir;
using testing::shipped_baselines_dir;
using testing::slurp;

std::string dom_dump(const Report& report) {
  return json(report).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

// A report using every member, optional ones included, with hostile strings and numbers.
Report everything_report() {
  Report report = testing::report_with(testing::p5_rows());
  report.tool.version = "1.2.3";
  report.tool.git = "abc";
  report.run.argv = {"preflight-allreduce", "--sizes", "8:1G", "quote\"back\\slash"};
  report.run.hosts = {"node-1", "node-2"};
  report.run.started_at = "2026-01-01T00:00:00Z";
  report.inventory.gpus = json::array({{{"index", 0}, {"name", "H100"}, {"numa", -1}}});
  report.inventory.efa = json::array({{{"name", "rdmap79s0"}, {"rate", 100.5}}});
  report.inventory.versions = {{"nccl", "2.21.5"}, {"µ-unicode", "é\t\n"}};
  report.inventory.env = {{"NCCL_DEBUG", "INFO"},
                          {"FI_X", std::string("a\x01"
                                               "b")}};
  report.hw_counters_delta = {{"rdmap79s0", {{"tx_bytes", 123456789012LL}, {"rx_drops", -1}}},
                              {"empty", {}}};
  report.details = {{"nested", {{"deep", json::array({1, -2, 3.5, nullptr, true, "x"})}}},
                    {"empty_object", json::object()},
                    {"empty_array", json::array()},
                    {"big", 18446744073709551615ULL}};
  ResultRow& row = report.results.front();
  row.labels = {{"provider", "efa"}, {"src", "0"}};
  row.message_rate_per_s = 1.5e6;
  row.samples_s = std::vector<double>{1e-6, 2.5e-6, 0.0, 1e300, 5e-324};
  row.time_s.p999 = 9.9e-5;
  row.slowest_host = "node-2";
  row.slowest_rank = 3;
  row.wrong_elements = -1;
  row.warmup_iterations = 5;
  row.stop_reason = "precision";
  report.results.back().busbw_Bps = 436950000000.0;
  report.results.back().algbw_Bps = -0.0;
  report.checks.push_back(judged_check("BASELINE_REGRESSION", Status::fail, "slow: 10% \"worse\"",
                                       {{"rows", json::array({{{"size_bytes", 8}}})}}));
  report.verdict = compute_verdict(report.checks, false);
  return report;
}

TEST(ReportWriter, WritesWhatTheDomWritesByteForByte) {
  std::vector<Report> reports{Report{}, testing::report_with({}), everything_report()};
  Report odd = everything_report();
  odd.inventory.versions["bad-utf8"] = std::string("\xff\xfe ok \xc3");  // replaced, never thrown
  odd.results.front().time_s.mean = std::numeric_limits<double>::quiet_NaN();  // null, as the DOM
  odd.results.front().busbw_factor = std::numeric_limits<double>::infinity();
  odd.run.nodes = 0;  // left out
  reports.push_back(odd);
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
    if (entry.path().extension() == ".json") {
      reports.push_back(read_report_text(slurp(entry.path()), entry.path().string()));
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir() / "nccl-tests")) {
    NcclTestsImportOptions options;
    options.deterministic = true;
    try {
      reports.push_back(import_nccl_tests_file(entry.path(), options));
    } catch (const UsageError&) {
      // a fixture of a malformed file
    }
  }
  ASSERT_GE(reports.size(), 10U);
  for (const auto& report : reports) {
    EXPECT_EQ(dump_report(report), dom_dump(report)) << report.tool.name;
  }
}

// Every document obtained from `document` by changing one thing, each with a name.
std::vector<std::pair<std::string, std::string>> mutations(const json& document) {
  std::vector<std::pair<std::string, std::string>> out;
  const json flat = document.flatten();
  std::vector<std::string> containers;
  // Containers: every proper prefix of a leaf pointer.
  for (const auto& [pointer, value] : flat.items()) {
    for (std::size_t slash = pointer.find('/', 1); slash != std::string::npos;
         slash = pointer.find('/', slash + 1)) {
      containers.push_back(pointer.substr(0, slash));
    }
  }
  containers.emplace_back("");
  std::sort(containers.begin(), containers.end());
  containers.erase(std::unique(containers.begin(), containers.end()), containers.end());
  const auto add = [&](const std::string& what, const json& mutated) {
    out.emplace_back(what, mutated.dump());
  };
  // What a leaf can turn into: other types, the edges of the schema's ranges (negative, zero,
  // beyond int32 and beyond the 64-bit maximum), an integral float.
  const std::vector<json> replacements{json(nullptr),
                                       json(true),
                                       json(""),
                                       json(-1),
                                       json(0),
                                       json(-2.5),
                                       json(3.0),
                                       json(4294967296LL),
                                       json(9223372036854775807LL),
                                       json::array()};
  for (const auto& [pointer, value] : flat.items()) {
    const json::json_pointer at(pointer);
    for (const auto& replacement : replacements) {
      json mutated = document;
      mutated[at] = replacement;
      add(pointer + " = " + replacement.dump(), mutated);
    }
  }
  for (const auto& pointer : containers) {
    const json::json_pointer at(pointer);
    const json& container = document[at];
    if (container.is_object()) {
      for (const auto& [key, value] : container.items()) {
        json mutated = document;
        mutated[at].erase(key);
        add(pointer + "/" + key + " dropped", mutated);
      }
      json added = document;
      added[at]["unexpected_key"] = 1;
      add(pointer + "/unexpected_key added", added);
    } else if (container.is_array() && !container.empty()) {
      json mutated = document;
      mutated[at].erase(mutated[at].begin());
      add(pointer + "/0 dropped", mutated);
      json doubled = document;
      doubled[at].push_back(container.back());
      add(pointer + " last element doubled", doubled);
    }
    if (pointer.empty()) {
      continue;
    }
    json retyped = document;
    retyped[at] = "not a container";
    add(pointer + " retyped", retyped);
  }
  // Textual mutations the DOM cannot express.
  const std::string text = document.dump(2);
  // A top-level member written twice: a duplicate key (the DOM keeps the last one).
  for (const auto& [key, value] : document.items()) {
    json changed = value.is_string() ? json("changed") : json(7);
    out.emplace_back("duplicate " + key,
                     "{" + json(key).dump() + ": " + changed.dump() + "," + text.substr(1));
  }
  out.emplace_back("trailing garbage", text + " x");
  out.emplace_back("second document", text + "\n{}");
  out.emplace_back("byte order mark", "\xEF\xBB\xBF" + text);
  out.emplace_back("truncated", text.substr(0, text.size() / 2));
  out.emplace_back("integer as 1.0", std::regex_replace(text, std::regex(": (\\d+),"), ": $1.0,"));
  out.emplace_back("integer as 1e0", std::regex_replace(text, std::regex(": (\\d+),"), ": $1e0,"));
  return out;
}

std::optional<std::string> slow_report(const std::string& text) {
  try {
    return dump_report(read_report_text(text, "mutated"));
  } catch (const UsageError&) {
    return std::nullopt;
  }
}

void expect_readers_agree(const std::string& what, const std::string& text, int& accepted) {
  const auto fast = fast_read_report(PaddedText(text));
  const auto slow = slow_report(text);
  if (fast) {
    ++accepted;
    ASSERT_TRUE(slow.has_value()) << what << ": the streaming reader accepted what the schema "
                                  << "rejects:\n"
                                  << text.substr(0, 2000);
    EXPECT_EQ(dump_report(*fast), *slow) << what;
  }
}

std::vector<std::pair<std::string, std::string>> valid_reports() {
  std::vector<std::pair<std::string, std::string>> documents{
      {"everything", dump_report(everything_report())},
      {"empty", dump_report(testing::report_with({}))}};
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir())) {
    if (entry.path().extension() == ".json") {
      documents.emplace_back(entry.path().filename().string(), slurp(entry.path()));
    }
  }
  return documents;
}

TEST(ReportReader, TheStreamingReaderGivesTheDomsStructsForEveryValidReport) {
  ASSERT_TRUE(fast_json_available()) << "built without simdjson";
  for (const auto& [name, text] : valid_reports()) {
    SCOPED_TRACE(name);
    const auto fast = fast_read_report(PaddedText(text));
    ASSERT_TRUE(fast.has_value());
    EXPECT_EQ(dump_report(*fast), dump_report(read_report_text(text, name)));
  }
}

TEST(ReportReader, TheStreamingReaderNeverAcceptsWhatTheSchemaRejects) {
  int documents = 0;
  int accepted = 0;
  for (const auto& [name, text] : valid_reports()) {
    if (name != "everything") {
      continue;  // it has every member; the fixtures repeat its shapes: keep the test fast
    }
    for (const auto& [what, mutated] : mutations(json::parse(text))) {
      ++documents;
      expect_readers_agree(name + ": " + what, mutated, accepted);
    }
  }
  // The mutations must both reach the fallback and keep some valid documents (e.g. a label or
  // a detail changed): otherwise the test says nothing.
  EXPECT_GT(documents, 500);
  EXPECT_GT(accepted, 50);
  EXPECT_LT(accepted, documents / 2);
}

TEST(ReportReader, InvalidFilesKeepTheirPreciseMessages) {
  const testing::TempDir dir("report-io-messages");
  const auto path = dir.path() / "bad.json";
  json document = json::parse(dump_report(everything_report()));
  document["results"][1]["time_s"]["median"] = -1;
  { std::ofstream(path) << document.dump(2); }
  try {
    (void)read_report(path);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/results/1/time_s/median"), std::string::npos)
        << e.what();
  }
  { std::ofstream(path) << "{\n  \"schema\": \"preflight.report/1\",\n  \"tool\": [\n"; }
  try {
    (void)read_report(path);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json:4:1: malformed JSON"), std::string::npos)
        << e.what();
  }
}

TEST(Validate, TextOfEitherDocumentAtMemorySpeedAndErrorsByPointer) {
  EXPECT_TRUE(validate_text(PaddedText(dump_report(everything_report())), "r").valid());
  EXPECT_EQ(validate_text(PaddedText(dump_report(everything_report())), "r").schema, kReportSchema);
  const Validation baseline = validate_text(PaddedText(dump_baseline(testing::p5_baseline())), "b");
  EXPECT_TRUE(baseline.valid());
  EXPECT_EQ(baseline.schema, kBaselineSchema);
  json bad = json::parse(dump_report(everything_report()));
  bad["run"]["ranks"] = -3;
  const Validation invalid = validate_text(PaddedText(bad.dump()), "bad");
  ASSERT_FALSE(invalid.valid());
  EXPECT_EQ(invalid.errors.front().pointer, "/run/ranks");
  EXPECT_THROW((void)validate_text(PaddedText(std::string_view("{\"schema\": ")), "cut"),
               UsageError);
}

std::optional<std::string> slow_baseline(const std::string& text) {
  try {
    const json document = parse_json_text(text, "mutated");
    if (!validate_baseline_document(document).empty()) {
      return std::nullopt;
    }
    return dump_baseline(document.get<Baseline>());
  } catch (const UsageError&) {
    return std::nullopt;
  }
}

TEST(BaselineReader, TheStreamingReaderAgreesWithTheValidator) {
  ASSERT_TRUE(fast_json_available()) << "built without simdjson";
  int documents = 0;
  int accepted = 0;
  for (const auto& entry : std::filesystem::directory_iterator(shipped_baselines_dir())) {
    if (entry.path().extension() != ".json") {
      continue;
    }
    const std::string text = slurp(entry.path());
    const auto fast = fast_read_baseline(PaddedText(text));
    ASSERT_TRUE(fast.has_value()) << entry.path();
    EXPECT_EQ(dump_baseline(*fast), *slow_baseline(text));
    for (const auto& [what, mutated] : mutations(json::parse(text))) {
      ++documents;
      if (const auto read = fast_read_baseline(PaddedText(mutated))) {
        ++accepted;
        const auto slow = slow_baseline(mutated);
        ASSERT_TRUE(slow.has_value())
            << entry.path().filename() << ": " << what << ": accepted what the validator rejects";
        EXPECT_EQ(dump_baseline(*read), *slow) << what;
      }
    }
  }
  EXPECT_GT(documents, 500);
  EXPECT_GT(accepted, 20);
}

}  // namespace
}  // namespace preflight::reports
