// The session file's schema and its forward migrations. A session is a SQLite file whose
// `application_id` marks it as MoEScope's and whose `user_version` is its schema version.
#pragma once

#include <cstdint>

namespace moescope {

class SqliteDb;

constexpr std::int64_t kSessionApplicationId = 0x4D6F4553;  // "MoES"
constexpr std::int64_t kSessionSchemaVersion = 5;

// Creates the schema of version 1, the first one shipped (also used by the migration test).
void create_schema_v1(SqliteDb& db);

// Brings a session of an older version (or a blank file) up to kSessionSchemaVersion, one step
// at a time, in one write transaction. The version is read inside that transaction, so when
// several processes open one old or new file at once, the first upgrades it and the others find
// it done.
void migrate_schema(SqliteDb& db);

}  // namespace moescope
