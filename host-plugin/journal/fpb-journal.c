/* SPDX-License-Identifier: GPL-2.0-or-later */
#define G_LOG_DOMAIN "fpb-journal"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "fpb-journal.h"

/* Not G_DEFINE_QUARK: clang-format splits its dashed name. */
GQuark fpb_journal_error_quark(void)
{
    return g_quark_from_static_string("fpb-journal-error-quark");
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* JSON columns larger than this are ignored when read (a row is ~10 KiB). */
#define MAX_JSON_COLUMN_BYTES (1024 * 1024)
#define BUSY_TIMEOUT_MS 10000

struct _FpbJournal {
    sqlite3 *db;
    char *path;
};

/* Version 2 of the schema; later versions are upgrades below. */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS migrations ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " vm TEXT NOT NULL, source_qmp TEXT, dest_qmp TEXT, uri TEXT, requested_mode TEXT,"
    " phase TEXT NOT NULL, start_us INTEGER NOT NULL, end_us INTEGER,"
    " owner_pid INTEGER, owner_start INTEGER, qemu_version TEXT,"
    " facts TEXT, decision TEXT, predictions TEXT, mode TEXT, hints TEXT,"
    " prep_original_bytes INTEGER, prep_target_bytes INTEGER, prep_reached_bytes INTEGER,"
    " prep_seconds REAL, prep_stopped TEXT,"
    " mig_status TEXT, mig_total_ms INTEGER, mig_downtime_ms INTEGER, mig_setup_ms INTEGER,"
    " mig_transferred_bytes INTEGER, mig_normal_pages INTEGER, mig_normal_bytes INTEGER,"
    " mig_zero_pages INTEGER, mig_dirty_sync_count INTEGER, mig_throughput_mbps REAL,"
    " restore_status TEXT, restore_where TEXT, restore_seconds REAL,"
    " restore_final_bytes INTEGER, error TEXT);"
    "CREATE INDEX IF NOT EXISTS migrations_vm ON migrations (vm, id);"
    "CREATE INDEX IF NOT EXISTS migrations_phase ON migrations (phase);"
    "CREATE TABLE IF NOT EXISTS vm_history ("
    " vm TEXT PRIMARY KEY, migrations INTEGER NOT NULL,"
    " hint_efficiency REAL, hint_efficiency_samples INTEGER,"
    " inflate_rate REAL, inflate_rate_samples INTEGER,"
    " deflate_rate REAL, deflate_rate_samples INTEGER,"
    " zero_share REAL, zero_share_samples INTEGER,"
    " bandwidth REAL, bandwidth_samples INTEGER,"
    " used_zero_share REAL, used_zero_share_samples INTEGER,"
    " zero_page_seconds REAL, zero_page_seconds_samples INTEGER);";

/* Version 1 -> 2: the cost model learns two more quantities per VM. */
static const char upgrade_1_sql[] =
    "ALTER TABLE vm_history ADD COLUMN used_zero_share REAL;"
    "ALTER TABLE vm_history ADD COLUMN used_zero_share_samples INTEGER;"
    "ALTER TABLE vm_history ADD COLUMN zero_page_seconds REAL;"
    "ALTER TABLE vm_history ADD COLUMN zero_page_seconds_samples INTEGER;"
    "UPDATE schema_version SET version = 2;";

/* Version 2 -> 3: each row names the backend that wrote it, so recovery
 * asks that backend instead of guessing from the source column. Rows of
 * older versions are named once here, from the only two forms their
 * source column ever had. */
static const char upgrade_2_sql[] =
    "ALTER TABLE migrations ADD COLUMN backend TEXT;"
    "UPDATE migrations SET backend = CASE WHEN source_qmp LIKE 'libvirt:%' "
    "THEN 'libvirt' ELSE 'qmp' END;"
    "UPDATE schema_version SET version = 3;";

/* Version 3 -> 4: what free-page hints did, from fpb's QEMU (issue 15). */
static const char upgrade_3_sql[] = "ALTER TABLE migrations ADD COLUMN hint_reported_bytes INTEGER;"
                                    "ALTER TABLE migrations ADD COLUMN hint_reports INTEGER;"
                                    "ALTER TABLE migrations ADD COLUMN hint_cleared_bytes INTEGER;"
                                    "ALTER TABLE migrations ADD COLUMN hint_report_ms INTEGER;"
                                    "ALTER TABLE migrations ADD COLUMN hint_rounds INTEGER;"
                                    "UPDATE schema_version SET version = 4;";

/* Version 4 -> 5: evacuations (fpbctl evacuate, issue 16): one row per
 * run, and each VM's migration row names its evacuation. Older rows have
 * none (NULL). */
static const char upgrade_4_sql[] =
    "CREATE TABLE IF NOT EXISTS evacuations ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL,"
    " start_us INTEGER NOT NULL, end_us INTEGER, owner_pid INTEGER, owner_start INTEGER,"
    " source_uri TEXT, dest_uri TEXT, plan TEXT,"
    " predicted_makespan_seconds REAL, actual_makespan_seconds REAL,"
    " vms INTEGER, migrated INTEGER, failed INTEGER, error TEXT);"
    "CREATE INDEX IF NOT EXISTS evacuations_status ON evacuations (status);"
    "ALTER TABLE migrations ADD COLUMN evacuation_id INTEGER;"
    "CREATE INDEX IF NOT EXISTS migrations_evacuation ON migrations (evacuation_id);"
    "UPDATE schema_version SET version = 5;";

/* What an operator can do about a damaged file: SQLite's own words
 * ("file is not a database") do not say. */
static const char *advice(int code)
{
    switch (code & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return " (the journal file is damaged: move it aside and fpb starts a new one, "
               "without history, or put back a copy)";
    default:
        return "";
    }
}

static gboolean sql_error(FpbJournal *j, const char *what, GError **error)
{
    g_set_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_SQL, "journal '%s': %s failed: %s%s",
                j->path, what, sqlite3_errmsg(j->db), advice(sqlite3_extended_errcode(j->db)));
    return FALSE;
}

