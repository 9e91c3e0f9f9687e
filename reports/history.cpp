#include "reports/history.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "common/input_file.hpp"
#include "common/raii.hpp"
#include "common/stats.hpp"
#include "common/text.hpp"
#include "common/timer.hpp"
#include "reports/baseline.hpp"
#include "reports/import_nccl_log.hpp"
#include "reports/json_reader.hpp"
#include "reports/report_io.hpp"

namespace preflight::reports {

using nlohmann::json;

namespace {

void close_database(sqlite3* db) {
  sqlite3_close_v2(db);
}
void finalize_statement(sqlite3_stmt* statement) {
  sqlite3_finalize(statement);
}

using Database = UniqueHandle<sqlite3*, close_database, nullptr>;
using StatementHandle = UniqueHandle<sqlite3_stmt*, finalize_statement, nullptr>;

constexpr int kBusyTimeoutMs = 60000;
constexpr int kSchemaVersion = 1;

[[noreturn]] void sqlite_error(sqlite3* db, std::string_view call, std::string_view arguments,
                               int code) {
  throw Error("sqlite", call, arguments, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code),
              code);
}

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    const std::string text = message != nullptr ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    throw Error("sqlite", "sqlite3_exec", sql, text, rc);
  }
}

// The journal mode a PRAGMA journal_mode statement reports, or nullopt with *rc set when the
// statement failed (SQLITE_BUSY, SQLITE_LOCKED: try again; anything else: an error).
std::optional<std::string> pragma_journal_mode(sqlite3* db, const char* sql, int* rc) {
  sqlite3_stmt* raw = nullptr;
  *rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  if (*rc != SQLITE_OK) {
    return std::nullopt;
  }
  const UniqueHandle<sqlite3_stmt*, finalize_statement, nullptr> statement(raw);
  *rc = sqlite3_step(statement.get());
  if (*rc != SQLITE_ROW) {
    return std::nullopt;
  }
  const unsigned char* mode = sqlite3_column_text(statement.get(), 0);
  *rc = SQLITE_OK;
  return mode == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(mode));  // NOLINT
}

// Converting a file to WAL takes an exclusive lock and SQLite does not run the busy handler for
// it, so when several processes open a fresh database at once (eight `history add` in a prolog
// wave) all but one would fail at once with "database is locked". WAL is a property of the file:
// read the mode first (after the first open there is nothing to convert and no lock to take),
// otherwise retry with a growing pause within the same budget as the busy timeout. A refused
// conversion can also come back as SQLITE_OK with the old mode, hence the loop on the mode itself.
void enable_wal(sqlite3* db, const std::string& path) {
  int rc = SQLITE_OK;
  std::optional<std::string> mode = pragma_journal_mode(db, "PRAGMA journal_mode", &rc);
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(1);
  while (!mode || to_lower(*mode) != "wal") {
    if (!mode && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      sqlite_error(db, "sqlite3_step", fmt::format("PRAGMA journal_mode on {}", path), rc);
    }
    if (Clock::now() >= deadline) {
      throw Error("sqlite", "sqlite3_step", fmt::format("PRAGMA journal_mode=WAL on {}", path),
                  fmt::format("still {} after {} ms: another process holds the database",
                              mode ? *mode : sqlite3_errstr(rc), kBusyTimeoutMs),
                  rc);
    }
    mode = pragma_journal_mode(db, "PRAGMA journal_mode=WAL", &rc);
    if (!mode || to_lower(*mode) != "wal") {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(100));
    }
  }
}

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite_error(db, "sqlite3_prepare_v2", sql, rc);
    }
    statement_.reset(raw);
  }
  Statement& bind(int index, std::string_view text) {
    check(sqlite3_bind_text(statement_.get(), index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT),
          "sqlite3_bind_text");
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    check(sqlite3_bind_int64(statement_.get(), index, value), "sqlite3_bind_int64");
    return *this;
  }
  Statement& bind(int index, double value) {
    check(sqlite3_bind_double(statement_.get(), index, value), "sqlite3_bind_double");
    return *this;
  }
  Statement& bind_null(int index) {
    check(sqlite3_bind_null(statement_.get(), index), "sqlite3_bind_null");
    return *this;
  }
  // true: a row is available; false: done.
  bool step() {
    const int rc = sqlite3_step(statement_.get());
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    sqlite_error(db_, "sqlite3_step", sqlite3_sql(statement_.get()), rc);
  }
  void reset() {
    sqlite3_reset(statement_.get());
    sqlite3_clear_bindings(statement_.get());
  }
  [[nodiscard]] std::int64_t integer(int column) const {
    return sqlite3_column_int64(statement_.get(), column);
  }
  [[nodiscard]] double real(int column) const {
    return sqlite3_column_double(statement_.get(), column);
  }
  [[nodiscard]] std::string text(int column) const {
    const unsigned char* value = sqlite3_column_text(statement_.get(), column);
    const int size = sqlite3_column_bytes(statement_.get(), column);
    return value == nullptr ? std::string()
                            : std::string(reinterpret_cast<const char*>(value),  // NOLINT
                                          static_cast<std::size_t>(size));
  }

 private:
  void check(int rc, std::string_view call) {
    if (rc != SQLITE_OK) {
      sqlite_error(db_, call, sqlite3_sql(statement_.get()), rc);
    }
  }
  sqlite3* db_;
  StatementHandle statement_;
};

