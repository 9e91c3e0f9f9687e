#include <gtest/gtest.h>

#include "p2p/render.hpp"

namespace preflight::p2p {
namespace {

reports::ResultRow row(const std::string& benchmark, std::uint64_t size, double median_s,
                       std::int64_t wrong) {
  reports::ResultRow r;
  r.benchmark = benchmark;
  r.backend = "libfabric";
  r.transport = "shm";
  r.op = "send";
  r.size_bytes = size;
  r.time_s.median = median_s;
  r.time_s.p90 = median_s * 1.1;
  r.time_s.p99 = median_s * 1.5;
  r.time_s.p999 = median_s * 2;
  r.time_s.min = median_s * 0.9;
  r.time_s.max = median_s * 3;
  r.time_s.n = 1000;
  r.algbw_Bps = static_cast<double>(size) / median_s;
  r.message_rate_per_s = 1 / median_s;
  r.wrong_elements = wrong;
  r.labels = {{"fabric", "shm"},
              {"domain", "shm"},
              {"src", "a"},
              {"dst", "b"},
              {"src_rank", "0"},
              {"dst_rank", "1"},
              {"memory", "host"},
              {"size_check", "checked"},
              {"time", benchmark == "latency" ? "one_way" : "per_message"},
              {"window", "64"}};
  return r;
}

TEST(Render, LatencyAndBandwidthTables) {
  reports::Report report;
  report.details["pattern"] = "pair";
  report.results = {row("latency", 1, 0.34e-6, 0), row("latency", 4096, 1.2e-6, 0),
                    row("bw", 1048576, 80e-6, 0), row("bw", 2097152, 160e-6, 3)};
  const std::string text = render_text(report);
  EXPECT_NE(text.find("# latency | libfabric shm (fabric shm, domain shm)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("p99.9"), std::string::npos);
  EXPECT_NE(text.find("0.34"), std::string::npos);
  EXPECT_NE(text.find("GB/s"), std::string::npos);
  EXPECT_NE(text.find("13.107"), std::string::npos);  // 1 MiB / 80 us in GB/s
  EXPECT_NE(text.find("WRONG 3"), std::string::npos);
}

TEST(Render, MatrixOfASurvey) {
  reports::Report report;
  report.details["pattern"] = "all-pairs";
  report.details["survey"] = {
      {"nodes", {"n0", "n1", "n2"}},
      {"mode", "all-pairs"},
      {"rounds", 3},
      {"initial_rounds", 3},
      {"retest_rounds", 0},
      {"matrices",
       {{"bandwidth_Bps",
         {{"size_bytes", 1048576},
          {"matrix", {{nullptr, 1e10, 2e10}, {1e10, nullptr, nullptr}, {2e10, nullptr, nullptr}}},
          {"links", nlohmann::json::array()}}}}}};
  const std::string text = render_text(report);
  EXPECT_NE(text.find("bandwidth_Bps matrix"), std::string::npos) << text;
  EXPECT_NE(text.find("20.000"), std::string::npos) << text;
  EXPECT_NE(text.find(" ."), std::string::npos) << text;
}

}  // namespace
}  // namespace preflight::p2p
