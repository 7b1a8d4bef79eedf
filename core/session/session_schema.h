// The session file's schema and its forward migrations. A session is a SQLite file whose
// `application_id` marks it as MoEScope's and whose `user_version` is its schema version.
#pragma once

#include <cstdint>

namespace moescope {

class SqliteDb;

constexpr std::int64_t kSessionApplicationId = 0x4D6F4553;  // "MoES"
constexpr std::int64_t kSessionSchemaVersion = 6;

// What a session file says it is. Throws Error naming the file when it is another
// application's SQLite database or was written by a newer MoEScope.
struct SessionHeader {
  std::int64_t version = 0;
  bool blank = false;  // a new, empty file: no id, no version, no tables
};
SessionHeader read_session_header(SqliteDb& db);

// Creates the schema of version 1, the first one shipped (also used by the migration test).
void create_schema_v1(SqliteDb& db);

// Brings a session of an older version (or a blank file) up to kSessionSchemaVersion, one step
// at a time, in one write transaction. The header is read again inside that transaction, so when
// several processes open one old or new file at once, the first upgrades it and the others find
// it done (or find that a newer MoEScope upgraded it meanwhile, and stop).
void migrate_schema(SqliteDb& db);

}  // namespace moescope