// BEGIN IMMEDIATE takes the write lock up front, so two writers never both read and then fail
// to upgrade (SQLITE_BUSY without the busy handler's help); rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (!committed_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  void commit() {
    exec(db_, "COMMIT");
    committed_ = true;
  }

 private:
  sqlite3* db_;
  bool committed_ = false;
};

// What makes two result rows comparable across runs.
std::string series_of(const RunShape& shape, const ResultRow& row) {
  std::string labels;
  for (const auto& [name, value] : row.labels) {
    if (is_identity_label(name)) {
      labels += name + "=" + value + ";";
    }
  }
  return fmt::format("{}|{}n|{}|{}|{}|{}|{}|{}r|{}", shape.instance_type, shape.nodes,
                     row.benchmark, row.backend, row.dtype, normalized_op(row.op),
                     placement_of(row), row.ranks, labels);
}

std::string auto_metric(std::uint64_t size, double busbw, double algbw) {
  if (size <= 65536) {
    return std::string(kMetricTime);
  }
  if (busbw > 0) {
    return std::string(kMetricBusBw);
  }
  if (algbw > 0) {
    return std::string(kMetricAlgBw);
  }
  return std::string(kMetricTime);
}

std::filesystem::path home_directory() {
  const char* home = std::getenv("HOME");  // NOLINT(concurrency-mt-unsafe): read once at start
  if (home != nullptr && home[0] == '/') {
    return home;
  }
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* result = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &result) == 0 &&
      result != nullptr && result->pw_dir != nullptr) {
    return result->pw_dir;
  }
  throw UsageError("cannot find the home directory for the history database: pass --db PATH");
}

// Creates missing parent directories 0700: the history may hold host names and versions.
void create_parents(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> missing;
  for (auto dir = path.parent_path(); !dir.empty() && !std::filesystem::exists(dir);
       dir = dir.parent_path()) {
    missing.push_back(dir);
    if (dir == dir.parent_path()) {
      break;
    }
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
      throw UsageError(
          fmt::format("--db: cannot create directory {}: {}", it->string(), errno_message(errno)));
    }
  }
}

}  // namespace

namespace {

// Versions most likely to move a collective's figures, named first.
constexpr std::array<std::string_view, 10> kVersionOrder{
    "nccl",        "aws_ofi_nccl", "libfabric",    "efa_installer", "nvidia_driver",
    "cuda_driver", "efa_kmod",     "cuda_runtime", "rdma_core",     "mpi"};
// Environment that steers NCCL, the plugin, libfabric and the launcher.
constexpr std::array<std::string_view, 5> kEnvPrefixes{"NCCL_", "FI_", "RDMAV_", "OMPI_MCA_",
                                                       "CUDA_"};

std::string shown(const std::map<std::string, std::string>& map, const std::string& key) {
  const auto found = map.find(key);
  return found == map.end() ? std::string("(unset)") : found->second;
}

void differing(const std::map<std::string, std::string>& a,
               const std::map<std::string, std::string>& b, std::set<std::string>& keys) {
  for (const auto& [key, value] : a) {
    const auto other = b.find(key);
    if (other == b.end() || other->second != value) {
      keys.insert(key);
    }
  }
  for (const auto& [key, value] : b) {
    if (!a.contains(key)) {
      keys.insert(key);
    }
  }
}

}  // namespace

