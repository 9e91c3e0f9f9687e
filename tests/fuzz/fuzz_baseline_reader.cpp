// libFuzzer target: the baseline reader (reports/baseline.hpp), i.e. what read_baseline does to
// the bytes of a file: depth-checked JSON parse, schema and cross-field validation
// (validate_baseline_document), typed conversion. Beyond "no crash" it asserts:
//   - a document the validator accepts converts to a Baseline without a json::exception (one
//     would be a gap between the schema and from_json);
//   - the round trip is stable: dump_baseline of it parses, validates again, and converts to a
//     Baseline whose dump is byte-identical;
//   - the streaming reader (json_reader.hpp) never accepts what the validator rejects, and what it
//     accepts is the same Baseline.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "reports/baseline.hpp"
#include "reports/json_reader.hpp"
#include "reports/report_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace reports = preflight::reports;
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto fast = reports::fast_read_baseline(reports::PaddedText(text));
  nlohmann::json document;
  try {
    document = reports::parse_json_text(text, "fuzz");
  } catch (const preflight::UsageError&) {
    if (fast) {
      __builtin_trap();  // the streaming reader accepted malformed JSON
    }
    return 0;
  }
  if (!reports::validate_baseline_document(document, 5).empty()) {
    if (fast) {
      __builtin_trap();  // the streaming reader accepted an invalid baseline
    }
    return 0;
  }
  try {
    const auto baseline = document.get<reports::Baseline>();
    const std::string dumped = reports::dump_baseline(baseline);
    const auto again = reports::parse_json_text(dumped, "dump");
    if (!reports::validate_baseline_document(again, 5).empty()) {
      __builtin_trap();  // the reader accepted what its own writer turns into an invalid file
    }
    if (reports::dump_baseline(again.get<reports::Baseline>()) != dumped) {
      __builtin_trap();  // the round trip is not stable
    }
    if (fast && reports::dump_baseline(*fast) != dumped) {
      __builtin_trap();  // the two readers disagree
    }
  } catch (const nlohmann::json::exception&) {
    __builtin_trap();
  } catch (const preflight::UsageError&) {
    __builtin_trap();  // our own dump did not parse
  }
  return 0;
}
