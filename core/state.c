/*
 * state.c -- the durable state store in LMDB (state.h, docs/state.md).
 *
 * Layout. One environment in the state folder with seven named databases:
 * meta (schema, order_seq), orders (by client order id), open (the ids of
 * open orders, empty values), fills ("<order id>\0<trade id>"), positions
 * ("<venue>\0<symbol>"), balances ("<venue>\0<asset>") and strategies (by
 * name, the runtime's msgpack bytes as they came). Beside it, writer.lock:
 * an flock that keeps a second writer out.
 *
 * Records are msgpack arrays, [record version, field, field, ...], in the
 * order of a field table per kind: one encoder and one decoder serve every
 * kind. A later version may append fields (readers ignore what they do not
 * know); anything else needs a new record version and a migration step.
 *
 * The batch and the map. A map that fills up can only grow with no write
 * transaction open, which would lose the batch. So every change of the
 * batch is also appended to a journal (a buffer reused from batch to
 * batch); on MDB_MAP_FULL the batch is aborted, the map doubled, and the
 * journal replayed into a new transaction: the caller never notices. To
 * make that rare, the map also doubles ahead of need, at the start of a
 * batch, once more than half of it is used. Only at map_max does a write
 * fail, with "state store full", and then the batch is dropped whole.
 */
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fixed.h"
#include "grow.h"
#include "money.h"
#include "msgpack_check.h"

#define STATE_MAP_DEFAULT ((size_t)64 << 20)
#define STATE_MAP_MAX_DEFAULT ((size_t)64 << 30)
#define STATE_ERROR_MAX 768
#define STATE_KEY_MAX 128
#define STATE_RECORD_VERSION 1
/* state_prepare: at most this many keys of the last batch are touched
 * again, and none whose value is larger (an overflow page would be copied
 * whole for nothing). */
#define STATE_PREPARE_KEYS 32
#define STATE_PREPARE_VALUE_MAX 1024

enum state_db {
    DB_META,
    DB_ORDERS,
    DB_OPEN,
    DB_FILLS,
    DB_POSITIONS,
    DB_BALANCES,
    DB_STRATEGIES,
    DB_COUNT
};

static const char *const state_db_names[DB_COUNT] = {
    "meta", "orders", "open", "fills", "positions", "balances", "strategies"};

#define META_SCHEMA "schema"
#define META_ORDER_SEQ "order_seq"

struct state_store {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    MDB_txn *wtxn;        /* the batch, or NULL */
    MDB_txn *rtxn;        /* reads outside a batch; kept, reset, renewed */
    int rtxn_live;        /* rtxn holds a snapshot */
    int hold;             /* snapshots held (state_snapshot_begin, walks) */
    int read_only;
    int in_memory;        /* tmpfs or ramfs: see state_in_memory */
    size_t preallocated;  /* state_preallocate got the file's pages this far */
    int prealloc_off;     /* fallocate refused: not tried again */
    int writemap;         /* MDB_WRITEMAP */
    char *map;            /* LMDB's map of data.mdb (state_find_map), or NULL */
    size_t map_len;
    size_t populated;     /* state_preallocate mapped the map's pages this far */
    int populate_off;     /* no map found, or madvise refused: not tried again */
    int lock_fd;          /* writer.lock, flocked; -1 for readers */
    uint32_t schema;
    size_t map_max;
    msgpack_sbuffer sbuf; /* the record being encoded */
    msgpack_packer pk;
    msgpack_unpacked unpacked;
    char *journal;        /* the batch's changes (state_op + key + value)... */
    size_t journal_len, journal_cap;
    char *last;           /* ...and the last committed batch's (state_prepare) */
    size_t last_len, last_cap;
    char *touch;          /* a value state_touch writes back */
    size_t touch_cap;
    int prepared;         /* wtxn was opened by state_prepare: a commit with no
                             change keeps it open */
    char *dir;
    char error[STATE_ERROR_MAX];
};

/* A change in the journal; key and value bytes follow it. */
typedef struct state_op {
    uint32_t dbi;
    uint32_t del;
    uint32_t klen;
    uint32_t vlen;
} state_op;

/* ---- Errors ---- */

static int state_fail(state_store *st, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int state_fail(state_store *st, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->error, sizeof st->error, fmt, ap);
    va_end(ap);
    if (err && errlen)
        snprintf(err, errlen, "%s", st->error);
    return -1;
}

/* Hand st->error, already set, to the caller. */
static int state_pass(state_store *st, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", st->error);
    return -1;
}

const char *state_error(const state_store *st)
{
    return st ? st->error : "no state store";
}

uint32_t state_schema(const state_store *st)
{
    return st->schema;
}

/* ---- Records: one field table per kind ---- */

enum state_field_kind { FIELD_STR, FIELD_U8, FIELD_I64 };

typedef struct state_field {
    const char *name;
    uint8_t kind;
    uint16_t offset;
    uint16_t size;
} state_field;

typedef struct state_kind {
    const char *name;
    const state_field *fields;
    size_t nfields;
    size_t size;
} state_kind;

#define F_STR(T, m) {#m, FIELD_STR, offsetof(T, m), sizeof(((T *)0)->m)}
#define F_U8(T, m) {#m, FIELD_U8, offsetof(T, m), 1}
#define F_I64(T, m) {#m, FIELD_I64, offsetof(T, m), 8}
#define KIND(name, T, fields) {name, fields, sizeof fields / sizeof fields[0], sizeof(T)}

static const state_field state_order_fields[] = {
    F_STR(state_order, id),         F_STR(state_order, venue),
    F_STR(state_order, symbol),     F_STR(state_order, strategy),
    F_STR(state_order, tag),        F_U8(state_order, side),
    F_U8(state_order, type),        F_U8(state_order, tif),
    F_U8(state_order, status),      F_U8(state_order, price_scale),
    F_U8(state_order, size_scale),  F_I64(state_order, price),
    F_I64(state_order, stop_price), F_I64(state_order, qty),
    F_I64(state_order, filled),     F_I64(state_order, filled_value),
    F_I64(state_order, fees),       F_STR(state_order, fee_asset),
    F_I64(state_order, locked),     F_I64(state_order, ts_created),
    F_I64(state_order, ts_updated), F_STR(state_order, venue_order_id),
    F_STR(state_order, reason),
};

static const state_field state_fill_fields[] = {
    F_STR(state_fill, order_id),   F_STR(state_fill, trade_id), F_STR(state_fill, venue),
    F_STR(state_fill, symbol),     F_U8(state_fill, side),      F_U8(state_fill, liquidity),
    F_U8(state_fill, price_scale), F_U8(state_fill, size_scale), F_I64(state_fill, price),
    F_I64(state_fill, qty),        F_I64(state_fill, fee),      F_STR(state_fill, fee_asset),
    F_I64(state_fill, ts),
};

static const state_field state_position_fields[] = {
    F_STR(state_position, venue),        F_STR(state_position, symbol),
    F_U8(state_position, price_scale),   F_U8(state_position, size_scale),
    F_I64(state_position, qty),          F_I64(state_position, seed_qty),
    F_I64(state_position, cost),         F_I64(state_position, realized_pnl),
    F_I64(state_position, fees),
};

static const state_field state_balance_fields[] = {
    F_STR(state_balance, venue),
    F_STR(state_balance, asset),
    F_I64(state_balance, free),
    F_I64(state_balance, locked),
};

static const state_kind state_order_kind = KIND("order", state_order, state_order_fields);
static const state_kind state_fill_kind = KIND("fill", state_fill, state_fill_fields);
static const state_kind state_position_kind =
    KIND("position", state_position, state_position_fields);
static const state_kind state_balance_kind = KIND("balance", state_balance, state_balance_fields);

/* Encode rec into st->sbuf. Refuses a string field that is not
 * NUL-terminated inside its array (a caller's bug that would otherwise
 * store whatever follows it). */
static int state_encode(state_store *st, const state_kind *kind, const void *rec, char *err,
                        size_t errlen)
{
    const char *base = rec;
    int rc;

    msgpack_sbuffer_clear(&st->sbuf);
    rc = msgpack_pack_array(&st->pk, 1 + kind->nfields);
    rc |= msgpack_pack_uint32(&st->pk, STATE_RECORD_VERSION);
    for (size_t i = 0; i < kind->nfields; i++) {
        const state_field *f = &kind->fields[i];
        const char *p = base + f->offset;
        int64_t v;
        size_t n;

        switch (f->kind) {
        case FIELD_STR:
            if (!memchr(p, '\0', f->size))
                return state_fail(st, err, errlen,
                                  "state store %s: %s field %s is not NUL-terminated", st->dir,
                                  kind->name, f->name);
            n = strlen(p);
            rc |= msgpack_pack_str(&st->pk, n);
            rc |= msgpack_pack_str_body(&st->pk, p, n);
            break;
        case FIELD_U8:
            rc |= msgpack_pack_uint8(&st->pk, *(const uint8_t *)p);
            break;
        default:
            memcpy(&v, p, sizeof v);
            rc |= msgpack_pack_int64(&st->pk, v);
            break;
        }
    }
    if (rc)
        return state_fail(st, err, errlen, "state store %s: out of memory encoding a %s",
                          st->dir, kind->name);
    return 0;
}

