// preflight-alltoall: see collectives/main.hpp.
#include "collectives/main.hpp"

int main(int argc, char** argv) {
  return preflight::collectives::collective_main(preflight::CollectiveKind::alltoall, argc, argv);
}
