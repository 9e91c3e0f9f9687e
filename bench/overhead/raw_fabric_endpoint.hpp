// The bare libfabric ping-pong of bench_harness_overhead (harness_overhead.cpp): fi_pingpong's
// loop on an endpoint of its own, without preflight's channel, so the channel's cost shows.
#pragma once

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/fabric.hpp"

namespace preflight::bench {

// fi_pingpong's loop (libfabric util/pingpong.c, -e rdm -m tagged) on an endpoint of its own.
class RawFabricEndpoint {
 public:
  RawFabricEndpoint(const std::string& provider, const std::string& domain, std::size_t max_bytes)
      : buffer_(2 * max_bytes + 8192) {
    using preflight::check_fi;
    preflight::FabricInfo hints(fi_allocinfo());
    hints.get()->ep_attr->type = FI_EP_RDM;
    hints.get()->caps = FI_TAGGED;
    hints.get()->mode = FI_CONTEXT | FI_CONTEXT2;
    hints.get()->domain_attr->mr_mode =
        FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
    hints.get()->fabric_attr->prov_name = strdup(provider.c_str());  // NOLINT: freed by libfabric
    if (!domain.empty()) {
      hints.get()->domain_attr->name = strdup(domain.c_str());  // NOLINT: freed by libfabric
    }
    fi_info* found = nullptr;
    check_fi(fi_getinfo(FI_VERSION(1, 9), nullptr, nullptr, 0, hints.get(), &found), "fi_getinfo",
             provider);
    info_ = preflight::FabricInfo(found);
    inject_bytes_ = found->tx_attr->inject_size;
    check_fi(fi_fabric(found->fabric_attr, fabric_.out(), nullptr), "fi_fabric", "");
    fabric_.adopt();
    check_fi(fi_domain(fabric_.get(), found, domain_.out(), nullptr), "fi_domain", "");
    domain_.adopt();
    fi_cq_attr cq_attr{};
    cq_attr.format = FI_CQ_FORMAT_CONTEXT;
    cq_attr.wait_obj = FI_WAIT_NONE;
    check_fi(fi_cq_open(domain_.get(), &cq_attr, tx_cq_.out(), nullptr), "fi_cq_open", "tx");
    tx_cq_.adopt();
    check_fi(fi_cq_open(domain_.get(), &cq_attr, rx_cq_.out(), nullptr), "fi_cq_open", "rx");
    rx_cq_.adopt();
    fi_av_attr av_attr{};
    av_attr.type = FI_AV_TABLE;
    check_fi(fi_av_open(domain_.get(), &av_attr, av_.out(), nullptr), "fi_av_open", "");
    av_.adopt();
    check_fi(fi_endpoint(domain_.get(), found, ep_.out(), nullptr), "fi_endpoint", "");
    ep_.adopt();
    check_fi(fi_ep_bind(ep_.get(), &av_.get()->fid, 0), "fi_ep_bind", "av");
    check_fi(fi_ep_bind(ep_.get(), &tx_cq_.get()->fid, FI_TRANSMIT), "fi_ep_bind", "tx");
    check_fi(fi_ep_bind(ep_.get(), &rx_cq_.get()->fid, FI_RECV), "fi_ep_bind", "rx");
    check_fi(fi_enable(ep_.get()), "fi_enable", "");
    check_fi(fi_mr_reg(domain_.get(), buffer_.data(), buffer_.size(),
                       FI_SEND | FI_RECV | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE, 0,
                       1, 0, mr_.out(), nullptr),
             "fi_mr_reg", "");
    mr_.adopt();
    if ((found->domain_attr->mr_mode & FI_MR_ENDPOINT) != 0) {
      check_fi(fi_mr_bind(mr_.get(), &ep_.get()->fid, 0), "fi_mr_bind", "");
      check_fi(fi_mr_enable(mr_.get()), "fi_mr_enable", "");
    }
    desc_ = fi_mr_desc(mr_.get());
    tx_buffer_ = buffer_.data();
    rx_buffer_ = buffer_.data() + max_bytes + 4096;
    rx_bytes_ = max_bytes;
  }
  RawFabricEndpoint(const RawFabricEndpoint&) = delete;
  RawFabricEndpoint& operator=(const RawFabricEndpoint&) = delete;
  RawFabricEndpoint(RawFabricEndpoint&&) = delete;
  RawFabricEndpoint& operator=(RawFabricEndpoint&&) = delete;
  ~RawFabricEndpoint() {
    // fabtests' order: the endpoint before its registration, then the rest (members, reversed).
    (void)ep_.close();
    (void)mr_.close();
  }