/* The one msgpack value in data[0..len). The bytes are walked first
 * (core/msgpack_check.h): a damaged record that declares more than it
 * holds never reaches msgpack-c, which would allocate for it.
 * @return 0, or -1 with why (cap bytes) saying what is wrong. */
static int state_unpack(state_store *st, const void *data, size_t len,
                        const msgpack_object **obj, char *why, size_t cap)
{
    msgpack_check_result chk;
    size_t off = 0;
    int rc;

    if (msgpack_check_value(data, len, MSGPACK_CHECK_DEPTH_MAX, &chk) != MSGPACK_CHECK_OK) {
        msgpack_check_describe(&chk, why, cap);
        return -1;
    }
    rc = msgpack_unpack_next(&st->unpacked, data, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        snprintf(why, cap, "msgpack-c cannot decode its %zu bytes (out of memory?)", len);
        return -1;
    }
    *obj = &st->unpacked.data;
    return 0;
}

static const char *state_decode_field(const state_field *f, const msgpack_object *o, char *dst)
{
    switch (f->kind) {
    case FIELD_STR:
        if (o->type != MSGPACK_OBJECT_STR)
            return "want a string";
        if (o->via.str.size >= f->size)
            return "string too long";
        memcpy(dst, o->via.str.ptr, o->via.str.size);
        dst[o->via.str.size] = '\0';
        return NULL;
    case FIELD_U8:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT8_MAX)
            return "want an integer 0..255";
        *(uint8_t *)dst = (uint8_t)o->via.u64;
        return NULL;
    default:
        if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            memcpy(dst, &o->via.i64, sizeof o->via.i64);
            return NULL;
        }
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > INT64_MAX)
            return "want a 64-bit integer";
        {
            int64_t v = (int64_t)o->via.u64;
            memcpy(dst, &v, sizeof v);
        }
        return NULL;
    }
}

/* Why val is not a record of kind (NULL: it is, decoded into rec);
 * *field names the field at fault, if one is. damaged (cap bytes) holds
 * the reason when the bytes are no msgpack value at all. */
static const char *state_decode_fields(state_store *st, const state_kind *kind,
                                       const MDB_val *val, void *rec, const char **field,
                                       char *damaged, size_t cap)
{
    const msgpack_object *root, *a;
    const char *why;

    *field = NULL;
    if (state_unpack(st, val->mv_data, val->mv_size, &root, damaged, cap) < 0)
        return damaged;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 1)
        return "not a msgpack array";
    a = root->via.array.ptr;
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[0].via.u64 != STATE_RECORD_VERSION)
        return "unknown record version (this lutra reads version 1)";
    if (root->via.array.size < 1 + kind->nfields)
        return "too few fields";
    for (size_t i = 0; i < kind->nfields; i++) {
        const state_field *f = &kind->fields[i];
        if ((why = state_decode_field(f, &a[1 + i], (char *)rec + f->offset)) != NULL) {
            *field = f->name;
            return why;
        }
    }
    return NULL;
}

/* Decode a record stored under key into rec (zeroed first). */
static int state_decode(state_store *st, const state_kind *kind, const MDB_val *key,
                        const MDB_val *val, void *rec)
{
    const char *field, *why;
    char damaged[160];

    memset(rec, 0, kind->size);
    if (!(why = state_decode_fields(st, kind, val, rec, &field, damaged, sizeof damaged)))
        return 0;
    /* Keys are NUL-separated parts: the first names the record. */
    return state_fail(st, NULL, 0, "state store %s: %s record '%.*s' cannot be read: %s%s%s",
                      st->dir, kind->name, (int)strnlen(key->mv_data, key->mv_size),
                      (const char *)key->mv_data, field ? field : "", field ? ": " : "", why);
}

/* An unsigned integer in meta. @return 1 found, 0 absent or not one. */
static int state_meta_uint(state_store *st, const MDB_val *val, uint64_t *out)
{
    const msgpack_object *o;
    char why[160];

    if (state_unpack(st, val->mv_data, val->mv_size, &o, why, sizeof why) < 0 ||
        o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return 0;
    *out = o->via.u64;
    return 1;
}

/* "a\0b" into key (cap STATE_KEY_MAX). */
static size_t state_key2(char *key, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    memcpy(key, a, la);
    key[la] = '\0';
    memcpy(key + la + 1, b, lb);
    return la + 1 + lb;
}

/* ---- Transactions ---- */

static int state_txn_begin(state_store *st, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(st->env, NULL, flags, txn);

    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: take its size. */
        if ((rc = mdb_env_set_mapsize(st->env, 0)) == 0)
            rc = mdb_txn_begin(st->env, NULL, flags, txn);
    }
    return rc;
}

static void state_reader_reset(state_store *st)
{
    if (st->rtxn_live) {
        mdb_txn_reset(st->rtxn);
        st->rtxn_live = 0;
    }
}

/* The transaction reads go through: the batch, the held snapshot, or a
 * fresh snapshot of the last commit. @return NULL with st->error set. */
static MDB_txn *state_reader(state_store *st)
{
    int rc;

    if (st->wtxn)
        return st->wtxn;
    if (st->rtxn_live && st->hold)
        return st->rtxn;
    state_reader_reset(st);
    if (st->rtxn && mdb_txn_renew(st->rtxn) == 0) {
        st->rtxn_live = 1;
        return st->rtxn;
    }
    /* First read, or the renewal failed (the map grew, say): start anew. */
    if (st->rtxn)
        mdb_txn_abort(st->rtxn);
    if ((rc = state_txn_begin(st, MDB_RDONLY, &st->rtxn)) != 0) {
        st->rtxn = NULL;
        state_fail(st, NULL, 0, "state store %s: cannot start reading: %s", st->dir,
                   mdb_strerror(rc));
        return NULL;
    }
    st->rtxn_live = 1;
    return st->rtxn;
}

int state_snapshot_begin(state_store *st)
{
    if (!state_reader(st))
        return -1;
    st->hold++;
    return 0;
}

void state_snapshot_end(state_store *st)
{
    if (st->hold > 0 && --st->hold == 0)
        state_reader_reset(st);
}

/* ---- The map ---- */

static size_t state_map_used(state_store *st, size_t *mapsize)
{
    MDB_envinfo info;
    MDB_stat stat;

    mdb_env_info(st->env, &info);
    mdb_env_stat(st->env, &stat);
    *mapsize = info.me_mapsize;
    return (info.me_last_pgno + 1) * (size_t)stat.ms_psize;
}

/* Double the map, up to map_max. No transaction may be open.
 * @return 0, 1 when already at map_max, -1 (LMDB error, st->error set). */
static int state_map_grow(state_store *st)
{
    size_t mapsize, next;
    int rc;

    state_map_used(st, &mapsize);
    if (mapsize >= st->map_max)
        return 1;
    next = mapsize > st->map_max / 2 ? st->map_max : mapsize * 2;
    if ((rc = mdb_env_set_mapsize(st->env, next)) != 0) {
        state_fail(st, NULL, 0, "state store %s: cannot grow the map to %zu MiB: %s", st->dir,
                   next >> 20, mdb_strerror(rc));
        return -1;
    }
    st->map = NULL; /* mapped again, elsewhere: state_preallocate finds it */
    st->populated = 0;
    return 0;
}

/* ---- The batch ---- */

static int state_journal_add(state_store *st, const state_op *op, const void *key,
                             const void *val)
{
    size_t need = st->journal_len + sizeof *op + op->klen + op->vlen;
    char *j = grow_capacity(st->journal, &st->journal_cap, need, 1, 4096);

    if (!j)
        return -1;
    st->journal = j;
    memcpy(j + st->journal_len, op, sizeof *op);
    memcpy(j + st->journal_len + sizeof *op, key, op->klen);
    if (op->vlen)
        memcpy(j + st->journal_len + sizeof *op + op->klen, val, op->vlen);
    st->journal_len = need;
    return 0;
}

