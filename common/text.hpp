// Small string helpers shared by the parsers.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace preflight {

// trim and the splitters return views into their argument. A temporary std::string would die at
// the end of the full expression and leave the views dangling (ASan found two such loops), so
// calling them with one does not compile: name the string first.
template <typename T>
concept TemporaryString =
    std::is_same_v<std::remove_cvref_t<T>, std::string> && !std::is_lvalue_reference_v<T>;

[[nodiscard]] std::string_view trim(std::string_view text);
[[nodiscard]] std::vector<std::string_view> split(std::string_view text, char separator);
// Splits on runs of spaces and tabs, dropping empty fields.
[[nodiscard]] std::vector<std::string_view> split_whitespace(std::string_view text);
// The same into `fields` (cleared first): a loop over many lines reuses one vector.
void split_whitespace(std::string_view text, std::vector<std::string_view>& fields);
[[nodiscard]] std::vector<std::string_view> split_lines(std::string_view text);
template <TemporaryString T>
std::string_view trim(T&& text) = delete;
template <TemporaryString T>
std::vector<std::string_view> split(T&& text, char separator) = delete;
template <TemporaryString T>
std::vector<std::string_view> split_whitespace(T&& text) = delete;
template <TemporaryString T>
void split_whitespace(T&& text, std::vector<std::string_view>& fields) = delete;
template <TemporaryString T>
std::vector<std::string_view> split_lines(T&& text) = delete;
[[nodiscard]] bool starts_with(std::string_view text, std::string_view prefix);
[[nodiscard]] std::string to_lower(std::string_view text);
[[nodiscard]] std::string to_upper(std::string_view text);
[[nodiscard]] std::string join(const std::vector<std::string>& parts, std::string_view separator);

// Natural order of names: digit runs compare as numbers (eth2 before eth10, rdmap16s27 before
// rdmap160s27).
[[nodiscard]] bool natural_less(std::string_view a, std::string_view b);

}  // namespace preflight
