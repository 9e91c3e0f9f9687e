#include "reports/import_nccl_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/error.hpp"
#include "common/findings.hpp"
#include "common/text.hpp"
#include "domain/nccl_log.hpp"
#include "preflight/build_config.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {
namespace {

bool is_libfabric(const std::string& network) {
  return to_lower(network).find("libfabric") != std::string::npos;
}

// aws-ofi-nccl was meant to carry the traffic: it loaded or failed, chose a provider, or NCCL
// named a Libfabric network. Without any of it (and without socket fallback) the log is not an
// EFA run: NET/IB on an InfiniBand cluster, a vendor's own plugin.
bool efa_intended(const NcclLogFacts& facts) {
  return facts.plugin_loaded || !facts.plugin_failures.empty() || facts.provider.has_value() ||
         std::any_of(facts.networks.begin(), facts.networks.end(), is_libfabric);
}

// What only the standalone import reports: every WARN line (normalised, each once) and the NICs
// per GPU from aws-ofi-nccl's "NIC group N device #K" lines (p5en: 2 per GPU).
struct LogExtras {
  std::vector<std::string> warnings;
  std::optional<int> nics_per_gpu;
};

LogExtras read_extras(std::string_view content) {
  LogExtras extras;
  std::map<std::string, int> devices_per_group;
  for (const std::string_view raw : split_lines(content)) {
    const std::string line = normalize_log_line(raw);
    if (line.find("NCCL WARN") != std::string::npos &&
        std::find(extras.warnings.begin(), extras.warnings.end(), line) == extras.warnings.end()) {
      extras.warnings.push_back(line);
    }
    const std::size_t group = line.find("NIC group ");
    const std::size_t device = line.find(" device #", group);
    if (group != std::string::npos && device != std::string::npos) {
      const std::string name = line.substr(group + 10, device - group - 10);
      int index = 0;
      const char* first = line.data() + device + 9;
      const auto [end, error] = std::from_chars(first, line.data() + line.size(), index);
      if (error == std::errc() && end != first) {
        devices_per_group[name] = std::max(devices_per_group[name], index + 1);
      }
    }
  }
  for (const auto& [name, count] : devices_per_group) {
    extras.nics_per_gpu = std::max(extras.nics_per_gpu.value_or(0), count);
  }
  return extras;
}

}  // namespace

std::uint64_t text_fingerprint(std::string_view text) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

ImportedTransport judge_imported_nccl_lines(std::string_view content,
                                            std::string_view instance_type) {
  ImportedTransport imported;
  const NcclLogFacts facts = parse_nccl_log(content);
  imported.details["facts"] = facts.to_json();
  TransportExpectation expectation;
  expectation.platform =
      !instance_type.empty() ? std::string(instance_type) : facts.platform.value_or(std::string());
  const TransportJudgement judgement = judge_nccl_transport(facts, expectation);
  const bool socket = judgement.has("NCCL_FALLBACK_SOCKET");
  if (!judgement.judged) {
    imported.details["not_judged"] = judgement.not_judged_reason;
    return imported;
  }
  if (!efa_intended(facts) && !socket) {
    imported.details["not_judged"] = fmt::format(
        "NCCL used network {} with no aws-ofi-nccl (NET/OFI) line: not an EFA run",
        facts.networks.empty() ? std::string("(none named)") : join(facts.networks, ", "));
    return imported;
  }
  imported.judged = true;
  for (const auto& finding : judgement.findings) {
    imported.checks.push_back(judged_check(finding.id, finding.status, finding.message,
                                           {{"nccl_log", finding.evidence}}));
  }
  if (socket) {
    imported.row_transport = "socket";
  } else if (judgement.has("NCCL_USES_EFA")) {
    imported.row_transport = "efa";
  }
  return imported;
}

