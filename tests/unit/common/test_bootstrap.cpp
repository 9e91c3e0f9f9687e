#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "common/bootstrap.hpp"

namespace preflight {
namespace {

TEST(Bootstrap, Single) {
  auto bootstrap = make_single_bootstrap();
  EXPECT_EQ(bootstrap->rank(), 0);
  EXPECT_EQ(bootstrap->size(), 1);
  bootstrap->barrier();
  EXPECT_EQ(bootstrap->allgather_strings("x"), std::vector<std::string>{"x"});
  int value = 7;
  bootstrap->broadcast_value(value, 0);
  EXPECT_EQ(value, 7);
}

TEST(Bootstrap, ThreadGroupExchangesVariableSizes) {
  constexpr int kRanks = 3;
  auto group = make_thread_group_bootstraps(kRanks);
  std::vector<std::vector<std::string>> gathered(kRanks);
  std::vector<int> broadcast(kRanks);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < kRanks; ++rank) {
    threads.emplace_back([&, rank] {
      auto& bootstrap = *group[static_cast<std::size_t>(rank)];
      EXPECT_EQ(bootstrap.rank(), rank);
      EXPECT_EQ(bootstrap.size(), kRanks);
      // Repeated rounds prove the rendezvous is reusable.
      for (int round = 0; round < 50; ++round) {
        bootstrap.barrier();
        gathered[static_cast<std::size_t>(rank)] =
            bootstrap.allgather_strings(std::string(static_cast<std::size_t>(rank) + 1, 'a'));
        int value = rank == 1 ? 1000 + round : -1;
        bootstrap.broadcast_value(value, 1);
        broadcast[static_cast<std::size_t>(rank)] = value;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  for (int rank = 0; rank < kRanks; ++rank) {
    EXPECT_EQ(gathered[static_cast<std::size_t>(rank)],
              (std::vector<std::string>{"a", "aa", "aaa"}));
    EXPECT_EQ(broadcast[static_cast<std::size_t>(rank)], 1049);
  }
}

TEST(Bootstrap, AllgatherValue) {
  auto group = make_thread_group_bootstraps(2);
  std::vector<double> seen0;
  std::vector<double> seen1;
  std::thread other([&] { seen1 = group[1]->allgather_value(2.5); });
  seen0 = group[0]->allgather_value(1.5);
  other.join();
  EXPECT_EQ(seen0, (std::vector<double>{1.5, 2.5}));
  EXPECT_EQ(seen1, seen0);
}

}  // namespace
}  // namespace preflight