static int state_apply(MDB_txn *txn, const state_op *op, const void *key, const void *val,
                       unsigned flags)
{
    MDB_val k = {op->klen, (void *)key}, v = {op->vlen, (void *)(val ? val : "")};
    int rc;

    if (!op->del)
        return mdb_put(txn, op->dbi, &k, &v, flags);
    rc = mdb_del(txn, op->dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int state_replay(state_store *st)
{
    size_t at = 0;

    while (at < st->journal_len) {
        state_op op;
        const char *key;
        int rc;

        memcpy(&op, st->journal + at, sizeof op);
        key = st->journal + at + sizeof op;
        if ((rc = state_apply(st->wtxn, &op, key, key + op.klen, 0)) != 0)
            return rc;
        at += sizeof op + op.klen + op.vlen;
    }
    return 0;
}

static void state_drop_batch(state_store *st)
{
    st->prepared = 0;
    if (st->wtxn)
        mdb_txn_abort(st->wtxn);
    st->wtxn = NULL;
    st->journal_len = 0;
}

void state_abort(state_store *st)
{
    if (st)
        state_drop_batch(st);
}

static int state_full(state_store *st, char *err, size_t errlen)
{
    size_t mapsize;
    state_map_used(st, &mapsize);
    return state_fail(st, err, errlen,
                      "state store %s full: the map reached its limit of %zu MiB; the batch was "
                      "dropped and the store keeps the last committed one (free records or "
                      "raise the limit)",
                      st->dir, mapsize >> 20);
}

/* The map filled up mid-batch: abort, grow, replay the batch into a new
 * transaction. @return 0, or -1 with the batch dropped. */
static int state_regrow(state_store *st, char *err, size_t errlen)
{
    for (;;) {
        int rc;

        if (st->wtxn)
            mdb_txn_abort(st->wtxn);
        st->wtxn = NULL;
        rc = state_map_grow(st);
        if (rc == 1) {
            state_full(st, err, errlen);
            state_drop_batch(st);
            return -1;
        }
        if (rc == 0 && (rc = state_txn_begin(st, 0, &st->wtxn)) != 0) {
            st->wtxn = NULL;
            rc = state_fail(st, NULL, 0, "state store %s: cannot begin a batch: %s", st->dir,
                            mdb_strerror(rc));
        }
        if (rc < 0) {
            state_drop_batch(st);
            return state_pass(st, err, errlen);
        }
        rc = state_replay(st);
        if (rc == 0)
            return 0;
        if (rc != MDB_MAP_FULL) {
            state_drop_batch(st);
            return state_fail(st, err, errlen, "state store %s: write failed: %s", st->dir,
                              mdb_strerror(rc));
        }
    }
}

/* Begin the batch if none is open, growing the map ahead of need. */
static int state_batch(state_store *st, char *err, size_t errlen)
{
    size_t used, mapsize;
    int rc;

    /* A held snapshot or a walk may point into the map, which a write can
     * remap (growth) or, inside the batch, change under a cursor. */
    if (st->hold)
        return state_fail(st, err, errlen,
                          "state store %s: no write while a snapshot is held or a walk runs",
                          st->dir);
    if (st->wtxn)
        return 0;
    if (st->read_only)
        return state_fail(st, err, errlen, "state store %s was opened read-only", st->dir);
    state_reader_reset(st);
    used = state_map_used(st, &mapsize);
    if (used > mapsize / 2 && state_map_grow(st) < 0) {
        return state_pass(st, err, errlen);
    }
    st->journal_len = 0;
    if ((rc = state_txn_begin(st, 0, &st->wtxn)) != 0) {
        st->wtxn = NULL;
        return state_fail(st, err, errlen, "state store %s: cannot begin a batch: %s", st->dir,
                          mdb_strerror(rc));
    }
    return 0;
}

/* One change of the batch (val NULL: delete). Any failure drops the batch.
 * @return 0, 1 when flags has MDB_NOOVERWRITE and the key exists, -1. */
static int state_change(state_store *st, int db, const void *key, size_t klen, const void *val,
                        size_t vlen, unsigned flags, char *err, size_t errlen)
{
    state_op op = {st->dbi[db], val == NULL, (uint32_t)klen, (uint32_t)vlen};
    int rc;

    if (state_batch(st, err, errlen) < 0)
        return -1;
    while ((rc = state_apply(st->wtxn, &op, key, val, flags)) == MDB_MAP_FULL)
        if (state_regrow(st, err, errlen) < 0)
            return -1;
    if (rc == MDB_KEYEXIST)
        return 1;
    if (rc) {
        state_drop_batch(st);
        return state_fail(st, err, errlen, "state store %s: writing to %s failed: %s; the batch "
                          "was dropped", st->dir, state_db_names[db], mdb_strerror(rc));
    }
    if (state_journal_add(st, &op, key, val) < 0) {
        state_drop_batch(st);
        return state_fail(st, err, errlen, "state store %s: out of memory; the batch was dropped",
                          st->dir);
    }
    return 0;
}

/* A refused write: the batch goes too (state.h: a failed write aborts it). */
static int state_refuse(state_store *st, char *err, size_t errlen, const char *what,
                        const char *why)
{
    state_drop_batch(st);
    return state_fail(st, err, errlen, "state store %s: %s refused: %s; the batch was dropped",
                      st->dir, what, why);
}

/* The committed batch's changes become the last batch's: swapped, not copied. */
static void state_keep_last(state_store *st)
{
    char *buf = st->last;
    size_t cap = st->last_cap;

    st->last = st->journal;
    st->last_cap = st->journal_cap;
    st->last_len = st->journal_len;
    st->journal = buf;
    st->journal_cap = cap;
    st->journal_len = 0;
}

int state_commit(state_store *st, char *err, size_t errlen)
{
    int rc;

    if (!st->wtxn || (st->prepared && !st->journal_len))
        return 0;
    st->prepared = 0;
    rc = mdb_txn_commit(st->wtxn);
    st->wtxn = NULL;
    while (rc == MDB_MAP_FULL) {
        if (state_regrow(st, err, errlen) < 0)
            return -1;
        rc = mdb_txn_commit(st->wtxn);
        st->wtxn = NULL;
    }
    if (rc) {
        st->journal_len = 0;
        return state_fail(st, err, errlen,
                          "state store %s: commit failed: %s; the batch was dropped and the "
                          "store keeps the last committed one",
                          st->dir, mdb_strerror(rc));
    }
    state_keep_last(st);
    return 0;
}

/* ---- The next batch, ahead of time ---- */

/* Have the batch copy the pages a write of key in dbi would copy, and
 * change nothing: a key that is there is written again with its own value
 * (LMDB copies the page before it looks at the bytes), one that is not is
 * put and deleted again. */
static int state_touch(state_store *st, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key}, v;
    int rc = mdb_get(st->wtxn, dbi, &k, &v), absent = rc == MDB_NOTFOUND;

    if (!absent && (rc != 0 || v.mv_size > STATE_PREPARE_VALUE_MAX))
        return rc;
    if (absent || v.mv_size == 0) {
        v.mv_size = 0;
        v.mv_data = "";
    } else {
        /* The value lives in the page the put copies: hand LMDB a copy. */
        char *t = grow_capacity(st->touch, &st->touch_cap, v.mv_size, 1, 256);
        if (!t)
            return ENOMEM;
        st->touch = t;
        memcpy(t, v.mv_data, v.mv_size);
        v.mv_data = t;
    }
    if ((rc = mdb_put(st->wtxn, dbi, &k, &v, 0)) != 0 || !absent)
        return rc;
    return mdb_del(st->wtxn, dbi, &k, NULL);
}

/* Is dbi one whose keys the next batch is likely to write again? */
static int state_touches(const state_store *st, uint32_t dbi)
{
    return dbi == st->dbi[DB_ORDERS] || dbi == st->dbi[DB_OPEN] ||
           dbi == st->dbi[DB_POSITIONS] || dbi == st->dbi[DB_BALANCES];
}

int state_prepare(state_store *st, const char *next_order_id)
{
    size_t at = 0, n = 0;
    int rc = 0;

    if (st->wtxn || st->hold || st->read_only)
        return 0;
    if (state_batch(st, NULL, 0) < 0)
        return -1;
    st->prepared = 1;
    if (next_order_id && next_order_id[0]) {
        size_t len = strlen(next_order_id);
        rc = state_touch(st, st->dbi[DB_ORDERS], next_order_id, len);
        if (rc == 0)
            rc = state_touch(st, st->dbi[DB_OPEN], next_order_id, len);
    }
    while (rc == 0 && at < st->last_len && n < STATE_PREPARE_KEYS) {
        state_op op;
        memcpy(&op, st->last + at, sizeof op);
        if (state_touches(st, op.dbi)) {
            rc = state_touch(st, op.dbi, st->last + at + sizeof op, op.klen);
            n++;
        }
        at += sizeof op + op.klen + op.vlen;
    }
    if (rc == 0)
        return 0;
    state_drop_batch(st);
    return state_fail(st, NULL, 0, "state store %s: cannot prepare the next batch: %s", st->dir,
                      mdb_strerror(rc));
}

/* ---- Writes ---- */

static int state_put_record(state_store *st, int db, const state_kind *kind, const void *rec,
                            const char *key, size_t klen, unsigned flags, char *err,
                            size_t errlen)
{
    if (state_encode(st, kind, rec, err, errlen) < 0) {
        state_drop_batch(st);
        return -1;
    }
    return state_change(st, db, key, klen, st->sbuf.data, st->sbuf.size, flags, err, errlen);
}

int state_put_order(state_store *st, const state_order *o, char *err, size_t errlen)
{
    size_t klen;

    if (!memchr(o->id, '\0', sizeof o->id) || !order_id_valid(o->id))
        return state_refuse(st, err, errlen, "order", "its id is not a valid client order id");
    klen = strlen(o->id);
    if (state_put_record(st, DB_ORDERS, &state_order_kind, o, o->id, klen, 0, err, errlen) < 0)
        return -1;
    return state_change(st, DB_OPEN, o->id, klen,
                        order_status_is_open((order_status)o->status) ? "" : NULL, 0, 0, err,
                        errlen);
}

/* Fills of order_id stored so far (in the batch's view). */
static int state_count_fills(state_store *st, const char *order_id, size_t *count)
{
    char prefix[STATE_KEY_MAX];
    size_t plen = strlen(order_id) + 1;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    memcpy(prefix, order_id, plen);
    *count = 0;
    if ((rc = mdb_cursor_open(st->wtxn, st->dbi[DB_FILLS], &cur)) != 0)
        return rc;
    k.mv_data = prefix;
    k.mv_size = plen;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        (*count)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int state_put_fill(state_store *st, const state_fill *f, char *err, size_t errlen)
{
    char key[STATE_KEY_MAX];
    state_fill fill;
    size_t klen, count;
    int rc;

    if (!memchr(f->order_id, '\0', sizeof f->order_id) || !order_id_valid(f->order_id))
        return state_refuse(st, err, errlen, "fill", "its order id is not a valid client order id");
    if (!memchr(f->trade_id, '\0', sizeof f->trade_id))
        return state_refuse(st, err, errlen, "fill", "trade id is not NUL-terminated");
    fill = *f;
    if (!fill.trade_id[0]) {
        /* No trade id from the venue: number the order's fills. */
        if (state_batch(st, err, errlen) < 0)
            return -1;
        if ((rc = state_count_fills(st, fill.order_id, &count)) != 0) {
            state_drop_batch(st);
            return state_fail(st, err, errlen, "state store %s: reading fills failed: %s",
                              st->dir, mdb_strerror(rc));
        }
        snprintf(fill.trade_id, sizeof fill.trade_id, "%s#%zu", fill.order_id, count + 1);
    }
    klen = state_key2(key, fill.order_id, fill.trade_id);
    return state_put_record(st, DB_FILLS, &state_fill_kind, &fill, key, klen, MDB_NOOVERWRITE,
                            err, errlen);
}

/* Key "a\0b" from two fields that must be non-empty C strings. */
static int state_pair_key(state_store *st, const char *what, const char *a, size_t acap,
                          const char *b, size_t bcap, char *key, size_t *klen, char *err,
                          size_t errlen)
{
    if (!memchr(a, '\0', acap) || !memchr(b, '\0', bcap) || !a[0] || !b[0])
        return state_refuse(st, err, errlen, what, "its venue and name must be non-empty strings");
    *klen = state_key2(key, a, b);
    return 0;
}

int state_put_position(state_store *st, const state_position *p, char *err, size_t errlen)
{
    char key[STATE_KEY_MAX];
    size_t klen = 0; /* set by state_pair_key; -O3 cannot tell */

    if (state_pair_key(st, "position", p->venue, sizeof p->venue, p->symbol, sizeof p->symbol,
                       key, &klen, err, errlen) < 0)
        return -1;
    return state_put_record(st, DB_POSITIONS, &state_position_kind, p, key, klen, 0, err,
                            errlen);
}

int state_put_balance(state_store *st, const state_balance *b, char *err, size_t errlen)
{
    char key[STATE_KEY_MAX];
    size_t klen = 0; /* set by state_pair_key; -O3 cannot tell */

    if (state_pair_key(st, "balance", b->venue, sizeof b->venue, b->asset, sizeof b->asset, key,
                       &klen, err, errlen) < 0)
        return -1;
    return state_put_record(st, DB_BALANCES, &state_balance_kind, b, key, klen, 0, err, errlen);
}

int state_put_strategy(state_store *st, const char *name, const void *data, size_t len,
                       char *err, size_t errlen)
{
    size_t n = name ? strnlen(name, STATE_NAME_MAX) : 0;

    if (n == 0 || n == STATE_NAME_MAX)
        return state_refuse(st, err, errlen, "strategy state",
                            "the name must have 1 to 63 characters");
    if (!data && len)
        return state_refuse(st, err, errlen, "strategy state", "no data");
    if (len > UINT32_MAX)
        return state_refuse(st, err, errlen, "strategy state", "larger than 4 GiB");
    return state_change(st, DB_STRATEGIES, name, n, data ? data : "", len, 0, err, errlen);
}

static int state_get_meta_uint(state_store *st, MDB_txn *txn, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *)name}, v;
    int rc = mdb_get(txn, st->dbi[DB_META], &k, &v);

    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return state_fail(st, NULL, 0, "state store %s: reading meta.%s failed: %s", st->dir,
                          name, mdb_strerror(rc));
    if (!state_meta_uint(st, &v, out))
        return state_fail(st, NULL, 0, "state store %s: meta.%s is not an unsigned integer",
                          st->dir, name);
    return 1;
}

