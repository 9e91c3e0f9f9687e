// The provider is chosen on each node (its EFA devices, its FI_PROVIDER) and agreed by all: a
// launch host without EFA never decides for EFA nodes, a node without EFA among EFA nodes is named,
// and tcp comes only when asked for.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "p2p/provider_choice.hpp"

namespace preflight::p2p {
namespace {

const std::string kFixtures = std::string(PREFLIGHT_FIXTURES_DIR) + "/sysfs/";

LocalProviderChoice on(const std::string& tree, const std::string& requested,
                       std::optional<std::string_view> fi_provider = std::nullopt) {
  return choose_local_provider(requested, RootFs(kFixtures + tree), fi_provider);
}

TEST(ProviderChoice, AutoIsEfaWhereTheNodeHasEfaDevices) {
  const LocalProviderChoice p5 = on("p5-healthy", "auto");
  EXPECT_EQ(p5.provider, "efa");
  EXPECT_EQ(p5.efa_devices, 32);
  EXPECT_TRUE(p5.problem.empty());
  const LocalProviderChoice bare = on("does-not-exist", "auto");
  EXPECT_EQ(bare.provider, "");
  EXPECT_EQ(bare.outcome, "none (no EFA device)");
  EXPECT_NE(bare.problem.find("pass --provider tcp"), std::string::npos) << bare.problem;
  // Asked for explicitly, tcp is tcp, EFA devices or not; "any" is efa where EFA is.
  EXPECT_EQ(on("p5-healthy", "tcp").outcome, "tcp");
  EXPECT_EQ(on("p5-healthy", "").outcome, "efa");
  EXPECT_EQ(on("does-not-exist", "any").outcome, "any");
  EXPECT_EQ(on("does-not-exist", "efa").outcome, "efa (no EFA device)");
}

TEST(ProviderChoice, AnFiProviderFromTheLaunchHostCannotOverrideTheNode) {
  EXPECT_EQ(on("p5-healthy", "auto", "tcp").outcome, "efa (excluded by FI_PROVIDER)");
  EXPECT_EQ(on("p5-healthy", "auto", "^tcp").outcome, "efa");
  EXPECT_EQ(on("p5-healthy", "auto", "efa,shm").outcome, "efa");
  EXPECT_EQ(on("p5-healthy", "tcp", "tcp;ofi_rxm").outcome, "tcp");
}

TEST(ProviderChoice, EncodedForTheNodeInfoExchange) {
  const LocalProviderChoice choice = on("p4d-healthy", "auto", "tcp");
  const LocalProviderChoice back = decode_choice(encode_choice(choice));
  EXPECT_EQ(back.requested, choice.requested);
  EXPECT_EQ(back.provider, choice.provider);
  EXPECT_EQ(back.efa_devices, 4);
  EXPECT_EQ(back.outcome, choice.outcome);
  EXPECT_EQ(back.problem, choice.problem);
  EXPECT_THROW((void)decode_choice("{\"requested\": 1}"), Error);
  EXPECT_THROW((void)decode_choice("not json"), Error);
}

// Launched from a head node without EFA onto two p5 nodes: every rank chose efa on its own node.
TEST(ProviderChoice, EfaNodesAgreeOnEfaWhateverTheLaunchHostHas) {
  const ProviderAgreement agreement = agree_on_provider(
      {"p5-a", "p5-a", "p5-b", "p5-b"}, {on("p5-healthy", "auto"), on("p5-healthy", "auto"),
                                         on("p5en-healthy", "auto"), on("p5en-healthy", "auto")});
  EXPECT_FALSE(agreement.finding.has_value());
  EXPECT_EQ(agreement.provider, "efa");
  EXPECT_EQ(agreement.details.at("chosen"), "efa");
  EXPECT_EQ(agreement.details.at("nodes").at("p5-b").at("efa_devices"), 16);
}

TEST(ProviderChoice, TheOddNodeIsNamed) {
  const ProviderAgreement agreement = agree_on_provider(
      {"n0", "n1", "n2"},
      {on("p5-healthy", "auto"), on("does-not-exist", "auto"), on("p5-healthy", "auto")});
  ASSERT_TRUE(agreement.finding.has_value());
  EXPECT_EQ(agreement.finding->id, "P2P_PROVIDER_MISMATCH");
  EXPECT_EQ(agreement.finding->status, Status::fail);
  EXPECT_EQ(agreement.details.at("odd_nodes"), nlohmann::json({"n1"}));
  EXPECT_NE(agreement.finding->message.find("n1 chose none (no EFA device)"), std::string::npos)
      << agreement.finding->message;
  EXPECT_NE(agreement.finding->message.find("the other 2 nodes chose efa"), std::string::npos)
      << agreement.finding->message;
  EXPECT_TRUE(agreement.provider.empty());
  // Two nodes, one each way: the node without EFA is the odd one.
  const ProviderAgreement pair =
      agree_on_provider({"a", "b"}, {on("does-not-exist", "auto"), on("p4d-healthy", "auto")});
  ASSERT_TRUE(pair.finding.has_value());
  EXPECT_EQ(pair.details.at("odd_nodes"), nlohmann::json({"a"}));
  // "any": the EFA node would get efa, the other tcp; that pair cannot talk.
  const ProviderAgreement any =
      agree_on_provider({"a", "b"}, {on("p4d-healthy", "any"), on("does-not-exist", "any")});
  ASSERT_TRUE(any.finding.has_value());
  EXPECT_EQ(any.details.at("odd_nodes"), nlohmann::json({"b"}));
}

TEST(ProviderChoice, NoEfaAnywhereIsAnErrorNeverASilentTcp) {
  const ProviderAgreement agreement =
      agree_on_provider({"a", "b"}, {on("does-not-exist", "auto"), on("does-not-exist", "auto")});
  ASSERT_TRUE(agreement.finding.has_value());
  EXPECT_EQ(agreement.finding->id, "P2P_NO_EFA");
  EXPECT_EQ(agreement.finding->status, Status::error);
  EXPECT_NE(agreement.finding->message.find("a, b"), std::string::npos);
  EXPECT_TRUE(agreement.provider.empty());
  // Asked for, tcp is what every node uses.
  const ProviderAgreement tcp =
      agree_on_provider({"a", "b"}, {on("p5-healthy", "tcp"), on("does-not-exist", "tcp")});
  EXPECT_FALSE(tcp.finding.has_value());
  EXPECT_EQ(tcp.provider, "tcp");
}

TEST(ProviderChoice, AnEnvironmentThatOverridesEveryNodeIsAnError) {
  const ProviderAgreement agreement = agree_on_provider(
      {"a", "b"}, {on("p5-healthy", "auto", "tcp"), on("p5-healthy", "auto", "tcp")});
  ASSERT_TRUE(agreement.finding.has_value());
  EXPECT_EQ(agreement.finding->id, "P2P_PROVIDER_MISMATCH");
  EXPECT_EQ(agreement.finding->status, Status::error);
  EXPECT_NE(agreement.finding->message.find("FI_PROVIDER=tcp"), std::string::npos);
}

TEST(ProviderChoice, EfaBelowApi118OnP4dOrP5IsAFinding) {
  nlohmann::json transport{
      {"provider", "efa"},           {"domain", "rdmap79s0-rdm"},
      {"libfabric_version", "1.17"}, {"api", {{"requested", "1.18"}, {"granted", "1.17"}}},
      {"device_id", "0xefa1"},       {"device_rdma", {{"read", false}}}};
  auto checks = transport_findings(transport);
  ASSERT_EQ(checks.size(), 1U);
  EXPECT_EQ(checks[0].id, "EFA_DEVICE_RDMA_OFF");
  EXPECT_EQ(checks[0].status, Status::warn);
  EXPECT_NE(checks[0].message.find("emulated RMA"), std::string::npos) << checks[0].message;
  transport["api"]["granted"] = "1.18";
  transport["device_rdma"]["read"] = true;
  EXPECT_TRUE(transport_findings(transport).empty());
  transport["api"]["granted"] = "1.17";
  transport["device_id"] = "0xefa2";  // p5en: on by default below 1.18 too
  transport["device_rdma"]["read"] = true;
  EXPECT_TRUE(transport_findings(transport).empty());
  EXPECT_TRUE(transport_findings({{"provider", "tcp;ofi_rxm"}}).empty());
}

}  // namespace
}  // namespace preflight::p2p
