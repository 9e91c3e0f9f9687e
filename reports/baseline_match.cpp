#include "reports/baseline_match.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <system_error>

#include "common/error.hpp"
#include "common/text.hpp"

namespace preflight::reports {

BaselineLibrary load_baselines(const std::vector<std::filesystem::path>& paths,
                               bool missing_is_error) {
  BaselineLibrary library;
  const auto add = [&](const std::filesystem::path& file) {
    try {
      library.files.push_back({file, read_baseline(file)});
    } catch (const UsageError& e) {
      library.problems.emplace_back(e.what());
    }
  };
  for (const auto& path : paths) {
    library.searched.push_back(path.string());
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
        if (entry.path().extension() == ".json" && entry.is_regular_file(error)) {
          files.push_back(entry.path());
        }
      }
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        add(file);
      }
    } else if (std::filesystem::exists(path, error)) {
      add(path);
    } else if (missing_is_error) {
      library.problems.push_back(fmt::format("{}: no such file or directory", path.string()));
    }
  }
  return library;
}

std::string RunKey::describe() const {
  return fmt::format("{}/{} on {}{}", benchmark, backend.empty() ? "?" : backend,
                     nodes > 0 ? fmt::format("{}x ", nodes) : std::string("?x "),
                     instance_type.empty() ? "an unknown instance type" : instance_type);
}

std::vector<RunKey> run_keys(const Report& report) {
  const RunShape shape = run_shape(report);
  std::vector<RunKey> keys;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& row : report.results) {
    if (seen.insert({row.benchmark, row.backend}).second) {
      keys.push_back({shape.instance_type, shape.nodes, row.benchmark, row.backend});
    }
  }
  return keys;
}

bool baseline_matches(const BaselineMatch& match, const RunKey& key) {
  return (match.instance_type.empty() || match.instance_type == key.instance_type) &&
         (match.nodes <= 0 || match.nodes == key.nodes) && match.benchmark == key.benchmark &&
         (match.backend.empty() || match.backend == key.backend);
}

BaselineMatching compare_with_matching_baselines(const Report& report,
                                                 const BaselineLibrary& library,
                                                 std::string_view origin) {
  BaselineMatching matching;
  for (const RunKey& key : run_keys(report)) {
    std::vector<std::string> refused;
    bool compared = false;
    for (const auto& file : library.files) {
      if (!baseline_matches(file.baseline.match, key)) {
        continue;
      }
      try {
        matching.compared.push_back(
            {file.path, compare_to_baseline(report, file.baseline, origin)});
        compared = true;
        break;
      } catch (const UsageError& e) {
        // Matched on the four keys but differs in what else it pins (ranks per node, dtype, ...).
        refused.push_back(fmt::format("{}: {}", file.path.filename().string(), e.what()));
      }
    }
    if (compared) {
      continue;
    }
    matching.unmatched_keys.push_back(key);
    if (!refused.empty()) {
      matching.unmatched.push_back(fmt::format("{}: matching baselines are not comparable: {}",
                                               key.describe(), join(refused, "; ")));
    } else {
      matching.unmatched.push_back(fmt::format("{}: no baseline matches", key.describe()));
    }
  }
  return matching;
}

}  // namespace preflight::reports