static int state_put_meta_uint(state_store *st, const char *name, uint64_t value, char *err,
                               size_t errlen)
{
    msgpack_sbuffer_clear(&st->sbuf);
    if (msgpack_pack_uint64(&st->pk, value) != 0) {
        state_drop_batch(st);
        return state_fail(st, err, errlen, "state store %s: out of memory", st->dir);
    }
    return state_change(st, DB_META, name, strlen(name), st->sbuf.data, st->sbuf.size, 0, err,
                        errlen);
}

int state_put_order_seq(state_store *st, uint64_t next, char *err, size_t errlen)
{
    uint64_t stored = 1;
    int rc;

    if (state_batch(st, err, errlen) < 0)
        return -1;
    if ((rc = state_get_meta_uint(st, st->wtxn, META_ORDER_SEQ, &stored)) < 0) {
        state_drop_batch(st);
        return state_pass(st, err, errlen);
    }
    if (next < stored) {
        char why[96];
        snprintf(why, sizeof why, "it would go back from %llu to %llu and reuse ids",
                 (unsigned long long)stored, (unsigned long long)next);
        return state_refuse(st, err, errlen, "order sequence", why);
    }
    return state_put_meta_uint(st, META_ORDER_SEQ, next, err, errlen);
}

/* ---- Reads ---- */

/* Look key up in db through the reads' transaction: @return 1 with *v
 * (valid while that transaction lives), 0 not there, -1 with st's error
 * naming what was read. The caller resets the reader when done. */
static int state_lookup(state_store *st, MDB_txn *txn, int db, const void *key, size_t klen,
                        MDB_val *v, const char *what, const char *name)
{
    MDB_val k = {klen, (void *)key};
    int rc = klen ? mdb_get(txn, st->dbi[db], &k, v) : MDB_NOTFOUND;

    if (rc == 0)
        return 1;
    if (rc == MDB_NOTFOUND)
        return 0;
    return state_fail(st, NULL, 0, "state store %s: reading %s %s failed: %s", st->dir, what,
                      name, mdb_strerror(rc));
}

int state_has_fill(state_store *st, const char *order_id, const char *trade_id)
{
    char key[STATE_KEY_MAX];
    MDB_txn *txn;
    MDB_val v;
    int rc;

    /* A key that cannot be stored was never stored. */
    if (!order_id[0] || !trade_id[0] || strlen(order_id) + strlen(trade_id) + 2 > sizeof key)
        return 0;
    if (!(txn = state_reader(st)))
        return -1;
    rc = state_lookup(st, txn, DB_FILLS, key, state_key2(key, order_id, trade_id), &v, "fill",
                      order_id);
    if (!st->hold)
        state_reader_reset(st);
    return rc;
}

