/*
 * lua_state.c -- ctx.state: the table a strategy keeps across reloads and
 * restarts, its msgpack encoding, and the cheap test of whether a handler
 * may have changed it.
 *
 * Change detection. `state` is not a raw field of ctx: ctx's metatable
 * serves it from __index and takes a new table through __newindex, and
 * both store 1 into s->state_touched through an FFI int pointer (a plain
 * store the JIT compiles). Methods and the other fields are raw, so a
 * handler that never names ctx.state runs exactly as before, and
 * strategy_state_take tests one int before anything else. A touched state
 * is encoded and compared (memcmp) with the last encoding handed out; only
 * a different one is returned. The limit: a handler mutating a table it
 * kept from an earlier read (`local st = ctx.state` in on_start) without
 * naming ctx.state is not seen until the next touch or strategy_state_encode
 * (on stop); docs/strategy-api.md says so.
 *
 * Encoding. The state is a msgpack map (or an array when its keys are
 * exactly 1..n), nested likewise. A number is an int when it is a whole
 * number an int64 holds (and not -0), else a float64, so every double
 * comes back bit for bit (NaN and the infinities included). Strings are
 * str, any bytes. Keys are strings, numbers or booleans. Nesting is at most
 * LUA_STATE_MAX_DEPTH tables: msgpack-c's unpacker (its
 * MSGPACK_EMBED_STACK_SIZE, compiled into the library) reads no deeper.
 * Tables reached twice are encoded twice (sharing is not kept); a table
 * that contains itself is a cycle, refused. Anything else (a function,
 * userdata, thread, cdata) is refused with the key path where it sits.
 * Stored bytes are walked by core/msgpack_check.h before msgpack-c decodes
 * them: a header declaring more than the bytes hold is refused, never
 * allocated for, and a refused load leaves ctx.state as it was.
 *
 * Two buffers take turns: one holds the encoding last handed out (valid
 * until the next call, as strategy.h promises), the other the new one; they
 * keep their capacity, so a steady state allocates nothing.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <msgpack.h>

#include "msgpack_check.h"
#include "strategy_impl.h"

/* Tables, ctx.state itself the first: msgpack-c reads 32 nested containers. */
#define LUA_STATE_MAX_DEPTH MSGPACK_CHECK_DEPTH_MAX
/* Lua stack slots an encoding level uses (key, value, and a spare). */
#define LUA_STATE_SLOTS_PER_LEVEL 3
#define LUA_STATE_PATH_MAX 256
/* lua.h has no name for FFI cdata; LuaJIT's lua_type gives it 10. */
#define LUA_STATE_TCDATA 10

struct lua_state_codec {
    msgpack_sbuffer buf[2];
    int last;                     /* buf[last]: the encoding last handed out */
};

/* ---- The Lua side ---- */

static const char lua_state_prelude[] =
    "local touched_lud, ctx, box = ...\n"
    "local ffi = require('ffi')\n"
    "local touched = ffi.cast('int *', touched_lud)\n"
    "local type, rawset, error = type, rawset, error\n"
    "setmetatable(ctx, {\n"
    "  __index = function(_, k)\n"
    "    if k == 'state' then\n"
    "      touched[0] = 1\n"
    "      return box[1]\n"
    "    end\n"
    "  end,\n"
    "  __newindex = function(t, k, v)\n"
    "    if k ~= 'state' then return rawset(t, k, v) end\n"
    "    if type(v) ~= 'table' then\n"
    "      error('ctx.state: want a table, got ' .. type(v), 2)\n"
    "    end\n"
    "    box[1] = v\n"
    "    touched[0] = 1\n"
    "  end,\n"
    "  __metatable = 'ctx',\n"
    "})\n";

