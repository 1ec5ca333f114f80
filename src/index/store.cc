#include "index/store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "zeroshot/error.h"

namespace zeroshot::index {
namespace {

// PRAGMA application_id of a zeroshot index ("zsix"): tells our file from another program's
// SQLite database. PRAGMA user_version is the format; a newer one is refused, not guessed at.
constexpr int kApplicationId = 0x7a736978;
constexpr int kFormatVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  hash TEXT NOT NULL,
  error TEXT,      -- why the file has no vector; NULL when it has one
  vector BLOB      -- [dim] little-endian float32, L2-normalised; NULL with an error
);
CREATE INDEX files_by_hash ON files (hash);
)sql";

// A prepared statement, finalised on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const std::string& path) : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& s) {
    check(sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(stmt_, i, v));
    return *this;
  }
  Statement& bind_null(int i) {
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }
  Statement& bind(int i, std::span<const float> v) {
    check(sqlite3_bind_blob64(stmt_, i, v.data(), v.size_bytes(), SQLITE_TRANSIENT));
    return *this;
  }
  // True while there is a row to read.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("query");
  }
  void run() {
    while (step()) {
    }
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  // The blob of `col` as floats; throws if it is not a whole number of floats.
  std::span<const float> floats(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    const auto bytes = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
    if (bytes % sizeof(float) != 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  path_ + ": a stored vector has " + std::to_string(bytes) +
                      " bytes, not a whole number of floats: the index is damaged");
    }
    return {static_cast<const float*>(p), bytes / sizeof(float)};
  }

  [[noreturn]] void fail(const char* what) const;

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) fail("bind");
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* stmt_ = nullptr;
};

// SQLite's answer as our error: a file that is not a database, or is damaged, is the user's to
// fix (kInvalidArgument); everything else is I/O.
[[noreturn]] void throw_sqlite(sqlite3* db, const std::string& path, const char* what) {
  const int rc = sqlite3_extended_errcode(db);
  const std::string message = sqlite3_errmsg(db);
  if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
    throw Error(ErrorCode::kInvalidArgument,
                path + ": not a zeroshot index, or a damaged one (SQLite: " + message +
                    "); it was left as it was. Pass another --db file, or delete this one to "
                    "build the index anew");
  }
  if ((rc & 0xff) == SQLITE_BUSY) {
    throw Error(ErrorCode::kIo, path + ": the index is locked by another process (SQLite: " +
                                    message + "); try again when it has finished");
  }
  throw Error(ErrorCode::kIo, path + ": index " + what + " failed (SQLite: " + message + ")");
}

void Statement::fail(const char* what) const { throw_sqlite(db_, path_, what); }

}  // namespace

struct Store::Impl {
  std::string path;
  sqlite3* db = nullptr;
  int lock_fd = -1;  // kUpdate: holds flock(LOCK_EX) on the file; closed after the database
  bool in_group = false;

  ~Impl() {
    if (db) {
      if (in_group) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close_v2(db);
    }
    // Closed only after SQLite's own descriptors: closing any descriptor of a file drops the
    // process's POSIX locks on it, which SQLite relies on.
    if (lock_fd >= 0) close(lock_fd);
  }

