#include "common/spawn.hpp"

#include <fcntl.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): POSIX sigprocmask, sigset_t
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "common/error.hpp"
#include "common/text.hpp"

extern char** environ;  // NOLINT: POSIX; read once per spawn to build the child's environment

namespace preflight {
namespace {

// posix_spawn_file_actions_t with init/destroy tied to scope.
class SpawnFileActions {
 public:
  SpawnFileActions() {
    check_errno_value(posix_spawn_file_actions_init(&actions_), "libc",
                      "posix_spawn_file_actions_init", "");
  }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  SpawnFileActions(SpawnFileActions&&) = delete;
  SpawnFileActions& operator=(SpawnFileActions&&) = delete;
  ~SpawnFileActions() { posix_spawn_file_actions_destroy(&actions_); }

  void open(int fd, const std::filesystem::path& path, int flags, mode_t mode) {
    check_errno_value(posix_spawn_file_actions_addopen(&actions_, fd, path.c_str(), flags, mode),
                      "libc", "posix_spawn_file_actions_addopen", path.string());
  }
  [[nodiscard]] const posix_spawn_file_actions_t* get() const { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

// posix_spawnattr_t with init/destroy tied to scope.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    check_errno_value(posix_spawnattr_init(&attributes_), "libc", "posix_spawnattr_init", "");
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  SpawnAttributes(SpawnAttributes&&) = delete;
  SpawnAttributes& operator=(SpawnAttributes&&) = delete;
  ~SpawnAttributes() { posix_spawnattr_destroy(&attributes_); }
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_{};
};

std::vector<std::string> child_environment(const EnvironmentOverrides& overrides) {
  std::vector<std::string> entries;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {  // NOLINT
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    const std::string name(text.substr(0, equals));
    if (!overrides.contains(name)) {
      entries.emplace_back(text);
    }
  }
  for (const auto& [name, value] : overrides) {
    if (value) {
      entries.push_back(name + "=" + *value);
    }
  }
  return entries;
}

std::vector<char*> pointer_vector(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& text : strings) {
    pointers.push_back(text.data());
  }
  pointers.push_back(nullptr);
  return pointers;
}

bool stop_signal_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) != 0) {
    return false;
  }
  return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
         sigismember(&pending, SIGHUP) == 1;
}

// True when the child has exited; the zombie is left in place (WNOWAIT) so its pid, and with it
// the process-group id, cannot be reused before we have killed the rest of the group.
bool child_exited(pid_t pid) {
  siginfo_t info{};
  while (true) {
    const int rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0) {
      return info.si_pid != 0;
    }
    if (errno != EINTR) {
      return true;  // ECHILD: nothing left to wait for
    }
  }
}

void sleep_briefly(std::chrono::milliseconds& interval) {
  std::this_thread::sleep_for(interval);
  interval = std::min(interval * 2, std::chrono::milliseconds(20));
}

}  // namespace

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      options_(std::move(other.options_)),
      clock_(other.clock_),
      result_(std::move(other.result_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) {
      kill_group_and_reap();
    }
    pid_ = std::exchange(other.pid_, -1);
    options_ = std::move(other.options_);
    clock_ = other.clock_;
    result_ = std::move(other.result_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill_group_and_reap();
  }
}

