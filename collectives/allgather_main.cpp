// preflight-allgather: see collectives/main.hpp.
#include "collectives/main.hpp"

int main(int argc, char** argv) {
  return preflight::collectives::collective_main(preflight::CollectiveKind::all_gather, argc, argv);
}