void lua_state_open(strategy *s, int ctx_idx)
{
    lua_State *L = s->L;
    struct lua_state_codec *c;

    if (!(c = calloc(1, sizeof *c)))
        luaL_error(L, "out of memory");
    s->state_codec = c;
    msgpack_sbuffer_init(&c->buf[0]);
    msgpack_sbuffer_init(&c->buf[1]);
    /* The state starts as {}: its encoding (an empty map) counts as handed
     * out, so touching an untouched {} saves nothing. */
    if (msgpack_sbuffer_write(&c->buf[0], "\x80", 1) != 0)
        luaL_error(L, "out of memory");

    lua_createtable(L, 1, 0);
    lua_newtable(L);
    lua_rawseti(L, -2, 1);
    s->state_box_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    if (luaL_loadbuffer(L, lua_state_prelude, sizeof lua_state_prelude - 1, "=lutra.state") != 0)
        lua_error(L);
    lua_pushlightuserdata(L, &s->state_touched);
    lua_pushvalue(L, ctx_idx);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->state_box_ref);
    lua_call(L, 3, 0);
}

void lua_state_close(strategy *s)
{
    struct lua_state_codec *c = s->state_codec;
    if (!c)
        return;
    msgpack_sbuffer_destroy(&c->buf[0]);
    msgpack_sbuffer_destroy(&c->buf[1]);
    free(c);
    s->state_codec = NULL;
}

/* Push ctx.state without touching it. */
static void lua_state_push(strategy *s)
{
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->state_box_ref);
    lua_rawgeti(s->L, -1, 1);
    lua_remove(s->L, -2);
}

/* ---- Key paths, for errors ---- */

static int lua_state_is_name(const char *k, size_t len)
{
    if (len == 0 || (k[0] >= '0' && k[0] <= '9'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return 0;
    }
    return 1;
}

/* Append printf-style to buf (of size len, holding *used), truncating. */
static void lua_state_append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void lua_state_append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (*used + 1 >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

/* Append the key at stack index idx as Lua would index with it:
 * .name, ["a b"], [3], [0.5], [true]. */
static void lua_state_append_key(lua_State *L, int idx, char *buf, size_t len, size_t *used)
{
    const char *k;
    size_t klen;
    char num[32];

    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        k = lua_tolstring(L, idx, &klen);
        if (lua_state_is_name(k, klen)) {
            lua_state_append(buf, len, used, ".%.*s", (int)klen, k);
            return;
        }
        lua_state_append(buf, len, used, "[\"");
        for (size_t i = 0; i < klen && i < 40; i++) {
            unsigned char ch = (unsigned char)k[i];
            if (ch == '"' || ch == '\\')
                lua_state_append(buf, len, used, "\\%c", ch);
            else if (ch < 0x20 || ch >= 0x7f)
                lua_state_append(buf, len, used, "\\%u", ch);
            else
                lua_state_append(buf, len, used, "%c", ch);
        }
        lua_state_append(buf, len, used, klen > 40 ? "...\"]" : "\"]");
        return;
    case LUA_TNUMBER:
        lua_state_append(buf, len, used, "[%s]",
                         strategy_format_number(lua_tonumber(L, idx), num, sizeof num));
        return;
    case LUA_TBOOLEAN:
        lua_state_append(buf, len, used, "[%s]", lua_toboolean(L, idx) ? "true" : "false");
        return;
    default:
        lua_state_append(buf, len, used, "[%s]", lua_typename(L, lua_type(L, idx)));
    }
}

/* ---- Encoding ---- */

typedef struct lua_state_encoder {
    lua_State *L;
    msgpack_packer pk;
    const void *tables[LUA_STATE_MAX_DEPTH]; /* the tables open, outermost first */
    int depth;
    int keys[LUA_STATE_MAX_DEPTH];           /* stack index of the key below each */
    int nkeys;
    char *err;
    size_t errlen;
} lua_state_encoder;

/* Write "<path of the keys open>: <what>" to err. @return -1. */
static int lua_state_fail(lua_state_encoder *e, const char *what)
{
    char path[LUA_STATE_PATH_MAX];
    size_t used = 0;
    lua_state_append(path, sizeof path, &used, "state");
    for (int i = 0; i < e->nkeys; i++)
        lua_state_append_key(e->L, e->keys[i], path, sizeof path, &used);
    snprintf(e->err, e->errlen, "%s: %s", path, what);
    return -1;
}

/* A packer call's result: msgpack-c returns non-zero only when the
 * buffer could not grow. */
static int lua_state_packed(lua_state_encoder *e, int rc)
{
    if (rc == 0)
        return 0;
    snprintf(e->err, e->errlen, "state: out of memory");
    return -1;
}

static const char *lua_state_type_name(lua_State *L, int type)
{
    if (type == LUA_TLIGHTUSERDATA)
        return "light userdata";
    if (type == LUA_STATE_TCDATA)
        return "cdata (FFI value)";
    return lua_typename(L, type);
}

/* A whole number an int64 holds goes as an int (-0 keeps its sign as a
 * float64); every int64 made from a double converts back exactly. */
static int lua_state_pack_number(lua_state_encoder *e, double v)
{
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0 && v == (double)(int64_t)v &&
        !(v == 0 && signbit(v)))
        return lua_state_packed(e, msgpack_pack_int64(&e->pk, (int64_t)v));
    return lua_state_packed(e, msgpack_pack_double(&e->pk, v));
}

