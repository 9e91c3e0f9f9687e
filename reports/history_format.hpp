// How the history's series read to people. `preflight-report history` stores a row's series as a
// key ("p5.48xlarge|1n|all_reduce|nccl|float|sum|out_of_place|8r|step=x;"); the trend table and
// the suite's trend lines show it as "all_reduce nccl float sum out_of_place x8 on 1x p5.48xlarge
// [step=x]".
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace preflight::reports {

// The series key as words; a key of another shape is returned as it is.
[[nodiscard]] std::string readable_series(const std::string& series);

// The rows of a trend (`history trend --json`'s details.trend) that left their band, one line
// each: "<series> <size> B: <metric> <value> <unit>, outside the band [lo, hi] (median m of n
// previous runs)". The suite text and the JUnit name regressions with these lines.
[[nodiscard]] std::vector<std::string> regressed_trend_rows(const nlohmann::json& trend);

}  // namespace preflight::reports
