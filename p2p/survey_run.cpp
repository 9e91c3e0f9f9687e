#include "p2p/survey_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/findings.hpp"
#include "p2p/judgement_report.hpp"
#include "p2p/survey.hpp"

namespace preflight::p2p {
namespace {

using nlohmann::json;
using reports::Check;
using reports::Report;
using reports::ResultRow;

// Beyond this many nodes the report lists measured links instead of a full N x N matrix.
constexpr int kMaxMatrixNodes = 128;

struct MetricPlan {
  SurveyMetric metric;
  TestKind test;
  std::uint64_t size_bytes;
};

std::vector<MetricPlan> survey_metrics(const P2pOptions& options) {
  std::vector<MetricPlan> metrics;
  const std::uint64_t smallest = options.sizes.front();
  const std::uint64_t largest = options.sizes.back();
  for (const TestKind test : options.tests) {
    switch (test) {
      case TestKind::latency:
        metrics.push_back({{"latency_s", Better::lower}, test, smallest});
        break;
      case TestKind::bw:
        metrics.push_back({{"bandwidth_Bps", Better::higher}, test, largest});
        break;
      case TestKind::bibw:
        metrics.push_back({{"bibw_Bps", Better::higher}, test, largest});
        break;
    }
  }
  return metrics;
}

double metric_value(const MetricPlan& plan, const ResultRow& row) {
  return plan.test == TestKind::latency ? row.time_s.median : row.algbw_Bps;
}

json matrix_json(const std::vector<std::string>& names, const MetricJudgement& judged) {
  const std::size_t n = names.size();
  json values = json::array();
  for (std::size_t i = 0; i < n; ++i) {
    values.push_back(json(std::vector<std::nullptr_t>(n, nullptr)));
  }
  for (const LinkEvidence& link : judged.links) {
    if (link.valid == 0) {
      continue;
    }
    values[static_cast<std::size_t>(link.pair.a)][static_cast<std::size_t>(link.pair.b)] =
        link.best;
    values[static_cast<std::size_t>(link.pair.b)][static_cast<std::size_t>(link.pair.a)] =
        link.best;
  }
  return values;
}

JudgementContext judgement_context(const RankContext& context, const NodeMap& map,
                                   const std::vector<MetricPlan>& plans) {
  JudgementContext judged;
  for (int node = 0; node < static_cast<int>(map.nodes.size()); ++node) {
    judged.node_names.push_back(display_node(context, map, node));
  }
  for (const MetricPlan& plan : plans) {
    judged.metrics.push_back({plan.metric, std::string(to_string(plan.test)), plan.size_bytes});
  }
  return judged;
}

json survey_details(const RankContext& context, const JudgementContext& judged,
                    const SurveyResult& survey) {
  const std::vector<std::string>& names = judged.node_names;
  const SurveyPolicy& policy = context.options.survey;
  json details{{"mode", survey.mode},
               {"nodes", names},
               {"initial_rounds", survey.initial_rounds},
               {"retest_rounds", survey.retest_rounds},
               {"rounds", survey.initial_rounds + survey.retest_rounds},
               {"max_rounds", policy.max_rounds},
               {"random_rounds", policy.random_rounds},
               {"max_retest_rounds", policy.retest ? policy.max_retest_rounds : 0},
               {"retest_budget_spent", survey.budget_spent},
               {"seed", policy.seed},
               {"value", "best of the link's valid measurements (noise only lowers a rate)"}};
  json matrices = json::object();
  for (const MetricJudgement& group : survey.judgement.metrics) {
    const auto plan =
        std::find_if(judged.metrics.begin(), judged.metrics.end(),
                     [&](const JudgedMetric& m) { return m.metric.name == group.metric; });
    json entry{{"size_bytes", plan->size_bytes},
               {"test", plan->test},
               {"better", to_string(group.better)},
               {"reference", group.reference},
               {"threshold", group.threshold}};
    if (static_cast<int>(names.size()) <= kMaxMatrixNodes) {
      entry["matrix"] = matrix_json(names, group);
    }
    json links = json::array();
    for (const LinkEvidence& link : group.links) {
      links.push_back(json{{"a", names[static_cast<std::size_t>(link.pair.a)]},
                           {"b", names[static_cast<std::size_t>(link.pair.b)]},
                           {"value", link.best},
                           {"measurements", link.measurements},
                           {"valid", link.valid},
                           {"slow", link.slow}});
    }
    entry["links"] = links;
    matrices[group.metric] = entry;
  }
  details["matrices"] = matrices;
  details["verdict"] = judgement_json(survey.judgement, judged);
  details["initial_verdict"] = judgement_json(survey.initial, judged);
  details["initial_verdict"].erase("evidence");
  details["measurements"] = measurements_json(survey.measurements, judged);
  return details;
}

// The pair tests of one planned round: the node leaders of its pairs.
std::vector<PairTask> round_tasks(const PlannedRound& round, const NodeMap& map) {
  std::vector<PairTask> tasks;
  for (std::size_t i = 0; i < round.pairs.size(); ++i) {
    const NodePair& pair = round.pairs[i];
    tasks.push_back({map.node_leader[static_cast<std::size_t>(pair.a)],
                     map.node_leader[static_cast<std::size_t>(pair.b)], pair.a, pair.b,
                     round.roles[i]});
  }
  return tasks;
}

// The re-tests measure only the sizes the verdict looks at.
std::vector<std::uint64_t> retest_sizes(const std::vector<MetricPlan>& plans) {
  std::vector<std::uint64_t> sizes;
  for (const MetricPlan& plan : plans) {
    if (std::find(sizes.begin(), sizes.end(), plan.size_bytes) == sizes.end()) {
      sizes.push_back(plan.size_bytes);
    }
  }
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

// The survey's measurements in a round's rows: one per (pair, metric, rail); a failed rail is a
// bandwidth of 0 (nothing arrived over it; latency has no value to give).
std::vector<Measurement> measurements_of(const std::vector<GatheredResult>& results,
                                         const std::vector<MetricPlan>& plans) {
  std::vector<Measurement> measurements;
  std::set<std::pair<NodePair, int>> failed_rails;
  for (const GatheredResult& result : results) {
    const NodePair pair = make_pair_of(result.task.initiator_node, result.task.responder_node);
    if (result.failed) {
      if (!failed_rails.insert({pair, result.rail}).second) {
        continue;
      }
      for (std::size_t m = 0; m < plans.size(); ++m) {
        if (plans[m].metric.better == Better::higher) {
          measurements.push_back({pair, m, 0.0, 0, MeasurementRole::survey, result.rail});
        }
      }
      continue;
    }
    for (std::size_t m = 0; m < plans.size(); ++m) {
      if (result.test == to_string(plans[m].test) && result.row.size_bytes == plans[m].size_bytes) {
        Measurement measurement;
        measurement.pair = pair;
        measurement.metric = m;
        measurement.value = metric_value(plans[m], result.row);
        measurement.rail = result.rail;
        measurements.push_back(measurement);
      }
    }
  }
  return measurements;
}

// The survey's verdict as findings, details.survey and the P2P_LINK_SURVEY summary.
void report_survey(RankContext& context, const NodeMap& map, const Session& session,
                   const std::vector<NodeFacts>& node_facts, const std::vector<MetricPlan>& plans,
                   const SurveyResult& survey) {
  const int node_count = static_cast<int>(map.nodes.size());
  JudgementContext judged = judgement_context(context, map, plans);
  if (session.rail_count() > 0) {
    for (const int leader : map.node_leader) {
      judged.rail_devices.push_back(
          session.rank_rail_domains().at(static_cast<std::size_t>(leader)));
    }
    std::vector<std::string> instance_types;
    for (const NodeFacts& facts : node_facts) {
      instance_types.push_back(facts.instance_type);
    }
    judged.nic_line_rates = nic_line_rates(instance_types, context.options.nic_rate_gbps);
    judged.min_line_rate_fraction = context.options.min_line_rate_fraction;
  }
  for (Check& check : judgement_checks(survey.judgement, judged)) {
    add_check(context, std::move(check));
  }
  const json details = survey_details(context, judged, survey);
  context.live.update([&](Report& report) { report.details["survey"] = details; });
  std::size_t links_measured = 0;
  for (const MetricJudgement& group : survey.judgement.metrics) {
    links_measured = std::max(links_measured, group.links.size());
  }
  add_check(context,
            reports::pass_check("P2P_LINK_SURVEY",
                                finding_message("P2P_LINK_SURVEY", node_count, links_measured,
                                                survey.initial_rounds + survey.retest_rounds,
                                                survey.mode, survey.retest_rounds),
                                json{{"nodes", node_count},
                                     {"initial_rounds", survey.initial_rounds},
                                     {"retest_rounds", survey.retest_rounds},
                                     {"measurements", survey.measurements.size()}}));
}

}  // namespace

void run_link_survey(RankContext& context, const NodeMap& map, Session& session,
                     const std::vector<NodeFacts>& node_facts, StepCounter& steps) {
  const P2pOptions& options = context.options;
  const std::vector<MetricPlan> plans = survey_metrics(options);
  std::vector<SurveyMetric> metrics;
  for (const MetricPlan& plan : plans) {
    metrics.push_back(plan.metric);
  }
  SurveyPolicy policy = options.survey;
  if (options.pattern == Pattern::ring) {
    policy.schedule = InitialSchedule::ring;
  }
  const int node_count = static_cast<int>(map.nodes.size());
  const std::size_t initial_steps = plan_initial_rounds(node_count, policy).rounds.size() *
                                    options.tests.size() * options.sizes.size();
  const MeasureRound measure = [&](const PlannedRound& round, int index) {
    const std::vector<PairTask> tasks = round_tasks(round, map);
    std::vector<std::uint64_t> sizes = options.sizes;
    steps.total = initial_steps;
    if (round.phase == SurveyPhase::retest) {
      sizes = retest_sizes(plans);
      steps.total = steps.done + options.tests.size() * sizes.size();
    }
    const std::string phase = fmt::format("{} round {}", to_string(round.phase), index + 1);
    std::vector<std::vector<int>> task_rails;
    for (std::size_t i = 0; i < round.pairs.size(); ++i) {
      task_rails.push_back(round.rails_of(i));
    }
    const auto results =
        session.rail_count() > 0
            ? run_rail_round(context, map, session, tasks, task_rails, options.tests, sizes, phase,
                             steps)
            : run_round(context, map, session, tasks, options.tests, sizes, phase, steps);
    return measurements_of(results, plans);
  };
  const SurveyResult survey = run_survey(node_count, metrics, policy, measure);
  report_survey(context, map, session, node_facts, plans, survey);
}

}  // namespace preflight::p2p
