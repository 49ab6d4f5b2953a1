/* Baseline for the store: raw SQLite inserts/s with the store's pragmas
 * (WAL, synchronous=FULL), one transaction per insert vs batches of 64.
 * Not built by CMake:
 *   cc -O2 -o store_raw bench/store_raw.c -lsqlite3 && ./store_raw [dir] [n]
 * Each row is a ~1 KiB value, as with small Kubernetes objects. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void must(int rc, sqlite3 *db, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE) return;
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
}

static double run(sqlite3 *db, sqlite3_stmt *ins, int n, int batch, int *next)
{
    char key[64], value[1024];
    memset(value, 'x', sizeof value);
    double t0 = now();
    for (int i = 0; i < n; i += batch) {
        must(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
        for (int j = 0; j < batch && i + j < n; j++) {
            snprintf(key, sizeof key, "/registry/bench/%08d", (*next)++);
            sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 2, value, sizeof value, SQLITE_STATIC);
            must(sqlite3_step(ins), db, "insert");
            sqlite3_reset(ins);
        }
        must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    }
    return n / (now() - t0);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 2000;
    char path[512];
    snprintf(path, sizeof path, "%s/store_raw_%d.db", dir, (int)getpid());
    sqlite3 *db;
    sqlite3_stmt *ins;
    must(sqlite3_open(path, &db), db, "open");
    must(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                          "CREATE TABLE kv(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;",
                      NULL, NULL, NULL), db, "setup");
    must(sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(?1, ?2)", -1, &ins, NULL), db, "prepare");
    int next = 0;
    printf("sqlite raw: %.0f inserts/s (1 per txn)\n", run(db, ins, n, 1, &next));
    printf("sqlite raw: %.0f inserts/s (64 per txn)\n", run(db, ins, n * 10, 64, &next));
    sqlite3_finalize(ins);
    sqlite3_close(db);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    return 0;
}
