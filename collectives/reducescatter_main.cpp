// preflight-reducescatter: see collectives/main.hpp.
#include "collectives/main.hpp"

int main(int argc, char** argv) {
  return preflight::collectives::collective_main(preflight::CollectiveKind::reduce_scatter, argc,
                                                 argv);
}
