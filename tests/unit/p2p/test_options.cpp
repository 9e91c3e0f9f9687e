#include <gtest/gtest.h>

#include "common/error.hpp"
#include "p2p/options.hpp"

namespace preflight::p2p {
namespace {

P2pOptions valid() {
  P2pOptions options = default_options();
  options.sizes = {1, 1024};
  return options;
}

void expect_usage(const P2pOptions& options, const std::string& flag) {
  try {
    validate_options(options);
    FAIL() << "accepted; expected a usage error naming " << flag;
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(flag), std::string::npos) << e.what();
  }
}

TEST(Options, DefaultsAreValid) {
  EXPECT_NO_THROW(validate_options(valid()));
  EXPECT_EQ(valid().window, 64);
  EXPECT_EQ(valid().transport, Transport::libfabric);
  EXPECT_EQ(to_string(Pattern::all_pairs), "all-pairs");
}

TEST(Options, InconsistentCombinationsNameTheFlag) {
  P2pOptions options = valid();
  options.sizes.clear();
  expect_usage(options, "--sizes");
  options = valid();
  options.window = 0;
  expect_usage(options, "--window");
  options = valid();
  options.check_iterations = 0;
  expect_usage(options, "--check");
  options = valid();
  options.op = DataOp::write;
  options.transport = Transport::mpi;
  expect_usage(options, "--op");
  options = valid();
  options.memory = MemoryKind::cuda;
  options.transport = Transport::mpi;
  expect_usage(options, "--mem");
  options = valid();
  options.listen = "4000";
  options.connect = "h:4000";
  expect_usage(options, "--listen");
  options = valid();
  options.loopback = true;
  options.listen = "4000";
  expect_usage(options, "--loopback");
  options = valid();
  options.all_devices = true;
  options.provider = "tcp";
  expect_usage(options, "--all-devices");
  options = valid();
  options.timeout_s = 0.5;
  expect_usage(options, "--timeout");
  options = valid();
  options.sampling.min_iterations = 0;
  expect_usage(options, "--min-iters");
  options = valid();
  options.survey.judgement.node_confirmations = 0;
  expect_usage(options, "--retest-partners");
  options = valid();
  options.survey.judgement.slow_fraction = 1.0;
  expect_usage(options, "--slow-fraction");
  options = valid();
  options.survey.max_retest_rounds = -1;
  expect_usage(options, "--retest-rounds");
}

TEST(Options, RailsAreAllAListOrChosenByTheProvider) {
  EXPECT_EQ(select_rails("all", 3), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(select_rails("2,0,2", 4), (std::vector<int>{0, 2}));
  EXPECT_THROW((void)select_rails("0,4", 4), UsageError) << "rail 4 of 4";
  for (const char* bad : {"", "x", "1,,2", "-1", "1.5"}) {
    EXPECT_THROW((void)select_rails(bad, 4), UsageError) << bad;
  }
  EXPECT_TRUE(rails_requested("auto", "efa"));
  EXPECT_FALSE(rails_requested("auto", "tcp"));
  EXPECT_TRUE(rails_requested("all", "tcp"));
  EXPECT_FALSE(rails_requested("none", "efa"));
  EXPECT_FALSE(rails_requested("", "efa"));
  P2pOptions options = default_options();
  options.sizes = {1};
  options.rails = "0,x";
  expect_usage(options, "--rails");
  options.rails = "all";
  options.transport = Transport::mpi;
  expect_usage(options, "--rails");
}

}  // namespace
}  // namespace preflight::p2p
