#include "reports/json_reader.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <utility>

#include "common/status.hpp"
#include "preflight/build_config.hpp"
#include "reports/report_io.hpp"

#if PREFLIGHT_HAVE_SIMDJSON
#include <simdjson.h>
#endif

namespace preflight::reports {

namespace {
#if PREFLIGHT_HAVE_SIMDJSON
constexpr std::size_t kPadding = simdjson::SIMDJSON_PADDING;
#else
constexpr std::size_t kPadding = 64;
#endif
}  // namespace

PaddedText::PaddedText(std::string_view text) : size_(text.size()) {
  text_.reserve(text.size() + kPadding);
  text_.assign(text);
}

PaddedText::PaddedText(std::string&& text) : text_(std::move(text)), size_(text_.size()) {
  if (text_.capacity() < text_.size() + kPadding) {
    text_.reserve(text_.size() + kPadding);
  }
}

std::optional<PaddedText> PaddedText::map_file(int fd, std::size_t size) {
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t tail = size % page;
  // Past the end of the file the last page reads as zeros: the padding is there when the page
  // has room for it. A file ending at a page boundary (or an empty one) is read instead.
  if (size == 0 || tail == 0 || page - tail < kPadding) {
    return std::nullopt;
  }
  void* address = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (address == MAP_FAILED) {
    return std::nullopt;
  }
  PaddedText text;
  text.mapped_ = static_cast<const char*>(address);
  text.mapped_length_ = size;
  text.size_ = size;
  return text;
}

PaddedText::~PaddedText() {
  if (mapped_ != nullptr) {
    ::munmap(const_cast<char*>(mapped_),
             mapped_length_);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  }
}

PaddedText::PaddedText(PaddedText&& other) noexcept
    : text_(std::move(other.text_)),
      mapped_(std::exchange(other.mapped_, nullptr)),
      mapped_length_(std::exchange(other.mapped_length_, 0)),
      size_(std::exchange(other.size_, 0)) {}

PaddedText& PaddedText::operator=(PaddedText&& other) noexcept {
  if (this != &other) {
    if (mapped_ != nullptr) {
      ::munmap(const_cast<char*>(mapped_),
               mapped_length_);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    text_ = std::move(other.text_);
    mapped_ = std::exchange(other.mapped_, nullptr);
    mapped_length_ = std::exchange(other.mapped_length_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

std::string_view PaddedText::view() const {
  return mapped_ != nullptr ? std::string_view(mapped_, size_) : std::string_view(text_);
}

std::size_t PaddedText::capacity() const {
  if (mapped_ != nullptr) {
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (size_ + page - 1) / page * page;
  }
  return text_.capacity();
}

#if !PREFLIGHT_HAVE_SIMDJSON

bool fast_json_available() {
  return false;
}
std::optional<Report> fast_read_report(const PaddedText& /*text*/) {
  return std::nullopt;
}
std::optional<Baseline> fast_read_baseline(const PaddedText& /*text*/) {
  return std::nullopt;
}

#else

bool fast_json_available() {
  return true;
}

namespace {

using Element = simdjson::dom::element;
using nlohmann::json;
using simdjson::dom::element_type;

// Thrown when the document is not one the fast path is sure about; the caller reads it the slow
// way, which accepts it or says what is wrong.
struct Unsure {};

[[noreturn]] void unsure() {
  throw Unsure{};
}

// The schema's integer bounds (the largest values the DOM path converts exactly).
constexpr std::int64_t kMaxInt = 2147483647;
constexpr std::int64_t kMax64 = 9223372036854774784;

// A fixed-key object's members seen so far: a duplicate key is left to the slow path.
class Seen {
 public:
  void mark(unsigned bit) {
    if ((bits_ & (1U << bit)) != 0) {
      unsure();
    }
    bits_ |= 1U << bit;
  }
  void require(unsigned mask) const {
    if ((bits_ & mask) != mask) {
      unsure();
    }
  }
  [[nodiscard]] bool has(unsigned bit) const { return (bits_ & (1U << bit)) != 0; }

 private:
  unsigned bits_ = 0;
};

constexpr unsigned bit_mask(std::initializer_list<unsigned> bits) {
  unsigned mask = 0;
  for (const unsigned bit : bits) {
    mask |= 1U << bit;
  }
  return mask;
}

std::string_view text_of(Element value) {
  return value.get_string();
}

std::string string_of(Element value) {
  return std::string(text_of(value));
}

std::string non_empty_string_of(Element value) {
  std::string text = string_of(value);
  if (text.empty()) {
    unsure();
  }
  return text;
}

bool boolean_of(Element value) {
  return value.get_bool();
}

// A JSON number (integer or not), as a double.
double number_of(Element value) {
  const double number = value.get_double();
  if (!std::isfinite(number)) {
    unsure();
  }
  return number;
}

double non_negative_number_of(Element value) {
  const double number = number_of(value);
  if (number < 0) {
    unsure();
  }
  return number;
}

// An integer spelled as one (1.0 and 1e3 are integers to the schema, but rare: left to the slow
// path), within [lo, hi].
std::int64_t integer_of(Element value, std::int64_t lo, std::int64_t hi) {
  if (value.type() != element_type::INT64) {
    unsure();  // a float, or an unsigned integer at or above 2^63: beyond every schema maximum
  }
  const std::int64_t number = value.get_int64();
  if (number < lo || number > hi) {
    unsure();
  }
  return number;
}

// Any JSON value as nlohmann's DOM would hold it (non-negative integers unsigned, negative ones
// signed, others double; duplicate keys: the last one wins), at most kMaxJsonDepth containers
// deep counting its parents.
json any_of(Element value, std::size_t depth) {
  switch (value.type()) {
    case element_type::OBJECT: {
      if (depth + 1 > kMaxJsonDepth) {
        unsure();
      }
      json object = json::object();
      for (auto field : value.get_object()) {
        object[std::string(field.key)] = any_of(field.value, depth + 1);
      }
      return object;
    }
    case element_type::ARRAY: {
      if (depth + 1 > kMaxJsonDepth) {
        unsure();
      }
      json array = json::array();
      for (auto element : value.get_array()) {
        array.push_back(any_of(element, depth + 1));
      }
      return array;
    }
    case element_type::STRING:
      return json(string_of(value));
    case element_type::BOOL:
      return json(boolean_of(value));
    case element_type::NULL_VALUE:
      return json(nullptr);
    case element_type::INT64: {
      const std::int64_t number = value.get_int64();
      return number >= 0 ? json(static_cast<std::uint64_t>(number)) : json(number);
    }
    case element_type::UINT64:
      return json(static_cast<std::uint64_t>(value.get_uint64()));
    case element_type::DOUBLE:
      return json(number_of(value));
  }
  unsure();
}

json object_of(Element value, std::size_t depth) {
  if (value.type() != element_type::OBJECT) {
    unsure();
  }
  return any_of(value, depth);
}

std::vector<std::string> strings_of(Element value) {
  std::vector<std::string> strings;
  for (auto element : value.get_array()) {
    strings.push_back(string_of(element));
  }
  return strings;
}

std::map<std::string, std::string> string_map_of(Element value) {
  std::map<std::string, std::string> map;
  for (auto field : value.get_object()) {
    std::string key(field.key);
    map[std::move(key)] = string_of(field.value);
  }
  return map;
}

// Objects of fixed keys dispatch on the key with a switch over this table's indices.
template <std::size_t N>
unsigned key_index(std::string_view key, const std::array<std::string_view, N>& keys) {
  for (std::size_t i = 0; i < N; ++i) {
    if (keys[i] == key) {
      return static_cast<unsigned>(i);
    }
  }
  unsure();  // additionalProperties: false
}

// The keys of a fixed-key object. Writers of these files (ours, and json.dump(sort_keys=True))
// write keys sorted: after a key, the next one sorted is tried first, so a row's keys match at
// the first comparison instead of a search.
template <std::size_t N>
struct Keys {
  std::array<std::string_view, N> names;
  std::array<unsigned, N> next{};  // the index of the next key in sorted order (N: none)
  unsigned first = N;

  constexpr explicit Keys(std::array<std::string_view, N> keys) : names(keys) {
    for (std::size_t i = 0; i <= N; ++i) {
      // i == N: the smallest key; otherwise the smallest key after names[i].
      unsigned best = N;
      for (std::size_t j = 0; j < N; ++j) {
        if ((i == N || names[j] > names[i]) && (best == N || names[j] < names[best])) {
          best = static_cast<unsigned>(j);
        }
      }
      (i == N ? first : next[i]) = best;
    }
  }

  // The index of `key`; unsure() for a key the schema does not allow.
  unsigned index(std::string_view key, unsigned& hint) const {
    if (hint < N && names[hint] == key) {
      const unsigned found = hint;
      hint = next[found];
      return found;
    }
    for (unsigned i = 0; i < N; ++i) {
      if (names[i] == key) {
        hint = next[i];
        return i;
      }
    }
    unsure();  // additionalProperties: false
  }
};

// Each member of a fixed-key object: `body(key index, value)`; a key the schema does not allow, a
// duplicate key or a missing required one (a bit of `required` per key index) is left to the
// slow path.
template <std::size_t N, typename Body>
void for_members(Element object, const Keys<N>& keys, unsigned required, const Body& body) {
  Seen seen;
  unsigned hint = keys.first;
  for (auto field : object.get_object()) {
    const unsigned key = keys.index(field.key, hint);
    seen.mark(key);
    body(key, field.value);
  }
  seen.require(required);
}

// ---- preflight.report/1 ------------------------------------------------------------------------

ToolInfo tool_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"name", "version", "git"}));
  ToolInfo tool;
  for_members(value, kKeys, bit_mask({0, 1, 2}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        tool.name = non_empty_string_of(member);
        break;
      case 1:
        tool.version = string_of(member);
        break;
      default:
        tool.git = string_of(member);
        break;
    }
  });
  return tool;
}

RunInfo run_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"id", "started_at", "finished_at", "argv", "ranks", "hosts", "nodes"}));
  RunInfo run;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        run.id = string_of(member);
        break;
      case 1:
        run.started_at = string_of(member);
        break;
      case 2:
        run.finished_at = string_of(member);
        break;
      case 3:
        run.argv = strings_of(member);
        break;
      case 4:
        run.ranks = static_cast<int>(integer_of(member, 0, kMaxInt));
        break;
      case 5:
        run.hosts = strings_of(member);
        break;
      default:
        run.nodes = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
    }
  });
  return run;
}