ChildProcess ChildProcess::start(const std::vector<std::string>& argv,
                                 const EnvironmentOverrides& env_overrides,
                                 const std::filesystem::path& stdout_path,
                                 const ProcessOptions& options) {
  ChildProcess child;
  child.options_ = options;
  if (argv.empty() || argv.front().empty()) {
    child.result_.start_error = "empty argument vector";
    child.result_.exit_code = 127;
    return child;
  }
  SpawnFileActions actions;
  actions.open(STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!stdout_path.empty()) {
    actions.open(STDOUT_FILENO, stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
  }
  if (!options.stderr_path.empty()) {
    actions.open(STDERR_FILENO, options.stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
                 0644);
  }
  SpawnAttributes attributes;
  // Own process group (pgid = child pid) so the whole tree can be signalled at once; an empty
  // signal mask and default dispositions so the child is killable even though main blocked
  // SIGINT/SIGTERM/SIGHUP to watch for them.
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  for (const int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) {
    sigaddset(&default_signals, signal_number);
  }
  check_errno_value(posix_spawnattr_setpgroup(attributes.get(), 0), "libc",
                    "posix_spawnattr_setpgroup", "0");
  check_errno_value(posix_spawnattr_setsigmask(attributes.get(), &empty_mask), "libc",
                    "posix_spawnattr_setsigmask", "");
  check_errno_value(posix_spawnattr_setsigdefault(attributes.get(), &default_signals), "libc",
                    "posix_spawnattr_setsigdefault", "");
  check_errno_value(
      posix_spawnattr_setflags(
          attributes.get(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
      "libc", "posix_spawnattr_setflags", "");

  std::vector<std::string> arguments = argv;
  std::vector<std::string> environment = child_environment(env_overrides);
  std::vector<char*> argument_pointers = pointer_vector(arguments);
  std::vector<char*> environment_pointers = pointer_vector(environment);

  child.clock_.restart();
  pid_t pid = -1;
  const bool search_path = argv.front().find('/') == std::string::npos;
  const int rc =
      search_path ? posix_spawnp(&pid, argument_pointers.front(), actions.get(), attributes.get(),
                                 argument_pointers.data(), environment_pointers.data())
                  : posix_spawn(&pid, argument_pointers.front(), actions.get(), attributes.get(),
                                argument_pointers.data(), environment_pointers.data());
  if (rc != 0) {
    child.result_.start_error = argv.front() + ": " + errno_message(rc);
    child.result_.exit_code = 127;
    return child;
  }
  child.pid_ = pid;
  child.result_.started = true;
  return child;
}

void ChildProcess::reap(int status) {
  pid_ = -1;
  result_.duration_s = clock_.elapsed_s();
  if (WIFEXITED(status)) {
    result_.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result_.signaled = true;
    result_.signal_number = WTERMSIG(status);
    result_.exit_code = 128 + result_.signal_number;
  }
}

bool ChildProcess::poll() {
  if (pid_ <= 0) {
    return true;
  }
  if (!child_exited(pid_)) {
    return false;
  }
  if (options_.kill_group_on_exit) {
    ::kill(-pid_, SIGKILL);  // leftovers only; ESRCH when the group is already empty
  }
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
  return true;
}

void ChildProcess::kill_group_and_reap() {
  ::kill(-pid_, SIGTERM);
  Stopwatch grace;
  auto interval = std::chrono::milliseconds(1);
  while (!child_exited(pid_) && grace.elapsed_s() < options_.kill_grace_s) {
    sleep_briefly(interval);
  }
  // SIGKILL the group even when the leader left on SIGTERM: its zombie keeps the group id
  // reserved, and a grandchild may have ignored SIGTERM.
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
}

ProcessResult ChildProcess::wait(double timeout_s) {
  return wait(timeout_s, {}, 0);
}

ProcessResult ChildProcess::wait(double timeout_s, const std::function<void()>& on_tick,
                                 double tick_interval_s) {
  auto interval = std::chrono::milliseconds(1);
  double next_tick_s = tick_interval_s;
  while (!poll()) {
    if (on_tick && clock_.elapsed_s() >= next_tick_s) {
      on_tick();
      next_tick_s = clock_.elapsed_s() + tick_interval_s;
    }
    if (timeout_s > 0 && clock_.elapsed_s() >= timeout_s) {
      result_.timed_out = true;
      kill_group_and_reap();
      break;
    }
    if (options_.stop_on_pending_signals && stop_signal_pending()) {
      result_.interrupted = true;
      kill_group_and_reap();
      break;
    }
    sleep_briefly(interval);
  }
  return result_;
}

ProcessResult ChildProcess::terminate() {
  if (pid_ > 0) {
    kill_group_and_reap();
  }
  return result_;
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const EnvironmentOverrides& env_overrides, double timeout_s,
                          const std::filesystem::path& stdout_path, const ProcessOptions& options) {
  ChildProcess child = ChildProcess::start(argv, env_overrides, stdout_path, options);
  return child.wait(timeout_s);
}

int shell_style_exit_code(const ProcessResult& result) {
  if (!result.started) {
    return 127;
  }
  if (result.timed_out) {
    return 124;
  }
  return result.exit_code;
}

std::filesystem::path find_executable(const std::string& program) {
  if (program.empty()) {
    return {};
  }
  if (program.find('/') != std::string::npos) {
    return ::access(program.c_str(), X_OK) == 0 ? std::filesystem::path(program)
                                                : std::filesystem::path();
  }
  const char* path_variable = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  const std::string search = path_variable != nullptr ? path_variable : "/usr/bin:/bin";
  for (const auto directory : split(search, ':')) {
    auto candidate =
        std::filesystem::path(directory.empty() ? "." : std::string(directory)) / program;
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

}  // namespace preflight