std::vector<std::string> describe_changes(const Report& before, const Report& after) {
  std::vector<std::string> changes;
  std::set<std::string> versions;
  differing(before.inventory.versions, after.inventory.versions, versions);
  for (const std::string_view name : kVersionOrder) {
    const std::string key(name);
    if (versions.erase(key) > 0) {
      changes.push_back(fmt::format("{} {} -> {}", key, shown(before.inventory.versions, key),
                                    shown(after.inventory.versions, key)));
    }
  }
  for (const auto& key : versions) {
    changes.push_back(fmt::format("{} {} -> {}", key, shown(before.inventory.versions, key),
                                  shown(after.inventory.versions, key)));
  }
  std::set<std::string> env;
  differing(before.inventory.env, after.inventory.env, env);
  for (const std::string_view prefix : kEnvPrefixes) {
    for (const auto& key : env) {
      if (starts_with(key, prefix)) {
        changes.push_back(fmt::format("env {} {} -> {}", key, shown(before.inventory.env, key),
                                      shown(after.inventory.env, key)));
      }
    }
  }
  const std::set<std::string> hosts_before(before.run.hosts.begin(), before.run.hosts.end());
  const std::set<std::string> hosts_after(after.run.hosts.begin(), after.run.hosts.end());
  if (hosts_before != hosts_after && !hosts_before.empty() && !hosts_after.empty()) {
    std::vector<std::string> left;
    std::vector<std::string> joined;
    std::set_difference(hosts_before.begin(), hosts_before.end(), hosts_after.begin(),
                        hosts_after.end(), std::back_inserter(left));
    std::set_difference(hosts_after.begin(), hosts_after.end(), hosts_before.begin(),
                        hosts_before.end(), std::back_inserter(joined));
    const auto few = [](const std::vector<std::string>& names) {
      std::vector<std::string> head(
          names.begin(),
          names.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(names.size(), 4)));
      return join(head, ",") + (names.size() > 4 ? fmt::format(",+{}", names.size() - 4) : "");
    };
    changes.push_back(fmt::format("hosts: without {} with {}", left.empty() ? "-" : few(left),
                                  joined.empty() ? "-" : few(joined)));
  }
  return changes;
}

std::filesystem::path default_history_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");  // NOLINT(concurrency-mt-unsafe)
  if (xdg != nullptr && xdg[0] == '/') {
    return std::filesystem::path(xdg) / "preflight" / "history.db";
  }
  return home_directory() / ".local" / "share" / "preflight" / "history.db";
}

struct HistoryStore::Handle {
  Database db;
};

HistoryStore::HistoryStore(std::filesystem::path path, std::unique_ptr<Handle> handle)
    : path_(std::move(path)), handle_(std::move(handle)) {}
HistoryStore::~HistoryStore() = default;
HistoryStore::HistoryStore(HistoryStore&&) noexcept = default;
HistoryStore& HistoryStore::operator=(HistoryStore&&) noexcept = default;