static sqlite3_stmt *prepare(FpbJournal *j, const char *sql, GError **error)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(j->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        sql_error(j, "preparing a statement", error);
        return NULL;
    }
    return stmt;
}

static gboolean exec(FpbJournal *j, const char *sql, const char *what, GError **error)
{
    return sqlite3_exec(j->db, sql, NULL, NULL, NULL) == SQLITE_OK || sql_error(j, what, error);
}

/* The schema version: 0 for a new database; newer ones are refused so an old
 * fpb never writes rows a newer one cannot read. */
static gboolean check_schema(FpbJournal *j, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = NULL;
    gint64 version = 0;

    if (!exec(j, "BEGIN IMMEDIATE", "starting the schema transaction", error)) {
        return FALSE;
    }
    if (!exec(j, schema_sql, "creating the schema", error) ||
        (stmt = prepare(j, "SELECT max(version) FROM schema_version", error)) == NULL) {
        exec(j, "ROLLBACK", "rollback", NULL);
        return FALSE;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_INTEGER) {
        version = sqlite3_column_int64(stmt, 0);
    }
    g_clear_pointer(&stmt, sqlite3_finalize);
    if (version > FPB_JOURNAL_SCHEMA_VERSION) {
        exec(j, "ROLLBACK", "rollback", NULL);
        g_set_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_SCHEMA,
                    "journal '%s': schema version %" G_GINT64_FORMAT
                    " is newer than this fpb's (%d), refusing to write to it",
                    j->path, version, FPB_JOURNAL_SCHEMA_VERSION);
        return FALSE;
    }
    /* A new file gets version 2's tables, then every upgrade after it. */
    if ((version == 0 && !exec(j, "INSERT INTO schema_version (version) VALUES (2)",
                               "writing the schema version", error)) ||
        (version == 1 && !exec(j, upgrade_1_sql, "upgrading the schema to version 2", error)) ||
        (version < 3 && !exec(j, upgrade_2_sql, "upgrading the schema to version 3", error)) ||
        (version < 4 && !exec(j, upgrade_3_sql, "upgrading the schema to version 4", error)) ||
        (version < 5 && !exec(j, upgrade_4_sql, "upgrading the schema to version 5", error))) {
        exec(j, "ROLLBACK", "rollback", NULL);
        return FALSE;
    }
    return exec(j, "COMMIT", "committing the schema", error);
}

