/*
 * lmdb_raw.h -- raw LMDB writes for the tests of the state store: what a
 * bug, a failing disk or another program could leave in a store, made
 * without lutra's own code.
 */
#ifndef LUTRA_T_LMDB_RAW_H
#define LUTRA_T_LMDB_RAW_H

#include <lmdb.h>
#include <string.h>

/* Put val (vlen bytes) under key (klen bytes) in the named database of the
 * environment in dir (db NULL: the main one; created if absent), or delete
 * key when val is NULL. @return 0, or LMDB's error. */
static inline int lmdb_raw_write_key(const char *dir, const char *db, const char *key,
                                     size_t klen, const void *val, size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    int rc;

    if ((rc = mdb_env_create(&env)) != 0)
        return rc;
    mdb_env_set_maxdbs(env, 16);
    if ((rc = mdb_env_open(env, dir, 0, 0600)) == 0 &&
        (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
        rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi);
        if (rc == 0)
            rc = val ? mdb_put(txn, dbi, &k, &v, 0) : mdb_del(txn, dbi, &k, NULL);
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    mdb_env_close(env);
    return rc;
}

/* The same with a C string for key. */
static inline int lmdb_raw_write(const char *dir, const char *db, const char *key,
                                 const void *val, size_t vlen)
{
    return lmdb_raw_write_key(dir, db, key, strlen(key), val, vlen);
}

#endif
