// collectives_report_check REPORT [expectations]: reads a report with reports::read_report (JSON
// Schema validated) and checks what an integration test expects of it. Exit 0 when every
// expectation holds, 1 with one line per broken expectation, 2 on a bad command line.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "reports/report_io.hpp"

namespace {

using preflight::reports::Check;
using preflight::reports::Report;

bool status_in(preflight::Status status, const std::string& alternatives) {
  for (const auto part : preflight::split(alternatives, '|')) {
    if (preflight::to_string(status) == part) {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Checks a preflight collectives report for the integration tests");
  std::string path;
  std::string status;
  std::vector<std::string> has_checks;
  std::vector<std::string> lacks_checks;
  int rows = -1;
  int min_rows = -1;
  bool partial = false;
  int wrong_rank = -1;
  long long row_wrong = -2;
  long long wrong_total = -1;
  int row_ranks = -1;
  int dtypes = -1;
  int ops = -1;
  std::vector<std::string> row_labels;
  std::vector<std::string> details;
  app.add_option("report", path, "Report file")->required();
  app.add_option("--status", status, "Verdict status (alternatives with |)");
  app.add_option("--has-check", has_checks, "ID or ID:STATUS a check must match");
  app.add_option("--lacks-check", lacks_checks, "ID no check may have");
  app.add_option("--rows", rows, "Exact number of result rows");
  app.add_option("--min-rows", min_rows, "Minimum number of result rows");
  app.add_flag("--partial", partial, "The report is partial (run.finished_at empty)");
  app.add_option("--wrong-rank", wrong_rank, "A RESULT_WRONG check names this rank");
  app.add_option("--row-wrong", row_wrong, "Every row has exactly this many wrong elements");
  app.add_option("--wrong-total", wrong_total, "Wrong elements summed over the rows");
  app.add_option("--row-ranks", row_ranks, "Every row ran on this many ranks");
  app.add_option("--dtypes", dtypes, "Distinct data types among the rows");
  app.add_option("--ops", ops, "Distinct ops among the rows");
  app.add_option("--row-label", row_labels,
                 "Every row carries this label (a positive number when it ends in _s)");
  app.add_option("--detail", details,
                 "POINTER=VALUE: details at this JSON pointer is the string VALUE");
  CLI11_PARSE(app, argc, argv);

  Report report;
  try {
    report = preflight::reports::read_report(path);
  } catch (const std::exception& e) {
    std::cerr << "report_check: " << e.what() << "\n";
    return 1;
  }
  std::vector<std::string> problems;
  const auto expect = [&](bool condition, const std::string& what) {
    if (!condition) {
      problems.push_back(what);
    }
  };
  if (!status.empty()) {
    expect(status_in(report.verdict.status, status),
           "verdict is " + std::string(preflight::to_string(report.verdict.status)) +
               ", expected " + status + " (" + report.verdict.summary + ")");
    expect(report.verdict.exit_code == preflight::exit_code_for(report.verdict.status),
           "verdict exit code does not match its status");
  }
  for (const std::string& wanted : has_checks) {
    const auto colon = wanted.find(':');
    const std::string id = wanted.substr(0, colon);
    const bool found = std::any_of(report.checks.begin(), report.checks.end(), [&](const Check& c) {
      return c.id == id &&
             (colon == std::string::npos || status_in(c.status, wanted.substr(colon + 1)));
    });
    expect(found, "no check " + wanted);
  }
  for (const std::string& id : lacks_checks) {
    expect(std::none_of(report.checks.begin(), report.checks.end(),
                        [&](const Check& c) { return c.id == id; }),
           "unexpected check " + id);
  }
  const auto row_count = static_cast<int>(report.results.size());
  if (rows >= 0) {
    expect(row_count == rows,
           "rows: " + std::to_string(row_count) + ", expected " + std::to_string(rows));
  }
  if (min_rows >= 0) {
    expect(row_count >= min_rows, "rows: " + std::to_string(row_count) + ", expected at least " +
                                      std::to_string(min_rows));
  }
  if (partial) {
    expect(report.run.finished_at.empty(), "run.finished_at is set: not a partial report");
  }
  if (wrong_rank >= 0) {
    const bool named = std::any_of(report.checks.begin(), report.checks.end(), [&](const Check& c) {
      if (c.id != "RESULT_WRONG" || !c.evidence.contains("ranks")) {
        return false;
      }
      const auto& ranks = c.evidence["ranks"];
      return std::find(ranks.begin(), ranks.end(), wrong_rank) != ranks.end();
    });
    expect(named, "no RESULT_WRONG check names rank " + std::to_string(wrong_rank));
  }
  long long total = 0;
  std::set<std::string> seen_dtypes;
  std::set<std::string> seen_ops;
  for (const auto& row : report.results) {
    const std::string where = row.dtype + " " + row.op + " " + std::to_string(row.size_bytes) +
                              (row.in_place ? " in-place" : " out-of-place");
    if (row_wrong >= -1) {
      expect(row.wrong_elements == row_wrong, "row " + where + ": " +
                                                  std::to_string(row.wrong_elements) +
                                                  " wrong, expected " + std::to_string(row_wrong));
    }
    if (row_ranks >= 0) {
      expect(row.ranks == row_ranks, "row " + where + ": ranks " + std::to_string(row.ranks));
    }
    expect(row.time_s.n > 0 && row.time_s.min <= row.time_s.median &&
               row.time_s.median <= row.time_s.max,
           "row " + where + ": inconsistent time statistics");
    for (const std::string& label : row_labels) {
      const auto found = row.labels.find(label);
      if (found == row.labels.end()) {
        expect(false, "row " + where + ": no label " + label);
      } else if (label.ends_with("_s")) {
        expect(std::stod(found->second) > 0,
               "row " + where + ": " + label + " is " + found->second);
      }
    }
    total += std::max<long long>(row.wrong_elements, 0);
    seen_dtypes.insert(row.dtype);
    seen_ops.insert(row.op);
  }
  for (const std::string& detail : details) {
    const auto equals = detail.find('=');
    const nlohmann::json::json_pointer pointer(detail.substr(0, equals));
    const std::string wanted = equals == std::string::npos ? "" : detail.substr(equals + 1);
    const bool found = report.details.contains(pointer) && report.details[pointer].is_string() &&
                       report.details[pointer].get<std::string>() == wanted;
    expect(found, "details" + detail.substr(0, equals) + " is not \"" + wanted + "\"");
  }
  if (wrong_total >= 0) {
    expect(total == wrong_total, "wrong elements in total: " + std::to_string(total) +
                                     ", expected " + std::to_string(wrong_total));
  }
  if (dtypes >= 0) {
    expect(static_cast<int>(seen_dtypes.size()) == dtypes,
           "distinct dtypes: " + std::to_string(seen_dtypes.size()));
  }
  if (ops >= 0) {
    expect(static_cast<int>(seen_ops.size()) == ops,
           "distinct ops: " + std::to_string(seen_ops.size()));
  }
  for (const auto& problem : problems) {
    std::cerr << "report_check: " << path << ": " << problem << "\n";
  }
  return problems.empty() ? 0 : 1;
}
