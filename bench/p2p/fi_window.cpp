// A minimal windowed libfabric loop, the reference preflight-p2p --test bw is compared with:
// rank 0 posts WINDOW fi_tsend of SIZE bytes, waits for their completions and a 1-byte ack;
// rank 1 posts WINDOW fi_trecv, waits, and sends the ack (fi_tinject). One RDM endpoint per rank
// with one CQ; MPI only exchanges the endpoint names. Prints the bandwidth over all windows (total
// time) and from the median window time (one timestamp per window, as preflight-p2p takes them).
//   mpirun -np 2 p2p_fi_window PROVIDER SIZE WINDOWS [WINDOW] [DOMAIN]
// 10% of the windows (at least 5) run first as an untimed warm-up.
#include <mpi.h>
#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/fabric.hpp"
#include "common/timer.hpp"

namespace {

using preflight::check_fi;
using preflight::FabricHandle;
using preflight::FabricInfo;

constexpr std::uint64_t kDataTag = 1;
constexpr std::uint64_t kAckTag = 2;

struct Endpoint {
  FabricInfo info;
  FabricHandle<fid_fabric> fabric;
  FabricHandle<fid_domain> domain;
  FabricHandle<fid_cq> cq;
  FabricHandle<fid_av> av;
  FabricHandle<fid_ep> ep;
  FabricHandle<fid_mr> mr;
};

// Reads completions until `count` more have arrived.
void wait_completions(fid_cq* cq, std::size_t count) {
  fi_cq_tagged_entry entries[16];
  while (count > 0) {
    const ssize_t got = fi_cq_read(cq, entries, std::min<std::size_t>(count, 16));
    if (got > 0) {
      count -= static_cast<std::size_t>(got);
    } else if (got != -FI_EAGAIN) {
      fi_cq_err_entry error{};
      fi_cq_readerr(cq, &error, 0);
      check_fi(got == -FI_EAVAIL ? -error.err : got, "fi_cq_read", "window");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s PROVIDER SIZE WINDOWS [WINDOW] [DOMAIN]\n", argv[0]);
    MPI_Finalize();
    return 2;
  }
  const std::string provider = argv[1];
  const auto size = static_cast<std::size_t>(std::strtoull(argv[2], nullptr, 10));
  const int windows = static_cast<int>(std::strtol(argv[3], nullptr, 10));
  const int window = argc > 4 ? static_cast<int>(std::strtol(argv[4], nullptr, 10)) : 64;
  const int warmup = std::max(5, windows / 10);

  Endpoint e;
  FabricInfo hints(fi_allocinfo());
  hints.get()->ep_attr->type = FI_EP_RDM;
  hints.get()->caps = FI_TAGGED;
  hints.get()->mode = FI_CONTEXT | FI_CONTEXT2;
  hints.get()->domain_attr->mr_mode =
      FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
  hints.get()->fabric_attr->prov_name = strdup(provider.c_str());
  if (argc > 5) {
    hints.get()->domain_attr->name = strdup(argv[5]);
  }
  fi_info* found = nullptr;
  check_fi(fi_getinfo(FI_VERSION(1, 9), nullptr, nullptr, 0, hints.get(), &found), "fi_getinfo",
           provider);
  e.info = FabricInfo(found);
  check_fi(fi_fabric(found->fabric_attr, e.fabric.out(), nullptr), "fi_fabric", "");
  e.fabric.adopt();
  check_fi(fi_domain(e.fabric.get(), found, e.domain.out(), nullptr), "fi_domain", "");
  e.domain.adopt();
  fi_cq_attr cq_attr{};
  cq_attr.format = FI_CQ_FORMAT_TAGGED;
  check_fi(fi_cq_open(e.domain.get(), &cq_attr, e.cq.out(), nullptr), "fi_cq_open", "");
  e.cq.adopt();
  fi_av_attr av_attr{};
  av_attr.type = FI_AV_TABLE;
  check_fi(fi_av_open(e.domain.get(), &av_attr, e.av.out(), nullptr), "fi_av_open", "");
  e.av.adopt();
  check_fi(fi_endpoint(e.domain.get(), found, e.ep.out(), nullptr), "fi_endpoint", "");
  e.ep.adopt();
  check_fi(fi_ep_bind(e.ep.get(), &e.av.get()->fid, 0), "fi_ep_bind", "av");
  check_fi(fi_ep_bind(e.ep.get(), &e.cq.get()->fid, FI_TRANSMIT | FI_RECV), "fi_ep_bind", "cq");
  check_fi(fi_enable(e.ep.get()), "fi_enable", "");

  std::vector<char> buffer(size + 64, 'x');
  // The same access as preflight-p2p's buffers: layered providers (tcp;ofi_rxm) pick their
  // large-message protocol from what the descriptor allows.
  check_fi(fi_mr_reg(e.domain.get(), buffer.data(), buffer.size(),
                     FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE, 0,
                     1, 0, e.mr.out(), nullptr),
           "fi_mr_reg", "");
  e.mr.adopt();
  if ((found->domain_attr->mr_mode & FI_MR_ENDPOINT) != 0) {
    check_fi(fi_mr_bind(e.mr.get(), &e.ep.get()->fid, 0), "fi_mr_bind", "");
    check_fi(fi_mr_enable(e.mr.get()), "fi_mr_enable", "");
  }
  void* desc = fi_mr_desc(e.mr.get());
  char* ack = buffer.data() + size;

  char name[256];
  std::size_t name_length = sizeof(name);
  check_fi(fi_getname(&e.ep.get()->fid, name, &name_length), "fi_getname", "");
  std::vector<char> names(2 * sizeof(name));
  MPI_Allgather(name, sizeof(name), MPI_BYTE, names.data(), sizeof(name), MPI_BYTE, MPI_COMM_WORLD);
  fi_addr_t peer = FI_ADDR_UNSPEC;
  if (fi_av_insert(e.av.get(), names.data() + (1 - rank) * sizeof(name), 1, &peer, 0, nullptr) !=
      1) {
    std::fprintf(stderr, "fi_av_insert failed\n");
    MPI_Abort(MPI_COMM_WORLD, 4);
  }
  std::vector<fi_context2> contexts(static_cast<std::size_t>(window) + 1);
  MPI_Barrier(MPI_COMM_WORLD);

  std::vector<preflight::MonotonicClock::time_point> stamps(static_cast<std::size_t>(windows) + 1);
  for (int w = -warmup; w < windows; ++w) {
    if (w == 0) {
      stamps[0] = preflight::MonotonicClock::now();
    }
    if (rank == 0) {
      ssize_t posted = 0;
      while ((posted = fi_trecv(e.ep.get(), ack, 1, desc, FI_ADDR_UNSPEC, kAckTag, 0,
                                &contexts[static_cast<std::size_t>(window)])) == -FI_EAGAIN) {
      }
      check_fi(posted, "fi_trecv", "ack");
      for (int i = 0; i < window; ++i) {
        ssize_t result = 0;
        while ((result = fi_tsend(e.ep.get(), buffer.data(), size, desc, peer, kDataTag,
                                  &contexts[static_cast<std::size_t>(i)])) == -FI_EAGAIN) {
          fi_cq_tagged_entry unused;
          (void)fi_cq_read(e.cq.get(), &unused, 0);
        }
        check_fi(result, "fi_tsend", "data");
      }
      wait_completions(e.cq.get(), static_cast<std::size_t>(window) + 1);
    } else {
      for (int i = 0; i < window; ++i) {
        ssize_t result = 0;
        while ((result = fi_trecv(e.ep.get(), buffer.data(), size, desc, FI_ADDR_UNSPEC, kDataTag,
                                  0, &contexts[static_cast<std::size_t>(i)])) == -FI_EAGAIN) {
        }
        check_fi(result, "fi_trecv", "data");
      }
      wait_completions(e.cq.get(), static_cast<std::size_t>(window));
      ssize_t result = 0;
      while ((result = fi_tinject(e.ep.get(), ack, 1, peer, kAckTag)) == -FI_EAGAIN) {
        fi_cq_tagged_entry unused;
        (void)fi_cq_read(e.cq.get(), &unused, 0);
      }
      check_fi(result, "fi_tinject", "ack");
    }
    if (w >= 0) {
      stamps[static_cast<std::size_t>(w) + 1] = preflight::MonotonicClock::now();
    }
  }
  if (rank == 0) {
    std::vector<double> window_s(static_cast<std::size_t>(windows));
    for (std::size_t i = 0; i < window_s.size(); ++i) {
      window_s[i] = preflight::seconds_between(stamps[i], stamps[i + 1]);
    }
    const double total_s = preflight::seconds_between(stamps.front(), stamps.back());
    std::nth_element(window_s.begin(), window_s.begin() + windows / 2, window_s.end());
    const double bytes = static_cast<double>(size) * window;
    std::printf("fi_window provider %s size %zu windows %d window %d GBps %.4f GBps_median %.4f\n",
                found->fabric_attr->prov_name, size, windows, window,
                bytes * windows / total_s / 1e9,
                bytes / window_s[static_cast<std::size_t>(windows / 2)] / 1e9);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
