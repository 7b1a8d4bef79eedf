#include "core/session/sqlite_db.h"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/base/error.h"

namespace moescope {

namespace {

// How long a writer waits for another process's write (a large run's rows take seconds).
constexpr int kBusyTimeoutMs = 60000;

}  // namespace

namespace {

// `path` as an SQLite URI ("file:///a%20b?immutable=1"): absolute, with an empty authority (so
// "//host/x" stays a path), and every byte but unreserved ASCII and '/' percent-encoded, so
// that '?', '#' and '%' in a name stay part of it.
std::string immutable_uri(const std::string& path) {
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(path, ec).string();
  if (ec) absolute = path;
  std::string uri = "file://";
  for (const char c : absolute) {
    const auto byte = static_cast<unsigned char>(c);
    const bool plain = (byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
                       (byte >= '0' && byte <= '9') || c == '/' || c == '-' || c == '_' ||
                       c == '.' || c == '~';
    if (plain) {
      uri += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", byte);
      uri += hex;
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

SqliteDb::SqliteDb(const std::string& path, Mode mode) : path_(path) {
  int flags = SQLITE_OPEN_NOMUTEX;
  std::string name = path;
  switch (mode) {
    case Mode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
    case Mode::kImmutable:
      flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
      name = immutable_uri(path);
      break;
    case Mode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::kReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
  }
  if (sqlite3_open_v2(name.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open session '" + path + "': " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  // Waits for another process's write instead of failing at once; a large run's rows take a
  // few seconds to write, and two writers must both succeed.
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
}

SqliteDb::~SqliteDb() {
  sqlite3_close_v2(db_);
}

void SqliteDb::fail(const std::string& what) const {
  throw Error(path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void SqliteDb::exec(std::string_view sql) {
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("SQL failed");
  }
}

void SqliteDb::exec_waiting(std::string_view sql) {
  const std::string text(sql);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  while (true) {
    const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    const bool busy = (rc & 0xFF) == SQLITE_BUSY || (rc & 0xFF) == SQLITE_LOCKED;
    if (!busy || std::chrono::steady_clock::now() > deadline) fail("SQL failed");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::int64_t SqliteDb::query_int(std::string_view sql) {
  SqliteStatement s(*this, sql);
  return s.step() ? s.column_int(0) : 0;
}

std::int64_t SqliteDb::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

SqliteStatement::SqliteStatement(SqliteDb& db, std::string_view sql) : db_(db) {
  const int rc =
      sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc == SQLITE_OK) return;
  // A statement that reads the schema meets a file of another format already here.
  if ((rc & 0xFF) == SQLITE_NOTADB) {
    throw Error(db.path() + ": not a MoEScope session (not an SQLite database)");
  }
  // A damaged schema page can be met here too, before any step.
  if ((rc & 0xFF) == SQLITE_CORRUPT) db.fail("the session file is corrupt or truncated");
  db.fail("cannot read the session");
}

SqliteStatement::~SqliteStatement() {
  sqlite3_finalize(stmt_);
}

SqliteStatement& SqliteStatement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int primary = rc & 0xFF;
  if (primary == SQLITE_NOTADB) {
    throw Error(db_.path() + ": not a MoEScope session (not an SQLite database)");
  }
  if (primary == SQLITE_CORRUPT) {
    db_.fail("the session file is corrupt or truncated");
  }
  if (primary == SQLITE_READONLY) db_.fail("the session file is read-only");
  if (primary == SQLITE_FULL) db_.fail("the disk is full");
  db_.fail("session query failed");
}

void SqliteStatement::run() {
  step();
  reset();
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t SqliteStatement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

double SqliteStatement::column_double(int index) const {
  return sqlite3_column_double(stmt_, index);
}

std::string SqliteStatement::column_text(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  return text ? reinterpret_cast<const char*>(text) : "";
}

bool SqliteStatement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

SqliteTransaction::~SqliteTransaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void SqliteTransaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace moescope
