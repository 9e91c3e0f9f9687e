#include "domain/nccl_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <span>

#include "common/findings.hpp"
#include "common/text.hpp"

namespace preflight {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool digits_at(std::string_view text, std::size_t position, std::size_t count) {
  if (position + count > text.size()) {
    return false;
  }
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(position),
                     text.begin() + static_cast<std::ptrdiff_t>(position + count), is_digit);
}

// Length of an ISO-8601 / RFC 3339 timestamp at the start of `text`
// ("2025-05-16T16:39:51.208-07:00", "2026-01-02 10:24:27"), 0 when there is none.
std::size_t timestamp_length(std::string_view text) {
  if (!(digits_at(text, 0, 4) && text.size() > 19 && text[4] == '-' && digits_at(text, 5, 2) &&
        text[7] == '-' && digits_at(text, 8, 2) && (text[10] == 'T' || text[10] == ' ') &&
        digits_at(text, 11, 2) && text[13] == ':' && digits_at(text, 14, 2) && text[16] == ':' &&
        digits_at(text, 17, 2))) {
    return 0;
  }
  std::size_t length = 19;
  if (length < text.size() && text[length] == '.') {
    ++length;
    while (length < text.size() && is_digit(text[length])) {
      ++length;
    }
  }
  if (length < text.size() && text[length] == 'Z') {
    ++length;
  } else if (length + 6 <= text.size() && (text[length] == '+' || text[length] == '-') &&
             digits_at(text, length + 1, 2) && text[length + 3] == ':' &&
             digits_at(text, length + 4, 2)) {
    length += 6;
  }
  return length;
}

// "10.3.35.83: ", "node-1: " (pdsh) or "0: " (srun -l): a token without spaces or colons; host
// names need a '.' or '-' so that words such as "INFO:" are kept.
std::size_t host_prefix_length(std::string_view text) {
  const auto colon = text.find(": ");
  if (colon == std::string_view::npos || colon == 0) {
    return 0;
  }
  const std::string_view token = text.substr(0, colon);
  if (token.find_first_of(" \t:[]()<>") != std::string_view::npos) {
    return 0;
  }
  const bool all_digits = std::all_of(token.begin(), token.end(), is_digit);
  const bool host_like = token.find_first_of(".-") != std::string_view::npos;
  return (all_digits || host_like) ? colon + 2 : 0;
}

