// The progress side channel (common/progress_channel.hpp) between thread ranks of one process over
// 127.0.0.1: rank 0 sees every rank's position, tells a silent rank whose host still answers
// (stopped) from one that closed without a goodbye (exited) and from a straggler, and a rank that
// ends says goodbye. The launch-world checks (common/launch_world.hpp) and JobEnding are here too.
// Unreachable hosts need a network that can be cut: the virtual-cluster test (cli.vcluster_hang_*)
// covers them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "common/bootstrap.hpp"
#include "common/error.hpp"
#include "common/job_end.hpp"
#include "common/launch_world.hpp"
#include "common/progress_channel.hpp"
#include "common/raii.hpp"
#include "common/text.hpp"

namespace preflight {
namespace {

constexpr ProgressChannelOptions kFast{.interval_s = 0.05, .silence_s = 0.4};

// Opens a channel on each of `count` thread ranks; rank i's channel in channels[i].
std::vector<std::unique_ptr<ProgressChannel>> open_channels(int count,
                                                            ProgressChannelOptions options) {
  auto bootstraps = make_thread_group_bootstraps(count);
  std::vector<std::unique_ptr<ProgressChannel>> channels(static_cast<std::size_t>(count));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < count; ++rank) {
    threads.emplace_back([&, rank] {
      channels[static_cast<std::size_t>(rank)] =
          ProgressChannel::open(*bootstraps[static_cast<std::size_t>(rank)], options);
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  return channels;
}

template <typename Predicate>
bool eventually(Predicate predicate, double seconds = 5) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return predicate();
}

RankProgress rank_of(const ProgressChannel& hub, int rank) {
  return hub.snapshot().at(static_cast<std::size_t>(rank));
}

TEST(ProgressChannel, RankZeroSeesEveryRanksPosition) {
  auto channels = open_channels(3, kFast);
  channels[1]->set_phase("all_reduce 8 B: timing", 4);
  channels[1]->set_iteration(37);
  channels[2]->set_phase("all_reduce 8 B: timing", 4);
  channels[2]->set_iteration(37);
  channels[0]->set_phase("all_reduce 8 B: timing", 4);
  channels[0]->set_iteration(37);
  ASSERT_TRUE(eventually([&] { return rank_of(*channels[0], 1).position.iteration == 37; }));
  const auto ranks = channels[0]->snapshot();
  ASSERT_EQ(ranks.size(), 3U);
  for (const RankProgress& rank : ranks) {
    EXPECT_EQ(rank.state, RankState::running) << rank.rank;
    EXPECT_EQ(rank.host, host_name());
    EXPECT_EQ(rank.pid, ::getpid());
  }
  EXPECT_EQ(ranks[1].position.phase, "all_reduce 8 B: timing");
  EXPECT_EQ(ranks[1].position.step, 4);
  EXPECT_TRUE(ranks_not_progressing(ranks).empty());
  EXPECT_TRUE(channels[1]->snapshot().empty()) << "only rank 0 has the view";
  EXPECT_FALSE(channels[0]->some_rank_unreachable());
}

TEST(ProgressChannel, AStragglerIsTheRankTheOthersWaitFor) {
  ProgressChannelOptions options = kFast;
  options.comparable_positions = true;
  auto channels = open_channels(3, options);
  for (auto& channel : channels) {
    channel->set_phase("timing", 2);
    channel->set_iteration(10);
  }
  channels[2]->set_iteration(9);
  ASSERT_TRUE(eventually([&] {
    return rank_of(*channels[0], 1).position.iteration == 10 &&
           rank_of(*channels[0], 2).position.iteration == 9;
  }));
  EXPECT_EQ(rank_of(*channels[0], 2).state, RankState::behind);
  EXPECT_EQ(rank_of(*channels[0], 1).state, RankState::running);
  const auto named = ranks_not_progressing(channels[0]->snapshot());
  ASSERT_EQ(named.size(), 1U);
  EXPECT_EQ(named[0].rank, 2);
  EXPECT_NE(describe(named[0]).find("rank 2 ("), std::string::npos);
  EXPECT_NE(describe(named[0]).find("behind the others at 'timing', step 2, iteration 9"),
            std::string::npos)
      << describe(named[0]);
}

TEST(ProgressChannel, ARankThatEndsSaysGoodbye) {
  auto channels = open_channels(2, kFast);
  // Heard from (a rank not heard from yet also reads silent for a moment after the start).
  channels[1]->set_phase("teardown", 2);
  ASSERT_TRUE(eventually([&] { return rank_of(*channels[0], 1).position.phase == "teardown"; }));
  channels[1].reset();
  ASSERT_TRUE(eventually([&] { return rank_of(*channels[0], 1).state == RankState::finished; }));
  EXPECT_TRUE(ranks_not_progressing(channels[0]->snapshot()).empty());
}

// A rank taken by hand: it joins the bootstrap as a rank would, connects to rank 0 and then does
// what the test says (stays silent, or closes without a goodbye).
class HandRank {
 public:
  explicit HandRank(Bootstrap& bootstrap) {
    const auto all =
        bootstrap.allgather_strings(host_name() + "\n" + std::to_string(::getpid()) + "\n");
    const std::string& hub = all.at(0);
    const auto lines = split_lines(hub);
    token_ = std::string(lines.at(2));
    const int port = std::stoi(std::string(lines.at(3)));
    socket_ = FileDescriptor(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(socket_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    send("H" + token_ + "\n" + std::to_string(bootstrap.rank()));
    send("P3\n12\nwaiting in all_reduce");
  }
  void close_without_goodbye() { socket_ = FileDescriptor(); }

 private:
  void send(const std::string& payload) {
    const auto length = static_cast<std::uint32_t>(payload.size());
    std::string frame(sizeof(length), '\0');
    std::memcpy(frame.data(), &length, sizeof(length));
    frame += payload;
    ASSERT_EQ(::send(socket_.get(), frame.data(), frame.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(frame.size()));
  }

  std::string token_;
  FileDescriptor socket_;
};

TEST(ProgressChannel, ASilentRankWhoseHostAnswersIsStoppedAndAClosedOneExited) {
  auto bootstraps = make_thread_group_bootstraps(3);
  std::unique_ptr<ProgressChannel> hub;
  std::unique_ptr<HandRank> silent;
  std::unique_ptr<HandRank> killed;
  {
    std::jthread rank0([&] { hub = ProgressChannel::open(*bootstraps[0], kFast); });
    std::jthread rank1([&] { silent = std::make_unique<HandRank>(*bootstraps[1]); });
    std::jthread rank2([&] { killed = std::make_unique<HandRank>(*bootstraps[2]); });
  }
  ASSERT_TRUE(eventually([&] { return rank_of(*hub, 2).position.iteration == 12; }));
  killed->close_without_goodbye();
  ASSERT_TRUE(eventually([&] {
    return rank_of(*hub, 1).state == RankState::stopped &&
           rank_of(*hub, 2).state == RankState::exited;
  }));
  const auto named = ranks_not_progressing(hub->snapshot());
  ASSERT_EQ(named.size(), 2U);
  EXPECT_NE(describe(named[0]).find("stopped: silent"), std::string::npos) << describe(named[0]);
  EXPECT_NE(describe(named[0]).find("at 'waiting in all_reduce', step 3, iteration 12"),
            std::string::npos)
      << describe(named[0]);
  EXPECT_NE(describe(named[1]).find("exited"), std::string::npos);
  const auto json = to_json(named);
  EXPECT_EQ(json.at(0).at("state"), "stopped");
  EXPECT_EQ(json.at(0).at("pid"), ::getpid());
  EXPECT_FALSE(to_json(named, true).at(0).contains("host"));
  EXPECT_FALSE(hub->some_rank_unreachable()) << "a stopped rank's host still answers";
}

TEST(ProgressChannel, ARankThatNeverReportsIsNamedUnknown) {
  auto bootstraps = make_thread_group_bootstraps(2);
  std::unique_ptr<ProgressChannel> hub;
  {
    std::jthread rank0([&] { hub = ProgressChannel::open(*bootstraps[0], kFast); });
    std::jthread rank1([&] {
      (void)bootstraps[1]->allgather_strings(host_name() + "\n1\n");  // joins, never connects
    });
  }
  ASSERT_TRUE(eventually([&] { return rank_of(*hub, 1).state == RankState::unknown; }));
  EXPECT_NE(describe(rank_of(*hub, 1)).find("never reported"), std::string::npos);
}

TEST(ProgressChannel, AJobOfOneRankReportsNothing) {
  const auto single = make_single_bootstrap();
  const auto channel = ProgressChannel::open(*single, kFast);
  channel->set_phase("init", -1);
  EXPECT_TRUE(channel->snapshot().empty());
  EXPECT_FALSE(channel->some_rank_unreachable());
}

TEST(JobEnding, OnlyTheFirstWritesTheReport) {
  JobEnding ending;
  EXPECT_TRUE(ending.begin(124));
  EXPECT_FALSE(ending.begin(4));
  EXPECT_TRUE(ending.started());
  ending.report_written();
  EXPECT_EXIT(ending.leave_after_first(), ::testing::ExitedWithCode(124), "");
}

TEST(ProgressChannel, OtherRanksLearnThatRankZeroIsGone) {
  auto channels = open_channels(3, kFast);
  // Heard from rank 0 (its status every interval) and not gone while it runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(channels[1]->rank0_gone());
  EXPECT_FALSE(channels[0]->rank0_gone());
  channels[0].reset();  // rank 0 exits: its connections close
  EXPECT_TRUE(eventually([&] { return channels[1]->rank0_gone() && channels[2]->rank0_gone(); }));
}

// end_job ends the process: each case runs in a death-test child. The stand-in abort_job exits
// 100 + the code when the job is ended at the moment the case expects, 99 otherwise.
std::function<void(int)> abort_between(double earliest_s, double latest_s) {
  const auto started = std::chrono::steady_clock::now();
  return [=](int code) {
    const double elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::_Exit(elapsed_s >= earliest_s && elapsed_s <= latest_s ? 100 + code : 99);
  };
}

TEST(JobEnd, TheRankThatWritesTheReportEndsTheJobAtOnce) {
  EXPECT_EXIT(end_job(4, nullptr, true, abort_between(0, 2), {.writer_wait_s = 30}),
              ::testing::ExitedWithCode(104), "");
}

TEST(JobEnd, WithoutALauncherARankLeavesWithItsCode) {
  EXPECT_EXIT(end_job(124, nullptr, false, {}), ::testing::ExitedWithCode(124), "");
}

TEST(JobEnd, AnotherRankWaitsForTheWriterAndEndsTheJobOnlyWhenTheWaitIsOver) {
  // The writer never ends the job here: the other rank does, after its whole wait, not before
  // (leaving early is what let Open MPI kill rank 0 in the middle of its report).
  EXPECT_EXIT(end_job(4, nullptr, false, abort_between(0.5, 5), {.writer_wait_s = 0.5}),
              ::testing::ExitedWithCode(104), "");
}

TEST(JobEnd, AnotherRankEndsTheJobAtOnceWhenRankZeroIsGone) {
  auto channels = open_channels(2, kFast);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  channels[0].reset();
  ASSERT_TRUE(eventually([&] { return channels[1]->rank0_gone(); }));
  EXPECT_EXIT(end_job(124, channels[1].get(), false, abort_between(0, 2), {.writer_wait_s = 30}),
              ::testing::ExitedWithCode(224), "");
}

LaunchRequest request_from(std::map<std::string, std::string> variables) {
  return read_launch_request([variables = std::move(variables)](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  });
}

TEST(LaunchWorld, SrunWithoutPmiIsRefusedBeforeMpiInit) {
  const auto request =
      request_from({{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "4"}, {"SLURM_MPI_TYPE", "none"}});
  EXPECT_EQ(request.launcher, "srun");
  EXPECT_EQ(request.ranks, 4);
  EXPECT_TRUE(launched_as_rank(request));
  EXPECT_FALSE(reports_for_the_launch(request)) << "task 1 is not the launcher's rank 0";
  const auto problem = launch_problem_before_init(request, PmiNeeds::pmix);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("srun --mpi=pmix"), std::string::npos) << *problem;
  EXPECT_NE(problem->find("SLURM_NTASKS=4"), std::string::npos) << *problem;
  EXPECT_FALSE(launch_problem_before_init(request, PmiNeeds::nothing).has_value())
      << "MPICH can use Slurm's PMI-1 library: judged after MPI_Init";
  // PMIx: fine; PMI-2: fine only where the MPI has it.
  EXPECT_FALSE(
      launch_problem_before_init(request_from({{"SLURM_STEP_NUM_TASKS", "4"}, {"PMIX_RANK", "0"}}),
                                 PmiNeeds::pmix)
          .has_value());
  const auto pmi2 = request_from({{"SLURM_STEP_NUM_TASKS", "4"}, {"PMI_FD", "7"}});
  EXPECT_TRUE(launch_problem_before_init(pmi2, PmiNeeds::pmix).has_value());
  EXPECT_FALSE(launch_problem_before_init(pmi2, PmiNeeds::pmix_or_pmi2).has_value());
}

TEST(LaunchWorld, TheWorldMpiFormedIsCheckedAgainstTheLauncherAndThePlan) {
  // Under mpirun the SLURM_* variables describe the daemons' step, not the ranks.
  const auto mpirun = request_from({{"OMPI_COMM_WORLD_SIZE", "4"},
                                    {"OMPI_COMM_WORLD_RANK", "0"},
                                    {"SLURM_STEP_NUM_TASKS", "2"}});
  EXPECT_EQ(mpirun.launcher, "mpirun");
  EXPECT_FALSE(world_mismatch(mpirun, 4, 2).has_value());
  const auto smaller = world_mismatch(mpirun, 1, 1);
  ASSERT_TRUE(smaller.has_value());
  EXPECT_NE(smaller->find("OMPI_COMM_WORLD_SIZE=4"), std::string::npos);
  const auto plan =
      request_from({{"PREFLIGHT_EXPECT_RANKS", "4"}, {"PREFLIGHT_EXPECT_NODES", "4"}});
  EXPECT_TRUE(launched_as_rank(plan));
  EXPECT_FALSE(world_mismatch(plan, 4, 4).has_value());
  const auto stacked = world_mismatch(plan, 4, 2);
  ASSERT_TRUE(stacked.has_value());
  EXPECT_NE(stacked->find("2 node(s)"), std::string::npos) << *stacked;
  EXPECT_TRUE(world_mismatch(plan, 1, 1).has_value());
  EXPECT_FALSE(launched_as_rank(request_from({})));
  const auto garbage = request_from({{"SLURM_NTASKS", "many"}, {"SLURM_PROCID", "0"}});
  EXPECT_TRUE(launch_problem_before_init(garbage, PmiNeeds::pmix).has_value());
}

}  // namespace
}  // namespace preflight