HistoryStore HistoryStore::open(const std::filesystem::path& path, bool create) {
  if (path.empty()) {
    throw UsageError("--db: empty path");
  }
  // A device, FIFO or socket is refused before it is opened (opening a FIFO would block, and
  // SQLite cannot keep a database in a stream), also behind a symbolic link (/dev/stdout).
  struct stat node {};
  if (::stat(path.c_str(), &node) == 0 && !S_ISREG(node.st_mode)) {
    throw UsageError(
        fmt::format("--db {}: not a regular file ({}); the history database must be "
                    "a file",
                    path.string(),
                    S_ISDIR(node.st_mode)    ? "a directory"
                    : S_ISCHR(node.st_mode)  ? "a character device"
                    : S_ISBLK(node.st_mode)  ? "a block device"
                    : S_ISFIFO(node.st_mode) ? "a FIFO"
                                             : "a socket"));
  }
  if (create) {
    create_parents(path);
  }
  // Create (or open) the file ourselves: O_NOFOLLOW refuses a symlink planted at the path, and
  // the mode is 0600 from the first byte (SQLite gives its -wal and -shm files the same mode).
  const int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0);
  FileDescriptor fd(::open(path.c_str(), flags, 0600));
  if (!fd) {
    const int error = errno;
    if (error == ELOOP) {
      throw UsageError(
          fmt::format("--db {}: is a symbolic link; refusing to follow it", path.string()));
    }
    if (error == ENOENT && !create) {
      throw UsageError(
          fmt::format("--db {}: no history database (preflight-report history add "
                      "creates it)",
                      path.string()));
    }
    throw UsageError(fmt::format("--db {}: cannot open: {}", path.string(), errno_message(error)));
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    throw UsageError(fmt::format("--db {}: not a regular file", path.string()));
  }
  fd.reset();
  check_sqlite_database(path, "--db");

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX,
      nullptr);
  auto handle = std::make_unique<Handle>();
  handle->db.reset(raw);  // owned even when the open failed, as SQLite requires
  if (rc != SQLITE_OK) {
    sqlite_error(raw, "sqlite3_open_v2", path.string(), rc);
  }
  sqlite3* db = handle->db.get();
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  enable_wal(db, path.string());
  exec(db, "PRAGMA synchronous=NORMAL");
  exec(db, "PRAGMA foreign_keys=ON");
  {
    Transaction transaction(db);
    exec(db,
         "CREATE TABLE IF NOT EXISTS runs ("
         " id INTEGER PRIMARY KEY AUTOINCREMENT,"
         " digest TEXT NOT NULL UNIQUE,"
         " added_at TEXT NOT NULL,"
         " started_at TEXT, tool TEXT, run_id TEXT, instance_type TEXT,"
         " nodes INTEGER, ranks INTEGER, verdict TEXT, exit_code INTEGER, summary TEXT,"
         " source TEXT, report TEXT NOT NULL);"
         "CREATE TABLE IF NOT EXISTS results ("
         " run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
         " series TEXT NOT NULL, benchmark TEXT, size_bytes INTEGER NOT NULL,"
         " time_s REAL, ci_lo REAL, ci_hi REAL, algbw_Bps REAL, busbw_Bps REAL,"
         " message_rate_per_s REAL);"
         "CREATE INDEX IF NOT EXISTS results_series ON results(series, size_bytes, run);"
         "CREATE INDEX IF NOT EXISTS results_run ON results(run);");
    exec(db, fmt::format("PRAGMA user_version={}", kSchemaVersion).c_str());
    transaction.commit();
  }
  return HistoryStore(path, std::move(handle));
}

