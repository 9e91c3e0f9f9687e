// What the plans share: the machine they run on, and the outputs of the suite report.
#include "cli/plans.hpp"

#include <iostream>

#include "cli/suite.hpp"
#include "common/atomic_file.hpp"
#include "common/efa_sysfs.hpp"
#include "reports/render.hpp"
#include "reports/report_io.hpp"

namespace preflight::cli {

LocalHardware detect_local_hardware(const std::filesystem::path& root) {
  LocalHardware hardware;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(root / "proc/driver/nvidia/gpus", error)) {
    (void)entry;
    ++hardware.gpu_count;
  }
  hardware.efa_devices = efa_device_names(RootFs(root));
  return hardware;
}

int write_outputs(reports::Report& suite, const GeneralOptions& general) {
  nlohmann::json outputs = nlohmann::json::object();
  std::string html;
  if (!general.html_path.empty()) {
    outputs["html"] = {{"status", "written"}, {"path", general.html_path}};
  }
  if (!general.junit_path.empty()) {
    outputs["junit"] = {{"status", "written"}, {"path", general.junit_path}};
  }
  if (!general.textfile_dir.empty()) {
    const std::string plan = suite.details.value("plan", std::string("suite"));
    outputs["textfile"] = {
        {"status", "written"},
        {"path",
         (std::filesystem::path(general.textfile_dir) / ("preflight_" + plan + ".prom")).string()}};
  }
  if (!outputs.empty()) {
    suite.details["outputs"] = outputs;
  }
  if (!general.textfile_dir.empty()) {
    (void)reports::write_prometheus_textfile(suite, general.textfile_dir,
                                             suite.details.value("plan", std::string("suite")));
  }
  if (!general.junit_path.empty()) {
    write_file_atomic(general.junit_path, reports::render_junit(suite, nullptr));
  }
  if (!general.html_path.empty()) {
    write_file_atomic(general.html_path, reports::render_html(suite, nullptr));
  }
  if (!general.common.json_path.empty()) {
    reports::write_report(suite, general.common.json_path);
  }
  // The text summary goes to stdout unless an output already does (`--html -`, `--junit
  // /dev/stdout`): one document there, never a mix.
  const bool stdout_taken = writes_to_stdout(general.common.json_path) ||
                            writes_to_stdout(general.html_path) ||
                            writes_to_stdout(general.junit_path);
  if (!general.common.quiet && !stdout_taken) {
    std::cout << render_suite_text(suite) << std::flush;
  }
  return suite.verdict.exit_code;
}

}  // namespace preflight::cli