json objects_of(Element value) {
  json array = json::array();
  for (auto element : value.get_array()) {
    array.push_back(object_of(element, 3));  // root > inventory > array > element
  }
  return array;
}

Inventory inventory_of(Element value) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"instance_type", "gpus", "efa", "versions", "env"}));
  Inventory inventory;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        inventory.instance_type = string_of(member);
        break;
      case 1:
        inventory.gpus = objects_of(member);
        break;
      case 2:
        inventory.efa = objects_of(member);
        break;
      case 3:
        inventory.versions = string_map_of(member);
        break;
      default:
        inventory.env = string_map_of(member);
        break;
    }
  });
  return inventory;
}

// ^[A-Z][A-Z0-9_]*$, for ids no longer than the schema validator matches patterns against.
bool is_check_id(std::string_view id) {
  constexpr std::size_t kMaxPatternSubjectBytes = 4096;  // as json_schema.cpp
  return !id.empty() && id.size() <= kMaxPatternSubjectBytes && id.front() >= 'A' &&
         id.front() <= 'Z' && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
}

Status status_of(Element value) {
  const auto status = parse_status(text_of(value));
  if (!status) {
    unsure();
  }
  return *status;
}

Check check_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"id", "status", "severity", "message", "remediation", "evidence"}));
  Check check;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        check.id = string_of(member);
        if (!is_check_id(check.id)) {
          unsure();
        }
        break;
      case 1:
        check.status = status_of(member);
        break;
      case 2: {
        const auto severity = parse_severity(text_of(member));
        if (!severity) {
          unsure();
        }
        check.severity = *severity;
        break;
      }
      case 3:
        check.message = string_of(member);
        break;
      case 4:
        check.remediation = string_of(member);
        break;
      default:
        check.evidence = object_of(member, 3);  // root > checks > check > evidence
        break;
    }
  });
  return check;
}

