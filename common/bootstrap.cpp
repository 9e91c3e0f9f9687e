#include "common/bootstrap.hpp"

#include <condition_variable>
#include <mutex>
#include <stdexcept>

namespace preflight {

std::vector<std::string> Bootstrap::allgather_strings(const std::string& mine) {
  const auto gathered = allgather(std::as_bytes(std::span<const char>(mine.data(), mine.size())));
  std::vector<std::string> strings;
  strings.reserve(gathered.size());
  for (const auto& bytes : gathered) {
    strings.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());  // NOLINT
  }
  return strings;
}

namespace {

class SingleBootstrap final : public Bootstrap {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  [[nodiscard]] std::string kind() const override { return "single"; }
  void barrier() override {}
  [[nodiscard]] std::vector<std::vector<std::byte>> allgather(
      std::span<const std::byte> mine) override {
    return {std::vector<std::byte>(mine.begin(), mine.end())};
  }
  void broadcast(std::span<std::byte> /*data*/, int root) override {
    if (root != 0) {
      throw std::invalid_argument("broadcast root out of range");
    }
  }
};

// A reusable rendezvous: each collective call is one "generation"; the last thread to arrive
// publishes the result and wakes the others.
class ThreadRendezvous {
 public:
  explicit ThreadRendezvous(int count) : count_(count), slots_(static_cast<std::size_t>(count)) {}

  std::vector<std::vector<std::byte>> exchange(int rank, std::span<const std::byte> mine) {
    std::unique_lock lock(mutex_);
    const unsigned long generation = generation_;
    slots_[static_cast<std::size_t>(rank)].assign(mine.begin(), mine.end());
    if (++arrived_ == count_) {
      published_ = slots_;
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return generation_ != generation; });
    }
    return published_;
  }

  [[nodiscard]] int count() const { return count_; }

 private:
  int count_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int arrived_ = 0;
  unsigned long generation_ = 0;
  std::vector<std::vector<std::byte>> slots_;
  std::vector<std::vector<std::byte>> published_;
};

class ThreadGroupBootstrap final : public Bootstrap {
 public:
  ThreadGroupBootstrap(std::shared_ptr<ThreadRendezvous> rendezvous, int rank)
      : rendezvous_(std::move(rendezvous)), rank_(rank) {}

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return rendezvous_->count(); }
  [[nodiscard]] std::string kind() const override { return "thread_group"; }
  void barrier() override { (void)rendezvous_->exchange(rank_, {}); }
  [[nodiscard]] std::vector<std::vector<std::byte>> allgather(
      std::span<const std::byte> mine) override {
    return rendezvous_->exchange(rank_, mine);
  }
  void broadcast(std::span<std::byte> data, int root) override {
    if (root < 0 || root >= size()) {
      throw std::invalid_argument("broadcast root out of range");
    }
    const auto all = rendezvous_->exchange(rank_, data);
    const auto& source = all[static_cast<std::size_t>(root)];
    if (source.size() != data.size()) {
      throw std::invalid_argument("broadcast sizes differ between ranks");
    }
    std::copy(source.begin(), source.end(), data.begin());
  }

 private:
  std::shared_ptr<ThreadRendezvous> rendezvous_;
  int rank_;
};

}  // namespace

std::unique_ptr<Bootstrap> make_single_bootstrap() {
  return std::make_unique<SingleBootstrap>();
}

std::vector<std::unique_ptr<Bootstrap>> make_thread_group_bootstraps(int count) {
  if (count < 1) {
    throw std::invalid_argument("thread group needs at least one rank");
  }
  auto rendezvous = std::make_shared<ThreadRendezvous>(count);
  std::vector<std::unique_ptr<Bootstrap>> group;
  group.reserve(static_cast<std::size_t>(count));
  for (int rank = 0; rank < count; ++rank) {
    group.push_back(std::make_unique<ThreadGroupBootstrap>(rendezvous, rank));
  }
  return group;
}

}  // namespace preflight