/* A string, number or boolean at idx. @return 0, 1 when it is none of
 * those (nothing packed), -1 out of memory. */
static int lua_state_pack_scalar(lua_state_encoder *e, int idx)
{
    lua_State *L = e->L;
    const char *str;
    size_t len;

    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        return lua_state_pack_number(e, lua_tonumber(L, idx));
    case LUA_TSTRING:
        str = lua_tolstring(L, idx, &len);
        if (lua_state_packed(e, msgpack_pack_str(&e->pk, len)) < 0)
            return -1;
        return lua_state_packed(e, msgpack_pack_str_body(&e->pk, str, len));
    case LUA_TBOOLEAN:
        return lua_state_packed(e, lua_toboolean(L, idx) ? msgpack_pack_true(&e->pk)
                                                         : msgpack_pack_false(&e->pk));
    default:
        return 1;
    }
}

static int lua_state_encode_value(lua_state_encoder *e, int idx);

/* n when the keys of the table at idx are exactly 1..n (n > 0), else 0;
 * *count is its number of entries. */
static size_t lua_state_array_length(lua_State *L, int idx, size_t *count)
{
    size_t n = 0;
    double max = 0;
    int seq = 1;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
        if (seq && lua_type(L, -1) == LUA_TNUMBER) {
            double k = lua_tonumber(L, -1);
            seq = k >= 1 && k == floor(k);
            if (k > max)
                max = k;
        } else {
            seq = 0;
        }
    }
    *count = n;
    return seq && max == (double)n ? n : 0;
}

/* Encode the value at the top of the stack as the entry of the key below
 * it; both stay. */
static int lua_state_encode_entry(lua_state_encoder *e)
{
    int rc;
    e->keys[e->nkeys++] = lua_gettop(e->L) - 1;
    rc = lua_state_encode_value(e, lua_gettop(e->L));
    e->nkeys--;
    return rc;
}