/* Rows name VMs, hosts and their memory: the journal is root's alone.
 * An existing file readable by others is tightened (it may predate this
 * rule). Returns -errno. */
static int tighten(const char *path, gboolean must_exist)
{
    struct stat st;
    int fd;

    /* Never open() and close() a file SQLite may have open in this
     * process: a close drops every POSIX lock the process holds on it, and
     * another process then takes itself for the journal's last user and
     * deletes the -wal and -shm under the open connections. */
    if (stat(path, &st) == 0) {
        if ((st.st_mode & 0077) == 0) {
            return 0;
        }
        g_warning("journal '%s': mode %04o lets others read it, tightening to 0600", path,
                  (unsigned)(st.st_mode & 07777));
        return chmod(path, st.st_mode & 0700) < 0 ? -errno : 0;
    }
    if (errno != ENOENT) {
        return -errno;
    }
    if (must_exist) {
        return 0; /* no -wal yet: fine */
    }
    /* New: nobody can hold a lock on it (prepare_files() is serialised). */
    fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        return errno == EEXIST ? tighten(path, TRUE) : -errno;
    }
    close(fd);
    return 0;
}

/* The database file exists with mode 0600 before SQLite opens it: SQLite
 * creates -wal and -shm later with the main file's mode, so they are 0600
 * too. Not umask(): fpbd opens journals from several threads. Existing
 * -wal/-shm files of a looser journal are tightened as well. */
static gboolean prepare_files(const char *path, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int r;

    /* only directories fpb creates get 0700; an existing one is the admin's */
    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;

        g_set_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_OPEN,
                    "journal '%s': cannot create directory '%s': %s", path, dir, g_strerror(saved));
        return FALSE;
    }
    if ((r = tighten(path, FALSE)) < 0) {
        g_set_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_OPEN,
                    "journal '%s': cannot create it with mode 0600: %s", path, g_strerror(-r));
        return FALSE;
    }
    for (gsize i = 0; i < 2; i++) {
        g_autofree char *side = g_strconcat(path, i == 0 ? "-wal" : "-shm", NULL);

        if ((r = tighten(side, TRUE)) < 0) {
            g_warning("journal '%s': cannot tighten '%s': %s, ignoring", path, side,
                      g_strerror(-r));
        }
    }
    return TRUE;
}

FpbJournal *fpb_journal_open(const char *path, GError **error)
{
    /* One thread at a time creates a journal file and closes it: no
     * connection of another thread can have it open in between. */
    static GMutex prepare_lock;
    g_autoptr(FpbJournal) j = g_new0(FpbJournal, 1);
    gboolean prepared;

    j->path = g_strdup(path);
    g_mutex_lock(&prepare_lock);
    prepared = prepare_files(path, error);
    g_mutex_unlock(&prepare_lock);
    if (!prepared) {
        return NULL;
    }
    if (sqlite3_open_v2(path, &j->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        g_set_error(error, FPB_JOURNAL_ERROR, FPB_JOURNAL_ERROR_OPEN,
                    "journal '%s': cannot open: %s", path,
                    j->db ? sqlite3_errmsg(j->db) : "out of memory");
        return NULL;
    }
    sqlite3_busy_timeout(j->db, BUSY_TIMEOUT_MS);
    /* WAL: readers (fpbctl history) never block a migration's writes, and a
     * killed writer leaves a consistent database. synchronous=FULL because a
     * row that says "inflating" must survive a power cut too. */
    if (!exec(j, "PRAGMA journal_mode=WAL", "switching to WAL", error) ||
        !exec(j, "PRAGMA synchronous=FULL", "setting synchronous", error) ||
        !check_schema(j, error)) {
        return NULL;
    }
    return g_steal_pointer(&j);
}

void fpb_journal_free(FpbJournal *j)
{
    if (j == NULL) {
        return;
    }
    sqlite3_close(j->db);
    g_free(j->path);
    g_free(j);
}

const char *fpb_journal_path(FpbJournal *j)
{
    return j->path;
}

/* ---- rows ---- */

/* @base: the struct the field table describes (FpbOutcome, FpbEvacuationRow). */
static int bind_field(sqlite3_stmt *stmt, int idx, gconstpointer base, const FpbOutcomeField *f)
{
    gconstpointer p = (const char *)base + f->offset;

    switch (f->type) {
    case FPB_OUTCOME_FIELD_INT:
        return *(const gint64 *)p < 0 ? sqlite3_bind_null(stmt, idx)
                                      : sqlite3_bind_int64(stmt, idx, *(const gint64 *)p);
    case FPB_OUTCOME_FIELD_REAL:
        return *(const double *)p < 0 ? sqlite3_bind_null(stmt, idx)
                                      : sqlite3_bind_double(stmt, idx, *(const double *)p);
    case FPB_OUTCOME_FIELD_TEXT: {
        const char *s = *(char *const *)p;

        return s ? sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT)
                 : sqlite3_bind_null(stmt, idx);
    }
    case FPB_OUTCOME_FIELD_JSON:
    default: {
        json_object *v = *(json_object *const *)p;

        return v ? sqlite3_bind_text(stmt, idx,
                                     json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), -1,
                                     SQLITE_TRANSIENT)
                 : sqlite3_bind_null(stmt, idx);
    }
    }
}

