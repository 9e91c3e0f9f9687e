// --backend mpi: the collectives on host memory through MPI (what Open MPI over EFA carries in
// production), timed on the sample clock (the TSC where invariant). half and bfloat16 reduce
// through user-defined ops (MPI has no 16-bit floating-point types); avg is MPI_SUM followed by a
// division of every element by the rank count, inside the timed region, because that is what a
// user of MPI must do.
#pragma once

#include <mpi.h>

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "collectives/host_backend.hpp"
#include "common/mpi.hpp"

namespace preflight::collectives {

// A user-defined reduction, freed on destruction.
class MpiUserOp {
 public:
  MpiUserOp() = default;
  MpiUserOp(MPI_User_function* function, bool commutative);
  MpiUserOp(const MpiUserOp&) = delete;
  MpiUserOp& operator=(const MpiUserOp&) = delete;
  MpiUserOp(MpiUserOp&& other) noexcept;
  MpiUserOp& operator=(MpiUserOp&& other) noexcept;
  ~MpiUserOp();
  [[nodiscard]] MPI_Op get() const { return op_; }

 private:
  MPI_Op op_ = MPI_OP_NULL;
};

class MpiBackend final : public HostMemoryBackend {
 public:
  // Splits `world` by `color` (ranks ordered by `key`); errors on the new communicator return.
  MpiBackend(MPI_Comm world, int color, int key);

  [[nodiscard]] std::string name() const override { return "mpi"; }
  [[nodiscard]] std::string transport() const override { return "host-memory"; }
  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  [[nodiscard]] nlohmann::json describe() const override;
  [[nodiscard]] std::optional<std::string> unsupported(const CollectiveCall& call) const override;
  void prepare(const CollectiveCall& call) override;
  void run() override;
  // Two clock readings around the MPI call (and avg's division) alone: its arguments were bound
  // in prepare(), and its result is checked after the second reading.
  IterationTime run_timed() override;
  void abort() noexcept override {}  // the watchdog's _exit ends the job; MPI_Abort from a second
                                     // thread is not safe at MPI_THREAD_SERIALIZED

 private:
  // The bound call; returns MPI's result, unchecked.
  [[nodiscard]] int call_mpi() const;
  void check_call(int result) const;
  void divide_by_ranks();

  // The current call's arguments, bound once per prepare() (the buffers do not move until the
  // next one), so that nothing is looked up between the clock readings.
  struct BoundCall {
    const void* send = nullptr;  // MPI_IN_PLACE in place
    void* recv = nullptr;
    void* broadcast = nullptr;  // the root's input, everyone else's output
    int count = 0;
    int root = 0;
    CollectiveKind kind = CollectiveKind::all_reduce;
    bool divides = false;  // avg: MPI_SUM, then a division by the rank count
  };
  BoundCall bound_;
  MpiCommunicator group_;
  int rank_ = 0;
  int size_ = 1;
  MPI_Datatype datatype_ = MPI_DATATYPE_NULL;
  MPI_Op op_ = MPI_OP_NULL;
  MpiUserOp user_op_;
};

// The element-wise maximum over all ranks of `world`, in place, in one MPI_Allreduce on a private
// duplicate: the per-iteration time every rank feeds its sampler.
class MpiMaxReducer {
 public:
  explicit MpiMaxReducer(MPI_Comm world);
  void operator()(std::span<double> values) const;

 private:
  MpiCommunicator comm_;
};

// MPI_Get_library_version's first line.
[[nodiscard]] std::string mpi_library_version();

}  // namespace preflight::collectives