static int lua_state_encode_array(lua_state_encoder *e, int idx, size_t n)
{
    lua_State *L = e->L;
    if (lua_state_packed(e, msgpack_pack_array(&e->pk, n)) < 0)
        return -1;
    for (size_t i = 1; i <= n; i++) {
        int rc;
        lua_pushnumber(L, (lua_Number)i);
        lua_rawgeti(L, idx, (int)i);
        rc = lua_state_encode_entry(e);
        lua_pop(L, 2);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int lua_state_encode_map(lua_state_encoder *e, int idx, size_t count)
{
    lua_State *L = e->L;
    char what[80];

    if (lua_state_packed(e, msgpack_pack_map(&e->pk, count)) < 0)
        return -1;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int rc = lua_state_pack_scalar(e, -2);
        if (rc > 0) {
            snprintf(what, sizeof what, "a key of type %s cannot be saved",
                     lua_state_type_name(L, lua_type(L, -2)));
            rc = lua_state_fail(e, what);
        }
        if (rc == 0)
            rc = lua_state_encode_entry(e);
        if (rc < 0) {
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    return 0;
}

/* Refuse a table nested too deep or already open (a cycle). */
static int lua_state_check_table(lua_state_encoder *e, const void *t)
{
    char what[LUA_STATE_PATH_MAX + 64];
    size_t used = 0;

    if (e->depth == LUA_STATE_MAX_DEPTH) {
        snprintf(what, sizeof what, "tables nested deeper than %d levels cannot be saved",
                 LUA_STATE_MAX_DEPTH);
        return lua_state_fail(e, what);
    }
    for (int d = 0; d < e->depth; d++) {
        if (e->tables[d] != t)
            continue;
        /* table d is reached through the first d keys */
        lua_state_append(what, sizeof what, &used,
                         "a cycle cannot be saved (this table is state");
        for (int i = 0; i < d; i++)
            lua_state_append_key(e->L, e->keys[i], what, sizeof what, &used);
        lua_state_append(what, sizeof what, &used, " again)");
        return lua_state_fail(e, what);
    }
    return 0;
}

static int lua_state_encode_table(lua_state_encoder *e, int idx)
{
    const void *t = lua_topointer(e->L, idx);
    size_t count, n;
    int rc;

    if (lua_state_check_table(e, t) < 0)
        return -1;
    e->tables[e->depth++] = t;
    n = lua_state_array_length(e->L, idx, &count);
    rc = n > 0 ? lua_state_encode_array(e, idx, n) : lua_state_encode_map(e, idx, count);
    e->depth--;
    return rc;
}

static int lua_state_encode_value(lua_state_encoder *e, int idx)
{
    char what[80];
    int type = lua_type(e->L, idx);
    int rc;

    if (type == LUA_TTABLE)
        return lua_state_encode_table(e, idx);
    if ((rc = lua_state_pack_scalar(e, idx)) <= 0)
        return rc;
    snprintf(what, sizeof what, "a %s cannot be saved", lua_state_type_name(e->L, type));
    return lua_state_fail(e, what);
}

typedef struct lua_state_encode_args {
    lua_state_encoder *e;
    strategy *s;
    int rc;
} lua_state_encode_args;

/* Under lua_cpcall: growing the stack is the one thing that may raise. */
static int lua_state_encode_call(lua_State *L)
{
    lua_state_encode_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    if (!lua_checkstack(L, LUA_STATE_MAX_DEPTH * LUA_STATE_SLOTS_PER_LEVEL + 8))
        luaL_error(L, "Lua stack overflow");
    lua_state_push(a->s);
    a->rc = lua_state_encode_value(a->e, lua_gettop(L));
    return 0;
}

/* Encode ctx.state into out (cleared first). @return 0 or -1 with err. */
static int lua_state_encode(strategy *s, msgpack_sbuffer *out, char *err, size_t errlen)
{
    lua_state_encoder e;
    lua_state_encode_args a;

    memset(&e, 0, sizeof e);
    e.L = s->L;
    e.err = err;
    e.errlen = errlen;
    msgpack_sbuffer_clear(out);
    msgpack_packer_init(&e.pk, out, msgpack_sbuffer_write);
    a.e = &e;
    a.s = s;
    a.rc = -1;
    if (lua_cpcall(s->L, lua_state_encode_call, &a) != 0) {
        snprintf(err, errlen, "state: %s",
                 lua_tostring(s->L, -1) ? lua_tostring(s->L, -1) : "out of memory");
        lua_pop(s->L, 1);
        return -1;
    }
    return a.rc;
}

/* Encode into the free buffer; hand it out when it differs from the last
 * one handed out. @return as strategy_state_take. */
static int lua_state_encode_new(strategy *s, const void **data, size_t *len, char *err,
                                size_t errlen)
{
    struct lua_state_codec *c = s->state_codec;
    msgpack_sbuffer *last = &c->buf[c->last], *cur = &c->buf[!c->last];

    if (lua_state_encode(s, cur, err, errlen) < 0)
        return -1;
    if (cur->size == last->size && memcmp(cur->data, last->data, cur->size) == 0)
        return 0;
    c->last = !c->last;
    *data = cur->data;
    *len = cur->size;
    return 1;
}

int strategy_state_take(strategy *s, const void **data, size_t *len, char *err, size_t errlen)
{
    if (!s->state_touched)
        return 0;
    s->state_touched = 0;
    return lua_state_encode_new(s, data, len, err, errlen);
}

int strategy_state_encode(strategy *s, const void **data, size_t *len, char *err,
                          size_t errlen)
{
    struct lua_state_codec *c = s->state_codec;
    int rc;

    s->state_touched = 0;
    rc = lua_state_encode_new(s, data, len, err, errlen);
    if (rc == 0) {
        *data = c->buf[c->last].data;
        *len = c->buf[c->last].size;
    }
    return rc;
}

/* ---- Decoding ---- */

static const char *lua_state_msgpack_kind(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL: return "a nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_BIN: return "a binary string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_EXT: return "an ext value";
    }
    return "an unknown value";
}

/* Push a scalar. @return 1, or 0 when o is not one (nothing pushed). */
static int lua_state_push_scalar(lua_State *L, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        lua_pushboolean(L, o->via.boolean);
        return 1;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        lua_pushnumber(L, (lua_Number)o->via.u64);
        return 1;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        lua_pushnumber(L, (lua_Number)o->via.i64);
        return 1;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        lua_pushnumber(L, o->via.f64);
        return 1;
    case MSGPACK_OBJECT_STR:
        lua_pushlstring(L, o->via.str.ptr, o->via.str.size);
        return 1;
    case MSGPACK_OBJECT_BIN:
        lua_pushlstring(L, o->via.bin.ptr, o->via.bin.size);
        return 1;
    default:
        return 0;
    }
}

static void lua_state_push_object(lua_State *L, const msgpack_object *o);

static void lua_state_push_table(lua_State *L, const msgpack_object *o)
{
    luaL_checkstack(L, LUA_STATE_SLOTS_PER_LEVEL, "saved state nested too deep");
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        lua_createtable(L, (int)o->via.array.size, 0);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            lua_state_push_object(L, &o->via.array.ptr[i]);
            lua_rawseti(L, -2, (int)i + 1);
        }
        return;
    }
    lua_createtable(L, 0, (int)o->via.map.size);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_ARRAY || kv->key.type == MSGPACK_OBJECT_MAP ||
            !lua_state_push_scalar(L, &kv->key))
            luaL_error(L, "a map key is %s (keys are strings, numbers or booleans)",
                       lua_state_msgpack_kind(kv->key.type));
        if (lua_type(L, -1) == LUA_TNUMBER && isnan(lua_tonumber(L, -1)))
            luaL_error(L, "a map key is NaN");
        lua_state_push_object(L, &kv->val);
        lua_rawset(L, -3);
    }
}