static gboolean bind_all(FpbJournal *j, sqlite3_stmt *stmt, const FpbOutcome *o, GError **error)
{
    gsize n = 0;
    const FpbOutcomeField *fields = fpb_outcome_fields(&n);

    for (gsize i = 0; i < n; i++) {
        if (bind_field(stmt, (int)i + 1, o, &fields[i]) != SQLITE_OK) {
            return sql_error(j, "binding a value", error);
        }
    }
    return TRUE;
}

gboolean fpb_journal_insert(FpbJournal *j, FpbOutcome *o, GError **error)
{
    gsize n = 0;
    const FpbOutcomeField *fields = fpb_outcome_fields(&n);
    g_autoptr(GString) sql = g_string_new("INSERT INTO migrations (");
    g_autoptr(sqlite3_stmt) stmt = NULL;

    for (gsize i = 0; i < n; i++) {
        g_string_append_printf(sql, "%s%s", i ? ", " : "", fields[i].column);
    }
    g_string_append(sql, ") VALUES (");
    for (gsize i = 0; i < n; i++) {
        g_string_append(sql, i ? ", ?" : "?");
    }
    g_string_append(sql, ")");
    if ((stmt = prepare(j, sql->str, error)) == NULL || !bind_all(j, stmt, o, error)) {
        return FALSE;
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "inserting a migration row", error);
    }
    o->id = sqlite3_last_insert_rowid(j->db);
    return TRUE;
}

gboolean fpb_journal_update(FpbJournal *j, const FpbOutcome *o, GError **error)
{
    gsize n = 0;
    const FpbOutcomeField *fields = fpb_outcome_fields(&n);
    g_autoptr(GString) sql = g_string_new("UPDATE migrations SET ");
    g_autoptr(sqlite3_stmt) stmt = NULL;

    for (gsize i = 0; i < n; i++) {
        g_string_append_printf(sql, "%s%s = ?", i ? ", " : "", fields[i].column);
    }
    g_string_append(sql, " WHERE id = ?");
    if ((stmt = prepare(j, sql->str, error)) == NULL || !bind_all(j, stmt, o, error)) {
        return FALSE;
    }
    if (sqlite3_bind_int64(stmt, (int)n + 1, o->id) != SQLITE_OK) {
        return sql_error(j, "binding the row id", error);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "updating a migration row", error);
    }
    return TRUE;
}

static json_object *column_json(sqlite3_stmt *stmt, int col)
{
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    int len = sqlite3_column_bytes(stmt, col);

    if (text == NULL || len > MAX_JSON_COLUMN_BYTES) {
        return NULL;
    }
    /* Anything unparsable reads as unknown: rows are outside input. */
    return json_tokener_parse(text);
}