Report import_nccl_log(std::string_view content, std::string_view origin,
                       const NcclLogImportOptions& options) {
  const ImportedTransport transport = judge_imported_nccl_lines(content, options.instance_type);
  const nlohmann::json& facts = transport.details.at("facts");
  const std::size_t nccl_lines = facts.value("nccl_lines", std::size_t{0});
  if (nccl_lines == 0) {
    throw UsageError(fmt::format(
        "{}: no NCCL debug lines found (no 'NCCL INFO', 'NCCL WARN', 'NET/OFI' or 'NCCL "
        "version' line): capture the job's output with NCCL_DEBUG=INFO "
        "NCCL_DEBUG_SUBSYS=INIT,NET",
        origin));
  }
  const LogExtras extras = read_extras(content);

  Report report;
  report.tool.name = "nccl-log";
  report.tool.version = options.deterministic ? "" : PREFLIGHT_VERSION_STRING;
  report.tool.git = options.deterministic ? "" : PREFLIGHT_GIT_SHA;
  report.run.id = fmt::format("nccl-log-{:016x}", text_fingerprint(content));
  report.run.ranks = 0;  // a debug log does not say how many ranks ran
  report.inventory.instance_type = !options.instance_type.empty()
                                       ? options.instance_type
                                       : facts.value("platform", std::string());
  if (report.inventory.instance_type.find('.') == std::string::npos) {
    report.inventory.instance_type.clear();  // "P4d" (old plugins) names a family only
  }
  if (facts.contains("nccl_version")) {
    report.inventory.versions["nccl"] = facts.at("nccl_version").get<std::string>();
  }
  if (facts.contains("plugin_version")) {
    report.inventory.versions["aws_ofi_nccl"] = facts.at("plugin_version").get<std::string>();
  }

  // One line a person reads first: what the log says, whatever the verdict.
  std::vector<std::string> parts;
  parts.push_back("NCCL " + facts.value("nccl_version", std::string("(version not printed)")));
  parts.push_back(facts.contains("plugin_version")
                      ? "aws-ofi-nccl " + facts.at("plugin_version").get<std::string>()
                  : facts.value("plugin_loaded", false)
                      ? std::string("aws-ofi-nccl (version not printed)")
                      : std::string("no aws-ofi-nccl"));
  if (facts.contains("provider")) {
    parts.push_back("provider " + facts.at("provider").get<std::string>());
  }
  if (facts.contains("fabric")) {
    parts.push_back("fabric " + facts.at("fabric").get<std::string>());
  }
  const auto networks = facts.value("networks", std::vector<std::string>{});
  parts.push_back(networks.empty() ? std::string("network not named")
                                   : "network " + join(networks, ", "));
  const auto net_channels = facts.value("net_channels", std::size_t{0});
  if (net_channels > 0) {
    parts.push_back(fmt::format("GDRDMA {} ({} of {} NET channels)",
                                facts.value("gdrdma_channels", std::size_t{0}) > 0 ? "on" : "off",
                                facts.value("gdrdma_channels", std::size_t{0}), net_channels));
  }
  if (facts.contains("nic_count")) {
    parts.push_back(fmt::format("{} NICs", facts.at("nic_count").get<int>()));
  }
  if (extras.nics_per_gpu) {
    parts.push_back(fmt::format("{} NICs per GPU", *extras.nics_per_gpu));
  }
  parts.push_back(fmt::format("{} WARN line(s)", extras.warnings.size()));
  // A log that decides nothing about EFA is a skip (exit 3), never a pass.
  report.checks.push_back(
      judged_check("NCCL_LOG_IMPORTED", transport.judged ? Status::pass : Status::skip,
                   finding_message("NCCL_LOG_IMPORTED", nccl_lines, origin, join(parts, ", ")),
                   {{"warnings", extras.warnings}}));
  report.checks.insert(report.checks.end(), transport.checks.begin(), transport.checks.end());
  if (!transport.judged) {
    report.checks.push_back(
        skip_check("NCCL_TRANSPORT_NOT_JUDGED",
                   finding_message("NCCL_TRANSPORT_NOT_JUDGED", origin,
                                   transport.details.value("not_judged", std::string())),
                   {{"networks", networks}}));
  }
  report.verdict = compute_verdict(report.checks, false);

  nlohmann::json details = transport.details;
  details["source"] = std::string(origin);
  details["warnings"] = extras.warnings;
  if (extras.nics_per_gpu) {
    details["nics_per_gpu"] = *extras.nics_per_gpu;
  }
  if (transport.row_transport) {
    details["transport"] = *transport.row_transport;
  }
  report.details["nccl_log"] = std::move(details);
  return report;
}

Report import_nccl_log_file(const std::filesystem::path& path,
                            const NcclLogImportOptions& options) {
  const std::string text = read_text_file(path);
  return import_nccl_log(text, path == "-" ? "stdin" : path.string(), options);
}

}  // namespace preflight::reports