// "[1,0]<stdout>:" (mpirun --tag-output), optionally after "(head, rank=0, pid=3808) " (SkyPilot).
std::size_t mpirun_tag_length(std::string_view text) {
  std::size_t start = 0;
  if (!text.empty() && text[0] == '(') {
    const auto close = text.find(") ");
    if (close == std::string_view::npos) {
      return 0;
    }
    start = close + 2;
  }
  if (start >= text.size() || text[start] != '[') {
    return 0;
  }
  for (const std::string_view tag :
       {std::string_view("]<stdout>:"), std::string_view("]<stderr>:")}) {
    const auto end = text.find(tag, start);
    if (end != std::string_view::npos && end < start + 24) {
      return end + tag.size();
    }
  }
  return 0;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The token after `marker` (up to a space, comma or closing parenthesis).
std::optional<std::string> token_after(std::string_view text, std::string_view marker) {
  const auto position = text.find(marker);
  if (position == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view rest = text.substr(position + marker.size());
  const auto end = rest.find_first_of(" ,)\t");
  rest = rest.substr(0, end);
  if (rest.empty()) {
    return std::nullopt;
  }
  return std::string(rest);
}

struct FailureSignature {
  std::string_view text;
};

// aws-ofi-nccl / NCCL lines that mean the plugin was not (or could not be) used.
constexpr std::array kPluginFailures{
    FailureSignature{"aws-ofi-nccl initialization failed"},
    FailureSignature{"Initializing plugin failed"},
    FailureSignature{"NET/OFI Failed to initialize"},
    FailureSignature{"Couldn't find any optimal provider"},
    FailureSignature{"Only EFA provider is supported"},
    FailureSignature{"OFI NCCL failure"},
    FailureSignature{"provider efa output empty list"},
    FailureSignature{"No plugin found"},
    FailureSignature{"Could not find: libnccl-net"},
};

// The part of a line worth showing: from the NCCL level or the plugin tag on.
std::string_view message_part(std::string_view line) {
  for (const std::string_view marker : {"NCCL WARN ", "NCCL INFO ", "WARN: ", "INFO: "}) {
    const auto position = line.find(marker);
    if (position != std::string_view::npos) {
      return line.substr(position + marker.size());
    }
  }
  return line;
}

// NCCL's numbering of algorithms and protocols, for the numeric TUNING lines of 2.19-2.23.
constexpr std::array<std::string_view, 7> kAlgorithms{
    "Tree", "Ring", "CollNetDirect", "CollNetChain", "NVLS", "NVLSTree", "PAT"};
constexpr std::array<std::string_view, 3> kProtocols{"LL", "LL128", "Simple"};

std::string tuning_name(std::string_view token, std::span<const std::string_view> names) {
  int index = -1;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (error == std::errc() && end == token.data() + token.size() && index >= 0 &&
      static_cast<std::size_t>(index) < names.size()) {
    return std::string(names[static_cast<std::size_t>(index)]);
  }
  return std::string(token);
}

// "AllReduce: 1048576 Bytes -> Algo RING proto SIMPLE channel{Lo..Hi}={0..31}" or
// "8 Bytes -> Algo 1 proto 0 time 6.000000".
std::optional<TuningChoice> parse_tuning(std::string_view message) {
  constexpr std::string_view kArrow = " Bytes -> Algo ";
  const auto arrow = message.find(kArrow);
  if (arrow == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view head = trim(message.substr(0, arrow));
  TuningChoice choice;
  if (const auto colon = head.rfind(": "); colon != std::string_view::npos) {
    choice.function = std::string(trim(head.substr(0, colon)));
    head = trim(head.substr(colon + 2));
  }
  const auto [end, error] = std::from_chars(head.data(), head.data() + head.size(), choice.bytes);
  if (error != std::errc() || end != head.data() + head.size()) {
    return std::nullopt;
  }
  const auto fields = split_whitespace(message.substr(arrow + kArrow.size()));
  // fields: <algo> "proto" <proto> ...
  if (fields.size() < 3 || fields[1] != "proto") {
    return std::nullopt;
  }
  choice.algorithm = tuning_name(fields[0], kAlgorithms);
  choice.protocol = tuning_name(fields[2], kProtocols);
  choice.calls = 1;
  return choice;
}

}  // namespace

std::string_view nccl_function_name(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::all_reduce:
      return "AllReduce";
    case CollectiveKind::all_gather:
      return "AllGather";
    case CollectiveKind::reduce_scatter:
      return "ReduceScatter";
    case CollectiveKind::broadcast:
      return "Broadcast";
    case CollectiveKind::alltoall:
      return "AlltoAll";
  }
  return "AllReduce";
}

std::vector<TuningChoice> tuning_choices(const std::vector<TuningChoice>& all, CollectiveKind kind,
                                         std::uint64_t bytes) {
  std::vector<TuningChoice> found;
  for (const TuningChoice& choice : all) {
    if (choice.bytes == bytes &&
        (choice.function.empty() || choice.function == nccl_function_name(kind))) {
      found.push_back(choice);
    }
  }
  return found;
}

std::string normalize_log_line(std::string_view line) {
  std::string_view text = trim(line);
  // CloudWatch console table: "| <timestamp> | line | duplicate" (the separator after the
  // timestamp is sometimes missing).
  if (!text.empty() && text.front() == '|') {
    text = trim(text.substr(1));
    text = text.substr(timestamp_length(text));
    text = trim(text);
    if (!text.empty() && text.front() == '|') {
      text = trim(text.substr(1));
    }
    const auto duplicate = text.find(" | ");
    if (duplicate != std::string_view::npos) {
      text = trim(text.substr(0, duplicate));
    }
  }
  while (true) {
    const std::string_view before = text;
    text = trim(text);
    if (!text.empty() && text.front() == '[') {
      const std::size_t stamp = timestamp_length(text.substr(1));
      if (stamp > 0 && stamp + 1 < text.size() && text[stamp + 1] == ']') {
        text = text.substr(stamp + 2);
      }
    }
    text = text.substr(mpirun_tag_length(text));
    text = text.substr(host_prefix_length(text));
    if (text == before) {
      break;
    }
  }
  return std::string(text);
}

nlohmann::json NcclLogFacts::to_json() const {
  nlohmann::json j{{"nccl_lines", nccl_lines},
                   {"plugin_loaded", plugin_loaded},
                   {"plugin_failures", plugin_failures},
                   {"networks", networks},
                   {"net_channels", net_channels},
                   {"gdrdma_channels", gdrdma_channels},
                   {"socket_channels", socket_channels},
                   {"socket_transport_set_up", socket_transport_set_up},
                   {"intra_node_channels", intra_node_channels}};
  if (!tuning.empty()) {
    nlohmann::json choices = nlohmann::json::array();
    for (const TuningChoice& choice : tuning) {
      choices.push_back({{"function", choice.function},
                         {"bytes", choice.bytes},
                         {"algorithm", choice.algorithm},
                         {"protocol", choice.protocol},
                         {"calls", choice.calls}});
    }
    j["tuning"] = std::move(choices);
  }
  const auto put = [&j](const char* key, const auto& value) {
    if (value) {
      j[key] = *value;
    }
  };
  put("nccl_version", nccl_version);
  put("plugin_version", plugin_version);
  put("provider", provider);
  put("fabric", fabric);
  put("nic_count", nic_count);
  put("platform", platform);
  put("socket_evidence", socket_evidence);
  return j;
}

NcclLogFacts parse_nccl_log(std::string_view text) {
  NcclLogFacts facts;
  std::vector<std::string_view> failures_seen;
  std::optional<std::string> socket_used_line;
  std::optional<std::string> socket_setup_line;
  for (const std::string_view raw : split_lines(text)) {
    const std::string line = normalize_log_line(raw);
    if (line.empty()) {
      continue;
    }
    const std::string_view view = line;
    if (contains(view, "NCCL INFO") || contains(view, "NCCL WARN") || contains(view, "NET/OFI") ||
        contains(view, "NCCL version")) {
      ++facts.nccl_lines;
    }
    if (!facts.nccl_version) {
      facts.nccl_version = token_after(view, "NCCL version ");
    }
    if (!facts.plugin_version) {
      facts.plugin_version = token_after(view, "Initializing aws-ofi-nccl ");
    }
    if (!facts.plugin_version) {
      facts.plugin_version = token_after(view, "Using aws-ofi-nccl ");
    }
    if (contains(view, "NET/OFI") || contains(view, "Loaded net plugin") ||
        contains(view, "Successfully loaded external plugin")) {
      facts.plugin_loaded = true;
    }
    for (const FailureSignature& failure : kPluginFailures) {
      if (contains(view, failure.text) && std::find(failures_seen.begin(), failures_seen.end(),
                                                    failure.text) == failures_seen.end()) {
        failures_seen.push_back(failure.text);
        facts.plugin_failures.emplace_back(message_part(view));
      }
    }
    const std::string lower = to_lower(view);
    if (!facts.provider) {
      facts.provider = token_after(lower, "selected provider is ");
    }
    if (!facts.fabric) {
      facts.fabric = token_after(lower, ", fabric is ");
    }
    if (!facts.nic_count) {
      if (const auto found = token_after(view, "(found "); found && contains(view, " nics)")) {
        int count = 0;
        const auto [end, error] =
            std::from_chars(found->data(), found->data() + found->size(), count);
        if (error == std::errc() && end == found->data() + found->size()) {
          facts.nic_count = count;
        }
      }
    }
    if (!facts.platform && contains(view, " platform")) {
      if (auto platform = token_after(view, "Running on "); platform) {
        if (contains(view, "Running on " + *platform + " platform")) {
          facts.platform = to_lower(*platform);
        }
      }
    }
    std::optional<std::string> network;
    if (const auto position = view.find("Using network "); position != std::string_view::npos) {
      network = std::string(trim(view.substr(position + 14)));
    } else if (const auto assigned = view.find("Assigned NET plugin ");
               assigned != std::string_view::npos) {
      std::string_view rest = view.substr(assigned + 20);
      network = std::string(trim(rest.substr(0, rest.find(" to comm"))));
    }
    if (network && !network->empty() &&
        std::find(facts.networks.begin(), facts.networks.end(), *network) == facts.networks.end()) {
      facts.networks.push_back(*network);
    }
    if (auto choice = parse_tuning(message_part(view))) {
      const auto same =
          std::find_if(facts.tuning.begin(), facts.tuning.end(), [&](const TuningChoice& seen) {
            return seen.function == choice->function && seen.bytes == choice->bytes &&
                   seen.algorithm == choice->algorithm && seen.protocol == choice->protocol;
          });
      if (same == facts.tuning.end()) {
        facts.tuning.push_back(std::move(*choice));
      } else {
        ++same->calls;
      }
    }
    if (contains(view, " via P2P/") || contains(view, " via SHM/")) {
      ++facts.intra_node_channels;
    }
    const bool socket_setup =
        contains(view, "NET/Socket : Using") || contains(view, "NET/Socket: Using");
    bool socket_used = network && *network == "Socket";
    if (const auto via = view.find(" via NET/"); via != std::string_view::npos) {
      const std::string_view channel = view.substr(via + 9);
      if (starts_with(channel, "Socket")) {
        ++facts.socket_channels;
        socket_used = true;
      } else {
        ++facts.net_channels;
        if (contains(channel, "/GDRDMA")) {
          ++facts.gdrdma_channels;
        }
      }
    }
    facts.socket_transport_set_up = facts.socket_transport_set_up || socket_setup;
    if (socket_used && !socket_used_line) {
      socket_used_line = std::string(message_part(view));
    }
    if (socket_setup && !socket_setup_line) {
      socket_setup_line = std::string(message_part(view));
    }
  }
  // The decisive line ("Using network Socket", a Socket channel) over the set-up line.
  facts.socket_evidence = socket_used_line ? socket_used_line : socket_setup_line;
  return facts;
}

bool TransportJudgement::has(std::string_view id) const {
  return find(id) != nullptr;
}

const TransportFinding* TransportJudgement::find(std::string_view id) const {
  for (const auto& finding : findings) {
    if (finding.id == id) {
      return &finding;
    }
  }
  return nullptr;
}

TransportJudgement judge_nccl_transport(const NcclLogFacts& facts,
                                        const TransportExpectation& expectation) {
  TransportJudgement judgement;
  const auto is_libfabric = [](const std::string& network) {
    return contains(to_lower(network), "libfabric");
  };
  const bool libfabric_network =
      std::any_of(facts.networks.begin(), facts.networks.end(), is_libfabric);
  const bool socket_network =
      std::find(facts.networks.begin(), facts.networks.end(), "Socket") != facts.networks.end();
  const bool socket_fallback = socket_network || facts.socket_channels > 0 ||
                               (facts.socket_transport_set_up && !libfabric_network);
  const bool failed = !facts.plugin_failures.empty();
  const bool decisive = failed || !facts.networks.empty() || facts.provider || socket_fallback ||
                        facts.net_channels > 0;
  if (facts.nccl_lines == 0 && !failed) {
    judgement.not_judged_reason =
        "no NCCL or aws-ofi-nccl lines (run with NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET)";
    return judgement;
  }
  if (!decisive) {
    judgement.not_judged_reason =
        "the log holds no transport decision (no 'Using network', provider, channel or plugin "
        "failure line; NCCL_DEBUG_SUBSYS must include INIT,NET)";
    return judgement;
  }
  judgement.judged = true;
  const nlohmann::json evidence = facts.to_json();
  const auto add = [&](std::string_view id, Status status, std::string message) {
    judgement.findings.push_back({std::string(id), status, std::move(message), evidence});
  };

  const bool other_network =
      !facts.networks.empty() && !libfabric_network;  // IB, Socket, ... but never Libfabric
  if (failed || (!facts.plugin_loaded && (socket_fallback || other_network))) {
    std::string detail;
    if (failed) {
      detail = facts.plugin_failures.front();
      if (facts.plugin_version) {
        detail = fmt::format("aws-ofi-nccl {} failed: {}", *facts.plugin_version, detail);
      }
    } else {
      detail = fmt::format("no aws-ofi-nccl (NET/OFI) lines; NCCL used network {}",
                           facts.networks.empty() ? std::string("Socket") : facts.networks.front());
    }
    add("OFI_NCCL_NOT_LOADED", Status::fail, finding_message("OFI_NCCL_NOT_LOADED", detail));
  }
  if (socket_fallback) {
    add("NCCL_FALLBACK_SOCKET", Status::fail,
        finding_message("NCCL_FALLBACK_SOCKET",
                        facts.socket_evidence.value_or(std::string("Using network Socket"))));
  } else if (facts.provider && *facts.provider != "efa") {
    add("NCCL_FALLBACK_SOCKET", Status::fail,
        finding_message(
            "NCCL_FALLBACK_SOCKET",
            fmt::format("aws-ofi-nccl selected provider {}, not efa", *facts.provider)));
  }
  if (facts.provider == std::optional<std::string>("efa") && libfabric_network &&
      !socket_fallback && !failed) {
    if (expectation.efa_nics && facts.nic_count && *facts.nic_count != *expectation.efa_nics) {
      add("NCCL_EFA_NIC_COUNT_MISMATCH", Status::fail,
          finding_message(
              "NCCL_EFA_NIC_COUNT_MISMATCH", *facts.nic_count,
              expectation.platform.empty() ? std::string("(unknown)") : expectation.platform,
              *expectation.efa_nics));
    }
    if (facts.net_channels > 0 && facts.gdrdma_channels < facts.net_channels) {
      add("NCCL_GDRDMA_OFF", Status::warn,
          finding_message("NCCL_GDRDMA_OFF",
                          fmt::format("{} of {} NET channels via GDRDMA", facts.gdrdma_channels,
                                      facts.net_channels)));
    }
    std::vector<std::string> parts;
    if (facts.plugin_version) {
      parts.push_back("aws-ofi-nccl " + *facts.plugin_version);
    }
    parts.emplace_back("provider efa");
    if (facts.fabric) {
      parts.push_back("fabric " + *facts.fabric);
    }
    parts.push_back(facts.nic_count ? fmt::format("{} NICs", *facts.nic_count)
                                    : std::string("NIC count not printed"));
    parts.push_back("network " +
                    *std::find_if(facts.networks.begin(), facts.networks.end(), is_libfabric));
    if (facts.net_channels == 0) {
      // "Using network Libfabric" and the provider line come at every init, traffic or not.
      judgement.efa_unproven_reason = fmt::format(
          "aws-ofi-nccl chose provider efa, but no channel in this log goes over the network "
          "(no 'via NET/...' line{}): the traffic stayed inside the node, so EFA is not proven",
          facts.intra_node_channels > 0
              ? fmt::format("; {} P2P/SHM channels", facts.intra_node_channels)
              : std::string());
    } else {
      parts.push_back(
          fmt::format("{} NET channels, {} via GDRDMA", facts.net_channels, facts.gdrdma_channels));
      add("NCCL_USES_EFA", Status::pass, finding_message("NCCL_USES_EFA", join(parts, ", ")));
    }
  }
  if (judgement.findings.empty() && !judgement.efa_unproven_reason.empty()) {
    judgement.judged = false;
    judgement.not_judged_reason = judgement.efa_unproven_reason;
  }
  return judgement;
}

}  // namespace preflight