/* Column @col (of the type the field expects, else unknown) into @base. */
static void read_field(sqlite3_stmt *stmt, int col, gpointer base, const FpbOutcomeField *f)
{
    gpointer p = (char *)base + f->offset;
    int type = sqlite3_column_type(stmt, col);

    switch (f->type) {
    case FPB_OUTCOME_FIELD_INT:
        *(gint64 *)p = type == SQLITE_INTEGER ? MAX(sqlite3_column_int64(stmt, col), -1) : -1;
        break;
    case FPB_OUTCOME_FIELD_REAL:
        *(double *)p = (type == SQLITE_FLOAT || type == SQLITE_INTEGER)
                           ? sqlite3_column_double(stmt, col)
                           : -1.0;
        break;
    case FPB_OUTCOME_FIELD_TEXT:
        *(char **)p =
            type == SQLITE_TEXT ? g_strdup((const char *)sqlite3_column_text(stmt, col)) : NULL;
        break;
    case FPB_OUTCOME_FIELD_JSON:
    default:
        *(json_object **)p = type == SQLITE_TEXT ? column_json(stmt, col) : NULL;
        break;
    }
}

static char *select_sql(const char *where_order)
{
    gsize n = 0;
    const FpbOutcomeField *fields = fpb_outcome_fields(&n);
    GString *sql = g_string_new("SELECT id");

    for (gsize i = 0; i < n; i++) {
        g_string_append_printf(sql, ", %s", fields[i].column);
    }
    g_string_append_printf(sql, " FROM migrations %s", where_order);
    return g_string_free(sql, FALSE);
}

/* @summary: the facts and decision columns are not read (stay NULL). */
static GPtrArray *collect_some_rows(FpbJournal *j, sqlite3_stmt *stmt, gboolean summary,
                                    GError **error)
{
    gsize n = 0;
    const FpbOutcomeField *fields = fpb_outcome_fields(&n);
    g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)fpb_outcome_free);
    int rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        FpbOutcome *o = fpb_outcome_new();

        o->id = sqlite3_column_int64(stmt, 0);
        for (gsize i = 0; i < n; i++) {
            if (summary && (g_str_equal(fields[i].column, "facts") ||
                            g_str_equal(fields[i].column, "decision"))) {
                continue;
            }
            read_field(stmt, (int)i + 1, o, &fields[i]);
        }
        g_ptr_array_add(rows, o);
    }
    if (rc != SQLITE_DONE) {
        sql_error(j, "reading migration rows", error);
        return NULL;
    }
    return g_steal_pointer(&rows);
}

static GPtrArray *collect_rows(FpbJournal *j, sqlite3_stmt *stmt, GError **error)
{
    return collect_some_rows(j, stmt, FALSE, error);
}

GPtrArray *fpb_journal_list(FpbJournal *j, const char *vm, guint last, GError **error)
{
    g_autofree char *sql = select_sql("WHERE (?1 IS NULL OR vm = ?1) ORDER BY id DESC LIMIT ?2");
    g_autoptr(sqlite3_stmt) stmt = prepare(j, sql, error);

    if (stmt == NULL) {
        return NULL;
    }
    if ((vm ? sqlite3_bind_text(stmt, 1, vm, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, 1)) !=
            SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, last ? (gint64)last : -1) != SQLITE_OK) {
        sql_error(j, "binding a value", error);
        return NULL;
    }
    return collect_rows(j, stmt, error);
}

GPtrArray *fpb_journal_list_open(FpbJournal *j, const char *qmp_path, GError **error)
{
    g_autofree char *sql = select_sql(
        "WHERE phase IN ('" FPB_PHASE_INTENT "', '" FPB_PHASE_PREPARING "', '" FPB_PHASE_MIGRATING
        "', '" FPB_PHASE_RESTORING "') AND (?1 IS NULL OR source_qmp = ?1 OR dest_qmp = ?1) "
        "ORDER BY id ASC");
    g_autoptr(sqlite3_stmt) stmt = prepare(j, sql, error);

    if (stmt == NULL) {
        return NULL;
    }
    if ((qmp_path ? sqlite3_bind_text(stmt, 1, qmp_path, -1, SQLITE_TRANSIENT)
                  : sqlite3_bind_null(stmt, 1)) != SQLITE_OK) {
        sql_error(j, "binding a value", error);
        return NULL;
    }
    return collect_rows(j, stmt, error);
}

