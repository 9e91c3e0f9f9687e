// A minimal MPI loop, the reference preflight-p2p --transport mpi is compared with (2 ranks):
//   p2p_mpi_loop latency SIZE ITERATIONS   MPI_Send/MPI_Recv ping-pong; one reading of the sample
//                                          clock (preflight's: the TSC where invariant) per round
//                                          trip; prints the median and the mean one-way time, then
//                                          the batched mean of as many round trips timed as one
//                                          (osu_latency's figure: no reading in between)
//   p2p_mpi_loop bw SIZE WINDOWS [WINDOW]  MPI_Isend x WINDOW, MPI_Waitall, 1-byte ack (osu_bw's
//                                          loop); prints the bandwidth over all windows and from
//                                          the median window time
// 10% of the iterations (at least 10) run first as an untimed warm-up.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/timer.hpp"

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc < 4) {
    if (rank == 0) {
      std::fprintf(stderr, "usage: %s latency|bw SIZE ITERATIONS [WINDOW]\n", argv[0]);
    }
    MPI_Finalize();
    return 2;
  }
  const std::string mode = argv[1];
  const auto size = static_cast<int>(std::strtol(argv[2], nullptr, 10));
  const auto iterations = static_cast<int>(std::strtol(argv[3], nullptr, 10));
  const int window = argc > 4 ? static_cast<int>(std::strtol(argv[4], nullptr, 10)) : 64;
  const int warmup = std::max(10, iterations / 10);
  const int peer = 1 - rank;
  std::vector<char> send(static_cast<std::size_t>(std::max(size, 1)), 'a');
  std::vector<char> recv(send.size());
  char ack = 0;

  if (mode == "latency") {
    const preflight::SampleClock& clock = preflight::process_sample_clock();
    const auto round_trip = [&] {
      if (rank == 0) {
        MPI_Send(send.data(), size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
        MPI_Recv(recv.data(), size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(recv.data(), size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(send.data(), size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
      }
    };
    for (int i = 0; i < warmup; ++i) {
      round_trip();
    }
    std::vector<preflight::SampleClock::Ticks> stamps(static_cast<std::size_t>(iterations) + 1);
    stamps[0] = clock.now();
    for (int i = 0; i < iterations; ++i) {
      round_trip();
      stamps[static_cast<std::size_t>(i) + 1] = clock.now();
    }
    const auto batch_start = clock.now();
    for (int i = 0; i < iterations; ++i) {
      round_trip();
    }
    const double batch_mean = clock.seconds(batch_start, clock.now()) / iterations / 2;
    if (rank == 0) {
      std::vector<double> one_way(static_cast<std::size_t>(iterations));
      for (std::size_t i = 0; i < one_way.size(); ++i) {
        one_way[i] = clock.seconds(stamps[i], stamps[i + 1]) / 2;
      }
      const double mean = clock.seconds(stamps.front(), stamps.back()) / iterations / 2;
      std::nth_element(one_way.begin(), one_way.begin() + iterations / 2, one_way.end());
      std::printf(
          "mpi_latency size %d iterations %d median_us %.4f mean_us %.4f batch_mean_us %.4f "
          "clock %s\n",
          size, iterations, one_way[static_cast<std::size_t>(iterations / 2)] * 1e6, mean * 1e6,
          batch_mean * 1e6, std::string(preflight::to_string(clock.source())).c_str());
    }
  } else {
    std::vector<MPI_Request> requests(static_cast<std::size_t>(window));
    std::vector<preflight::MonotonicClock::time_point> stamps(static_cast<std::size_t>(iterations) +
                                                              1);
    for (int i = -warmup; i < iterations; ++i) {
      if (i == 0) {
        stamps[0] = preflight::MonotonicClock::now();
      }
      if (rank == 0) {
        for (auto& request : requests) {
          MPI_Isend(send.data(), size, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &request);
        }
        MPI_Waitall(window, requests.data(), MPI_STATUSES_IGNORE);
        MPI_Recv(&ack, 1, MPI_BYTE, peer, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        for (auto& request : requests) {
          MPI_Irecv(recv.data(), size, MPI_BYTE, peer, 2, MPI_COMM_WORLD, &request);
        }
        MPI_Waitall(window, requests.data(), MPI_STATUSES_IGNORE);
        MPI_Send(&ack, 1, MPI_BYTE, peer, 3, MPI_COMM_WORLD);
      }
      if (i >= 0) {
        stamps[static_cast<std::size_t>(i) + 1] = preflight::MonotonicClock::now();
      }
    }
    if (rank == 0) {
      std::vector<double> window_s(static_cast<std::size_t>(iterations));
      for (std::size_t i = 0; i < window_s.size(); ++i) {
        window_s[i] = preflight::seconds_between(stamps[i], stamps[i + 1]);
      }
      const double total_s = preflight::seconds_between(stamps.front(), stamps.back());
      std::nth_element(window_s.begin(), window_s.begin() + iterations / 2, window_s.end());
      const double bytes = static_cast<double>(size) * window;
      std::printf("mpi_bw size %d windows %d window %d GBps %.4f GBps_median %.4f\n", size,
                  iterations, window, bytes * iterations / total_s / 1e9,
                  bytes / window_s[static_cast<std::size_t>(iterations / 2)] / 1e9);
    }
  }
  MPI_Finalize();
  return 0;
}
