#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "domain/platform.hpp"

namespace preflight {
namespace {

TEST(PlatformCatalog, HoldsEveryInstanceTypeOfTheReference) {
  const std::set<std::string> expected{"p4d.24xlarge",      "p4de.24xlarge", "p5.48xlarge",
                                       "p5e.48xlarge",      "p5en.48xlarge", "p6-b200.48xlarge",
                                       "p6e-gb200.36xlarge"};
  std::set<std::string> found;
  for (const Platform& platform : platform_catalog()) {
    found.insert(platform.instance_type);
    EXPECT_FALSE(platform.source.empty()) << platform.instance_type;
    // Sources are public documents and the project's own docs, never a path outside it.
    EXPECT_NE(platform.source.find("AWS EC2"), std::string::npos) << platform.instance_type;
    EXPECT_EQ(platform.source.find("shared/"), std::string::npos) << platform.instance_type;
    EXPECT_GT(platform.gpu_count, 0) << platform.instance_type;
    EXPECT_GT(platform.efa_count, 0) << platform.instance_type;
    EXPECT_GT(platform.nvlink_per_gpu, 0) << platform.instance_type;
    // The grouping accounts for every GPU and EFA device.
    EXPECT_EQ(platform.gpu_count / platform.gpus_per_group * platform.efa_per_group,
              platform.efa_count)
        << platform.instance_type;
    EXPECT_EQ(platform.min_versions.count("nccl"), 1U) << platform.instance_type;
  }
  EXPECT_EQ(found, expected);
  EXPECT_EQ(embedded_platform_files().size(), expected.size());
}

TEST(PlatformCatalog, FactsOfTheReferenceTable) {
  const Platform* p4d = find_platform("p4d.24xlarge");
  ASSERT_NE(p4d, nullptr);
  EXPECT_EQ(p4d->gpu_count, 8);
  EXPECT_EQ(p4d->efa_count, 4);
  EXPECT_EQ(p4d->efa_aggregate_gbps, 400);
  EXPECT_EQ(p4d->nvlink_per_gpu, 12);
  EXPECT_EQ(p4d->gpus_per_group, 2);
  EXPECT_EQ(p4d->efa_per_group, 1);
  EXPECT_DOUBLE_EQ(*p4d->efa_rate_per_device_gbps(), 100.0);

  const Platform* p5en = find_platform("p5en.48xlarge");
  ASSERT_NE(p5en, nullptr);
  EXPECT_EQ(p5en->efa_count, 16);
  EXPECT_TRUE(p5en->efa_may_enumerate_late);
  EXPECT_EQ(p5en->efa_per_group, 2);
  EXPECT_DOUBLE_EQ(*p5en->efa_rate_per_device_gbps(), 200.0);

  const Platform* p5 = find_platform("p5.48xlarge");
  ASSERT_NE(p5, nullptr);
  EXPECT_EQ(p5->efa_count, 32);
  EXPECT_EQ(p5->min_versions.at("efa_installer").text, "1.29.0");
  EXPECT_EQ(p5->min_versions.at("aws_ofi_nccl").text, "1.7.2");

  const Platform* b200 = find_platform("p6-b200.48xlarge");
  ASSERT_NE(b200, nullptr);
  EXPECT_EQ(b200->non_efa_rdma_devices, 2);
  EXPECT_FALSE(b200->efa_aggregate_gbps.has_value());  // "-" in the reference
  EXPECT_FALSE(b200->efa_rate_per_device_gbps().has_value());

  EXPECT_EQ(find_platform("c5.large"), nullptr);
  EXPECT_EQ(find_platform(""), nullptr);
  // An instance type is a key of the compiled-in catalog, never a path.
  EXPECT_EQ(find_platform("../etc/passwd"), nullptr);
  EXPECT_EQ(find_platform("p5.48xlarge/"), nullptr);
}

TEST(PlatformCatalog, ParserRejectsTyposAndMissingFields) {
  const std::string good = R"({"instance_type": "x.large", "source": "s",
    "gpu": {"model": "m", "count": 1}, "efa": {"count": 1, "aggregate_gbps": null},
    "nvlink": {"per_gpu": 0, "generation": 0},
    "grouping": {"description": "d", "gpus_per_group": 1, "efa_per_group": 1},
    "min_versions": {"nccl": "2.18"}})";
  EXPECT_EQ(parse_platform(good, "good.json").instance_type, "x.large");
  const std::string typo = R"({"instance_type": "x.large", "source": "s", "gpus": {}})";
  try {
    (void)parse_platform(typo, "typo.json");
    FAIL() << "accepted an unknown key";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("typo.json: gpus: unknown key"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)parse_platform(R"({"instance_type": "x"})", "missing.json"),
               std::invalid_argument);
  EXPECT_THROW((void)parse_platform("{", "broken.json"), std::invalid_argument);
}

}  // namespace
}  // namespace preflight