TimeStats time_stats_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"median", "mean", "min", "max", "p90", "p99", "p999", "stdev", "ci95_median", "n"}));
  TimeStats t;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5, 7, 8, 9}),
              [&](unsigned key, Element member) {
                switch (key) {
                  case 0:
                    t.median = non_negative_number_of(member);
                    break;
                  case 1:
                    t.mean = non_negative_number_of(member);
                    break;
                  case 2:
                    t.min = non_negative_number_of(member);
                    break;
                  case 3:
                    t.max = non_negative_number_of(member);
                    break;
                  case 4:
                    t.p90 = non_negative_number_of(member);
                    break;
                  case 5:
                    t.p99 = non_negative_number_of(member);
                    break;
                  case 6:
                    t.p999 = non_negative_number_of(member);
                    break;
                  case 7:
                    t.stdev = non_negative_number_of(member);
                    break;
                  case 8: {
                    std::size_t items = 0;
                    for (auto element : member.get_array()) {
                      const double bound = number_of(element);
                      if (items == 0) {
                        t.ci95_lo = bound;
                      } else if (items == 1) {
                        t.ci95_hi = bound;
                      }
                      ++items;
                    }
                    if (items != 2) {
                      unsure();
                    }
                    break;
                  }
                  default:
                    t.n = static_cast<std::size_t>(integer_of(member, 0, kMax64));
                    break;
                }
              });
  return t;
}

