// Internal to the fast JSON readers (json_reader.cpp): reading one simdjson value as the schema
// allows it, or giving up (unsure(): the document is then read the slow way, which accepts it or
// says what is wrong). The readers of whole documents are built from these and from for_members,
// the walk over a fixed-key object. Inline: they run once per value of files of 100,000 rows.
#pragma once

#include <simdjson.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "reports/report_io.hpp"

namespace preflight::reports::fast_json {

using Element = simdjson::dom::element;
using nlohmann::json;
using simdjson::dom::element_type;

// Thrown when the document is not one the fast path is sure about; the caller reads it the slow
// way, which accepts it or says what is wrong.
struct Unsure {};

[[noreturn]] inline void unsure() {
  throw Unsure{};
}

// The schema's integer bounds (the largest values the DOM path converts exactly).
inline constexpr std::int64_t kMaxInt = 2147483647;
inline constexpr std::int64_t kMax64 = 9223372036854774784;

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

inline std::string_view text_of(Element value) {
  return value.get_string();
}

inline std::string string_of(Element value) {
  return std::string(text_of(value));
}

inline std::string non_empty_string_of(Element value) {
  std::string text = string_of(value);
  if (text.empty()) {
    unsure();
  }
  return text;
}

inline bool boolean_of(Element value) {
  return value.get_bool();
}

// A JSON number (integer or not), as a double.
inline double number_of(Element value) {
  const double number = value.get_double();
  if (!std::isfinite(number)) {
    unsure();
  }
  return number;
}

inline double non_negative_number_of(Element value) {
  const double number = number_of(value);
  if (number < 0) {
    unsure();
  }
  return number;
}

// An integer spelled as one (1.0 and 1e3 are integers to the schema, but rare: left to the slow
// path), within [lo, hi].
inline std::int64_t integer_of(Element value, std::int64_t lo, std::int64_t hi) {
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
inline json any_of(Element value, std::size_t depth) {
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

inline json object_of(Element value, std::size_t depth) {
  if (value.type() != element_type::OBJECT) {
    unsure();
  }
  return any_of(value, depth);
}

inline std::vector<std::string> strings_of(Element value) {
  std::vector<std::string> strings;
  for (auto element : value.get_array()) {
    strings.push_back(string_of(element));
  }
  return strings;
}

inline std::map<std::string, std::string> string_map_of(Element value) {
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

}  // namespace preflight::reports::fast_json
