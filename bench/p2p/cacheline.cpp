// Two threads pinned to vCPU 0 and 1 bounce one cache line; prints the one-way time in ns. About
// 50 ns when the vCPUs are "near", about 250 ns when "far" (docs/timing.md): run it before and
// after a comparison to know whether the machine changed state during it.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "common/timer.hpp"

namespace {

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

}  // namespace

int main() {
  constexpr int kRoundTrips = 2'000'000;
  alignas(64) std::atomic<int> turn{0};
  std::thread other([&] {
    pin(1);
    for (int i = 0; i < kRoundTrips; ++i) {
      while (turn.load(std::memory_order_acquire) != 1) {
      }
      turn.store(0, std::memory_order_release);
    }
  });
  pin(0);
  const preflight::Stopwatch watch;
  for (int i = 0; i < kRoundTrips; ++i) {
    turn.store(1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != 0) {
    }
  }
  const double elapsed_s = watch.elapsed_s();
  other.join();
  std::printf("cacheline_one_way_ns %.1f\n", elapsed_s / kRoundTrips / 2 * 1e9);
  return 0;
}