ResultRow result_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"benchmark",
                                                               "backend",
                                                               "transport",
                                                               "dtype",
                                                               "op",
                                                               "in_place",
                                                               "size_bytes",
                                                               "count",
                                                               "ranks",
                                                               "time_s",
                                                               "algbw_Bps",
                                                               "busbw_Bps",
                                                               "busbw_factor",
                                                               "wrong_elements",
                                                               "slowest_rank",
                                                               "slowest_host",
                                                               "warmup_iterations",
                                                               "stop_reason",
                                                               "message_rate_per_s",
                                                               "labels",
                                                               "samples_s"}));
  ResultRow row;
  for_members(value, kKeys, bit_mask({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}),
              [&](unsigned key, Element member) {
                switch (key) {
                  case 0:
                    row.benchmark = non_empty_string_of(member);
                    break;
                  case 1:
                    row.backend = string_of(member);
                    break;
                  case 2:
                    row.transport = string_of(member);
                    break;
                  case 3:
                    row.dtype = string_of(member);
                    break;
                  case 4:
                    row.op = string_of(member);
                    break;
                  case 5:
                    row.in_place = boolean_of(member);
                    break;
                  case 6:
                    row.size_bytes = static_cast<std::uint64_t>(integer_of(member, 0, kMax64));
                    break;
                  case 7:
                    row.count = static_cast<std::uint64_t>(integer_of(member, 0, kMax64));
                    break;
                  case 8:
                    row.ranks = static_cast<int>(integer_of(member, 0, kMaxInt));
                    break;
                  case 9:
                    row.time_s = time_stats_of(member);
                    break;
                  case 10:
                    row.algbw_Bps = non_negative_number_of(member);
                    break;
                  case 11:
                    row.busbw_Bps = non_negative_number_of(member);
                    break;
                  case 12:
                    row.busbw_factor = non_negative_number_of(member);
                    break;
                  case 13:
                    row.wrong_elements = integer_of(member, -1, kMax64);
                    break;
                  case 14:
                    row.slowest_rank = static_cast<int>(integer_of(member, -1, kMaxInt));
                    break;
                  case 15:
                    row.slowest_host = string_of(member);
                    break;
                  case 16:
                    row.warmup_iterations = static_cast<std::size_t>(integer_of(member, 0, kMax64));
                    break;
                  case 17:
                    row.stop_reason = string_of(member);
                    break;
                  case 18:
                    row.message_rate_per_s = non_negative_number_of(member);
                    break;
                  case 19:
                    row.labels = string_map_of(member);
                    break;
                  default: {
                    std::vector<double> samples;
                    for (auto element : member.get_array()) {
                      samples.push_back(number_of(element));
                    }
                    row.samples_s = std::move(samples);
                    break;
                  }
                }
              });
  return row;
}

std::map<std::string, std::map<std::string, std::int64_t> > counters_of(Element value) {
  std::map<std::string, std::map<std::string, std::int64_t> > counters;
  for (auto device : value.get_object()) {
    std::string name(device.key);
    std::map<std::string, std::int64_t> values;
    for (auto counter : device.value.get_object()) {
      std::string key(counter.key);
      values[std::move(key)] = integer_of(counter.value, -kMax64, kMax64);
    }
    counters[std::move(name)] = std::move(values);
  }
  return counters;
}

Verdict verdict_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"status", "exit_code", "summary"}));
  Verdict verdict;
  for_members(value, kKeys, bit_mask({0, 1, 2}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        verdict.status = status_of(member);
        break;
      case 1: {
        const auto code = integer_of(member, 0, 124);
        if (code > 4 && code != 124) {
          unsure();
        }
        verdict.exit_code = static_cast<int>(code);
        break;
      }
      default:
        verdict.summary = string_of(member);
        break;
    }
  });
  return verdict;
}