GPtrArray *fpb_journal_list_summary(FpbJournal *j, gint64 after_id, GError **error)
{
    g_autofree char *sql = select_sql("WHERE id > ?1 ORDER BY id ASC");
    g_autoptr(sqlite3_stmt) stmt = prepare(j, sql, error);

    if (stmt == NULL) {
        return NULL;
    }
    if (sqlite3_bind_int64(stmt, 1, after_id) != SQLITE_OK) {
        sql_error(j, "binding a value", error);
        return NULL;
    }
    return collect_some_rows(j, stmt, TRUE, error);
}

gboolean fpb_journal_data_version(FpbJournal *j, gint64 *ret_version, GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = prepare(j, "PRAGMA data_version", error);

    if (stmt == NULL) {
        return FALSE;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        return sql_error(j, "reading the data version", error);
    }
    *ret_version = sqlite3_column_int64(stmt, 0);
    return TRUE;
}

/* ---- per-VM history ---- */

typedef struct {
    const char *column;
    gsize offset;
} EstimateColumn;

static const EstimateColumn estimate_columns[] = {
    {"hint_efficiency", offsetof(FpbPolicyHistory, hint_efficiency)},
    {"inflate_rate", offsetof(FpbPolicyHistory, inflate_rate)},
    {"deflate_rate", offsetof(FpbPolicyHistory, deflate_rate)},
    {"zero_share", offsetof(FpbPolicyHistory, zero_share)},
    {"bandwidth", offsetof(FpbPolicyHistory, bandwidth)},
    {"used_zero_share", offsetof(FpbPolicyHistory, used_zero_share)},
    {"zero_page_seconds", offsetof(FpbPolicyHistory, zero_page_seconds)},
};

static void read_estimate(sqlite3_stmt *stmt, int col, FpbPolicyEstimate *e)
{
    gint64 samples = sqlite3_column_type(stmt, col + 1) == SQLITE_INTEGER
                         ? sqlite3_column_int64(stmt, col + 1)
                         : 0;
    int type = sqlite3_column_type(stmt, col);

    /* The policy clamps the value when it reads it; only the count is ours. */
    if ((type == SQLITE_FLOAT || type == SQLITE_INTEGER) && samples > 0) {
        e->value = sqlite3_column_double(stmt, col);
        e->samples = (guint)MIN(samples, G_MAXUINT);
    }
}

gboolean fpb_journal_load_history(FpbJournal *j, const char *vm, FpbPolicyHistory *ret,
                                  GError **error)
{
    g_autoptr(sqlite3_stmt) stmt =
        prepare(j,
                "SELECT migrations, hint_efficiency, hint_efficiency_samples, inflate_rate,"
                " inflate_rate_samples, deflate_rate, deflate_rate_samples, zero_share,"
                " zero_share_samples, bandwidth, bandwidth_samples, used_zero_share,"
                " used_zero_share_samples, zero_page_seconds, zero_page_seconds_samples"
                " FROM vm_history WHERE vm = ?",
                error);
    FpbPolicyHistory h;
    int rc;

    if (stmt == NULL) {
        return FALSE;
    }
    fpb_policy_history_init(&h);
    sqlite3_bind_text(stmt, 1, vm, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        gint64 m = sqlite3_column_int64(stmt, 0);

        h.migrations = (guint)CLAMP(m, 0, G_MAXUINT);
        for (gsize i = 0; i < G_N_ELEMENTS(estimate_columns); i++) {
            read_estimate(stmt, 1 + 2 * (int)i,
                          (FpbPolicyEstimate *)((char *)&h + estimate_columns[i].offset));
        }
    } else if (rc != SQLITE_DONE) {
        return sql_error(j, "reading the VM's history", error);
    }
    *ret = h;
    return TRUE;
}

