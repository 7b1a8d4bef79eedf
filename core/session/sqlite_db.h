// A thin RAII layer over SQLite's C API: one connection, prepared statements, and errors turned
// into moescope::Error messages that name the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace moescope {

class SqliteDb;

class SqliteStatement {
 public:
  SqliteStatement(SqliteDb& db, std::string_view sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binding is 1-based, as in SQLite.
  SqliteStatement& bind(int index, std::int64_t value);
  SqliteStatement& bind(int index, int value) {
    return bind(index, static_cast<std::int64_t>(value));
  }
  SqliteStatement& bind(int index, double value);
  SqliteStatement& bind(int index, std::string_view value);
  SqliteStatement& bind_null(int index);

  // Returns true while a row is available; throws Error on failure.
  bool step();
  // Runs a statement that returns no rows, then resets it for the next use.
  void run();
  void reset();

  std::int64_t column_int(int index) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

 private:
  SqliteDb& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

class SqliteDb {
 public:
  // kImmutable: read-only, and SQLite told that nothing changes the file while it is open, so
  // it creates nothing beside it (for read-only folders and mounts, where nothing can).
  enum class Mode { kReadOnly, kImmutable, kReadWrite, kReadWriteCreate };

  // Opens in SQLite's defensive mode with the schema untrusted: a session file from someone
  // else cannot run code through triggers or views.
  SqliteDb(const std::string& path, Mode mode);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  void exec(std::string_view sql);
  // The same for SQL whose lock SQLite does not wait for through the busy handler (switching
  // the journal mode while another process opens the same new session): retried while the file
  // is busy, for up to the busy timeout.
  void exec_waiting(std::string_view sql);
  std::int64_t query_int(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

  // "PATH: what SQLite said", for errors of the last call.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Commits on commit(); rolls back when destroyed before that (an exception, a cancel).
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  void commit();

 private:
  SqliteDb& db_;
  bool open_ = true;
};

}  // namespace moescope
