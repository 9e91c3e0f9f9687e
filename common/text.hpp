// Small string helpers shared by the parsers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace preflight {

[[nodiscard]] std::string_view trim(std::string_view text);
[[nodiscard]] std::vector<std::string_view> split(std::string_view text, char separator);
// Splits on runs of spaces and tabs, dropping empty fields.
[[nodiscard]] std::vector<std::string_view> split_whitespace(std::string_view text);
[[nodiscard]] std::vector<std::string_view> split_lines(std::string_view text);
[[nodiscard]] bool starts_with(std::string_view text, std::string_view prefix);
[[nodiscard]] std::string to_lower(std::string_view text);
[[nodiscard]] std::string to_upper(std::string_view text);
[[nodiscard]] std::string join(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace preflight