int state_get_order(state_store *st, const char *id, state_order *out, char *err, size_t errlen)
{
    MDB_txn *txn = state_reader(st);
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc;

    if (!txn)
        return state_pass(st, err, errlen);
    rc = state_lookup(st, txn, DB_ORDERS, id, k.mv_size, &v, "order", id);
    if (rc == 1)
        rc = state_decode(st, &state_order_kind, &k, &v, out) < 0 ? -1 : 1;
    if (rc < 0)
        state_pass(st, err, errlen);
    if (!st->hold)
        state_reader_reset(st);
    return rc;
}

uint64_t state_get_order_seq(state_store *st)
{
    MDB_txn *txn = state_reader(st);
    uint64_t seq = 1;
    int rc;

    if (!txn)
        return 0;
    rc = state_get_meta_uint(st, txn, META_ORDER_SEQ, &seq);
    if (!st->hold)
        state_reader_reset(st);
    return rc < 0 ? 0 : seq;
}

int state_get_strategy(state_store *st, const char *name, const void **data, size_t *len,
                       char *err, size_t errlen)
{
    MDB_txn *txn = state_reader(st);
    MDB_val v;
    int rc;

    if (!txn)
        return state_pass(st, err, errlen);
    /* The snapshot stays live, so *data stays valid until the next call. */
    rc = state_lookup(st, txn, DB_STRATEGIES, name, strlen(name), &v, "strategy", name);
    if (rc < 0)
        return state_pass(st, err, errlen);
    if (rc == 0)
        return 0;
    *data = v.mv_data;
    *len = v.mv_size;
    return 1;
}

/* ---- Walks ---- */

typedef int (*state_visit_fn)(state_store *st, MDB_txn *txn, const MDB_val *k,
                              const MDB_val *v, void *ctx);

/* Visit every record of db in key order, in one snapshot. */
static int state_walk(state_store *st, int db, state_visit_fn visit, void *ctx)
{
    MDB_txn *txn = state_reader(st);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc, ret = 0;

    if (!txn)
        return -1;
    st->hold++;
    if ((rc = mdb_cursor_open(txn, st->dbi[db], &cur)) == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && ret == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            ret = visit(st, txn, &k, &v, ctx);
        mdb_cursor_close(cur);
    }
    if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
        ret = state_fail(st, NULL, 0, "state store %s: reading %s failed: %s", st->dir,
                         state_db_names[db], mdb_strerror(rc));
    state_snapshot_end(st);
    return ret;
}

typedef struct state_each_ctx {
    const state_kind *kind;
    union {
        state_order_fn order;
        state_fill_fn fill;
        state_position_fn position;
        state_balance_fn balance;
    } fn;
    void *ud;
    union {
        state_order order;
        state_fill fill;
        state_position position;
        state_balance balance;
    } rec;
} state_each_ctx;

static int state_each_visit(state_store *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            void *ctx)
{
    state_each_ctx *c = ctx;

    (void)txn;
    if (state_decode(st, c->kind, k, v, &c->rec) < 0)
        return -1;
    if (c->kind == &state_order_kind)
        return c->fn.order(c->ud, &c->rec.order);
    if (c->kind == &state_fill_kind)
        return c->fn.fill(c->ud, &c->rec.fill);
    if (c->kind == &state_position_kind)
        return c->fn.position(c->ud, &c->rec.position);
    return c->fn.balance(c->ud, &c->rec.balance);
}

/* An entry of the open index: visit the order it names. */
static int state_each_open_visit(state_store *st, MDB_txn *txn, const MDB_val *k,
                                 const MDB_val *v, void *ctx)
{
    MDB_val ov;
    int rc = mdb_get(txn, st->dbi[DB_ORDERS], (MDB_val *)k, &ov);

    (void)v;
    if (rc)
        return state_fail(st, NULL, 0,
                          "state store %s: the open index names order %.*s, which cannot be "
                          "read (%s): run lutra state check",
                          st->dir, (int)k->mv_size, (const char *)k->mv_data, mdb_strerror(rc));
    return state_each_visit(st, txn, k, &ov, ctx);
}

int state_each_order(state_store *st, int open_only, state_order_fn fn, void *ud)
{
    state_each_ctx c = {.kind = &state_order_kind, .fn.order = fn, .ud = ud};
    return open_only ? state_walk(st, DB_OPEN, state_each_open_visit, &c)
                     : state_walk(st, DB_ORDERS, state_each_visit, &c);
}

int state_each_fill(state_store *st, state_fill_fn fn, void *ud)
{
    state_each_ctx c = {.kind = &state_fill_kind, .fn.fill = fn, .ud = ud};
    return state_walk(st, DB_FILLS, state_each_visit, &c);
}

int state_each_position(state_store *st, state_position_fn fn, void *ud)
{
    state_each_ctx c = {.kind = &state_position_kind, .fn.position = fn, .ud = ud};
    return state_walk(st, DB_POSITIONS, state_each_visit, &c);
}

int state_each_balance(state_store *st, state_balance_fn fn, void *ud)
{
    state_each_ctx c = {.kind = &state_balance_kind, .fn.balance = fn, .ud = ud};
    return state_walk(st, DB_BALANCES, state_each_visit, &c);
}

typedef struct state_strategy_ctx {
    state_strategy_fn fn;
    void *ud;
} state_strategy_ctx;

static int state_strategy_visit(state_store *st, MDB_txn *txn, const MDB_val *k,
                                const MDB_val *v, void *ctx)
{
    state_strategy_ctx *c = ctx;
    char name[STATE_NAME_MAX];

    (void)txn;
    if (k->mv_size >= sizeof name)
        return state_fail(st, NULL, 0, "state store %s: a strategy name is %zu bytes long",
                          st->dir, k->mv_size);
    memcpy(name, k->mv_data, k->mv_size);
    name[k->mv_size] = '\0';
    return c->fn(c->ud, name, v->mv_data, v->mv_size);
}

int state_each_strategy(state_store *st, state_strategy_fn fn, void *ud)
{
    state_strategy_ctx c = {fn, ud};
    return state_walk(st, DB_STRATEGIES, state_strategy_visit, &c);
}

/* ---- Check ---- */

/* The signed sum of one venue and symbol's fills, at the first fill's size
 * scale. */
typedef struct state_fill_sum {
    char venue[LUTRA_VENUE_MAX];
    char symbol[LUTRA_SYMBOL_MAX];
    int size_scale;
    int64_t qty;
    int has_position;
} state_fill_sum;

typedef struct state_check_ctx {
    state_store *st;
    void (*problem)(void *ud, const char *text);
    void *ud;
    int problems;
    state_fill_sum *sums;
    size_t nsums, capsums;
    state_order order; /* scratch */
    char scratch[STATE_ERROR_MAX];
} state_check_ctx;

static void state_problem(state_check_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void state_problem(state_check_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->scratch, sizeof c->scratch, fmt, ap);
    va_end(ap);
    c->problems++;
    if (c->problem)
        c->problem(c->ud, c->scratch);
}

/* A record the check cannot decode is a problem, listed with why, and the
 * check goes on (`list` 0: one listed where it is walked itself).
 * @return 1 decoded into rec, 0 not. */
static int state_check_decode(state_check_ctx *c, const state_kind *kind, const MDB_val *k,
                              const MDB_val *v, void *rec, int list)
{
    if (state_decode(c->st, kind, k, v, rec) == 0)
        return 1;
    if (list)
        state_problem(c, "%s", c->st->error);
    return 0;
}

/* A quantity at another size scale. @return 0, or -1 when it does not fit. */
static int state_rescale(int64_t v, int from, int to, int64_t *out)
{
    return fixed_rescale(v, from, to, out) == FIXED_OK ? 0 : -1;
}

static int state_check_open(state_store *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            void *ctx)
{
    state_check_ctx *c = ctx;
    MDB_val ov;
    int rc = mdb_get(txn, st->dbi[DB_ORDERS], (MDB_val *)k, &ov);

    (void)v;
    if (rc == MDB_NOTFOUND) {
        state_problem(c, "the open index names order %.*s, which is not stored",
                      (int)k->mv_size, (const char *)k->mv_data);
        return 0;
    }
    if (rc)
        return state_fail(st, NULL, 0, "state store %s: reading orders failed: %s", st->dir,
                          mdb_strerror(rc));
    if (!state_check_decode(c, &state_order_kind, k, &ov, &c->order, 0))
        return 0; /* listed by the walk over the orders */
    if (!order_status_is_open((order_status)c->order.status))
        state_problem(c, "the open index names order %s, which is %s", c->order.id,
                      order_status_name((order_status)c->order.status));
    return 0;
}

