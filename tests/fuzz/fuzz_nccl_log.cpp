// libFuzzer target: the NCCL INFO log judge (domain/nccl_log.hpp): line normalisation,
// parse_nccl_log and judge_nccl_transport, with and without an expected EFA NIC count. Beyond
// "no crash" it asserts invariants of the facts and the judgement:
//   - a normalised line is a substring of the raw line (prefixes are only cut, never invented);
//   - GDRDMA channels are a subset of the NET channels;
//   - a judgement is either judged (with a reason left empty) or carries a reason;
//   - NCCL_USES_EFA (pass) never comes with OFI_NCCL_NOT_LOADED or NCCL_FALLBACK_SOCKET (fail);
//   - the facts serialise (dump with invalid UTF-8 replaced, as the report writer does).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/text.hpp"
#include "domain/nccl_log.hpp"

namespace {

void check(const preflight::TransportJudgement& judgement) {
  if (judgement.judged != judgement.not_judged_reason.empty()) {
    __builtin_trap();
  }
  if (!judgement.judged && !judgement.findings.empty()) {
    __builtin_trap();
  }
  if (judgement.has("NCCL_USES_EFA") &&
      (judgement.has("OFI_NCCL_NOT_LOADED") || judgement.has("NCCL_FALLBACK_SOCKET"))) {
    __builtin_trap();
  }
  for (const auto& finding : judgement.findings) {
    if (finding.id.empty() || finding.message.empty()) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  for (const auto line : preflight::split_lines(text)) {
    if (line.find(preflight::normalize_log_line(line)) == std::string_view::npos) {
      __builtin_trap();
    }
  }
  const auto facts = preflight::parse_nccl_log(text);
  if (facts.gdrdma_channels > facts.net_channels) {
    __builtin_trap();
  }
  (void)facts.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  check(preflight::judge_nccl_transport(facts, {}));
  check(preflight::judge_nccl_transport(facts, {4, "p4d.24xlarge"}));
  return 0;
}