  void exec(const char* sql) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw_sqlite(db, path, "write");
  }
  int pragma_int(const char* sql) {
    Statement s(db, sql, path);
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
  }
  std::optional<std::string> meta(const char* key) const {
    Statement s(db, "SELECT value FROM meta WHERE key = ?", path);
    s.bind(1, std::string(key));
    if (!s.step()) return std::nullopt;
    return s.text(0);
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const std::string& path, Mode mode) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Error(ErrorCode::kInvalidArgument,
                path + ": is a folder; --db takes the index file (e.g. photos.zsdb)");
  }
  if (mode == Mode::kRead && !fs::exists(path, ec)) {
    throw Error(
        ErrorCode::kInvalidArgument,
        path + ": no such index; build one first with zeroshot index --db " + path + " PHOTOS...");
  }
  if (mode == Mode::kUpdate) {
    // One writer at a time: the lock is taken before SQLite reads anything, and never waits.
    impl->lock_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (impl->lock_fd < 0) {
      throw Error(ErrorCode::kIo,
                  path + ": cannot open the index for writing (" + std::strerror(errno) + ")");
    }
    while (flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) {
        throw Error(ErrorCode::kIo, path +
                                        ": another process is updating this index (zeroshot "
                                        "index); wait for it to finish, then run again");
      }
      throw Error(ErrorCode::kIo, path + ": cannot lock the index (" + std::strerror(errno) + ")");
    }
  }
  const int flags =
      mode == Mode::kRead ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &impl->db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    if (!impl->db) throw Error(ErrorCode::kIo, path + ": cannot open the index (out of memory)");
    throw_sqlite(impl->db, path, "open");
  }
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, 10000);  // a reader waits out a writer's commit

  // Read before anything is written: a foreign or damaged file fails here, untouched.
  const int app_id = impl->pragma_int("PRAGMA application_id");
  const int version = impl->pragma_int("PRAGMA user_version");
  const int objects = impl->pragma_int("SELECT count(*) FROM sqlite_schema");
  if (app_id == 0 && objects == 0) {
    if (mode == Mode::kUpdate) {
      impl->exec("BEGIN IMMEDIATE");
      impl->exec(kSchema);
      impl->exec(("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str());
      impl->exec(("PRAGMA user_version = " + std::to_string(kFormatVersion)).c_str());
      impl->exec("COMMIT");
    }
    // kRead of an empty database: an empty index (no tables to ask: queries answer nothing).
  } else if (app_id != kApplicationId) {
    throw Error(ErrorCode::kInvalidArgument,
                path +
                    ": an SQLite database of another program, not a zeroshot index; it was "
                    "left as it was. Pass another --db file");
  } else if (version > kFormatVersion) {
    throw Error(ErrorCode::kInvalidArgument,
                path + ": a zeroshot index of format " + std::to_string(version) +
                    ", newer than this zeroshot reads (" + std::to_string(kFormatVersion) +
                    "); use a newer zeroshot, or build the index anew");
  }
  return Store(std::move(impl));
}

const std::string& Store::path() const { return impl_->path; }

namespace {

bool has_tables(Store::Impl& impl) {
  return impl.pragma_int("SELECT count(*) FROM sqlite_schema WHERE name = 'files'") > 0;
}

}  // namespace

std::optional<Identity> Store::identity() const {
  if (!has_tables(*impl_)) return std::nullopt;
  auto model = impl_->meta("model");
  if (!model) return std::nullopt;
  Identity id;
  id.model = *model;
  id.revision = impl_->meta("revision").value_or("");
  id.family = impl_->meta("family").value_or("");
  const std::string dim = impl_->meta("dim").value_or("0");
  try {
    id.dim = std::stoi(dim);
  } catch (const std::exception&) {
    id.dim = 0;
  }
  if (id.dim <= 0) {
    throw Error(ErrorCode::kInvalidArgument,
                impl_->path + ": the index records a vector size of '" + dim +
                    "': the index is damaged; delete it to build it anew");
  }
  return id;
}

void Store::check_identity(const Identity& identity) const {
  if (auto existing = this->identity()) {
    if (existing->model == identity.model && existing->revision == identity.revision &&
        existing->family == identity.family && existing->dim == identity.dim)
      return;
    throw Error(ErrorCode::kInvalidArgument,
                impl_->path + ": this index holds vectors of " + existing->model + " (revision " +
                    existing->revision + ", " + existing->family + ", " +
                    std::to_string(existing->dim) + " floats), not of " + identity.model +
                    " (revision " + identity.revision + ", " + identity.family + ", " +
                    std::to_string(identity.dim) +
                    " floats): vectors of two models cannot be compared. Use --repo " +
                    existing->model + " --revision " + existing->revision +
                    " with this index, or another --db file (delete this one to rebuild it with "
                    "the new model)");
  }
}

void Store::check_or_set_identity(const Identity& identity) {
  check_identity(identity);
  if (this->identity()) return;
  const bool own_group = !impl_->in_group;
  if (own_group) impl_->exec("BEGIN IMMEDIATE");
  for (const auto& [key, value] : {std::pair<const char*, std::string>{"model", identity.model},
                                   {"revision", identity.revision},
                                   {"family", identity.family},
                                   {"dim", std::to_string(identity.dim)}}) {
    Statement insert(impl_->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     impl_->path);
    insert.bind(1, std::string(key)).bind(2, value).run();
  }
  if (own_group) impl_->exec("COMMIT");
}

std::optional<FileRecord> Store::file(const std::string& path) const {
  if (!has_tables(*impl_)) return std::nullopt;
  Statement s(impl_->db, "SELECT size, mtime_ns, hash, error FROM files WHERE path = ?",
              impl_->path);
  s.bind(1, path);
  if (!s.step()) return std::nullopt;
  FileRecord r{path, s.integer(0), s.integer(1), s.text(2), std::nullopt};
  if (!s.is_null(3)) r.error = s.text(3);
  return r;
}

std::optional<std::vector<float>> Store::vector_for_hash(const std::string& hash) const {
  if (hash.empty() || !has_tables(*impl_)) return std::nullopt;
  Statement s(impl_->db, "SELECT vector FROM files WHERE hash = ? AND vector IS NOT NULL LIMIT 1",
              impl_->path);
  s.bind(1, hash);
  if (!s.step()) return std::nullopt;
  const auto v = s.floats(0);
  return std::vector<float>(v.begin(), v.end());
}

std::vector<std::string> Store::paths_under(const std::string& folder) const {
  std::vector<std::string> paths;
  if (!has_tables(*impl_)) return paths;
  std::string prefix = folder;
  if (prefix.empty() || prefix.back() != '/') prefix.push_back('/');
  // Paths from prefix (inclusive) to prefix with its last byte '/' raised to '0' (exclusive):
  // exactly the strings that start with prefix, by the index on path.
  std::string end = prefix;
  end.back() = '0';
  Statement s(impl_->db, "SELECT path FROM files WHERE path >= ? AND path < ? ORDER BY path",
              impl_->path);
  s.bind(1, prefix).bind(2, end);
  while (s.step()) paths.push_back(s.text(0));
  return paths;
}

std::vector<FileRecord> Store::failures() const {
  std::vector<FileRecord> out;
  if (!has_tables(*impl_)) return out;
  Statement s(impl_->db,
              "SELECT path, size, mtime_ns, hash, error FROM files WHERE error IS NOT NULL "
              "ORDER BY path",
              impl_->path);
  while (s.step()) out.push_back({s.text(0), s.integer(1), s.integer(2), s.text(3), s.text(4)});
  return out;
}

std::size_t Store::file_count() const {
  if (!has_tables(*impl_)) return 0;
  return static_cast<std::size_t>(impl_->pragma_int("SELECT count(*) FROM files"));
}

std::size_t Store::vector_count() const {
  if (!has_tables(*impl_)) return 0;
  return static_cast<std::size_t>(
      impl_->pragma_int("SELECT count(*) FROM files WHERE vector IS NOT NULL"));
}

Vectors Store::vectors() const {
  Vectors out;
  const auto id = identity();
  if (!id) return out;
  out.dim = id->dim;
  const auto dim = static_cast<std::size_t>(id->dim);
  out.paths.reserve(vector_count());
  out.data.reserve(out.paths.capacity() * dim);
  Statement s(impl_->db, "SELECT path, vector FROM files WHERE vector IS NOT NULL ORDER BY path",
              impl_->path);
  while (s.step()) {
    const auto v = s.floats(1);
    if (v.size() != dim) {
      throw Error(ErrorCode::kInvalidArgument,
                  impl_->path + ": the vector of " + s.text(0) + " has " +
                      std::to_string(v.size()) + " floats, the index's model " +
                      std::to_string(dim) + ": the index is damaged; delete it to rebuild it");
    }
    out.paths.push_back(s.text(0));
    out.data.insert(out.data.end(), v.begin(), v.end());
  }
  return out;
}

void Store::begin() {
  if (impl_->in_group) return;
  impl_->exec("BEGIN IMMEDIATE");
  impl_->in_group = true;
}

void Store::commit() {
  if (!impl_->in_group) return;
  impl_->exec("COMMIT");
  impl_->in_group = false;
}

void Store::put(const FileRecord& record, std::span<const float> vector) {
  const auto id = identity();
  if (!record.error) {
    if (!id) {
      throw Error(ErrorCode::kInternal,
                  impl_->path + ": a vector was stored before the index's model was recorded");
    }
    if (vector.size() != static_cast<std::size_t>(id->dim)) {
      throw Error(ErrorCode::kInvalidArgument, impl_->path + ": the vector of " + record.path +
                                                   " has " + std::to_string(vector.size()) +
                                                   " floats; this index holds " +
                                                   std::to_string(id->dim));
    }
  }
  Statement s(impl_->db,
              "INSERT OR REPLACE INTO files (path, size, mtime_ns, hash, error, vector) VALUES "
              "(?, ?, ?, ?, ?, ?)",
              impl_->path);
  s.bind(1, record.path).bind(2, record.size).bind(3, record.mtime_ns).bind(4, record.hash);
  if (record.error) {
    s.bind(5, *record.error).bind_null(6);
  } else {
    s.bind_null(5).bind(6, vector);
  }
  s.run();
}

void Store::remove(const std::string& path) {
  Statement s(impl_->db, "DELETE FROM files WHERE path = ?", impl_->path);
  s.bind(1, path).run();
}

std::size_t Store::merge(const std::string& other) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::equivalent(other, impl_->path, ec)) {
    throw Error(ErrorCode::kInvalidArgument,
                other +
                    ": is the index being merged into; name each shard file once, and "
                    "another file as the result");
  }
  // Opened first on its own: a missing, foreign or newer-format file fails here, untouched.
  const Store shard = Store::open(other, Mode::kRead);
  const auto id = shard.identity();
  if (!id) return 0;  // nothing was ever written to it
  if (const auto mine = identity();
      mine && (mine->model != id->model || mine->revision != id->revision ||
               mine->family != id->family || mine->dim != id->dim)) {
    throw Error(ErrorCode::kInvalidArgument,
                other + ": holds vectors of " + id->model + " (revision " + id->revision + ", " +
                    id->family + ", " + std::to_string(id->dim) + " floats), " + impl_->path +
                    " of " + mine->model + " (revision " + mine->revision + ", " + mine->family +
                    ", " + std::to_string(mine->dim) +
                    " floats): vectors of two models cannot be merged. Build every shard with "
                    "the same --repo and --revision");
  }
  if (impl_->in_group) commit();  // ATTACH is refused inside a transaction
  Statement attach(impl_->db, "ATTACH DATABASE ? AS shard", impl_->path);
  attach.bind(1, other).run();
  std::size_t copied = 0;
  try {
    begin();
    check_or_set_identity(*id);
    impl_->exec(
        "INSERT OR REPLACE INTO main.files (path, size, mtime_ns, hash, error, vector) "
        "SELECT path, size, mtime_ns, hash, error, vector FROM shard.files");
    copied = static_cast<std::size_t>(sqlite3_changes64(impl_->db));
    commit();
  } catch (...) {
    if (impl_->in_group) {
      sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
      impl_->in_group = false;
    }
    sqlite3_exec(impl_->db, "DETACH DATABASE shard", nullptr, nullptr, nullptr);
    throw;
  }
  impl_->exec("DETACH DATABASE shard");
  return copied;
}

}  // namespace zeroshot::index
