#include "common/mpi.hpp"

#include <dlfcn.h>
#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <utility>

#include "common/error.hpp"
#include "common/launch_world.hpp"

namespace preflight {

void check_mpi(int result, std::string_view call, std::string_view arguments) {
  if (result == MPI_SUCCESS) {
    return;
  }
  std::array<char, MPI_MAX_ERROR_STRING> text{};
  int length = 0;
  if (MPI_Error_string(result, text.data(), &length) != MPI_SUCCESS) {
    length = 0;
  }
  throw Error("MPI", call, arguments, std::string(text.data(), static_cast<std::size_t>(length)),
              result);
}

bool launched_as_mpi_rank() {
  if (launched_as_rank(read_launch_request())) {
    return true;
  }
  // MPICH's hydra gives MPI_LOCALNRANKS without a size.
  return std::getenv("MPI_LOCALNRANKS") != nullptr;  // NOLINT(concurrency-mt-unsafe)
}

PmiNeeds mpi_pmi_needs() {
#ifdef OPEN_MPI
#if OMPI_MAJOR_VERSION >= 5
  return PmiNeeds::pmix;  // Open MPI 5 speaks PMIx only
#else
  // Open MPI 4 loads its PMI-2 support as a component (mca_pmix_s2.so) from the component
  // directory beside libmpi; without it, a PMI-2 launch aborts in MPI_Init.
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&MPI_Init), &info) == 0 ||  // NOLINT
      info.dli_fname == nullptr) {
    return PmiNeeds::pmix;
  }
  const std::filesystem::path library_directory =
      std::filesystem::path(info.dli_fname).parent_path();
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(library_directory, error)) {
    if (entry.is_directory(error) && entry.path().filename().string().starts_with("openmpi") &&
        std::filesystem::exists(entry.path() / "mca_pmix_s2.so", error)) {
      return PmiNeeds::pmix_or_pmi2;
    }
  }
  return PmiNeeds::pmix;
#endif
#else
  return PmiNeeds::nothing;
#endif
}

MpiSession::MpiSession(int* argc, char*** argv, int required_thread_level) {
  int already = 0;
  check_mpi(MPI_Initialized(&already), "MPI_Initialized", "");
  if (already == 0) {
    check_mpi(MPI_Init_thread(argc, argv, required_thread_level, &provided_), "MPI_Init_thread",
              fmt::format("required={}", required_thread_level));
    initialised_here_ = true;
  } else {
    check_mpi(MPI_Query_thread(&provided_), "MPI_Query_thread", "");
  }
  check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
            "comm=MPI_COMM_WORLD, MPI_ERRORS_RETURN");
}

MpiSession::~MpiSession() {
  if (!initialised_here_) {
    return;
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized == 0) {
    MPI_Finalize();
  }
}

MpiCommunicator::MpiCommunicator(MpiCommunicator&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)) {}

MpiCommunicator& MpiCommunicator::operator=(MpiCommunicator&& other) noexcept {
  if (this != &other) {
    this->~MpiCommunicator();
    comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
  }
  return *this;
}

MpiCommunicator::~MpiCommunicator() {
  if (comm_ != MPI_COMM_NULL && comm_ != MPI_COMM_WORLD && comm_ != MPI_COMM_SELF) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized == 0) {
      MPI_Comm_free(&comm_);
    }
  }
}

MpiCommunicator split_node_local(MPI_Comm comm) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank", "");
  MPI_Comm local = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local),
            "MPI_Comm_split_type", "MPI_COMM_TYPE_SHARED");
  MpiCommunicator result(local);
  check_mpi(MPI_Comm_set_errhandler(local, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
            "node-local comm");
  return result;
}

namespace {

class MpiBootstrap final : public Bootstrap {
 public:
  explicit MpiBootstrap(MPI_Comm comm) {
    MPI_Comm duplicate = MPI_COMM_NULL;
    check_mpi(MPI_Comm_dup(comm, &duplicate), "MPI_Comm_dup", "bootstrap");
    comm_ = MpiCommunicator(duplicate);
    check_mpi(MPI_Comm_set_errhandler(duplicate, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler",
              "bootstrap comm");
    check_mpi(MPI_Comm_rank(duplicate, &rank_), "MPI_Comm_rank", "bootstrap");
    check_mpi(MPI_Comm_size(duplicate, &size_), "MPI_Comm_size", "bootstrap");
  }

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  [[nodiscard]] std::string kind() const override { return "mpi"; }
  void barrier() override { check_mpi(MPI_Barrier(comm_.get()), "MPI_Barrier", "bootstrap"); }

  [[nodiscard]] std::vector<std::vector<std::byte>> allgather(
      std::span<const std::byte> mine) override {
    const int my_length = static_cast<int>(mine.size());
    std::vector<int> lengths(static_cast<std::size_t>(size_));
    check_mpi(MPI_Allgather(&my_length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm_.get()),
              "MPI_Allgather", "lengths");
    std::vector<int> displacements(lengths.size());
    std::exclusive_scan(lengths.begin(), lengths.end(), displacements.begin(), 0);
    std::vector<std::byte> all(static_cast<std::size_t>(displacements.back() + lengths.back()));
    check_mpi(MPI_Allgatherv(mine.data(), my_length, MPI_BYTE, all.data(), lengths.data(),
                             displacements.data(), MPI_BYTE, comm_.get()),
              "MPI_Allgatherv", fmt::format("bytes={}", my_length));
    std::vector<std::vector<std::byte>> result(lengths.size());
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      const auto begin = all.begin() + displacements[i];
      result[i].assign(begin, begin + lengths[i]);
    }
    return result;
  }

  void broadcast(std::span<std::byte> data, int root) override {
    check_mpi(MPI_Bcast(data.data(), static_cast<int>(data.size()), MPI_BYTE, root, comm_.get()),
              "MPI_Bcast", fmt::format("bytes={}, root={}", data.size(), root));
  }

 private:
  MpiCommunicator comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Bootstrap> make_mpi_bootstrap(MPI_Comm comm) {
  return std::make_unique<MpiBootstrap>(comm);
}

}  // namespace preflight
