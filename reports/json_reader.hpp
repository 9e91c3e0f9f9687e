// Fast reads of preflight documents straight into the typed structs (simdjson: SIMD parsing at
// memory speed into its compact tape, then one walk), checking the schema on the way: every key of
// a fixed-key object is known, required keys are present, types, enums and ranges hold. The readers
// are deliberately conservative: anything unusual (a duplicate key, an integer spelled 1.0, a
// number beyond 64 bits, nesting deeper than kMaxJsonDepth, malformed JSON, or a schema violation)
// makes them give up, and the caller reads the document the slow way (nlohmann DOM + the JSON
// Schema validator), which then accepts it or names the line, column or JSON pointer of what is
// wrong. So the fast path never decides that a file is invalid, and a valid file gives the same
// structs on both paths (tests/unit/reports check this on every fixture and on mutated documents;
// the fuzz targets check it on random ones).
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "reports/baseline.hpp"
#include "reports/report.hpp"

namespace preflight::reports {

// A document's bytes, followed by the spare readable bytes the SIMD parser reads ahead into:
// either a buffer with that capacity, or a file mapped read-only (no copy) when its last page
// has the room.
class PaddedText {
 public:
  PaddedText() = default;
  // Copies `text` (tests, stdin, history rows).
  explicit PaddedText(std::string_view text);
  // Takes a buffer, growing its capacity for the padding if needed.
  explicit PaddedText(std::string&& text);
  // Maps `size` bytes of the open file `fd` when the page after its end has the padding;
  // nullopt otherwise (the caller reads the file instead).
  [[nodiscard]] static std::optional<PaddedText> map_file(int fd, std::size_t size);
  ~PaddedText();
  PaddedText(PaddedText&& other) noexcept;
  PaddedText& operator=(PaddedText&& other) noexcept;
  PaddedText(const PaddedText&) = delete;
  PaddedText& operator=(const PaddedText&) = delete;

  [[nodiscard]] std::string_view view() const;
  // Bytes readable from view().data(), the padding included.
  [[nodiscard]] std::size_t capacity() const;

 private:
  std::string text_;
  const char* mapped_ = nullptr;  // with mapped_length_ bytes mapped, when the file is mapped
  std::size_t mapped_length_ = 0;
  std::size_t size_ = 0;
};

// Whether simdjson is compiled in; without it the fast readers always give up.
[[nodiscard]] bool fast_json_available();

// nullopt: not read here (see above); read the document the slow way.
[[nodiscard]] std::optional<Report> fast_read_report(const PaddedText& text);
[[nodiscard]] std::optional<Baseline> fast_read_baseline(const PaddedText& text);

}  // namespace preflight::reports
