// --pattern all-pairs / ring: the link survey of preflight-p2p as rounds of pair tests
// (p2p/pair_rounds.hpp), planned, re-tested and judged by p2p/survey.hpp, and its findings and
// details in the report.
#pragma once

#include "p2p/node_facts.hpp"
#include "p2p/pair_rounds.hpp"
#include "p2p/run_context.hpp"
#include "p2p/sessions.hpp"

namespace preflight::p2p {

// Runs the survey over the node leaders and adds its findings, details.survey and
// P2P_LINK_SURVEY to the report.
// `node_facts` (per node): the instance types whose NICs' line rate the rails' aggregates are
// judged against.
void run_link_survey(RankContext& context, const NodeMap& map, Session& session,
                     const std::vector<NodeFacts>& node_facts, StepCounter& steps);

}  // namespace preflight::p2p