Report report_of(Element document) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"schema", "tool", "run", "inventory", "checks", "results",
                                       "hw_counters_delta", "details", "verdict"}));
  Report report;
  for_members(document, kKeys, bit_mask({0, 1, 2, 3, 4, 5, 8}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        if (text_of(member) != kReportSchema) {
          unsure();
        }
        break;
      case 1:
        report.tool = tool_of(member);
        break;
      case 2:
        report.run = run_of(member);
        break;
      case 3:
        report.inventory = inventory_of(member);
        break;
      case 4:
        for (auto element : member.get_array()) {
          report.checks.push_back(check_of(element));
        }
        break;
      case 5: {
        const simdjson::dom::array rows = member.get_array();
        report.results.reserve(rows.size());
        for (auto element : rows) {
          report.results.push_back(result_of(element));
        }
        break;
      }
      case 6:
        report.hw_counters_delta = counters_of(member);
        break;
      case 7:
        report.details = object_of(member, 1);
        break;
      default:
        report.verdict = verdict_of(member);
        break;
    }
  });
  return report;
}

// ---- preflight.baseline/1 ----------------------------------------------------------------------

constexpr auto kMetricNames =
    std::to_array<std::string_view>({"busbw_Bps", "algbw_Bps", "time_s", "message_rate_per_s"});

std::string metric_name_of(std::string_view key) {
  if (std::find(kMetricNames.begin(), kMetricNames.end(), key) == kMetricNames.end()) {
    unsure();
  }
  return std::string(key);
}

Band band_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"relative", "absolute"}));
  Band band;
  for_members(value, kKeys, 0, [&](unsigned key, Element member) {
    const double number = non_negative_number_of(member);
    if (key == 0) {
      if (number > 10) {
        unsure();
      }
      band.relative = number;
    } else {
      band.absolute = number;
    }
  });
  return band;
}

MetricRule rule_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"direction", "warn", "fail"}));
  MetricRule rule;
  for_members(value, kKeys, bit_mask({0, 1, 2}), [&](unsigned key, Element member) {
    if (key == 0) {
      const std::string_view direction = text_of(member);
      if (direction != "higher" && direction != "lower") {
        unsure();
      }
      rule.direction = direction == "lower" ? Direction::lower : Direction::higher;
    } else if (key == 1) {
      rule.warn = band_of(member);
    } else {
      rule.fail = band_of(member);
    }
  });
  return rule;
}

BaselineMetric baseline_metric_of(Element value) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"expected", "warn", "fail", "observed_spread", "runs"}));
  BaselineMetric metric;
  for_members(value, kKeys, bit_mask({0}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        metric.expected = non_negative_number_of(member);
        break;
      case 1:
        metric.warn = band_of(member);
        break;
      case 2:
        metric.fail = band_of(member);
        break;
      case 3:
        metric.observed_spread = non_negative_number_of(member);
        break;
      default:
        metric.runs = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
    }
  });
  return metric;
}

BaselineRow baseline_row_of(Element value) {
  static constexpr Keys kKeys(std::to_array<std::string_view>({"size_bytes", "metrics", "note"}));
  BaselineRow row;
  for_members(value, kKeys, bit_mask({0, 1}), [&](unsigned key, Element member) {
    if (key == 0) {
      row.size_bytes = static_cast<std::uint64_t>(integer_of(member, 0, kMax64));
    } else if (key == 1) {
      for (auto metric : member.get_object()) {
        std::string name = metric_name_of(metric.key);
        if (!row.metrics.emplace(std::move(name), baseline_metric_of(metric.value)).second) {
          unsure();
        }
      }
      if (row.metrics.empty()) {
        unsure();
      }
    } else {
      row.note = string_of(member);
    }
  });
  return row;
}

BaselineMatch match_of(Element value) {
  static constexpr Keys kKeys(
      std::to_array<std::string_view>({"instance_type", "nodes", "ranks_per_node", "backend",
                                       "benchmark", "dtype", "op", "placement", "labels"}));
  BaselineMatch match;
  for_members(value, kKeys, bit_mask({4}), [&](unsigned key, Element member) {
    switch (key) {
      case 0:
        match.instance_type = non_empty_string_of(member);
        break;
      case 1:
        match.nodes = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
      case 2:
        match.ranks_per_node = static_cast<int>(integer_of(member, 1, kMaxInt));
        break;
      case 3:
        match.backend = non_empty_string_of(member);
        break;
      case 4:
        match.benchmark = non_empty_string_of(member);
        break;
      case 5:
        match.dtype = non_empty_string_of(member);
        break;
      case 6:
        match.op = string_of(member);
        break;
      case 7:
        match.placement = string_of(member);
        if (match.placement != "out_of_place" && match.placement != "in_place") {
          unsure();
        }
        break;
      default:
        match.labels = string_map_of(member);
        break;
    }
  });
  return match;
}

