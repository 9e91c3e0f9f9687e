// The body of every collective binary: parse the options, start MPI when a launcher started this
// process (a plain single-process start never initialises MPI), pick the backend, run, render the
// text (rank 0), write the JSON report (rank 0) and return the verdict's exit code (every rank).
#pragma once

#include "domain/collective.hpp"

namespace preflight::collectives {

[[nodiscard]] int collective_main(CollectiveKind kind, int argc, char** argv);

}  // namespace preflight::collectives