gboolean fpb_journal_save_history(FpbJournal *j, const char *vm, const FpbPolicyHistory *h,
                                  GError **error)
{
    g_autoptr(sqlite3_stmt) stmt =
        prepare(j,
                "INSERT OR REPLACE INTO vm_history (vm, migrations, hint_efficiency,"
                " hint_efficiency_samples, inflate_rate, inflate_rate_samples, deflate_rate,"
                " deflate_rate_samples, zero_share, zero_share_samples, bandwidth,"
                " bandwidth_samples, used_zero_share, used_zero_share_samples,"
                " zero_page_seconds, zero_page_seconds_samples)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                error);

    if (stmt == NULL) {
        return FALSE;
    }
    sqlite3_bind_text(stmt, 1, vm, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, h->migrations);
    for (gsize i = 0; i < G_N_ELEMENTS(estimate_columns); i++) {
        const FpbPolicyEstimate *e =
            (const FpbPolicyEstimate *)((const char *)h + estimate_columns[i].offset);

        sqlite3_bind_double(stmt, 3 + 2 * (int)i, e->value);
        sqlite3_bind_int64(stmt, 4 + 2 * (int)i, e->samples);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "writing the VM's history", error);
    }
    return TRUE;
}

/* ---- evacuations ---- */

#define EVAC_FIELD(col, type, member)                                                              \
    {                                                                                              \
        col, NULL, NULL, FPB_OUTCOME_FIELD_##type, G_STRUCT_OFFSET(FpbEvacuationRow, member)       \
    }

/* The evacuations table's columns but id, in the struct's terms. */
static const FpbOutcomeField evacuation_fields[] = {
    EVAC_FIELD("status", TEXT, status),
    EVAC_FIELD("start_us", INT, start_us),
    EVAC_FIELD("end_us", INT, end_us),
    EVAC_FIELD("owner_pid", INT, owner_pid),
    EVAC_FIELD("owner_start", INT, owner_start),
    EVAC_FIELD("source_uri", TEXT, source_uri),
    EVAC_FIELD("dest_uri", TEXT, dest_uri),
    EVAC_FIELD("plan", JSON, plan),
    EVAC_FIELD("predicted_makespan_seconds", REAL, predicted_makespan_seconds),
    EVAC_FIELD("actual_makespan_seconds", REAL, actual_makespan_seconds),
    EVAC_FIELD("vms", INT, vms),
    EVAC_FIELD("migrated", INT, migrated),
    EVAC_FIELD("failed", INT, failed),
    EVAC_FIELD("error", TEXT, error),
};

static gboolean bind_evacuation(FpbJournal *j, sqlite3_stmt *stmt, const FpbEvacuationRow *row,
                                GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(evacuation_fields); i++) {
        if (bind_field(stmt, (int)i + 1, row, &evacuation_fields[i]) != SQLITE_OK) {
            return sql_error(j, "binding a value", error);
        }
    }
    return TRUE;
}

gboolean fpb_journal_insert_evacuation(FpbJournal *j, FpbEvacuationRow *row, GError **error)
{
    g_autoptr(GString) sql = g_string_new("INSERT INTO evacuations (");
    g_autoptr(sqlite3_stmt) stmt = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(evacuation_fields); i++) {
        g_string_append_printf(sql, "%s%s", i ? ", " : "", evacuation_fields[i].column);
    }
    g_string_append(sql, ") VALUES (");
    for (gsize i = 0; i < G_N_ELEMENTS(evacuation_fields); i++) {
        g_string_append(sql, i ? ", ?" : "?");
    }
    g_string_append(sql, ")");
    if ((stmt = prepare(j, sql->str, error)) == NULL || !bind_evacuation(j, stmt, row, error)) {
        return FALSE;
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "inserting an evacuation row", error);
    }
    row->id = sqlite3_last_insert_rowid(j->db);
    return TRUE;
}

gboolean fpb_journal_update_evacuation(FpbJournal *j, const FpbEvacuationRow *row, GError **error)
{
    const int n = (int)G_N_ELEMENTS(evacuation_fields);
    g_autoptr(GString) sql = g_string_new("UPDATE evacuations SET ");
    g_autoptr(sqlite3_stmt) stmt = NULL;

    for (int i = 0; i < n; i++) {
        g_string_append_printf(sql, "%s%s = ?", i ? ", " : "", evacuation_fields[i].column);
    }
    g_string_append(sql, " WHERE id = ?");
    if ((stmt = prepare(j, sql->str, error)) == NULL || !bind_evacuation(j, stmt, row, error)) {
        return FALSE;
    }
    if (sqlite3_bind_int64(stmt, n + 1, row->id) != SQLITE_OK) {
        return sql_error(j, "binding the row id", error);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "updating an evacuation row", error);
    }
    return TRUE;
}

