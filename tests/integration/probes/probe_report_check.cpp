// Reads a preflight.report/1 file written by a probe binary, validates it with the C++ schema
// validator (reports::report_schema()), and prints what the integration script asserts on:
//   exit_code=<verdict exit code>
//   fired=<sorted ids of warn/fail checks, comma-separated, one entry per check: a multiset, so
//          three ports down read EFA_PORT_DOWN,EFA_PORT_DOWN,EFA_PORT_DOWN>
//   finding=<id> <status> <evidence as compact JSON>   (one per warn/fail check)
//   deltas=<devices in hw_counters_delta>
//   pair=<gpu bus id> <efa bus id> <class>   (one per assigned GPU/EFA pair, topology reports)
// Exit 0 when the file is a valid report, 1 otherwise.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "reports/json_schema.hpp"
#include "reports/report_io.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: probe_report_check REPORT.json\n";
    return 2;
  }
  try {
    const nlohmann::json document = preflight::reports::read_json_file(argv[1]);
    const auto errors = preflight::reports::report_schema().validate(document);
    for (const auto& error : errors) {
      std::cerr << argv[1] << ": " << error.pointer << ": " << error.message << "\n";
    }
    if (!errors.empty()) {
      return 1;
    }
    std::vector<std::string> fired;
    std::vector<std::string> findings;
    for (const auto& check : document.at("checks")) {
      const std::string status = check.at("status").get<std::string>();
      if (status == "warn" || status == "fail" || status == "error" || status == "timeout") {
        fired.push_back(check.at("id").get<std::string>());
        findings.push_back(fired.back() + " " + status + " " +
                           check.value("evidence", nlohmann::json(nullptr)).dump());
      }
    }
    std::sort(fired.begin(), fired.end());
    std::sort(findings.begin(), findings.end());
    std::string joined;
    for (const auto& id : fired) {
      joined += (joined.empty() ? "" : ",") + id;
    }
    std::cout << "exit_code=" << document.at("verdict").at("exit_code").get<int>() << "\n"
              << "fired=" << joined << "\n"
              << "deltas=" << document.value("hw_counters_delta", nlohmann::json::object()).size()
              << "\n";
    for (const auto& finding : findings) {
      std::cout << "finding=" << finding << "\n";
    }
    const auto details = document.value("details", nlohmann::json::object());
    if (details.contains("topology")) {
      for (const auto& gpu : details.at("topology").at("gpus")) {
        for (const auto& efa : gpu.at("assigned_efa")) {
          std::cout << "pair=" << gpu.at("pci_bus_id").get<std::string>() << " "
                    << efa.at("pci_bus_id").get<std::string>() << " "
                    << efa.at("class").get<std::string>() << "\n";
        }
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}