// The rules validate_baseline_document adds to the schema, on the typed struct.
void check_baseline_rules(const Baseline& baseline) {
  const auto bands_ordered = [](const Band& warn, const Band& fail) {
    return fail.relative >= warn.relative && fail.absolute >= warn.absolute;
  };
  for (const auto& [name, rule] : baseline.metrics) {
    if (!bands_ordered(rule.warn, rule.fail)) {
      unsure();
    }
  }
  std::set<std::uint64_t> sizes;
  for (const auto& row : baseline.rows) {
    if (!sizes.insert(row.size_bytes).second) {
      unsure();
    }
    for (const auto& [name, metric] : row.metrics) {
      const auto rule = baseline.metrics.find(name);
      if (rule == baseline.metrics.end() ||
          !bands_ordered(metric.warn.value_or(rule->second.warn),
                         metric.fail.value_or(rule->second.fail))) {
        unsure();
      }
    }
  }
}

Baseline baseline_of(Element document) {
  static constexpr Keys kKeys(std::to_array<std::string_view>(
      {"schema", "name", "description", "source", "source_url", "created_at", "created_by", "notes",
       "match", "metrics", "budget", "rows"}));
  Baseline baseline;
  for_members(
      document, kKeys, bit_mask({0, 1, 3, 8, 9, 10, 11}), [&](unsigned key, Element member) {
        switch (key) {
          case 0:
            if (text_of(member) != kBaselineSchema) {
              unsure();
            }
            break;
          case 1:
            baseline.name = non_empty_string_of(member);
            break;
          case 2:
            baseline.description = string_of(member);
            break;
          case 3:
            baseline.source = non_empty_string_of(member);
            break;
          case 4:
            baseline.source_url = string_of(member);
            break;
          case 5:
            baseline.created_at = string_of(member);
            break;
          case 6:
            baseline.created_by = string_of(member);
            break;
          case 7:
            baseline.notes = strings_of(member);
            break;
          case 8:
            baseline.match = match_of(member);
            break;
          case 9:
            for (auto metric : member.get_object()) {
              std::string name = metric_name_of(metric.key);
              if (!baseline.metrics.emplace(std::move(name), rule_of(metric.value)).second) {
                unsure();
              }
            }
            if (baseline.metrics.empty()) {
              unsure();
            }
            break;
          case 10: {
            Seen budget;
            for (auto entry : member.get_object()) {
              budget.mark(
                  key_index(entry.key, std::to_array<std::string_view>({"sizes_allowed_to_miss"})));
              baseline.sizes_allowed_to_miss =
                  static_cast<int>(integer_of(entry.value, 0, kMaxInt));
            }
            budget.require(bit_mask({0}));
            break;
          }
          default: {
            const simdjson::dom::array rows = member.get_array();
            baseline.rows.reserve(rows.size());
            for (auto element : rows) {
              baseline.rows.push_back(baseline_row_of(element));
            }
            if (baseline.rows.empty()) {
              unsure();
            }
            break;
          }
        }
      });
  check_baseline_rules(baseline);
  return baseline;
}

template <typename Result, typename Read>
std::optional<Result> read_with(const PaddedText& text, Read read) {
  try {
    // The DOM API picks the fastest kernel of this CPU at run time (On-Demand is bound to the
    // compile-time target, the portable fallback kernel in a distribution build).
    simdjson::dom::parser parser;
    const Element document = parser.parse(text.view().data(), text.view().size(), false);
    return read(document);
  } catch (const simdjson::simdjson_error&) {
    return std::nullopt;
  } catch (const Unsure&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<Report> fast_read_report(const PaddedText& text) {
  return read_with<Report>(text, [](Element document) { return report_of(document); });
}

std::optional<Baseline> fast_read_baseline(const PaddedText& text) {
  return read_with<Baseline>(text, [](Element document) { return baseline_of(document); });
}

#endif

}  // namespace preflight::reports