GPtrArray *fpb_journal_list_evacuations(FpbJournal *j, gboolean open_only, GError **error)
{
    g_autoptr(GString) sql = g_string_new("SELECT id");
    g_autoptr(sqlite3_stmt) stmt = NULL;
    g_autoptr(GPtrArray) rows =
        g_ptr_array_new_with_free_func((GDestroyNotify)fpb_evacuation_row_free);
    int rc;

    for (gsize i = 0; i < G_N_ELEMENTS(evacuation_fields); i++) {
        g_string_append_printf(sql, ", %s", evacuation_fields[i].column);
    }
    g_string_append(sql, open_only ? " FROM evacuations WHERE status = '" FPB_EVACUATION_RUNNING
                                     "' ORDER BY id ASC"
                                   : " FROM evacuations ORDER BY id ASC");
    if ((stmt = prepare(j, sql->str, error)) == NULL) {
        return NULL;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        FpbEvacuationRow *row = fpb_evacuation_row_new();

        row->id = sqlite3_column_int64(stmt, 0);
        for (gsize i = 0; i < G_N_ELEMENTS(evacuation_fields); i++) {
            read_field(stmt, (int)i + 1, row, &evacuation_fields[i]);
        }
        g_ptr_array_add(rows, row);
    }
    if (rc != SQLITE_DONE) {
        sql_error(j, "reading evacuation rows", error);
        return NULL;
    }
    return g_steal_pointer(&rows);
}

gboolean fpb_journal_set_evacuation(FpbJournal *j, gint64 migration_id, gint64 evacuation_id,
                                    GError **error)
{
    g_autoptr(sqlite3_stmt) stmt =
        prepare(j, "UPDATE migrations SET evacuation_id = ?1 WHERE id = ?2", error);

    if (stmt == NULL) {
        return FALSE;
    }
    if (sqlite3_bind_int64(stmt, 1, evacuation_id) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, migration_id) != SQLITE_OK) {
        return sql_error(j, "binding a value", error);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "naming a migration row's evacuation", error);
    }
    return TRUE;
}

gboolean fpb_journal_adopt_evacuation_rows(FpbJournal *j, const FpbEvacuationRow *row,
                                           GError **error)
{
    g_autoptr(sqlite3_stmt) stmt = prepare(
        j,
        "UPDATE migrations SET evacuation_id = ?1 WHERE evacuation_id IS NULL AND owner_pid = ?2"
        " AND (?3 IS NULL OR owner_start = ?3) AND start_us >= ?4",
        error);

    if (stmt == NULL) {
        return FALSE;
    }
    if (sqlite3_bind_int64(stmt, 1, row->id) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 2, row->owner_pid) != SQLITE_OK ||
        (row->owner_start < 0 ? sqlite3_bind_null(stmt, 3)
                              : sqlite3_bind_int64(stmt, 3, row->owner_start)) != SQLITE_OK ||
        sqlite3_bind_int64(stmt, 4, MAX(row->start_us, 0)) != SQLITE_OK) {
        return sql_error(j, "binding a value", error);
    }
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return sql_error(j, "naming migration rows' evacuation", error);
    }
    return TRUE;
}

GPtrArray *fpb_journal_list_by_evacuation(FpbJournal *j, gint64 evacuation_id, GError **error)
{
    g_autofree char *sql = select_sql("WHERE evacuation_id = ? ORDER BY id ASC");
    g_autoptr(sqlite3_stmt) stmt = prepare(j, sql, error);

    if (stmt == NULL) {
        return NULL;
    }
    if (sqlite3_bind_int64(stmt, 1, evacuation_id) != SQLITE_OK) {
        sql_error(j, "binding a value", error);
        return NULL;
    }
    return collect_rows(j, stmt, error);
}