/* Sum the fills stored under "<id>\0" and compare them with the order. */
static int state_check_order_fills(state_check_ctx *c, MDB_txn *txn, const state_order *o)
{
    state_store *st = c->st;
    char prefix[STATE_KEY_MAX];
    size_t plen = strlen(o->id) + 1;
    int64_t filled = 0, value = 0, q;
    MDB_cursor *cur;
    MDB_val k, v;
    state_fill f;
    int rc;

    memcpy(prefix, o->id, plen);
    if ((rc = mdb_cursor_open(txn, st->dbi[DB_FILLS], &cur)) != 0)
        return state_fail(st, NULL, 0, "state store %s: reading fills failed: %s", st->dir,
                          mdb_strerror(rc));
    k.mv_data = prefix;
    k.mv_size = plen;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (!state_check_decode(c, &state_fill_kind, &k, &v, &f, 0))
            continue; /* listed by the walk over the fills */
        if (state_rescale(f.qty, f.size_scale, o->size_scale, &q) < 0) {
            state_problem(c, "fill %s of order %s: its size scale %d does not fit the order's %d",
                          f.trade_id, o->id, f.size_scale, o->size_scale);
            continue;
        }
        filled += q;
        value += money_notional(f.price, f.price_scale, f.qty, f.size_scale);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return state_fail(st, NULL, 0, "state store %s: reading fills failed: %s", st->dir,
                          mdb_strerror(rc));
    if (filled != o->filled) {
        char want[FIXED_STR_MAX], got[FIXED_STR_MAX];
        fixed_format_trim(o->filled, o->size_scale, want, sizeof want);
        fixed_format_trim(filled, o->size_scale, got, sizeof got);
        state_problem(c, "order %s: filled %s but its fills sum to %s", o->id, want, got);
    }
    if (value != o->filled_value) {
        char want[FIXED_STR_MAX], got[FIXED_STR_MAX];
        fixed_format_trim(o->filled_value, MONEY_SCALE, want, sizeof want);
        fixed_format_trim(value, MONEY_SCALE, got, sizeof got);
        state_problem(c, "order %s: filled value %s but its fills are worth %s", o->id, want,
                      got);
    }
    return 0;
}

static int state_check_order(state_store *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                             void *ctx)
{
    state_check_ctx *c = ctx;
    MDB_val iv;
    int rc;

    if (!state_check_decode(c, &state_order_kind, k, v, &c->order, 1))
        return 0;
    rc = mdb_get(txn, st->dbi[DB_OPEN], (MDB_val *)k, &iv);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return state_fail(st, NULL, 0, "state store %s: reading the open index failed: %s",
                          st->dir, mdb_strerror(rc));
    if (rc == MDB_NOTFOUND && order_status_is_open((order_status)c->order.status))
        state_problem(c, "order %s is %s but not in the open index", c->order.id,
                      order_status_name((order_status)c->order.status));
    return state_check_order_fills(c, txn, &c->order);
}

static state_fill_sum *state_find_sum(state_check_ctx *c, const char *venue, const char *symbol)
{
    for (size_t i = 0; i < c->nsums; i++)
        if (!strcmp(c->sums[i].venue, venue) && !strcmp(c->sums[i].symbol, symbol))
            return &c->sums[i];
    return NULL;
}

static int state_check_fill(state_store *st, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                            void *ctx)
{
    state_check_ctx *c = ctx;
    state_fill_sum *s;
    MDB_val ok, ov;
    state_fill f;
    int64_t q;
    int rc;

    if (!state_check_decode(c, &state_fill_kind, k, v, &f, 1))
        return 0;
    ok.mv_data = f.order_id;
    ok.mv_size = strlen(f.order_id);
    rc = mdb_get(txn, st->dbi[DB_ORDERS], &ok, &ov);
    if (rc == MDB_NOTFOUND)
        state_problem(c, "fill %s names order %s, which is not stored", f.trade_id, f.order_id);
    else if (rc)
        return state_fail(st, NULL, 0, "state store %s: reading orders failed: %s", st->dir,
                          mdb_strerror(rc));
    if (!(s = state_find_sum(c, f.venue, f.symbol))) {
        state_fill_sum *sums = grow_capacity(c->sums, &c->capsums, c->nsums + 1, sizeof *sums, 16);
        if (!sums)
            return state_fail(st, NULL, 0, "state store %s: out of memory", st->dir);
        c->sums = sums;
        s = &sums[c->nsums++];
        memset(s, 0, sizeof *s);
        snprintf(s->venue, sizeof s->venue, "%s", f.venue);
        snprintf(s->symbol, sizeof s->symbol, "%s", f.symbol);
        s->size_scale = f.size_scale;
    }
    if (state_rescale(f.qty, f.size_scale, s->size_scale, &q) < 0) {
        state_problem(c, "fill %s of %s:%s: its size scale %d differs from the others' %d",
                      f.trade_id, f.venue, f.symbol, f.size_scale, s->size_scale);
        return 0;
    }
    s->qty += f.side == ORDER_SELL ? -q : q;
    return 0;
}

static int state_check_position(state_store *st, MDB_txn *txn, const MDB_val *k,
                                const MDB_val *v, void *ctx)
{
    state_check_ctx *c = ctx;
    state_position p;
    state_fill_sum *s;
    int64_t fills = 0;
    char want[FIXED_STR_MAX], got[FIXED_STR_MAX];

    (void)st, (void)txn;
    if (!state_check_decode(c, &state_position_kind, k, v, &p, 1))
        return 0;
    if ((s = state_find_sum(c, p.venue, p.symbol)) != NULL) {
        s->has_position = 1;
        if (state_rescale(s->qty, s->size_scale, p.size_scale, &fills) < 0) {
            state_problem(c, "position %s:%s: its size scale %d does not fit its fills' %d",
                          p.venue, p.symbol, p.size_scale, s->size_scale);
            return 0;
        }
    }
    if (p.qty != p.seed_qty + fills) {
        fixed_format_trim(p.qty, p.size_scale, want, sizeof want);
        fixed_format_trim(p.seed_qty + fills, p.size_scale, got, sizeof got);
        state_problem(c, "position %s:%s: qty %s but its seed and fills make %s", p.venue,
                      p.symbol, want, got);
    }
    return 0;
}

int state_check(state_store *st, void (*problem)(void *ud, const char *text), void *ud,
                char *err, size_t errlen)
{
    state_check_ctx c;
    int rc;

    memset(&c, 0, sizeof c);
    c.st = st;
    c.problem = problem;
    c.ud = ud;
    if (state_snapshot_begin(st) < 0)
        return state_pass(st, err, errlen);
    rc = state_walk(st, DB_OPEN, state_check_open, &c);
    if (rc == 0)
        rc = state_walk(st, DB_ORDERS, state_check_order, &c);
    if (rc == 0)
        rc = state_walk(st, DB_FILLS, state_check_fill, &c);
    if (rc == 0)
        rc = state_walk(st, DB_POSITIONS, state_check_position, &c);
    for (size_t i = 0; rc == 0 && i < c.nsums; i++) {
        char q[FIXED_STR_MAX];
        if (c.sums[i].has_position || c.sums[i].qty == 0)
            continue;
        fixed_format_trim(c.sums[i].qty, c.sums[i].size_scale, q, sizeof q);
        state_problem(&c, "the fills of %s:%s add up to %s but no position is stored",
                      c.sums[i].venue, c.sums[i].symbol, q);
    }
    state_snapshot_end(st);
    free(c.sums);
    if (rc != 0)
        return state_pass(st, err, errlen);
    return c.problems;
}

/* ---- Backup ---- */

