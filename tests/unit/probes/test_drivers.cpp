#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <filesystem>

#include "probe_test_support.hpp"
#include "probes/drivers_probe.hpp"
#include "probes/gather_drivers.hpp"
#include "probes/judge_drivers.hpp"

namespace preflight::probes {
namespace {

using testing::find_check;
using testing::ids;
using testing::options_for;
using testing::sysfs_fixture;
using testing::TempRoot;

ComponentFact present(const std::string& text) {
  ComponentFact fact;
  fact.present = true;
  fact.display = text;
  fact.version = parse_version(text);
  fact.location = "test";
  return fact;
}

// A healthy 8-GPU p5 as NVML would show it.
DriverFacts healthy_p5() {
  DriverFacts facts;
  facts.nvidia_driver = present("550.127.05");
  facts.kernel = present("6.1.119");
  facts.efa_kmod = present("2.13.0g");
  facts.nvidia_peermem = present("550.127.05");
  facts.gdrdrv = present("2.4");
  facts.efa_device_count = 32;
  facts.memlock.known = true;
  facts.memlock.unlimited = true;
  facts.memlock.source = "test";
  facts.pci.available = true;
  facts.nvml.available = true;
  for (unsigned i = 0; i < 8; ++i) {
    NvmlGpu gpu;
    gpu.index = i;
    gpu.pci_bus_id = "0000:0" + std::to_string(i) + ":00.0";
    gpu.persistence_on = true;
    gpu.ecc_enabled = true;
    gpu.ecc_uncorrected_volatile = 0;
    gpu.row_remap_pending = false;
    gpu.row_remap_failure = false;
    gpu.pcie_gen_current = 1;  // idle
    gpu.pcie_gen_max = 5;
    gpu.pcie_width_current = 16;
    gpu.pcie_width_max = 16;
    gpu.nvlinks_up = 18;
    gpu.nvlinks_present = 18;
    facts.nvml.gpus.push_back(gpu);
  }
  return facts;
}

TEST(Memlock, LimitsFile) {
  const auto limited = parse_memlock_limits(
      "Limit Soft Limit Hard Limit Units\nMax locked memory         8388608              "
      "8388608              bytes\n",
      "limits");
  EXPECT_TRUE(limited.known);
  EXPECT_FALSE(limited.unlimited);
  EXPECT_EQ(limited.bytes, 8388608U);
  const auto unlimited = parse_memlock_limits(
      "Max locked memory         unlimited            unlimited  bytes\n", "l");
  EXPECT_TRUE(unlimited.unlimited);
  EXPECT_FALSE(parse_memlock_limits("Max open files 1024 1024 files\n", "l").known);
  EXPECT_EQ(format_bytes(8388608), "8 MiB");
  EXPECT_EQ(format_bytes(16ULL << 30U), "16 GiB");
}

TEST(Memlock, JudgedByWhetherEfaIsThere) {
  MemlockLimit limit{true, false, 8U << 20U, "test", ""};
  EXPECT_EQ(judge_memlock(limit, true).status, Status::fail);
  EXPECT_EQ(judge_memlock(limit, true).id, "MEMLOCK_LIMITED");
  // Without EFA: a monitor finding of its own, never MEMLOCK_LIMITED downgraded.
  EXPECT_EQ(judge_memlock(limit, false).status, Status::warn);
  EXPECT_EQ(judge_memlock(limit, false).id, "MEMLOCK_LIMITED_NO_EFA");
  EXPECT_EQ(finding_status(judge_memlock(limit, false).id), Status::warn);
  EXPECT_EQ(finding_status(judge_memlock(limit, true).id), Status::fail);
  limit.bytes = 16ULL << 30U;
  EXPECT_EQ(judge_memlock(limit, true).status, Status::pass);
  EXPECT_EQ(judge_memlock(MemlockLimit{}, true).status, Status::skip);
}

TEST(DriversFixtures, HealthyAndOldTreesYieldNoFinding) {
  for (const char* name : {"p5en-healthy", "p4d-healthy", "old-versions", "p5en-port-down"}) {
    const DriversRun run = run_drivers(options_for(sysfs_fixture(name)));
    EXPECT_TRUE(fired_ids(run.report.checks).empty()) << name << ": " << run.report.verdict.summary;
    EXPECT_EQ(run.report.verdict.exit_code, 0) << name;
    EXPECT_TRUE(run.facts.nvidia_driver.present) << name;
    EXPECT_TRUE(run.facts.nvidia_peermem.present) << name;
    EXPECT_FALSE(run.facts.nvml.available) << name;  // never consulted under --root
    EXPECT_NE(find_check(run.report.checks, "GPUDIRECT_RDMA_UNAVAILABLE", Status::pass), nullptr);
  }
  const DriversRun old = run_drivers(options_for(sysfs_fixture("old-versions")));
  EXPECT_EQ(old.facts.nvidia_driver.display, "525.85.12");
  EXPECT_EQ(old.facts.gdrdrv.display, "2.3");
}

TEST(DriversFixtures, MemlockFromTheRootsLimitsFile) {
  const TempRoot root;
  root.write("proc/self/limits", "Max locked memory  65536  65536  bytes\n");
  root.write("sys/class/infiniband/rdmap0s6/device/vendor", "0x1d0f\n");
  const DriversRun run = run_drivers(options_for(root.path()));
  EXPECT_EQ(fired_ids(run.report.checks), ids({"EFA_KMOD_MISSING", "MEMLOCK_LIMITED"}));
  const auto* memlock = find_check(run.report.checks, "MEMLOCK_LIMITED", Status::fail);
  ASSERT_NE(memlock, nullptr);
  EXPECT_NE(memlock->message.find("64 KiB"), std::string::npos) << memlock->message;
}

TEST(DriversJudge, HealthyGpusPass) {
  const auto checks = judge_drivers(healthy_p5(), find_platform("p5.48xlarge"));
  EXPECT_TRUE(fired_ids(checks).empty());
  EXPECT_NE(find_check(checks, "GPU_COUNT_MISMATCH", Status::pass), nullptr);
  EXPECT_NE(find_check(checks, "NVLINK_DOWN", Status::pass), nullptr);
  // An idle GPU at Gen1 with full width is not down-trained.
  EXPECT_NE(find_check(checks, "PCIE_LINK_DOWNTRAINED", Status::pass), nullptr);
}

TEST(DriversJudge, EveryGpuFinding) {
  DriverFacts facts = healthy_p5();
  facts.nvml.gpus[0].persistence_on = false;
  facts.nvml.gpus[1].ecc_enabled = false;
  facts.nvml.gpus[2].ecc_uncorrected_volatile = 3;
  facts.nvml.gpus[3].row_remap_failure = true;
  facts.nvml.gpus[4].nvlinks_up = 16;
  facts.nvml.gpus[5].pcie_width_current = 8;
  facts.nvml.gpus[6].retired_pages_pending = true;
  facts.nvml.gpus.pop_back();
  const auto checks = judge_drivers(facts, find_platform("p5.48xlarge"));
  EXPECT_EQ(fired_ids(checks),
            ids({"GPU_PERSISTENCE_OFF", "GPU_ECC_DISABLED", "GPU_ECC_UNCORRECTED",
                 "GPU_ROW_REMAP_FAILURE", "NVLINK_DOWN", "PCIE_LINK_DOWNTRAINED",
                 "GPU_RETIRED_PAGES_PENDING", "GPU_COUNT_MISMATCH"}));
  const auto* nvlink = find_check(checks, "NVLINK_DOWN", Status::fail);
  ASSERT_NE(nvlink, nullptr);
  EXPECT_NE(nvlink->message.find("16 of 18"), std::string::npos) << nvlink->message;
}

TEST(DriversJudge, MissingDriverWhereGpusAreExpected) {
  DriverFacts facts;
  facts.nvidia_driver.reason = "no NVIDIA kernel driver";
  facts.pci.available = true;
  PciDevice gpu;
  gpu.address = "0000:53:00.0";
  gpu.vendor = kNvidiaVendor;
  gpu.device = 0x2330;
  gpu.class_code = 0x030200;
  facts.pci.devices.push_back(gpu);
  const auto checks = judge_drivers(facts, nullptr);
  EXPECT_NE(find_check(checks, "NVIDIA_DRIVER_MISSING", Status::fail), nullptr);
  // Without any GPU, a missing driver is a skip with its reason.
  facts.pci.devices.clear();
  const auto none = judge_drivers(facts, nullptr);
  EXPECT_NE(find_check(none, "NVIDIA_DRIVER_VERSION", Status::skip), nullptr);
}

TEST(DriversGather, PciLinksAndFabricManagerFromASysfsTree) {
  const TempRoot root;
  // A GPU at x8 of x16 and an NVSwitch, as links into /sys/devices like the kernel makes them.
  const std::string gpu_dir = "sys/devices/pci0000:50/0000:50:01.0/0000:51:00.0/0000:53:00.0";
  const std::string switch_dir = "sys/devices/pci0000:00/0000:00:04.0/0000:05:00.0";
  for (const auto& [dir, cls, vendor, device] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {gpu_dir, "0x030200", "0x10de", "0x2330"},
           {switch_dir, "0x068000", "0x10de", "0x22a3"}}) {
    root.write(dir + "/class", cls + "\n");
    root.write(dir + "/vendor", vendor + "\n");
    root.write(dir + "/device", device + "\n");
    root.write(dir + "/numa_node", "0\n");
  }
  root.write(gpu_dir + "/current_link_speed", "32.0 GT/s PCIe\n");
  root.write(gpu_dir + "/max_link_speed", "32.0 GT/s PCIe\n");
  root.write(gpu_dir + "/current_link_width", "8\n");
  root.write(gpu_dir + "/max_link_width", "16\n");
  root.link("sys/bus/pci/devices/0000:53:00.0",
            "../../../devices/pci0000:50/0000:50:01.0/"
            "0000:51:00.0/0000:53:00.0");
  root.link("sys/bus/pci/devices/0000:05:00.0",
            "../../../devices/pci0000:00/0000:00:04.0/0000:05:00.0");
  root.write("sys/module/nvidia/version", "550.127.05\n");
  const DriversRun run = run_drivers(options_for(root.path()));
  EXPECT_EQ(run.facts.pci_gpus().size(), 1U);
  EXPECT_EQ(run.facts.pci_nvswitches().size(), 1U);
  EXPECT_EQ(fired_ids(run.report.checks),
            ids({"PCIE_LINK_DOWNTRAINED", "FABRIC_MANAGER_DOWN", "GDRDRV_MISSING"}));
  const auto* link = find_check(run.report.checks, "PCIE_LINK_DOWNTRAINED", Status::warn);
  ASSERT_NE(link, nullptr);
  EXPECT_NE(link->message.find("0000:53:00.0 runs at Gen5 (32 GT/s) x8, capable of Gen5 (32 GT/s) "
                               "x16"),
            std::string::npos)
      << link->message;

