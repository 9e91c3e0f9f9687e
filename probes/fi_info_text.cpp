#include "probes/fi_info_text.hpp"

#include <array>
#include <charconv>
#include <map>
#include <utility>

#include "common/text.hpp"

namespace preflight::probes {
namespace {

// "[1,0]<stdout>:rest" -> {"[1,0]", "rest"}; lines without the prefix keep an empty tag.
std::pair<std::string, std::string_view> split_tag(std::string_view line) {
  const std::string_view trimmed = trim(line);
  if (trimmed.empty() || trimmed.front() != '[') {
    return {{}, line};
  }
  const auto close = trimmed.find(']');
  if (close == std::string_view::npos) {
    return {{}, line};
  }
  std::string_view rest = trimmed.substr(close + 1);
  for (const std::string_view stream : {"<stdout>:", "<stderr>:"}) {
    if (rest.substr(0, stream.size()) == stream) {
      return {std::string(trimmed.substr(0, close + 1)), rest.substr(stream.size())};
    }
  }
  return {{}, line};
}

std::size_t indentation(std::string_view line) {
  std::size_t count = 0;
  while (count < line.size() && (line[count] == ' ' || line[count] == '\t')) {
    ++count;
  }
  return count;
}

template <typename Number>
std::optional<Number> number(std::string_view text) {
  text = trim(text);
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// "[ FI_MSG, FI_RMA ]" -> {"FI_MSG", "FI_RMA"}.
std::vector<std::string> flag_list(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '[') {
    text.remove_prefix(1);
  }
  if (!text.empty() && text.back() == ']') {
    text.remove_suffix(1);
  }
  std::vector<std::string> flags;
  for (const std::string_view item : split(text, ',')) {
    if (!trim(item).empty()) {
      flags.emplace_back(trim(item));
    }
  }
  return flags;
}

// Per tag: the record being filled and the verbose section stack (indentation, name).
struct TagState {
  std::optional<std::size_t> record;  // index into FiInfoText::records
  std::vector<std::pair<std::size_t, std::string>> sections;
  bool verbose = false;
};

// Text fields by (section, key): the short format's keys sit outside any section; the verbose
// format's under fi_fabric_attr, fi_domain_attr, fi_ep_attr and nic's fi_device_attr/fi_link_attr.
struct TextField {
  std::string_view section;
  std::string_view key;
  std::string FiInfoRecord::*member;
};
const std::array kTextFields{
    TextField{"", "provider", &FiInfoRecord::provider},
    TextField{"", "fabric", &FiInfoRecord::fabric},
    TextField{"", "domain", &FiInfoRecord::domain},
    TextField{"", "version", &FiInfoRecord::version},
    TextField{"", "type", &FiInfoRecord::type},
    TextField{"", "protocol", &FiInfoRecord::protocol},
    TextField{"fi_fabric_attr", "name", &FiInfoRecord::fabric},
    TextField{"fi_fabric_attr", "prov_name", &FiInfoRecord::provider},
    TextField{"fi_fabric_attr", "prov_version", &FiInfoRecord::version},
    TextField{"fi_fabric_attr", "api_version", &FiInfoRecord::api_version},
    TextField{"fi_domain_attr", "name", &FiInfoRecord::domain},
    TextField{"fi_ep_attr", "type", &FiInfoRecord::type},
    TextField{"fi_ep_attr", "protocol", &FiInfoRecord::protocol},
    TextField{"fi_device_attr", "device_id", &FiInfoRecord::device_id},
    TextField{"fi_device_attr", "name", &FiInfoRecord::device_name},
    TextField{"fi_link_attr", "state", &FiInfoRecord::link_state},
};

void assign(FiInfoRecord& record, std::string_view section, std::string_view key,
            std::string_view value) {
  for (const TextField& field : kTextFields) {
    if (field.section == section && field.key == key) {
      record.*field.member = std::string(value);
      return;
    }
  }
  if (section == "fi_info" && key == "caps") {
    record.caps = flag_list(value);
  } else if (section == "fi_domain_attr" && key == "cq_data_size") {
    record.cq_data_size = number<std::size_t>(value);
  } else if (section == "fi_domain_attr" && key == "mr_mode") {
    record.mr_mode = join(flag_list(value), "|");
  } else if (section == "fi_ep_attr" && key == "max_msg_size") {
    record.max_msg_size = number<std::uint64_t>(value);
  } else if (section == "fi_tx_attr" && key == "inject_size") {
    record.inject_size = number<std::size_t>(value);
  } else if (section == "fi_link_attr" && key == "speed") {
    record.link_speed_bps = number<std::uint64_t>(value);
  }
}

}  // namespace

FiInfoText parse_fi_info_text(std::string_view text) {
  FiInfoText parsed;
  std::map<std::string, TagState> states;
  const auto start_record = [&parsed](TagState& state, const std::string& tag, bool verbose) {
    FiInfoRecord record;
    record.tag = tag;
    parsed.records.push_back(std::move(record));
    state.record = parsed.records.size() - 1;
    state.sections.clear();
    state.verbose = verbose;
  };
  for (std::string_view line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    const auto [tag, body] = split_tag(line);
    TagState& state = states[tag];
    const std::string_view content = trim(body);
    if (content.empty()) {
      continue;
    }
    if (content == "...") {
      parsed.elided = true;
      continue;
    }
    if (content == "---") {  // verbose record separator: the next "fi_info:" starts one
      state.record.reset();
      state.sections.clear();
      continue;
    }
    const auto colon = content.find(':');
    if (colon == std::string_view::npos) {
      continue;  // a shell command line, a banner
    }
    const std::string_view key = trim(content.substr(0, colon));
    const std::string_view value = trim(content.substr(colon + 1));
    const std::size_t indent = indentation(body);
    if (key == "fi_getinfo") {
      if (const auto code = number<int>(split(value, ' ').front())) {
        parsed.getinfo_error = *code;
      }
      continue;
    }
    if (key == "fi_info") {
      if (value.empty()) {
        start_record(state, tag, true);
        state.sections.emplace_back(indent, "fi_info");
      } else {
        parsed.fi_info_version = std::string(value);
      }
      continue;
    }
    if (key == "libfabric") {
      parsed.libfabric_version = std::string(value);
      continue;
    }
    if (key == "libfabric api") {
      parsed.api_version = std::string(value);
      continue;
    }
    if (key == "provider" && !state.verbose) {
      start_record(state, tag, false);
    }
    if (!state.record) {
      continue;  // "Warning: Permanently added ...", a prompt "user@host:~$ fi_info ..."
    }
    FiInfoRecord& record = parsed.records[*state.record];
    if (!state.verbose) {
      assign(record, {}, key, value);
      continue;
    }
    while (!state.sections.empty() && state.sections.back().first >= indent) {
      state.sections.pop_back();
    }
    if (value.empty()) {
      state.sections.emplace_back(indent, std::string(key));
      continue;
    }
    assign(record, state.sections.empty() ? std::string_view() : state.sections.back().second, key,
           value);
  }
  return parsed;
}

}  // namespace preflight::probes
