// Typed errors. Each names the failing call, its key arguments, the decoded error, and the rank
// and host it happened on, so a message from rank 517 of a 1,024-node job is actionable alone.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace preflight {

// Where the error happened: the launcher's rank (Open MPI, PMIx, PMI, Slurm) when there is one,
// and the host name. Read when the error is raised, never cached.
struct ProcessIdentity {
  int rank = -1;  // -1: not launched as a rank
  std::string host;
};
[[nodiscard]] ProcessIdentity current_process_identity();
[[nodiscard]] std::string host_name();

// A library or system call failed: the harness broke (exit 4).
class Error : public std::runtime_error {
 public:
  Error(std::string_view library, std::string_view call, std::string_view arguments,
        std::string_view decoded, long long code);

  [[nodiscard]] const std::string& library() const { return library_; }
  [[nodiscard]] const std::string& call() const { return call_; }
  [[nodiscard]] const std::string& arguments() const { return arguments_; }
  [[nodiscard]] const std::string& decoded() const { return decoded_; }
  [[nodiscard]] long long code() const { return code_; }
  [[nodiscard]] const ProcessIdentity& where() const { return where_; }

 private:
  std::string library_;
  std::string call_;
  std::string arguments_;
  std::string decoded_;
  long long code_;
  ProcessIdentity where_;
};

// Bad command line or bad input file (exit 2). The message names the flag, or the file and line.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The binary was built without a feature this run needs (exit 3). Says which option to turn on.
class FeatureUnavailable : public std::runtime_error {
 public:
  FeatureUnavailable(std::string_view feature, std::string_view cmake_option);
};

// A deadline passed (exit 124).
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A peer rank or host went away (exit 4), named in the message.
class PeerLostError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// errno-style calls: throws when `result` is -1, decoding errno.
void check_errno(long long result, std::string_view call, std::string_view arguments);
// Calls returning a positive errno value on failure (pthread_*, ibverbs' ibv_query_*).
void check_errno_value(int error_number, std::string_view library, std::string_view call,
                       std::string_view arguments);

// strerror_r as a std::string.
[[nodiscard]] std::string errno_message(int error_number);

}  // namespace preflight