  // The fabric manager process (its name truncated to 15 characters by the kernel).
  root.write("proc/4242/comm", "nv-fabricmanage\n");
  const DriversRun with_fm = run_drivers(options_for(root.path()));
  EXPECT_NE(find_check(with_fm.report.checks, "FABRIC_MANAGER_DOWN", Status::pass), nullptr);
}

TEST(DriversLive, RunsHere) {
  const DriversRun run = run_drivers(options_for("/"));
  EXPECT_TRUE(run.report.verdict.exit_code == 0 || run.report.verdict.exit_code == 1 ||
              run.report.verdict.exit_code == 3)
      << run.report.verdict.summary;
  if (!run.facts.nvidia_driver.present) {
    EXPECT_FALSE(run.facts.nvidia_driver.reason.empty());
  }
  EXPECT_TRUE(run.facts.memlock.known);  // getrlimit always answers
  // What this machine has, asserted: the driver and the EFA module are found exactly where the
  // kernel shows them, and the kernel release is this one.
  const bool nvidia_loaded = std::filesystem::exists("/sys/module/nvidia") ||
                             std::filesystem::exists("/proc/driver/nvidia/version");
  EXPECT_EQ(run.facts.nvidia_driver.present, nvidia_loaded) << run.facts.nvidia_driver.reason;
  EXPECT_EQ(run.facts.efa_kmod.present, std::filesystem::exists("/sys/module/efa"))
      << run.facts.efa_kmod.reason;
  utsname system{};
  ASSERT_EQ(uname(&system), 0);
  EXPECT_TRUE(run.facts.kernel.present);
  EXPECT_NE(run.facts.kernel.display.find(system.release), std::string::npos)
      << run.facts.kernel.display << " vs " << system.release;
}

}  // namespace
}  // namespace preflight::probes