  void connect(MPI_Comm comm, int peer_rank) {
    std::array<char, 256> name{};
    std::size_t length = name.size();
    preflight::check_fi(fi_getname(&ep_.get()->fid, name.data(), &length), "fi_getname", "");
    std::array<char, 512> names{};
    MPI_Allgather(name.data(), 256, MPI_BYTE, names.data(), 256, MPI_BYTE, comm);
    if (fi_av_insert(av_.get(), names.data() + std::ptrdiff_t{256} * peer_rank, 1, &peer_, 0,
                     nullptr) != 1) {
      throw std::runtime_error("fi_av_insert failed");
    }
    post_receive();  // one receive ahead, as fi_pingpong
  }

  void ping(std::size_t bytes, bool poll_tx_after_inject) {
    send(bytes, poll_tx_after_inject);
    receive();
  }
  void pong(std::size_t bytes, bool poll_tx_after_inject) {
    receive();
    send(bytes, poll_tx_after_inject);
  }

 private:
  static void wait(fid_cq* cq, std::uint64_t& completed, std::uint64_t target) {
    fi_cq_entry entry{};
    while (completed < target) {
      const ssize_t got = fi_cq_read(cq, &entry, 1);
      if (got > 0) {
        ++completed;
      } else if (got != -FI_EAGAIN) {
        preflight::check_fi(got, "fi_cq_read", "raw ping-pong");
      }
    }
  }

  void send(std::size_t bytes, bool poll_tx_after_inject) {
    if (bytes < inject_bytes_) {
      ssize_t result = 0;
      while ((result = fi_tinject(ep_.get(), tx_buffer_, bytes, peer_, kTag)) == -FI_EAGAIN) {
        fi_cq_entry unused{};
        (void)fi_cq_read(tx_cq_.get(), &unused, 0);  // progress
      }
      preflight::check_fi(result, "fi_tinject", "raw ping-pong");
      if (poll_tx_after_inject) {
        fi_cq_entry unused{};
        (void)fi_cq_read(tx_cq_.get(), &unused, 0);
      }
      return;
    }
    ssize_t result = 0;
    while ((result = fi_tsend(ep_.get(), tx_buffer_, bytes, desc_, peer_, kTag, &tx_context_)) ==
           -FI_EAGAIN) {
      fi_cq_entry unused{};
      (void)fi_cq_read(tx_cq_.get(), &unused, 0);
    }
    preflight::check_fi(result, "fi_tsend", "raw ping-pong");
    ++tx_posted_;
    wait(tx_cq_.get(), tx_completed_, tx_posted_);
  }

  void receive() {
    wait(rx_cq_.get(), rx_completed_, rx_posted_);
    post_receive();
  }

  void post_receive() {
    ssize_t result = 0;
    while ((result = fi_trecv(ep_.get(), rx_buffer_, rx_bytes_, desc_, FI_ADDR_UNSPEC, kTag, 0,
                              &rx_context_)) == -FI_EAGAIN) {
      fi_cq_entry unused{};
      (void)fi_cq_read(rx_cq_.get(), &unused, 0);
    }
    preflight::check_fi(result, "fi_trecv", "raw ping-pong");
    ++rx_posted_;
  }

  static constexpr std::uint64_t kTag = 0x7;
  std::vector<char> buffer_;
  preflight::FabricInfo info_;
  preflight::FabricHandle<fid_fabric> fabric_;
  preflight::FabricHandle<fid_domain> domain_;
  preflight::FabricHandle<fid_cq> tx_cq_;
  preflight::FabricHandle<fid_cq> rx_cq_;
  preflight::FabricHandle<fid_av> av_;
  preflight::FabricHandle<fid_ep> ep_;
  preflight::FabricHandle<fid_mr> mr_;
  void* desc_ = nullptr;
  char* tx_buffer_ = nullptr;
  char* rx_buffer_ = nullptr;
  std::size_t rx_bytes_ = 0;
  std::size_t inject_bytes_ = 0;
  fi_addr_t peer_ = FI_ADDR_UNSPEC;
  fi_context2 tx_context_{};
  fi_context2 rx_context_{};
  std::uint64_t tx_posted_ = 0;
  std::uint64_t tx_completed_ = 0;
  std::uint64_t rx_posted_ = 0;
  std::uint64_t rx_completed_ = 0;
};

}  // namespace preflight::bench