/* An empty folder to copy into: created, or existing and empty. */
static int state_empty_dir(state_store *st, const char *dir, char *err, size_t errlen)
{
    struct dirent *e;
    DIR *d;
    int files = 0;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return state_fail(st, err, errlen, "state backup: cannot create %s: %s", dir,
                          strerror(errno));
    if (!(d = opendir(dir)))
        return state_fail(st, err, errlen, "state backup: %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL)
        files += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    if (files)
        return state_fail(st, err, errlen, "state backup: %s is not empty: choose an empty or "
                          "new folder", dir);
    return 0;
}

int state_backup(state_store *st, const char *dest_dir, char *err, size_t errlen)
{
    char path[4096];
    int rc, fd;

    if (!dest_dir || !*dest_dir)
        return state_fail(st, err, errlen, "state backup: no destination folder");
    if (state_empty_dir(st, dest_dir, err, errlen) < 0)
        return -1;
    snprintf(path, sizeof path, "%s/data.mdb", dest_dir);
    /* Compacting copies through a read transaction of its own: it neither
     * waits for nor blocks the writer, even this process's open batch. */
    rc = mdb_env_copy2(st->env, dest_dir, MDB_CP_COMPACT);
    if (rc) {
        unlink(path);
        return state_fail(st, err, errlen, "state backup of %s to %s failed: %s", st->dir,
                          dest_dir, mdb_strerror(rc));
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return state_fail(st, err, errlen, "state backup: %s: cannot sync: %s", path,
                          strerror(e));
    }
    close(fd);
    return 0;
}

/* ---- Open and schema ---- */

/*
 * Migrations: step i takes a store from schema `from` to from + 1, inside
 * the transaction that opens it, so a migration either completes or leaves
 * the store as it was. Schema 1 is the first: no steps yet. A new schema
 * adds its step here and raises STATE_SCHEMA_VERSION.
 */
typedef struct state_migration {
    uint32_t from;
    int (*run)(state_store *st, MDB_txn *txn);
} state_migration;

static const state_migration state_migrations[] = {
    {0, NULL}, /* end of the table */
};

static int state_migrate(state_store *st, MDB_txn *txn, uint32_t from)
{
    for (uint32_t v = from; v < STATE_SCHEMA_VERSION; v++) {
        const state_migration *m = state_migrations;
        while (m->run && m->from != v)
            m++;
        if (!m->run)
            return state_fail(st, NULL, 0,
                              "state store %s has schema %u and this lutra knows no migration "
                              "from it: it was not written by a released lutra",
                              st->dir, v);
        if (m->run(st, txn) < 0)
            return -1;
    }
    return 0;
}

static int state_not_ours(state_store *st, const char *why)
{
    return state_fail(st, NULL, 0,
                      "state folder %s holds an LMDB environment that is not a lutra state store "
                      "(%s): point state_dir at an empty folder",
                      st->dir, why);
}

/* Create the databases of a new store and record its schema. */
static int state_create(state_store *st, MDB_txn *txn)
{
    msgpack_sbuffer_clear(&st->sbuf);
    for (int db = 0; db < DB_COUNT; db++) {
        int rc = mdb_dbi_open(txn, state_db_names[db], MDB_CREATE, &st->dbi[db]);
        if (rc)
            return state_fail(st, NULL, 0, "state store %s: cannot create database %s: %s",
                              st->dir, state_db_names[db], mdb_strerror(rc));
    }
    if (msgpack_pack_uint32(&st->pk, STATE_SCHEMA_VERSION) != 0)
        return state_fail(st, NULL, 0, "state store %s: out of memory", st->dir);
    {
        MDB_val k = {strlen(META_SCHEMA), META_SCHEMA}, v = {st->sbuf.size, st->sbuf.data};
        int rc = mdb_put(txn, st->dbi[DB_META], &k, &v, 0);
        if (rc)
            return state_fail(st, NULL, 0, "state store %s: cannot write its schema: %s",
                              st->dir, mdb_strerror(rc));
    }
    st->schema = STATE_SCHEMA_VERSION;
    return 0;
}

/* Is the main database (named databases and stray keys) empty? */
static int state_env_empty(MDB_txn *txn)
{
    MDB_dbi main_db;
    MDB_stat s;

    if (mdb_dbi_open(txn, NULL, 0, &main_db) != 0 || mdb_stat(txn, main_db, &s) != 0)
        return 0;
    return s.ms_entries == 0;
}

/* Read the schema, refuse what is not ours or too new, migrate what is
 * older (writers only). */
static int state_check_schema(state_store *st, MDB_txn *txn)
{
    uint64_t schema = 0;
    int rc;

    rc = state_get_meta_uint(st, txn, META_SCHEMA, &schema);
    if (rc < 0 || rc == 0)
        return state_not_ours(st, rc == 0 ? "meta has no schema" : "its schema is not a number");
    if (schema > STATE_SCHEMA_VERSION)
        return state_fail(st, NULL, 0,
                          "state store %s has schema %llu; this lutra reads up to %d: upgrade "
                          "lutra",
                          st->dir, (unsigned long long)schema, STATE_SCHEMA_VERSION);
    st->schema = (uint32_t)schema;
    if (schema == STATE_SCHEMA_VERSION)
        return 0;
    if (st->read_only)
        return state_fail(st, NULL, 0,
                          "state store %s has schema %llu, older than this lutra's %d: open it "
                          "once writable (lutra run) to migrate it",
                          st->dir, (unsigned long long)schema, STATE_SCHEMA_VERSION);
    if (state_migrate(st, txn, (uint32_t)schema) < 0)
        return -1;
    msgpack_sbuffer_clear(&st->sbuf);
    if (msgpack_pack_uint32(&st->pk, STATE_SCHEMA_VERSION) != 0)
        return state_fail(st, NULL, 0, "state store %s: out of memory", st->dir);
    {
        MDB_val k = {strlen(META_SCHEMA), META_SCHEMA}, v = {st->sbuf.size, st->sbuf.data};
        if ((rc = mdb_put(txn, st->dbi[DB_META], &k, &v, 0)) != 0)
            return state_fail(st, NULL, 0, "state store %s: cannot record its new schema: %s",
                              st->dir, mdb_strerror(rc));
    }
    st->schema = STATE_SCHEMA_VERSION;
    return 0;
}

static int state_open_dbs(state_store *st, MDB_txn *txn)
{
    int rc = mdb_dbi_open(txn, state_db_names[DB_META], 0, &st->dbi[DB_META]);

    if (rc == MDB_NOTFOUND) {
        if (!state_env_empty(txn))
            return state_not_ours(st, "no meta database");
        if (st->read_only)
            return state_fail(st, NULL, 0, "state store %s is empty: nothing was ever committed",
                              st->dir);
        return state_create(st, txn);
    }
    if (rc == MDB_INCOMPATIBLE)
        return state_not_ours(st, "its meta is not a database");
    if (rc)
        return state_fail(st, NULL, 0, "state store %s: cannot open its meta: %s", st->dir,
                          mdb_strerror(rc));
    if (state_check_schema(st, txn) < 0)
        return -1;
    for (int db = DB_META + 1; db < DB_COUNT; db++) {
        rc = mdb_dbi_open(txn, state_db_names[db], 0, &st->dbi[db]);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return state_not_ours(st, "a database is missing");
        if (rc)
            return state_fail(st, NULL, 0, "state store %s: cannot open database %s: %s",
                              st->dir, state_db_names[db], mdb_strerror(rc));
    }
    return 0;
}

/* mkdir -p, the last folder owner-only. */
static int state_make_dir(state_store *st)
{
    char path[4096];
    struct stat sb;
    size_t n = strlen(st->dir);

    if (n >= sizeof path)
        return state_fail(st, NULL, 0, "state folder %s: path too long", st->dir);
    memcpy(path, st->dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return state_fail(st, NULL, 0, "cannot create state folder %s: %s: %s", st->dir,
                              path, strerror(errno));
        *p = '/';
    }
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return state_fail(st, NULL, 0, "cannot create state folder %s: %s", st->dir,
                          strerror(errno));
    if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return state_fail(st, NULL, 0, "state folder %s is not a folder", st->dir);
    return 0;
}

static int state_not_writable(state_store *st, int e)
{
    return state_fail(st, NULL, 0,
                      "state folder %s is not writable: %s (give the user running lutra write "
                      "access to it, or set state_dir to a folder it can write)",
                      st->dir, strerror(e));
}

/* One writer per store: an flock on writer.lock, which also proves that
 * the folder is writable before LMDB touches it. */
static int state_lock_writer(state_store *st)
{
    char path[4096], pid[32] = "";
    ssize_t n;

    snprintf(path, sizeof path, "%s/writer.lock", st->dir);
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0)
        return state_not_writable(st, errno);
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e != EWOULDBLOCK)
            return state_fail(st, NULL, 0, "state folder %s: cannot lock writer.lock: %s",
                              st->dir, strerror(e));
        n = pread(st->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        return state_fail(st, NULL, 0,
                          "state store %s is in use by another lutra (pid %s): stop it, or "
                          "give this one another state_dir",
                          st->dir, pid[0] ? pid : "unknown");
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) < 0 || pwrite(st->lock_fd, pid, (size_t)n, 0) != n)
        return state_not_writable(st, errno);
    return 0;
}