HistoryStore::Added HistoryStore::add(const Report& report, std::string_view source) {
  sqlite3* db = handle_->db.get();
  const std::string text = json(report).dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string digest = fmt::format("{:016x}-{}", text_fingerprint(text), text.size());
  const RunShape shape = run_shape(report);
  Added added;
  Transaction transaction(db);
  {
    Statement existing(db, "SELECT id FROM runs WHERE digest = ?1");
    existing.bind(1, digest);
    if (existing.step()) {
      added.id = existing.integer(0);
      added.duplicate = true;
      transaction.commit();
      return added;
    }
  }
  Statement insert(db,
                   "INSERT INTO runs (digest, added_at, started_at, tool, run_id, instance_type, "
                   "nodes, ranks, verdict, exit_code, summary, source, report) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  insert.bind(1, digest)
      .bind(2, utc_timestamp_now())
      .bind(3, report.run.started_at)
      .bind(4, report.tool.name)
      .bind(5, report.run.id)
      .bind(6, shape.instance_type)
      .bind(7, static_cast<std::int64_t>(shape.nodes))
      .bind(8, static_cast<std::int64_t>(shape.ranks))
      .bind(9, to_string(report.verdict.status))
      .bind(10, static_cast<std::int64_t>(report.verdict.exit_code))
      .bind(11, report.verdict.summary)
      .bind(12, source)
      .bind(13, text);
  insert.step();
  added.id = sqlite3_last_insert_rowid(db);
  Statement row_insert(db,
                       "INSERT INTO results (run, series, benchmark, size_bytes, time_s, ci_lo, "
                       "ci_hi, algbw_Bps, busbw_Bps, message_rate_per_s) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  for (const auto& row : report.results) {
    row_insert.bind(1, added.id)
        .bind(2, series_of(shape, row))
        .bind(3, row.benchmark)
        .bind(4, static_cast<std::int64_t>(row.size_bytes))
        .bind(5, row.time_s.median)
        .bind(6, row.time_s.ci95_lo)
        .bind(7, row.time_s.ci95_hi)
        .bind(8, row.algbw_Bps)
        .bind(9, row.busbw_Bps);
    if (row.message_rate_per_s) {
      row_insert.bind(10, *row.message_rate_per_s);
    } else {
      row_insert.bind_null(10);
    }
    row_insert.step();
    row_insert.reset();
    ++added.results;
  }
  transaction.commit();
  return added;
}

std::vector<HistoryRun> HistoryStore::list(const HistoryFilter& filter) const {
  sqlite3* db = handle_->db.get();
  Statement query(db,
                  "SELECT r.id, r.added_at, r.started_at, r.tool, r.run_id, r.instance_type, "
                  "r.nodes, r.ranks, r.verdict, r.summary, r.source, "
                  "(SELECT COUNT(*) FROM results x WHERE x.run = r.id) "
                  "FROM runs r "
                  "WHERE (?1 = '' OR r.instance_type = ?1) AND (?2 = '' OR r.tool = ?2) "
                  "AND (?3 = '' OR EXISTS (SELECT 1 FROM results b WHERE b.run = r.id AND "
                  "b.benchmark = ?3)) "
                  "ORDER BY r.id DESC LIMIT ?4");
  query.bind(1, filter.instance_type)
      .bind(2, filter.tool)
      .bind(3, filter.benchmark)
      .bind(4, static_cast<std::int64_t>(filter.limit > 0 ? filter.limit : -1));
  std::vector<HistoryRun> runs;
  while (query.step()) {
    HistoryRun run;
    run.id = query.integer(0);
    run.added_at = query.text(1);
    run.started_at = query.text(2);
    run.tool = query.text(3);
    run.run_id = query.text(4);
    run.instance_type = query.text(5);
    run.nodes = static_cast<int>(query.integer(6));
    run.ranks = static_cast<int>(query.integer(7));
    run.verdict = query.text(8);
    run.summary = query.text(9);
    run.source = query.text(10);
    run.results = query.integer(11);
    runs.push_back(std::move(run));
  }
  return runs;
}

Report HistoryStore::show(std::int64_t id) const {
  Statement query(handle_->db.get(), "SELECT report FROM runs WHERE id = ?1");
  query.bind(1, id);
  if (!query.step()) {
    throw UsageError(fmt::format("history {}: no run {}", path_.string(), id));
  }
  const PaddedText text(query.text(0));
  if (auto report = fast_read_report(text)) {
    return std::move(*report);
  }
  try {
    return parse_json_text(text.view(), fmt::format("{} run {}", path_.string(), id)).get<Report>();
  } catch (const json::exception& e) {
    throw UsageError(fmt::format("history {}: run {} holds an unreadable report: {}",
                                 path_.string(), id, e.what()));
  }
}

Trend HistoryStore::trend(const TrendOptions& options) const {
  if (options.window < 1 || options.k <= 0 || options.min_band < 0 || options.min_runs < 1) {
    throw UsageError("trend: --window and --min-runs must be >= 1, --k > 0, --min-band >= 0");
  }
  if (options.metric != "auto" && !is_known_metric(options.metric)) {
    throw UsageError(fmt::format("--metric: unknown metric '{}'", options.metric));
  }
  sqlite3* db = handle_->db.get();
  Trend trend;
  trend.options = options;
  {
    Statement run(db, options.run > 0 ? "SELECT id, started_at FROM runs WHERE id = ?1"
                                      : "SELECT id, started_at FROM runs ORDER BY id DESC LIMIT 1");
    if (options.run > 0) {
      run.bind(1, options.run);
    }
    if (!run.step()) {
      throw UsageError(options.run > 0
                           ? fmt::format("history {}: no run {}", path_.string(), options.run)
                           : fmt::format("history {}: no runs recorded yet", path_.string()));
    }
    trend.run = run.integer(0);
    trend.run_started_at = run.text(1);
  }
  Statement rows(db,
                 "SELECT series, size_bytes, time_s, algbw_Bps, busbw_Bps, message_rate_per_s, "
                 "benchmark FROM results WHERE run = ?1 AND (?2 = '' OR benchmark = ?2) "
                 "ORDER BY series, size_bytes");
  rows.bind(1, trend.run).bind(2, options.benchmark);
  Statement previous(
      db,
      "SELECT run, time_s, algbw_Bps, busbw_Bps, message_rate_per_s FROM results "
      "WHERE series = ?1 AND size_bytes = ?2 AND run IN (SELECT DISTINCT run FROM results WHERE "
      "series = ?1 AND size_bytes = ?2 AND run < ?3 ORDER BY run DESC LIMIT ?4)");
  // Reports of the runs a regression is traced between, read once each.
  std::map<std::int64_t, Report> reports;
  const auto stored = [&](std::int64_t id) -> const Report& {
    auto found = reports.find(id);
    if (found == reports.end()) {
      found = reports.emplace(id, show(id)).first;
    }
    return found->second;
  };
  std::set<std::pair<std::string, std::uint64_t>> done;
  int regressions = 0;
  int improved = 0;
  int judged = 0;
  while (rows.step()) {
    TrendRow row;
    row.series = rows.text(0);
    row.size_bytes = static_cast<std::uint64_t>(rows.integer(1));
    if (!done.insert({row.series, row.size_bytes}).second) {
      continue;  // duplicates of a size within the run: judged once
    }
    const double time_s = rows.real(2);
    const double algbw = rows.real(3);
    const double busbw = rows.real(4);
    const double rate = rows.real(5);
    row.metric =
        options.metric == "auto" ? auto_metric(row.size_bytes, busbw, algbw) : options.metric;
    const auto pick = [&](double t, double a, double b, double m) {
      if (row.metric == kMetricTime) {
        return t;
      }
      if (row.metric == kMetricAlgBw) {
        return a;
      }
      if (row.metric == kMetricBusBw) {
        return b;
      }
      return m;
    };
    row.value = pick(time_s, algbw, busbw, rate);
    previous.reset();
    previous.bind(1, row.series)
        .bind(2, static_cast<std::int64_t>(row.size_bytes))
        .bind(3, trend.run)
        .bind(4, static_cast<std::int64_t>(options.window));
    std::map<std::int64_t, std::vector<double>> by_run;
    while (previous.step()) {
      by_run[previous.integer(0)].push_back(
          pick(previous.real(1), previous.real(2), previous.real(3), previous.real(4)));
    }
    std::vector<double> values;
    std::vector<std::pair<std::int64_t, double>> run_values;  // oldest first
    for (auto& [run, samples] : by_run) {
      values.push_back(median(samples));
      run_values.emplace_back(run, values.back());
    }
    row.previous_runs = static_cast<int>(values.size());
    if (row.previous_runs < options.min_runs || !std::isfinite(row.value)) {
      row.verdict = "insufficient";
      trend.rows.push_back(std::move(row));
      continue;
    }
    row.median = median(values);
    row.mad = median_absolute_deviation(values);
    const double half = std::max(options.k * row.mad, options.min_band * std::fabs(row.median));
    row.lo = row.median - half;
    row.hi = row.median + half;
    const bool higher_better = natural_direction(row.metric) == Direction::higher;
    ++judged;
    const auto worse = [&](double value) {
      return higher_better ? value < row.lo : value > row.hi;
    };
    if (worse(row.value)) {
      row.verdict = "regression";
      ++regressions;
      // The streak of runs outside the band that ends with this one, and the run before it.
      row.first_out_of_band_run = trend.run;
      for (auto it = run_values.rbegin(); it != run_values.rend(); ++it) {
        if (!worse(it->second)) {
          row.last_in_band_run = it->first;
          break;
        }
        row.first_out_of_band_run = it->first;
      }
      if (row.last_in_band_run > 0) {
        row.changes =
            describe_changes(stored(row.last_in_band_run), stored(row.first_out_of_band_run));
      }
    } else if (higher_better ? row.value > row.hi : row.value < row.lo) {
      row.verdict = "improved";
      ++improved;
    } else {
      row.verdict = "pass";
    }
    trend.rows.push_back(std::move(row));
  }
  const int insufficient = static_cast<int>(trend.rows.size()) - judged;
  if (judged == 0) {
    trend.status = Status::skip;
    trend.summary =
        fmt::format("skip: run {} has no row with {} or more previous comparable runs ({} rows)",
                    trend.run, options.min_runs, trend.rows.size());
  } else {
    trend.status = regressions > 0 ? Status::fail : Status::pass;
    trend.summary = fmt::format(
        "{}: run {}: {} rows judged against up to {} previous comparable runs: {} regression(s), "
        "{} improved, {} within the band (median +- max({} MAD, {:.3g}%)); {} without enough "
        "history",
        to_string(trend.status), trend.run, judged, options.window, regressions, improved,
        judged - regressions - improved, options.k, options.min_band * 100, insufficient);
    for (const auto& change : change_points(trend)) {
      trend.summary += "; " + change;
    }
  }
  return trend;
}

std::vector<std::string> change_points(const Trend& trend) {
  // Regressed rows grouped by the pair of runs they left the band between.
  std::map<std::pair<std::int64_t, std::int64_t>, std::pair<int, const TrendRow*>> pairs;
  int untraced = 0;
  for (const auto& row : trend.rows) {
    if (row.verdict != "regression") {
      continue;
    }
    if (row.last_in_band_run == 0) {
      ++untraced;
      continue;
    }
    auto& entry = pairs[{row.last_in_band_run, row.first_out_of_band_run}];
    ++entry.first;
    entry.second = &row;
  }
  std::vector<std::string> lines;
  for (const auto& [runs, entry] : pairs) {
    const TrendRow& row = *entry.second;
    lines.push_back(fmt::format(
        "{} row(s) left the band between run {} (last inside) and run {} (first outside): {}",
        entry.first, runs.first, runs.second,
        row.changes.empty() ? std::string("no version, environment or host change recorded")
                            : "changed " + join(row.changes, ", ")));
  }
  if (untraced > 0) {
    lines.push_back(fmt::format(
        "{} row(s) have no run inside the band in the window to trace the change from", untraced));
  }
  return lines;
}

void to_json(json& j, const Trend& trend) {
  json rows = json::array();
  for (const auto& row : trend.rows) {
    json r{{"series", row.series}, {"size_bytes", row.size_bytes},       {"metric", row.metric},
           {"value", row.value},   {"previous_runs", row.previous_runs}, {"verdict", row.verdict}};
    if (row.verdict != "insufficient") {
      r["median"] = row.median;
      r["mad"] = row.mad;
      r["band"] = {row.lo, row.hi};
    }
    if (row.verdict == "regression") {
      r["changed"] = {{"last_in_band_run", row.last_in_band_run},
                      {"first_out_of_band_run", row.first_out_of_band_run},
                      {"differences", row.changes}};
    }
    rows.push_back(r);
  }
  j = json{{"run", trend.run},
           {"window", trend.options.window},
           {"k", trend.options.k},
           {"min_band", trend.options.min_band},
           {"min_runs", trend.options.min_runs},
           {"status", to_string(trend.status)},
           {"summary", trend.summary},
           {"rows", rows}};
}

}  // namespace preflight::reports