static void lua_state_push_object(lua_State *L, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_ARRAY || o->type == MSGPACK_OBJECT_MAP)
        lua_state_push_table(L, o);
    else if (!lua_state_push_scalar(L, o))
        luaL_error(L, "it holds %s, which no Lua table holds",
                   lua_state_msgpack_kind(o->type));
}

typedef struct lua_state_load_args {
    strategy *s;
    const msgpack_object *root;
} lua_state_load_args;

/* Under lua_cpcall: build the table and make it ctx.state. */
static int lua_state_load_call(lua_State *L)
{
    lua_state_load_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->s->state_box_ref);
    lua_state_push_table(L, a->root);
    lua_rawseti(L, 1, 1);
    return 0;
}

/* Refuse bytes whose headers declare more than they hold, before
 * msgpack-c allocates by them (core/msgpack_check.h): the stored state is
 * a file's bytes. Bytes after a sound value pass here: the value's type is
 * judged first. @return 0, or -1 with err. */
static int lua_state_check(const void *data, size_t len, char *err, size_t errlen)
{
    msgpack_check_result r;
    char why[160];

    switch (msgpack_check_value(data, len, LUA_STATE_MAX_DEPTH, &r)) {
    case MSGPACK_CHECK_OK:
    case MSGPACK_CHECK_TRAILING:
        return 0;
    case MSGPACK_CHECK_TOO_DEEP:
        snprintf(err, errlen, "not a saved state: nested deeper than %d tables",
                 LUA_STATE_MAX_DEPTH);
        return -1;
    default:
        snprintf(err, errlen, "not a saved state: %s",
                 msgpack_check_describe(&r, why, sizeof why));
        return -1;
    }
}