/* A reader needs the folder and its data.mdb to exist already. */
static int state_find_store(state_store *st)
{
    char path[4096];
    struct stat sb;

    if (stat(st->dir, &sb) < 0)
        return state_fail(st, NULL, 0, "state folder %s: %s", st->dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return state_fail(st, NULL, 0, "state folder %s is not a folder", st->dir);
    snprintf(path, sizeof path, "%s/data.mdb", st->dir);
    if (stat(path, &sb) < 0)
        return state_fail(st, NULL, 0,
                          "state folder %s holds no state store (no data.mdb): check the "
                          "folder (--state, or state_dir in the configuration)",
                          st->dir);
    return 0;
}

static int state_env_error(state_store *st, int rc)
{
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
        return state_fail(st, NULL, 0,
                          "state folder %s: data.mdb is not a lutra state store (%s): move it "
                          "away or point state_dir at an empty folder",
                          st->dir, mdb_strerror(rc));
    if (rc == EACCES || rc == EPERM || rc == EROFS)
        return st->read_only
                   ? state_fail(st, NULL, 0,
                                "state folder %s cannot be read: %s (readers need read access "
                                "to data.mdb and write access to lock.mdb: run as the user "
                                "that runs lutra)",
                                st->dir, strerror(rc))
                   : state_not_writable(st, rc);
    return state_fail(st, NULL, 0, "state store %s cannot be opened: %s", st->dir,
                      mdb_strerror(rc));
}

static int state_dir_in_memory(const char *dir)
{
    struct statfs fs;

    if (statfs(dir, &fs) != 0)
        return 0;
    return fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC;
}

int state_in_memory(const state_store *st)
{
    return st->in_memory;
}

/* Keep this much allocated ahead of the data, taken this much at a time:
 * a step costs a few microseconds, and the data grows by about a page
 * every ten orders. */
#define STATE_PREALLOC_AHEAD (256 << 10)
#define STATE_PREALLOC_STEP (64 << 10)

/* LMDB keeps its map's address to itself (mdb_env_info's me_mapaddr is
 * only a fixed address asked for), so it is found among the process's
 * mappings: the one of data.mdb's device and inode. Sets st->map, or
 * nothing when /proc cannot tell. */
static void state_find_map(state_store *st)
{
    char line[PATH_MAX + 256];
    unsigned long lo, hi, ino;
    unsigned maj, mnr;
    struct stat sb;
    FILE *f;
    int fd;

    if (mdb_env_get_fd(st->env, &fd) != 0 || fstat(fd, &sb) != 0 ||
        !(f = fopen("/proc/self/maps", "re")))
        return;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx %*s %*x %x:%x %lu", &lo, &hi, &maj, &mnr, &ino) == 5 &&
            ino == sb.st_ino && makedev(maj, mnr) == sb.st_dev) {
            st->map = (char *)lo;
            st->map_len = hi - lo;
            break;
        }
    fclose(f);
}

/* Have the kernel map the pages the next batches will touch, so that they
 * take no page fault (a few microseconds in a VM) in the middle of an
 * order's commit. With the writable map, those are the pages past the
 * data, which the file already holds (writemap sizes it to the map); with
 * the read-only map, the pages the last commits wrote, which the next
 * batch reads. */
static void state_populate(state_store *st, size_t used)
{
    size_t from, to;

    /* The writable map: a call maps 256 KiB ahead, the next comes when half
     * of it is used, not one per new page (a call after every message
     * took as much of the engine thread's time as the commits). */
    if (st->writemap && st->populated >= used + STATE_PREALLOC_AHEAD / 2)
        return;
    if (!st->map)
        state_find_map(st);
    if (!st->map) {
        st->populate_off = 1;
        return;
    }
    /* Only the neighbourhood of the end: a large store is not mapped whole
     * the first time. */
    from = used > STATE_PREALLOC_AHEAD ? used - STATE_PREALLOC_AHEAD : 0;
    if (from < st->populated)
        from = st->populated;
    to = st->writemap ? used + STATE_PREALLOC_AHEAD : used;
    if (to > st->map_len)
        to = st->map_len;
    if (from >= to)
        return;
    if (madvise(st->map + from, to - from,
                st->writemap ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) != 0) {
        st->populate_off = 1; /* an older kernel: the faults stay */
        return;
    }
    st->populated = to;
}

void state_preallocate(state_store *st)
{
    MDB_envinfo info;
    MDB_stat ms;
    size_t used;
    int fd;

    if (!st || !st->in_memory || st->read_only || mdb_env_info(st->env, &info) != 0 ||
        mdb_env_stat(st->env, &ms) != 0 || mdb_env_get_fd(st->env, &fd) != 0)
        return;
    used = (info.me_last_pgno + 1) * (size_t)ms.ms_psize;
    if (st->preallocated < used)
        st->preallocated = used;
    /* KEEP_SIZE: past the end of the file LMDB sees nothing change; within
     * it (writemap sizes the file to the map) holes get their pages. */
    if (!st->prealloc_off && st->preallocated < used + STATE_PREALLOC_AHEAD) {
        if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)st->preallocated, STATE_PREALLOC_STEP) == 0)
            st->preallocated += STATE_PREALLOC_STEP;
        else
            st->prealloc_off = 1; /* full, or not supported: stop trying */
    }
    if (!st->populate_off)
        state_populate(st, used);
}

/* Open the environment. A writer maps map_size (LMDB rounds it up to what
 * the file already holds; the batch grows it from there); a reader maps
 * what the writer recorded. */
static int state_env_open(state_store *st, const state_options *opt)
{
    unsigned flags = MDB_NOTLS;
    size_t want = opt->map_size ? opt->map_size : STATE_MAP_DEFAULT;
    int rc, dead;

    if (want > st->map_max)
        want = st->map_max;
    if (st->read_only)
        flags |= MDB_RDONLY;
    else if (opt->sync == STATE_SYNC_NONE)
        flags |= MDB_NOSYNC;
    if (!st->read_only && opt->writemap)
        flags |= MDB_WRITEMAP;
    st->writemap = (flags & MDB_WRITEMAP) != 0;
    if ((st->in_memory = state_dir_in_memory(st->dir)))
        flags |= MDB_NOSYNC; /* an fdatasync or msync there only costs a system call */
    if ((rc = mdb_env_create(&st->env)) != 0)
        return state_fail(st, NULL, 0, "state store %s: %s", st->dir, mdb_strerror(rc));
    if ((rc = mdb_env_set_maxdbs(st->env, DB_COUNT + 1)) != 0 ||
        (!st->read_only && (rc = mdb_env_set_mapsize(st->env, want)) != 0) ||
        (rc = mdb_env_open(st->env, st->dir, flags, 0600)) != 0)
        return state_env_error(st, rc);
    if (!st->read_only)
        mdb_reader_check(st->env, &dead); /* slots of readers that died */
    return 0;
}

static int state_open_store(state_store *st, const state_options *opt)
{
    MDB_txn *txn;
    int rc;

    if (st->read_only) {
        if (state_find_store(st) < 0)
            return -1;
    } else if (state_make_dir(st) < 0 || state_lock_writer(st) < 0) {
        return -1;
    }
    if (state_env_open(st, opt) < 0)
        return -1;
    if ((rc = state_txn_begin(st, st->read_only ? MDB_RDONLY : 0, &txn)) != 0)
        return state_env_error(st, rc);
    if (state_open_dbs(st, txn) < 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    /* Committing keeps the database handles, read-only too. */
    if ((rc = mdb_txn_commit(txn)) != 0)
        return state_fail(st, NULL, 0, "state store %s: cannot commit its setup: %s", st->dir,
                          mdb_strerror(rc));
    return 0;
}

state_store *state_open(const state_options *opt, char *err, size_t errlen)
{
    state_store *st;

    if (!opt || !opt->dir || !*opt->dir) {
        snprintf(err, errlen, "state store: no state folder given");
        return NULL;
    }
    if (!(st = calloc(1, sizeof *st)) || !(st->dir = strdup(opt->dir))) {
        free(st);
        snprintf(err, errlen, "state store %s: out of memory", opt->dir);
        return NULL;
    }
    st->lock_fd = -1;
    st->read_only = opt->read_only;
    st->map_max = opt->map_max ? opt->map_max : STATE_MAP_MAX_DEFAULT;
    msgpack_sbuffer_init(&st->sbuf);
    msgpack_packer_init(&st->pk, &st->sbuf, msgpack_sbuffer_write);
    msgpack_unpacked_init(&st->unpacked);
    if (state_open_store(st, opt) < 0) {
        snprintf(err, errlen, "%s", st->error);
        state_close(st);
        return NULL;
    }
    return st;
}

void state_close(state_store *st)
{
    if (!st)
        return;
    state_drop_batch(st);
    if (st->rtxn)
        mdb_txn_abort(st->rtxn);
    if (st->env)
        mdb_env_close(st->env);
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    msgpack_unpacked_destroy(&st->unpacked);
    msgpack_sbuffer_destroy(&st->sbuf);
    free(st->journal);
    free(st->last);
    free(st->touch);
    free(st->dir);
    free(st);
}
