// MPI support (built with PREFLIGHT_WITH_MPI): error checks, the init/finalize guard and the MPI
// bootstrap. Errors on the communicators preflight uses are set to return, so a lost peer becomes
// a preflight::Error naming the call instead of an abort deep inside Open MPI.
#pragma once

#include <mpi.h>

#include <memory>
#include <string_view>

#include "common/bootstrap.hpp"
#include "common/launch_world.hpp"

namespace preflight {

// Throws preflight::Error with MPI_Error_string's text when `result` is not MPI_SUCCESS.
void check_mpi(int result, std::string_view call, std::string_view arguments);

// True when a launcher (mpirun, srun, a PMI launcher, a preflight plan) started this process as one
// rank of a job (common/launch_world.hpp); false for a plain single-process start, where MPI is not
// initialised at all.
[[nodiscard]] bool launched_as_mpi_rank();

// What the MPI library this process runs needs from srun to join its ranks (launch_world.hpp):
// Open MPI needs PMIx, or PMI-2 where its s2 component is installed beside libmpi; MPICH can
// also use Slurm's PMI-1 library without either.
[[nodiscard]] PmiNeeds mpi_pmi_needs();

// Owns MPI_Init_thread/MPI_Finalize. Finalizes only what it initialised.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv, int required_thread_level = MPI_THREAD_SERIALIZED);
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  MpiSession(MpiSession&&) = delete;
  MpiSession& operator=(MpiSession&&) = delete;
  ~MpiSession();

  [[nodiscard]] int provided_thread_level() const { return provided_; }

 private:
  bool initialised_here_ = false;
  int provided_ = MPI_THREAD_SINGLE;
};

// A communicator that is freed on destruction (not MPI_COMM_WORLD / MPI_COMM_NULL).
class MpiCommunicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_NULL) : comm_(comm) {}
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;
  MpiCommunicator(MpiCommunicator&& other) noexcept;
  MpiCommunicator& operator=(MpiCommunicator&& other) noexcept;
  ~MpiCommunicator();
  [[nodiscard]] MPI_Comm get() const { return comm_; }

 private:
  MPI_Comm comm_;
};

// Splits `comm` into the ranks sharing a node (MPI_COMM_TYPE_SHARED): local rank -> GPU mapping.
[[nodiscard]] MpiCommunicator split_node_local(MPI_Comm comm);

// Bootstrap over a duplicate of `comm`, errors returned (not fatal).
[[nodiscard]] std::unique_ptr<Bootstrap> make_mpi_bootstrap(MPI_Comm comm = MPI_COMM_WORLD);

}  // namespace preflight