/* Unpack data into u: one map or array and nothing after it.
 * @return 0, or -1 with err saying why the bytes are no saved state. */
static int lua_state_unpack(msgpack_unpacked *u, const void *data, size_t len, char *err,
                            size_t errlen)
{
    size_t off = 0;
    msgpack_unpack_return rc;

    if (len == 0) {
        snprintf(err, errlen, "not a saved state: no bytes");
        return -1;
    }
    if (lua_state_check(data, len, err, errlen) < 0)
        return -1;
    rc = msgpack_unpack_next(u, data, len, &off);
    if (rc == MSGPACK_UNPACK_CONTINUE) {
        snprintf(err, errlen, "not a saved state: msgpack cut short (%zu bytes)", len);
        return -1;
    }
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR) {
        snprintf(err, errlen, "not a saved state: out of memory decoding its %zu bytes", len);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "not a saved state: not msgpack (%zu bytes)", len);
        return -1;
    }
    if (u->data.type != MSGPACK_OBJECT_MAP && u->data.type != MSGPACK_OBJECT_ARRAY) {
        snprintf(err, errlen, "not a saved state: the bytes hold %s, not a table",
                 lua_state_msgpack_kind(u->data.type));
        return -1;
    }
    if (off != len) {
        snprintf(err, errlen, "not a saved state: %zu bytes follow the state's %zu", len - off,
                 off);
        return -1;
    }
    return 0;
}

int strategy_state_load(strategy *s, const void *data, size_t len, char *err, size_t errlen)
{
    struct lua_state_codec *c = s->state_codec;
    msgpack_unpacked u;
    lua_state_load_args a;
    int rc;

    msgpack_unpacked_init(&u);
    if (lua_state_unpack(&u, data, len, err, errlen) < 0) {
        msgpack_unpacked_destroy(&u);
        return -1;
    }
    a.s = s;
    a.root = &u.data;
    rc = lua_cpcall(s->L, lua_state_load_call, &a);
    msgpack_unpacked_destroy(&u);
    if (rc != 0) {
        snprintf(err, errlen, "not a saved state: %s",
                 lua_tostring(s->L, -1) ? lua_tostring(s->L, -1) : "out of memory");
        lua_pop(s->L, 1);
        return -1;
    }
    /* What is stored now is this state: the next take compares with its
     * encoding (re-encoded, since key order may differ from the bytes). */
    s->state_touched = 0;
    if (lua_state_encode(s, &c->buf[c->last], err, errlen) < 0)
        msgpack_sbuffer_clear(&c->buf[c->last]);
    return 0;
}
