/*
 * config.c -- the configuration file (config.h): run it in a sandbox, then
 * read the table it returns against the known keys.
 *
 * The sandbox: a fresh lua_State per file whose chunk sees only the names of
 * sandbox_globals (string, table, math and the basic functions); reading any
 * other global is an error naming it, so `os.execute` fails as "'os' is not
 * defined" and a misspelt local is caught too. Text chunks only: LuaJIT
 * bytecode can break out of any sandbox. The JIT is off, because a count
 * hook never fires inside a compiled loop and a configuration file has no
 * loop worth compiling; the hook bounds the instructions and a wrapper around
 * LuaJIT's allocator bounds the memory. A limit once hit stays hit (the hook
 * then fires at every instruction, the allocator refuses every growth), so a
 * file cannot pcall its way past one.
 *
 * The reading: every table is checked against its list of keys (key_spec):
 * an unknown key is an error suggesting the closest known one, a value of the
 * wrong type or out of range an error naming its path
 * ("strategies[2].params.qty"). Checks involving several keys (mode and
 * venues, margin and leverage) run once the whole table is read. Secrets
 * never pass through here, only where to find them ({ env = } or
 * { file = }); no message quotes a string that could be one.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#define CONFIG_MAX_FILE_BYTES ((size_t)1 << 20)
#define CONFIG_MAX_MEMORY_MIB 64
#define CONFIG_MAX_INSTRUCTIONS 10000000L
#define CONFIG_HOOK_PERIOD 1000
#define CONFIG_MAX_MAP_KEYS 64          /* the largest map: strategy params */
#define CONFIG_BIGGEST_EXACT 9007199254740992.0 /* 2^53: larger whole numbers round */

/* ---- Defaults ---- */

static void latency_constant(config_latency *l, double ms)
{
    memset(l, 0, sizeof *l);
    snprintf(l->dist, sizeof l->dist, "constant");
    l->mean_ms = ms;
}

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->state_dir, sizeof c->state_dir, "var/state");
    c->cancel_on_stop = 1;
    c->handler_timeout_ms = 1000;
    snprintf(c->log_level, sizeof c->log_level, "info");
    snprintf(c->log_format, sizeof c->log_format, "logfmt");
    c->cash = -1;
    c->fee_maker_bps = -1;
    c->fee_taker_bps = -1;
    latency_constant(&c->latency_order, 0);
    latency_constant(&c->latency_response, 0);
    latency_constant(&c->latency_feed, 0);
    c->leverage = 1;
}

/* ---- The sandbox ---- */

typedef struct sandbox {
    lua_Alloc alloc;         /* LuaJIT's own allocator, which does the work */
    void *alloc_ud;
    long long used;          /* bytes since the limit was set (frees of older blocks
                              * may take it below zero) */
    long long max_memory;
    long instructions;
    int over_memory, over_time;
} sandbox;

static const char *const sandbox_globals[] = {
    "assert", "error",  "ipairs",   "next",     "pairs", "pcall",  "rawequal", "rawget",
    "rawset", "select", "tonumber", "tostring", "type",  "unpack", "string",   "table",
    "math",   NULL};

static void *sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    sandbox *sb = ud;
    long long old = ptr ? (long long)osize : 0;
    void *p;

    if ((long long)nsize > old &&
        (sb->over_memory || sb->used + ((long long)nsize - old) > sb->max_memory)) {
        sb->over_memory = 1;
        return NULL;
    }
    p = sb->alloc(sb->alloc_ud, ptr, osize, nsize);
    if (p || nsize == 0)
        sb->used += (long long)nsize - old;
    return p;
}

static void sandbox_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    sandbox *sb;

    (void)ar;
    lua_getallocf(L, &ud);
    sb = ud;
    sb->instructions += CONFIG_HOOK_PERIOD;
    if (sb->instructions > CONFIG_MAX_INSTRUCTIONS || sb->over_time) {
        sb->over_time = 1;
        lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "took too long");
    }
}

/* __index of the file's environment: an undefined global is an error. */
static int sandbox_undefined(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING)
        return luaL_error(L,
                          "'%s' is not defined (a config file sees only string, table, math "
                          "and the basic functions)",
                          lua_tostring(L, 2));
    return luaL_error(L, "undefined global");
}

static void sandbox_open_lib(lua_State *L, lua_CFunction open, const char *name)
{
    lua_pushcfunction(L, open);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

/* Push the environment the file's chunk runs in. */
static void sandbox_push_env(lua_State *L)
{
    sandbox_open_lib(L, luaopen_base, "");
    sandbox_open_lib(L, luaopen_string, LUA_STRLIBNAME);
    sandbox_open_lib(L, luaopen_table, LUA_TABLIBNAME);
    sandbox_open_lib(L, luaopen_math, LUA_MATHLIBNAME);
    lua_newtable(L);
    for (const char *const *g = sandbox_globals; *g; g++) {
        lua_getfield(L, LUA_GLOBALSINDEX, *g);
        lua_setfield(L, -2, *g);
    }
    lua_newtable(L);
    lua_pushcfunction(L, sandbox_undefined);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

/* A state with the limits set, or NULL. */
static lua_State *sandbox_new(sandbox *sb)
{
    lua_State *L = luaL_newstate();

    if (!L)
        return NULL;
    memset(sb, 0, sizeof *sb);
    sb->alloc = lua_getallocf(L, &sb->alloc_ud);
    sb->max_memory = (long long)CONFIG_MAX_MEMORY_MIB << 20;
    lua_setallocf(L, sandbox_alloc, sb);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, CONFIG_HOOK_PERIOD);
    return L;
}

/* ---- Words: quoting a user's text, and the closest known word ---- */

/* s as it may appear in a message: printable, at most 40 bytes. */
static const char *word_quoted(const char *s, char *buf, size_t cap)
{
    size_t n = 0, max = cap - 4 < 40 ? cap - 4 : 40;

    for (; *s && n < max; s++)
        buf[n++] = *s > ' ' && *s < 127 ? *s : '?';
    if (*s)
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = '\0';
    return buf;
}

/* Optimal string alignment distance (a swap of neighbours counts one). */
static size_t word_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t la = strlen(a), lb = strlen(b), d[MAX + 1][MAX + 1];

    if (la > MAX || lb > MAX)
        return SIZE_MAX;
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The closest of the candidates offered, if close enough to be a typo. */
typedef struct suggestion {
    const char *word;
    const char *best;
    size_t distance;
} suggestion;

static void suggest_start(suggestion *s, const char *word)
{
    s->word = word;
    s->best = NULL;
    s->distance = SIZE_MAX;
}

static void suggest_consider(suggestion *s, const char *candidate)
{
    size_t d = word_distance(s->word, candidate), allowed = strlen(candidate) / 3;

    if (d <= (allowed ? allowed : 1) && d < s->distance) {
        s->best = candidate;
        s->distance = d;
    }
}

/* " (did you mean X?)" or "". */
static const char *suggest_text(const suggestion *s, char *buf, size_t cap)
{
    if (!s->best)
        return "";
    snprintf(buf, cap, " (did you mean %s?)", s->best);
    return buf;
}

/* ---- Walking the returned table ---- */

typedef struct walk {
    lua_State *L;
    const char *name;          /* the file, for messages */
    char *err;
    size_t errlen;
    char path[512];            /* of the value being read: "risk.max_position.BTCUSDT" */
    size_t pathlen;
} walk;

typedef struct key_spec key_spec;

/* Read the value on top of the stack into the struct at base. @return 0 or -1. */
typedef int (*key_reader)(walk *w, const key_spec *k, void *base);

enum { NUM_ABOVE_MIN = 1, NUM_WHOLE = 2 };

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)
/* A string key read into a char array of the same name in type. */
#define STRING_KEY(type, field)                                                           \
    {.name = #field, .read = read_string, .offset = offsetof(type, field),                  \
     .size = FIELD_SIZE(type, field)}

struct key_spec {
    const char *name;
    key_reader read;
    size_t offset;             /* of the field in the struct this table fills */
    size_t size;               /* strings: capacity */
    double min, max;           /* numbers: range (max 0: none) */
    unsigned flags;            /* numbers: NUM_* */
    const void *arg;           /* choices (NULL-ended), or a sub-table's keys */
};

static int walk_fail(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int walk_fail(walk *w, const char *fmt, ...)
{
    va_list ap;
    int n = w->pathlen ? snprintf(w->err, w->errlen, "config %s: %s: ", w->name, w->path)
                       : snprintf(w->err, w->errlen, "config %s: ", w->name);

    if (n >= 0 && (size_t)n < w->errlen) {
        va_start(ap, fmt);
        vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Extend the path by a key or a list index. @return the length to restore. */
static size_t walk_push_key(walk *w, const char *key)
{
    size_t old = w->pathlen;
    int n = snprintf(w->path + old, sizeof w->path - old, "%s%s", old ? "." : "", key);

    if (n > 0)
        w->pathlen = old + (size_t)n < sizeof w->path ? old + (size_t)n : sizeof w->path - 1;
    return old;
}

static size_t walk_push_index(walk *w, size_t i)
{
    size_t old = w->pathlen;
    int n = snprintf(w->path + old, sizeof w->path - old, "[%zu]", i);

    if (n > 0)
        w->pathlen = old + (size_t)n < sizeof w->path ? old + (size_t)n : sizeof w->path - 1;
    return old;
}

static void walk_pop(walk *w, size_t len)
{
    w->pathlen = len;
    w->path[len] = '\0';
}

static const char *walk_type(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return "nothing";
    case LUA_TBOOLEAN:
        return "a boolean";
    case LUA_TNUMBER:
        return "a number";
    case LUA_TSTRING:
        return "a string";
    case LUA_TTABLE:
        return "a table";
    case LUA_TFUNCTION:
        return "a function";
    default:
        return "a userdata or thread";
    }
}

static const char *walk_number_text(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "nan");
    else if (v == floor(v) && fabs(v) < 1e17)
        snprintf(buf, cap, "%.0f", v); /* every digit: limits like 2^53 are exact */
    else
        snprintf(buf, cap, "%.15g", v);
    return buf;
}

/* A table key as a message shows it: 'name', 3, or its type. */
static const char *walk_key_text(lua_State *L, int idx, char *buf, size_t cap)
{
    char word[48];

    if (lua_type(L, idx) == LUA_TSTRING)
        snprintf(buf, cap, "'%s'", word_quoted(lua_tostring(L, idx), word, sizeof word));
    else if (lua_type(L, idx) == LUA_TNUMBER)
        walk_number_text(lua_tonumber(L, idx), buf, cap);
    else
        snprintf(buf, cap, "%s", walk_type(L, idx));
    return buf;
}

/* ---- Scalars ---- */

/* A non-empty string without NUL bytes that fits cap; never quoted back. */
static int walk_string(walk *w, char *out, size_t cap)
{
    size_t len;
    const char *s;

    if (lua_type(w->L, -1) != LUA_TSTRING)
        return walk_fail(w, "want a string, got %s", walk_type(w->L, -1));
    s = lua_tolstring(w->L, -1, &len);
    if (len == 0)
        return walk_fail(w, "want a non-empty string");
    if (strlen(s) != len)
        return walk_fail(w, "want a string without NUL bytes");
    if (len >= cap)
        return walk_fail(w, "too long (%zu bytes, at most %zu)", len, cap - 1);
    memcpy(out, s, len + 1);
    return 0;
}

static void walk_number_want(const key_spec *k, char *buf, size_t cap)
{
    char min[32];

    snprintf(buf, cap, "a %snumber %s %s", k->flags & NUM_WHOLE ? "whole " : "",
             k->flags & NUM_ABOVE_MIN ? ">" : ">=", walk_number_text(k->min, min, sizeof min));
}

/* A finite number within k's range. */
static int walk_number(walk *w, const key_spec *k, double *out)
{
    char want[64], got[32], max[32];
    double v;

    walk_number_want(k, want, sizeof want);
    if (lua_type(w->L, -1) != LUA_TNUMBER)
        return walk_fail(w, "want %s, got %s", want, walk_type(w->L, -1));
    v = lua_tonumber(w->L, -1);
    walk_number_text(v, got, sizeof got);
    if (!isfinite(v) || v < k->min || (k->flags & NUM_ABOVE_MIN && v == k->min) ||
        (k->flags & NUM_WHOLE && v != floor(v)))
        return walk_fail(w, "want %s, got %s", want, got);
    if (k->max > 0 && v > k->max)
        return walk_fail(w, "want %s <= %s, got %s",
                         k->flags & NUM_WHOLE ? "a whole number" : "a number",
                         walk_number_text(k->max, max, sizeof max), got);
    *out = v;
    return 0;
}

static int read_string(walk *w, const key_spec *k, void *base)
{
    return walk_string(w, (char *)base + k->offset, k->size);
}

/* "'a', 'b' or 'c'" */
static const char *choice_words(const char *const *choices, char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    while (choices[n])
        n++;
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s'%s'", i == 0 ? "" : i + 1 == n ? " or " : ", ",
                 choices[i]);
    }
    return buf;
}

static int read_choice(walk *w, const key_spec *k, void *base)
{
    const char *const *choices = k->arg;
    const char *s = lua_type(w->L, -1) == LUA_TSTRING ? lua_tostring(w->L, -1) : NULL;
    char want[128], word[48], hint[96];
    suggestion sug;

    choice_words(choices, want, sizeof want);
    if (!s)
        return walk_fail(w, "want %s, got %s", want, walk_type(w->L, -1));
    suggest_start(&sug, s);
    for (const char *const *c = choices; *c; c++) {
        if (!strcmp(s, *c)) {
            snprintf((char *)base + k->offset, k->size, "%s", s);
            return 0;
        }
        suggest_consider(&sug, *c);
    }
    return walk_fail(w, "want %s, got '%s'%s", want, word_quoted(s, word, sizeof word),
                     suggest_text(&sug, hint, sizeof hint));
}

static int read_bool(walk *w, const key_spec *k, void *base)
{
    if (lua_type(w->L, -1) != LUA_TBOOLEAN)
        return walk_fail(w, "want true or false, got %s", walk_type(w->L, -1));
    *(int *)((char *)base + k->offset) = lua_toboolean(w->L, -1);
    return 0;
}

static int read_number(walk *w, const key_spec *k, void *base)
{
    return walk_number(w, k, (double *)((char *)base + k->offset));
}

static int read_int(walk *w, const key_spec *k, void *base)
{
    key_spec whole = *k;
    double v;

    whole.flags |= NUM_WHOLE;
    whole.max = k->max > 0 ? k->max : INT_MAX;
    if (walk_number(w, &whole, &v) < 0)
        return -1;
    *(int *)((char *)base + k->offset) = (int)v;
    return 0;
}

static int read_seed(walk *w, const key_spec *k, void *base)
{
    config *c = base;
    key_spec whole = *k;
    double v;

    whole.flags |= NUM_WHOLE;
    whole.max = CONFIG_BIGGEST_EXACT;
    if (walk_number(w, &whole, &v) < 0)
        return -1;
    c->seed = (uint64_t)v;
    c->seed_set = 1;
    return 0;
}

/* ---- Tables, lists and maps ---- */

static const key_spec *walk_find_key(const key_spec *keys, const char *name)
{
    for (; keys->name; keys++)
        if (!strcmp(keys->name, name))
            return keys;
    return NULL;
}

static int walk_unknown_key(walk *w, const char *key, const key_spec *keys)
{
    char word[48], hint[96];
    suggestion sug;
    size_t old;

    suggest_start(&sug, key);
    for (; keys->name; keys++)
        suggest_consider(&sug, keys->name);
    old = walk_push_key(w, word_quoted(key, word, sizeof word));
    snprintf(w->err, w->errlen, "config %s: unknown key '%s'%s", w->name, w->path,
             suggest_text(&sug, hint, sizeof hint));
    walk_pop(w, old);
    return -1;
}

/* Every key of the table at t is a string that keys knows. */
static int walk_keys_known(walk *w, int t, const key_spec *keys)
{
    char key[64];

    lua_pushnil(w->L);
    while (lua_next(w->L, t)) {
        if (lua_type(w->L, -2) != LUA_TSTRING) {
            walk_key_text(w->L, -2, key, sizeof key);
            lua_pop(w->L, 2);
            return walk_fail(w, "want key = value entries, got the list item %s", key);
        }
        if (!walk_find_key(keys, lua_tostring(w->L, -2))) {
            int rc = walk_unknown_key(w, lua_tostring(w->L, -2), keys);
            lua_pop(w->L, 2);
            return rc;
        }
        lua_pop(w->L, 1);
    }
    return 0;
}

/* The table on top of the stack, key by key in the order of keys. */
static int walk_table(walk *w, const key_spec *keys, void *base)
{
    int t = lua_gettop(w->L);

    if (lua_type(w->L, t) != LUA_TTABLE)
        return walk_fail(w, "want a table { ... }, got %s", walk_type(w->L, t));
    luaL_checkstack(w->L, 8, "config nesting");
    if (walk_keys_known(w, t, keys) < 0)
        return -1;
    for (const key_spec *k = keys; k->name; k++) {
        size_t old;
        int rc;
        lua_pushstring(w->L, k->name);
        lua_rawget(w->L, t);
        if (lua_isnil(w->L, -1)) {
            lua_pop(w->L, 1);
            continue;
        }
        old = walk_push_key(w, k->name);
        rc = k->read(w, k, base);
        walk_pop(w, old);
        lua_pop(w->L, 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int read_table(walk *w, const key_spec *k, void *base)
{
    return walk_table(w, k->arg, (char *)base + k->offset);
}

/* The length of the list { v1, v2, ... } on top of the stack. */
static int walk_list(walk *w, size_t max, size_t *n)
{
    lua_State *L = w->L;
    int t = lua_gettop(L);
    char key[64];
    size_t len;

    if (lua_type(L, t) != LUA_TTABLE)
        return walk_fail(w, "want a list { ... }, got %s", walk_type(L, t));
    len = lua_objlen(L, t);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        double i = lua_type(L, -2) == LUA_TNUMBER ? lua_tonumber(L, -2) : 0;
        if (i < 1 || i > (double)len || i != floor(i)) {
            walk_key_text(L, -2, key, sizeof key);
            lua_pop(L, 2);
            return walk_fail(w, "want a list { a, b, ... }, got the key %s", key);
        }
        lua_pop(L, 1);
    }
    if (len > max)
        return walk_fail(w, "too many entries (%zu, at most %zu)", len, max);
    *n = len;
    return 0;
}

/* Read item i (from 0) of a list, on top of the stack. */
typedef int (*item_reader)(walk *w, size_t i, void *ud);

static int walk_each_item(walk *w, size_t max, size_t *count, item_reader read, void *ud)
{
    int t = lua_gettop(w->L);
    size_t n = 0;

    if (walk_list(w, max, &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t old = walk_push_index(w, i + 1);
        int rc;
        lua_rawgeti(w->L, t, (int)i + 1);
        rc = read(w, i, ud);
        lua_pop(w->L, 1);
        walk_pop(w, old);
        if (rc < 0)
            return -1;
        *count = i + 1;
    }
    return 0;
}

/* Read entry KEY = value of a map, value on top of the stack. */
typedef int (*entry_reader)(walk *w, const char *key, size_t i, void *ud);

static int walk_cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A map's key: 1 to keycap - 1 printable bytes, no space. */
static int walk_map_key_ok(const char *s, size_t len, size_t keycap)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] <= ' ' || s[i] >= 127)
            return 0;
    return len > 0 && len < keycap;
}

/* Why the key on top of the stack (s its text, NULL if not a string) was
 * refused. */
static int walk_map_key_fail(walk *w, const char *s, size_t keycap)
{
    char key[64];

    walk_key_text(w->L, -1, key, sizeof key);
    if (!s)
        return walk_fail(w, "want NAME = value entries, got the key %s", key);
    for (; *s; s++)
        if (*s <= ' ' || *s >= 127)
            return walk_fail(w, "the key %s: want letters, digits or punctuation", key);
    return walk_fail(w, "the key %s: want 1 to %zu bytes", key, keycap - 1);
}

/* The string keys of the map at t, sorted (so the order of entries and of
 * errors does not depend on hashing). */
static int walk_map_keys(walk *w, int t, size_t max, size_t keycap, const char **keys,
                         size_t *n)
{
    *n = 0;
    lua_pushnil(w->L);
    while (lua_next(w->L, t)) {
        const char *s = lua_type(w->L, -2) == LUA_TSTRING ? lua_tostring(w->L, -2) : NULL;
        int rc = 0;
        lua_pop(w->L, 1);
        if (!s || !walk_map_key_ok(s, lua_objlen(w->L, -1), keycap))
            rc = walk_map_key_fail(w, s, keycap);
        else if (*n == max)
            rc = walk_fail(w, "too many entries (at most %zu)", max);
        if (rc < 0) {
            lua_pop(w->L, 1);
            return -1;
        }
        keys[(*n)++] = s; /* the table keeps the string alive */
    }
    qsort(keys, *n, sizeof *keys, walk_cmp_keys);
    return 0;
}

static int walk_each_entry(walk *w, size_t max, size_t keycap, size_t *count, entry_reader read,
                           void *ud)
{
    const char *keys[CONFIG_MAX_MAP_KEYS];
    int t = lua_gettop(w->L);
    size_t n = 0;

    if (lua_type(w->L, t) != LUA_TTABLE)
        return walk_fail(w, "want a table { NAME = value, ... }, got %s", walk_type(w->L, t));
    if (walk_map_keys(w, t, max < CONFIG_MAX_MAP_KEYS ? max : CONFIG_MAX_MAP_KEYS, keycap, keys,
                      &n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t old = walk_push_key(w, keys[i]);
        int rc;
        lua_pushstring(w->L, keys[i]);
        lua_rawget(w->L, t);
        rc = read(w, keys[i], i, ud);
        lua_pop(w->L, 1);
        walk_pop(w, old);
        if (rc < 0)
            return -1;
        *count = i + 1;
    }
    return 0;
}

/* ---- Keys of several kinds ---- */

/* A list of strings into items[max][item_size]. */
typedef struct string_list {
    char *items;
    size_t item_size;
} string_list;

static int read_string_item(walk *w, size_t i, void *ud)
{
    string_list *l = ud;
    return walk_string(w, l->items + i * l->item_size, l->item_size);
}

static int read_plugin_path(walk *w, const key_spec *k, void *base)
{
    config *c = base;
    string_list l = {c->plugin_path[0], sizeof c->plugin_path[0]};

    (void)k;
    return walk_each_item(w, CONFIG_MAX_PLUGIN_PATHS, &c->nplugin_path, read_string_item, &l);
}

static int read_symbols(walk *w, const key_spec *k, void *base)
{
    config_venue *v = base;
    string_list l = {v->symbols[0], sizeof v->symbols[0]};

    (void)k;
    return walk_each_item(w, CONFIG_MAX_SYMBOLS, &v->nsymbols, read_string_item, &l);
}

/* Quantities and amounts in maps: a number >= 0. */
static const key_spec amount_rule = {.name = "amount"};

static int read_position_entry(walk *w, const char *key, size_t i, void *ud)
{
    risk_limits *r = ud;

    snprintf(r->max_position[i].symbol, sizeof r->max_position[i].symbol, "%s", key);
    return walk_number(w, &amount_rule, &r->max_position[i].qty);
}

static int read_max_position(walk *w, const key_spec *k, void *base)
{
    risk_limits *r = base;

    (void)k;
    return walk_each_entry(w, RISK_MAX_POSITION_LIMITS, sizeof r->max_position[0].symbol,
                           &r->nmax_position, read_position_entry, r);
}

static int read_balance_entry(walk *w, const char *key, size_t i, void *ud)
{
    config *c = ud;

    snprintf(c->balances[i].asset, sizeof c->balances[i].asset, "%s", key);
    return walk_number(w, &amount_rule, &c->balances[i].amount);
}

static int read_balances(walk *w, const key_spec *k, void *base)
{
    config *c = base;

    (void)k;
    return walk_each_entry(w, CONFIG_MAX_BALANCES, sizeof c->balances[0].asset, &c->nbalances,
                           read_balance_entry, c);
}

/* Strategy params: KEY = number | boolean | string. */
static int read_param_entry(walk *w, const char *key, size_t i, void *ud)
{
    strategy_param *p = (strategy_param *)ud + i;
    size_t len;
    const char *s;

    memset(p, 0, sizeof *p);
    snprintf(p->key, sizeof p->key, "%s", key);
    switch (lua_type(w->L, -1)) {
    case LUA_TNUMBER:
        p->type = PARAM_NUMBER;
        p->num = lua_tonumber(w->L, -1);
        if (!isfinite(p->num))
            return walk_fail(w, "want a finite number");
        return 0;
    case LUA_TBOOLEAN:
        p->type = PARAM_BOOL;
        p->boolean = lua_toboolean(w->L, -1);
        return 0;
    case LUA_TSTRING:
        p->type = PARAM_STRING;
        s = lua_tolstring(w->L, -1, &len);
        if (strlen(s) != len || len >= sizeof p->str)
            return walk_fail(w, "want a string of at most %zu bytes without NUL bytes",
                             sizeof p->str - 1);
        memcpy(p->str, s, len + 1);
        return 0;
    default:
        return walk_fail(w, "want a number, a boolean or a string, got %s", walk_type(w->L, -1));
    }
}

static int read_params(walk *w, const key_spec *k, void *base)
{
    config_strategy *s = base;

    (void)k;
    return walk_each_entry(w, CONFIG_MAX_PARAMS, sizeof s->params[0].key, &s->nparams,
                           read_param_entry, s->params);
}

/* ---- Secrets ---- */

static const key_spec secret_keys[] = {
    STRING_KEY(config_secret, env),
    STRING_KEY(config_secret, file),
    {0}};

static int secret_env_name_ok(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    return 1;
}

static int read_secret(walk *w, const key_spec *k, void *base)
{
    config_secret *s = (config_secret *)((char *)base + k->offset);
    size_t old;

    if (lua_type(w->L, -1) == LUA_TSTRING)
        return walk_fail(w, "give { env = 'NAME' } or { file = 'path' }, never the secret itself");
    if (lua_type(w->L, -1) != LUA_TTABLE)
        return walk_fail(w, "want { env = 'NAME' } or { file = 'path' }, got %s",
                         walk_type(w->L, -1));
    if (walk_table(w, secret_keys, s) < 0)
        return -1;
    if (!s->env[0] == !s->file[0])
        return walk_fail(w, "want { env = 'NAME' } or { file = 'path' }, %s",
                         s->env[0] ? "not both" : "got neither");
    if (s->env[0] && !secret_env_name_ok(s->env)) {
        old = walk_push_key(w, "env");
        walk_fail(w, "want the name of an environment variable (letters, digits, '_'), not "
                     "its value");
        walk_pop(w, old);
        return -1;
    }
    return 0;
}

/* ---- Latency ---- */

enum { LAT_MEAN, LAT_SD, LAT_MIN, LAT_MAX, LAT_FIELDS };
enum { DIST_CONSTANT, DIST_NORMAL, DIST_EXPONENTIAL, DIST_UNIFORM };

/* { dist = , mean = , sd = , min = , max = } before checking which fit dist. */
typedef struct latency_in {
    char dist[16];
    double value[LAT_FIELDS]; /* NAN when absent */
} latency_in;

static const char *const latency_fields[] = {"mean", "sd", "min", "max"};
static const char *const latency_dists[] = {"constant", "normal", "exponential", "uniform",
                                            NULL};
/* The fields each dist takes (bits), and in words. */
static const unsigned latency_takes[] = {1u << LAT_MEAN, 1u << LAT_MEAN | 1u << LAT_SD,
                                         1u << LAT_MEAN, 1u << LAT_MIN | 1u << LAT_MAX};
static const char *const latency_takes_text[] = {"mean", "mean and sd", "mean", "min and max"};

static const key_spec latency_keys[] = {
    {.name = "dist", .read = read_choice, .offset = offsetof(latency_in, dist),
     .size = FIELD_SIZE(latency_in, dist), .arg = latency_dists},
    {.name = "mean", .read = read_number, .offset = offsetof(latency_in, value[LAT_MEAN])},
    {.name = "sd", .read = read_number, .offset = offsetof(latency_in, value[LAT_SD])},
    {.name = "min", .read = read_number, .offset = offsetof(latency_in, value[LAT_MIN])},
    {.name = "max", .read = read_number, .offset = offsetof(latency_in, value[LAT_MAX])},
    {0}};

/* Each field present if and only if dist d takes it. */
static int latency_check_fields(walk *w, const latency_in *in, size_t d)
{
    for (size_t f = 0; f < LAT_FIELDS; f++) {
        int takes = latency_takes[d] >> f & 1, given = !isnan(in->value[f]);
        size_t old;
        if (takes == given)
            continue;
        old = walk_push_key(w, latency_fields[f]);
        walk_fail(w, "%s (dist '%s' takes %s)", takes ? "missing" : "not used",
                  latency_dists[d], latency_takes_text[d]);
        walk_pop(w, old);
        return -1;
    }
    return 0;
}

static int read_latency(walk *w, const key_spec *k, void *base)
{
    config_latency *l = (config_latency *)((char *)base + k->offset);
    latency_in in = {.value = {NAN, NAN, NAN, NAN}};
    char want[128];
    size_t d = 0;

    if (lua_type(w->L, -1) == LUA_TNUMBER) {
        double ms;
        if (walk_number(w, &amount_rule, &ms) < 0)
            return -1;
        latency_constant(l, ms);
        return 0;
    }
    if (lua_type(w->L, -1) != LUA_TTABLE)
        return walk_fail(w, "want milliseconds or { dist = ..., ... }, got %s",
                         walk_type(w->L, -1));
    if (walk_table(w, latency_keys, &in) < 0)
        return -1;
    if (!in.dist[0])
        return walk_fail(w, "want dist = %s", choice_words(latency_dists, want, sizeof want));
    while (strcmp(latency_dists[d], in.dist))
        d++;
    if (latency_check_fields(w, &in, d) < 0)
        return -1;
    if (d == DIST_UNIFORM && in.value[LAT_MIN] > in.value[LAT_MAX])
        return walk_fail(w, "want min <= max");
    memset(l, 0, sizeof *l);
    snprintf(l->dist, sizeof l->dist, "%s", in.dist);
    /* config_latency keeps uniform's min and max where the others keep mean and sd */
    l->mean_ms = d == DIST_UNIFORM ? in.value[LAT_MIN] : in.value[LAT_MEAN];
    l->sd_ms = d == DIST_UNIFORM ? in.value[LAT_MAX] : d == DIST_NORMAL ? in.value[LAT_SD] : 0;
    return 0;
}

/* ---- Venues and strategies ---- */

static const key_spec venue_keys[] = {
    STRING_KEY(config_venue, connector),
    STRING_KEY(config_venue, rest_url),
    STRING_KEY(config_venue, ws_url),
    {.name = "api_key", .read = read_secret, .offset = offsetof(config_venue, api_key)},
    {.name = "api_secret", .read = read_secret, .offset = offsetof(config_venue, api_secret)},
    {.name = "symbols", .read = read_symbols},
    {.name = "ws_max_age_s", .read = read_number, .offset = offsetof(config_venue, ws_max_age_s),
     .flags = NUM_ABOVE_MIN, .max = 86400},
    {.name = "ws_spin_us", .read = read_int, .offset = offsetof(config_venue, ws_spin_us),
     .max = CONFIG_MAX_WS_SPIN_US},
    {.name = "adopt_orders", .read = read_bool, .offset = offsetof(config_venue, adopt_orders)},
    {0}};

static int read_venue_entry(walk *w, const char *key, size_t i, void *ud)
{
    config_venue *v = (config_venue *)ud + i;

    snprintf(v->name, sizeof v->name, "%s", key);
    return walk_table(w, venue_keys, v);
}

static int read_venues(walk *w, const key_spec *k, void *base)
{
    config *c = base;

    (void)k;
    return walk_each_entry(w, CONFIG_MAX_VENUES, sizeof c->venues[0].name, &c->nvenues,
                           read_venue_entry, c->venues);
}

static const key_spec strategy_keys[] = {
    STRING_KEY(config_strategy, name),
    STRING_KEY(config_strategy, script),
    STRING_KEY(config_strategy, venue),
    {.name = "params", .read = read_params},
    {0}};

/* Names go into log lines, file names and state keys. */
static int strategy_name_ok(const char *s)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_-.", *s))
            return 0;
    return 1;
}

static int read_strategy_item(walk *w, size_t i, void *ud)
{
    config_strategy *all = ud, *s = all + i;
    char word[48];
    size_t old;
    int rc = 0;

    if (walk_table(w, strategy_keys, s) < 0)
        return -1;
    old = walk_push_key(w, "name");
    if (!s->name[0])
        rc = walk_fail(w, "missing (each strategy needs a name of its own)");
    else if (!strategy_name_ok(s->name))
        rc = walk_fail(w, "'%s': want letters, digits, '_', '-' or '.'",
                       word_quoted(s->name, word, sizeof word));
    for (size_t j = 0; rc == 0 && j < i; j++)
        if (!strcmp(all[j].name, s->name))
            rc = walk_fail(w, "'%s' is already the name of strategies[%zu]", s->name, j + 1);
    walk_pop(w, old);
    return rc;
}

static int read_strategies(walk *w, const key_spec *k, void *base)
{
    config *c = base;

    (void)k;
    return walk_each_item(w, CONFIG_MAX_STRATEGIES, &c->nstrategies, read_strategy_item,
                          c->strategies);
}

/* ---- The whole file ---- */

static const char *const mode_choices[] = {"live", "paper", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_choices[] = {"logfmt", "json", NULL};
static const char *const queue_choices[] = {"conservative", "optimistic", NULL};
static const char *const sync_choices[] = {"full", "none", NULL};

static const key_spec log_keys[] = {
    {.name = "level", .read = read_choice, .offset = offsetof(config, log_level),
     .size = FIELD_SIZE(config, log_level), .arg = level_choices},
    {.name = "format", .read = read_choice, .offset = offsetof(config, log_format),
     .size = FIELD_SIZE(config, log_format), .arg = format_choices},
    {0}};

static const key_spec risk_keys[] = {
    {.name = "max_order_qty", .read = read_number, .offset = offsetof(risk_limits, max_order_qty)},
    {.name = "max_order_notional", .read = read_number,
     .offset = offsetof(risk_limits, max_order_notional)},
    {.name = "price_band_pct", .read = read_number,
     .offset = offsetof(risk_limits, price_band_pct)},
    {.name = "max_position", .read = read_max_position},
    {.name = "max_gross_exposure", .read = read_number,
     .offset = offsetof(risk_limits, max_gross_exposure)},
    {.name = "max_open_orders", .read = read_int, .offset = offsetof(risk_limits, max_open_orders)},
    {.name = "orders_per_second", .read = read_number,
     .offset = offsetof(risk_limits, orders_per_second)},
    {.name = "max_daily_loss", .read = read_number,
     .offset = offsetof(risk_limits, max_daily_loss)},
    {0}};

static const key_spec fee_keys[] = {
    {.name = "maker", .read = read_number, .offset = offsetof(config, fee_maker_bps)},
    {.name = "taker", .read = read_number, .offset = offsetof(config, fee_taker_bps)},
    {0}};

static const key_spec latency_kinds[] = {
    {.name = "order", .read = read_latency, .offset = offsetof(config, latency_order)},
    {.name = "response", .read = read_latency, .offset = offsetof(config, latency_response)},
    {.name = "feed", .read = read_latency, .offset = offsetof(config, latency_feed)},
    {0}};

static const key_spec config_keys[] = {
    {.name = "mode", .read = read_choice, .offset = offsetof(config, mode),
     .size = FIELD_SIZE(config, mode), .arg = mode_choices},
    STRING_KEY(config, state_dir),
    STRING_KEY(config, control_socket),
    {.name = "state_sync", .read = read_choice, .offset = offsetof(config, state_sync),
     .size = FIELD_SIZE(config, state_sync), .arg = sync_choices},
    {.name = "state_writemap", .read = read_bool, .offset = offsetof(config, state_writemap)},
    {.name = "cancel_on_stop", .read = read_bool, .offset = offsetof(config, cancel_on_stop)},
    {.name = "handler_timeout_ms", .read = read_number,
     .offset = offsetof(config, handler_timeout_ms)},
    {.name = "log", .read = read_table, .arg = log_keys},
    {.name = "plugin_path", .read = read_plugin_path},
    {.name = "venues", .read = read_venues},
    {.name = "risk", .read = read_table, .offset = offsetof(config, risk), .arg = risk_keys},
    {.name = "strategies", .read = read_strategies},
    {.name = "cash", .read = read_number, .offset = offsetof(config, cash)},
    {.name = "balances", .read = read_balances},
    {.name = "fees", .read = read_table, .arg = fee_keys},
    {.name = "latency", .read = read_table, .arg = latency_kinds},
    {.name = "queue_model", .read = read_choice, .offset = offsetof(config, queue_model),
     .size = FIELD_SIZE(config, queue_model), .arg = queue_choices},
    {.name = "seed", .read = read_seed},
    {.name = "margin", .read = read_bool, .offset = offsetof(config, margin)},
    {.name = "leverage", .read = read_number, .offset = offsetof(config, leverage), .min = 1},
    {.name = "periods_per_year", .read = read_number, .offset = offsetof(config, periods_per_year),
     .flags = NUM_ABOVE_MIN},
    {0}};

/* ---- Checks across keys ---- */

/* Point the path at list[index].name.key (index 0, name or key NULL: left
 * out), for a check made after reading. */
static void check_path(walk *w, const char *list, size_t index, const char *name,
                       const char *key)
{
    walk_pop(w, 0);
    walk_push_key(w, list);
    if (index)
        walk_push_index(w, index);
    if (name)
        walk_push_key(w, name);
    if (key)
        walk_push_key(w, key);
}

_Static_assert(FIELD_SIZE(config_venue, connector) >= FIELD_SIZE(config_venue, name) &&
                   FIELD_SIZE(config_strategy, venue) == FIELD_SIZE(config_venue, name),
               "a venue's name fits its connector and a strategy's venue");

static const config_venue *check_find_venue(const config *c, const char *name)
{
    for (size_t i = 0; i < c->nvenues; i++)
        if (!strcmp(c->venues[i].name, name))
            return &c->venues[i];
    return NULL;
}

/* A strategy's venue: one of venues (the only one when not named, in a mode). */
static int check_strategy_venue(walk *w, config *c, size_t i)
{
    config_strategy *s = &c->strategies[i];
    char word[48], hint[96];
    suggestion sug;

    if (!s->venue[0] && c->mode[0] && c->nvenues == 1)
        memcpy(s->venue, c->venues[0].name, sizeof s->venue); /* both [32] */
    check_path(w, "strategies", i + 1, NULL, "venue");
    if (!s->venue[0] && c->mode[0])
        return walk_fail(w, "missing (mode '%s' trades on a venue: name one of venues)",
                         c->mode);
    if (!s->venue[0] || (!c->mode[0] && c->nvenues == 0) || check_find_venue(c, s->venue))
        return 0;
    suggest_start(&sug, s->venue);
    for (size_t v = 0; v < c->nvenues; v++)
        suggest_consider(&sug, c->venues[v].name);
    return walk_fail(w, "no venue '%s' in venues%s", word_quoted(s->venue, word, sizeof word),
                     suggest_text(&sug, hint, sizeof hint));
}

static int check_strategies(walk *w, config *c)
{
    for (size_t i = 0; i < c->nstrategies; i++) {
        check_path(w, "strategies", i + 1, NULL, "script");
        if (c->mode[0] && !c->strategies[i].script[0])
            return walk_fail(w, "missing (mode '%s' runs the script named here)", c->mode);
        if (check_strategy_venue(w, c, i) < 0)
            return -1;
    }
    return 0;
}

/* In a mode (live, paper) venues connect: each needs symbols, and live ones keys. */
static int check_venues(walk *w, config *c)
{
    check_path(w, "venues", 0, NULL, NULL);
    if (c->mode[0] && c->nvenues == 0)
        return walk_fail(w, "missing (mode '%s' needs a venue)", c->mode);
    for (size_t i = 0; i < c->nvenues; i++) {
        config_venue *v = &c->venues[i];
        const char *secret = !v->api_key.env[0] && !v->api_key.file[0]         ? "api_key"
                             : !v->api_secret.env[0] && !v->api_secret.file[0] ? "api_secret"
                                                                               : NULL;
        if (!v->connector[0])
            memcpy(v->connector, v->name, strlen(v->name) + 1); /* name[32] fits */
        check_path(w, "venues", 0, v->name, "symbols");
        if (c->mode[0] && v->nsymbols == 0)
            return walk_fail(w, "missing (mode '%s' needs the symbols to follow)", c->mode);
        check_path(w, "venues", 0, v->name, secret);
        if (!strcmp(c->mode, "live") && secret)
            return walk_fail(w, "missing (mode 'live' trades: give { env = 'NAME' } or "
                                "{ file = 'path' })");
    }
    return 0;
}

static int check_config(walk *w, config *c)
{
    check_path(w, "leverage", 0, NULL, NULL);
    if (c->leverage > 1 && !c->margin)
        return walk_fail(w, "a leverage above 1 needs margin = true");
    if (check_venues(w, c) < 0 || check_strategies(w, c) < 0)
        return -1;
    return 0;
}

/* ---- Loading ---- */

typedef struct load_ctx {
    walk w;
    config *c;
    const char *text;
    size_t len;
    int invalid; /* the table was read and refused: w.err says why */
} load_ctx;

/* Run the chunk and read what it returns; under lua_cpcall. A Lua error is
 * the chunk's (or the sandbox's); a refused table sets invalid. */
static int config_eval(lua_State *L)
{
    load_ctx *x = lua_touserdata(L, 1);

    lua_settop(L, 0);
    sandbox_push_env(L);
    lua_pushfstring(L, "@%s", x->w.name);
    if (luaL_loadbufferx(L, x->text, x->len, lua_tostring(L, -1), "t") != 0)
        return lua_error(L);
    lua_pushvalue(L, 1);
    lua_setfenv(L, -2);
    lua_call(L, 0, 1);
    lua_sethook(L, NULL, 0, 0); /* the reading runs no Lua code */
    x->w.L = L;
    if (lua_type(L, -1) != LUA_TTABLE) {
        x->invalid = 1;
        walk_fail(&x->w, "the file must return a table (return { ... }), it returns %s",
                  walk_type(L, -1));
        return 0;
    }
    x->invalid = walk_table(&x->w, config_keys, x->c) < 0 || check_config(&x->w, x->c) < 0;
    return 0;
}

/* The Lua error on top of the stack as "config FILE:LINE: message". */
static void config_lua_error(lua_State *L, const char *name, char *err, size_t errlen)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    size_t n = strlen(name);

    if (!msg)
        snprintf(err, errlen, "config %s: error (the error value is %s)", name,
                 walk_type(L, -1));
    else if (!strncmp(msg, name, n) && msg[n] == ':')
        snprintf(err, errlen, "config %s", msg);
    else
        snprintf(err, errlen, "config %s: %s", name, msg);
}

static int config_load_text(const char *name, const char *text, size_t len, config *c,
                            char *err, size_t errlen)
{
    load_ctx x = {.w = {.name = name, .err = err, .errlen = errlen}, .c = c, .text = text,
                  .len = len};
    sandbox sb;
    lua_State *L;
    int status;

    config_defaults(c);
    if (len > 0 && text[0] == LUA_SIGNATURE[0]) {
        snprintf(err, errlen, "config %s: compiled Lua (bytecode): want the source text", name);
        return -1;
    }
    if (!(L = sandbox_new(&sb))) {
        snprintf(err, errlen, "config %s: out of memory", name);
        return -1;
    }
    status = lua_cpcall(L, config_eval, &x);
    if (sb.over_time)
        snprintf(err, errlen, "config %s: took too long (more than %ld instructions)", name,
                 CONFIG_MAX_INSTRUCTIONS);
    else if (sb.over_memory)
        snprintf(err, errlen, "config %s: used too much memory (more than %d MiB)", name,
                 CONFIG_MAX_MEMORY_MIB);
    else if (status != 0)
        config_lua_error(L, name, err, errlen);
    lua_close(L);
    return sb.over_time || sb.over_memory || status != 0 || x.invalid ? -1 : 0;
}

int config_load_string(const char *name, const char *text, config *c, char *err,
                       size_t errlen)
{
    return config_load_text(name, text, strlen(text), c, err, errlen);
}

int config_load(const char *path, config *c, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text;
    size_t len;
    int rc;

    if (!f) {
        snprintf(err, errlen, "config %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    text = malloc(CONFIG_MAX_FILE_BYTES + 1);
    if (!text) {
        fclose(f);
        snprintf(err, errlen, "config %s: out of memory", path);
        return -1;
    }
    errno = 0;
    len = fread(text, 1, CONFIG_MAX_FILE_BYTES + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "config %s: cannot read: %s", path, strerror(errno));
        rc = -1;
    } else if (len > CONFIG_MAX_FILE_BYTES) {
        snprintf(err, errlen, "config %s: larger than 1 MiB: not a configuration file", path);
        rc = -1;
    } else {
        rc = config_load_text(path, text, len, c, err, errlen);
    }
    fclose(f);
    free(text);
    return rc;
}

/* ---- Comparing two configurations (a reload) ---- */

typedef enum compare_kind {
    CMP_TEXT,
    CMP_NUMBER,
    CMP_INT,
    CMP_LATENCY,
    CMP_SECRET
} compare_kind;

/* A key that holds one value: where it is, and whether a running host can
 * take a new one (config_compare). */
typedef struct compare_rule {
    const char *key;
    size_t offset;
    size_t size; /* CMP_TEXT */
    compare_kind kind;
    int live;
} compare_rule;

#define CMP_RULE(key, type, field, kind, live)                                                \
    {key, offsetof(type, field), FIELD_SIZE(type, field), kind, live}

static const compare_rule config_rules[] = {
    CMP_RULE("mode", config, mode, CMP_TEXT, 0),
    CMP_RULE("state_dir", config, state_dir, CMP_TEXT, 0),
    CMP_RULE("state_sync", config, state_sync, CMP_TEXT, 0),
    CMP_RULE("state_writemap", config, state_writemap, CMP_INT, 0),
    CMP_RULE("control_socket", config, control_socket, CMP_TEXT, 0),
    CMP_RULE("cancel_on_stop", config, cancel_on_stop, CMP_INT, 1),
    CMP_RULE("log.level", config, log_level, CMP_TEXT, 1),
    CMP_RULE("log.format", config, log_format, CMP_TEXT, 0),
    CMP_RULE("handler_timeout_ms", config, handler_timeout_ms, CMP_NUMBER, 0),
    CMP_RULE("control_socket", config, control_socket, CMP_TEXT, 0),
    CMP_RULE("risk.max_order_qty", config, risk.max_order_qty, CMP_NUMBER, 1),
    CMP_RULE("risk.max_order_notional", config, risk.max_order_notional, CMP_NUMBER, 1),
    CMP_RULE("risk.price_band_pct", config, risk.price_band_pct, CMP_NUMBER, 1),
    CMP_RULE("risk.max_gross_exposure", config, risk.max_gross_exposure, CMP_NUMBER, 1),
    CMP_RULE("risk.max_open_orders", config, risk.max_open_orders, CMP_INT, 1),
    CMP_RULE("risk.orders_per_second", config, risk.orders_per_second, CMP_NUMBER, 1),
    CMP_RULE("risk.max_daily_loss", config, risk.max_daily_loss, CMP_NUMBER, 1),
    CMP_RULE("cash", config, cash, CMP_NUMBER, 0),
    CMP_RULE("fees.maker", config, fee_maker_bps, CMP_NUMBER, 0),
    CMP_RULE("fees.taker", config, fee_taker_bps, CMP_NUMBER, 0),
    CMP_RULE("latency.order", config, latency_order, CMP_LATENCY, 0),
    CMP_RULE("latency.response", config, latency_response, CMP_LATENCY, 0),
    CMP_RULE("latency.feed", config, latency_feed, CMP_LATENCY, 0),
    CMP_RULE("queue_model", config, queue_model, CMP_TEXT, 0),
    CMP_RULE("margin", config, margin, CMP_INT, 0),
    CMP_RULE("leverage", config, leverage, CMP_NUMBER, 0),
    CMP_RULE("periods_per_year", config, periods_per_year, CMP_NUMBER, 0),
};

static const compare_rule venue_rules[] = {
    CMP_RULE("connector", config_venue, connector, CMP_TEXT, 0),
    CMP_RULE("rest_url", config_venue, rest_url, CMP_TEXT, 0),
    CMP_RULE("ws_url", config_venue, ws_url, CMP_TEXT, 0),
    CMP_RULE("api_key", config_venue, api_key, CMP_SECRET, 0),
    CMP_RULE("api_secret", config_venue, api_secret, CMP_SECRET, 0),
    CMP_RULE("ws_max_age_s", config_venue, ws_max_age_s, CMP_NUMBER, 0),
    CMP_RULE("ws_spin_us", config_venue, ws_spin_us, CMP_INT, 0),
    CMP_RULE("adopt_orders", config_venue, adopt_orders, CMP_INT, 0),
};

typedef struct compare {
    config_change_fn fn;
    void *ud;
    size_t changes;
} compare;

static void compare_report(compare *c, int live, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void compare_report(compare *c, int live, const char *fmt, ...)
{
    char key[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    c->changes++;
    c->fn(c->ud, key, live);
}

static int compare_latency(const config_latency *a, const config_latency *b)
{
    return strcmp(a->dist, b->dist) == 0 && a->mean_ms == b->mean_ms && a->sd_ms == b->sd_ms;
}

/* 1 when the value of rule r is the same in a and b (two structs of the
 * rule's type). */
static int compare_same(const compare_rule *r, const void *a, const void *b)
{
    const char *pa = (const char *)a + r->offset, *pb = (const char *)b + r->offset;
    const config_secret *sa = (const config_secret *)pa, *sb = (const config_secret *)pb;

    switch (r->kind) {
    case CMP_TEXT: return strncmp(pa, pb, r->size) == 0;
    case CMP_NUMBER: return *(const double *)pa == *(const double *)pb;
    case CMP_INT: return *(const int *)pa == *(const int *)pb;
    case CMP_LATENCY:
        return compare_latency((const config_latency *)pa, (const config_latency *)pb);
    case CMP_SECRET: return !strcmp(sa->env, sb->env) && !strcmp(sa->file, sb->file);
    }
    return 0;
}

static void compare_rules(compare *c, const compare_rule *rules, size_t n, const void *a,
                          const void *b, const char *prefix)
{
    for (size_t i = 0; i < n; i++)
        if (!compare_same(&rules[i], a, b))
            compare_report(c, rules[i].live, "%s%s", prefix, rules[i].key);
}

static int compare_plugin_path(const config *a, const config *b)
{
    if (a->nplugin_path != b->nplugin_path)
        return 0;
    for (size_t i = 0; i < a->nplugin_path; i++)
        if (strcmp(a->plugin_path[i], b->plugin_path[i]))
            return 0;
    return 1;
}

static int compare_balances(const config *a, const config *b)
{
    if (a->nbalances != b->nbalances)
        return 0;
    for (size_t i = 0; i < a->nbalances; i++)
        if (strcmp(a->balances[i].asset, b->balances[i].asset) ||
            a->balances[i].amount != b->balances[i].amount)
            return 0;
    return 1;
}

static int compare_max_position(const risk_limits *a, const risk_limits *b)
{
    if (a->nmax_position != b->nmax_position)
        return 0;
    for (size_t i = 0; i < a->nmax_position; i++)
        if (strcmp(a->max_position[i].symbol, b->max_position[i].symbol) ||
            a->max_position[i].qty != b->max_position[i].qty)
            return 0;
    return 1;
}

static int compare_symbols(const config_venue *a, const config_venue *b)
{
    if (a->nsymbols != b->nsymbols)
        return 0;
    for (size_t i = 0; i < a->nsymbols; i++)
        if (strcmp(a->symbols[i], b->symbols[i]))
            return 0;
    return 1;
}

static int compare_params(const config_strategy *a, const config_strategy *b)
{
    if (a->nparams != b->nparams)
        return 0;
    for (size_t i = 0; i < a->nparams; i++) {
        const strategy_param *p = &a->params[i], *q = &b->params[i];
        if (strcmp(p->key, q->key) || p->type != q->type || p->num != q->num ||
            p->boolean != q->boolean || strcmp(p->str, q->str))
            return 0;
    }
    return 1;
}

static const config_venue *compare_find_venue(const config *c, const char *name)
{
    for (size_t i = 0; i < c->nvenues; i++)
        if (!strcmp(c->venues[i].name, name))
            return &c->venues[i];
    return NULL;
}

static void compare_venues(compare *c, const config *a, const config *b)
{
    char prefix[64];

    for (size_t i = 0; i < a->nvenues; i++) {
        const config_venue *va = &a->venues[i], *vb = compare_find_venue(b, va->name);
        if (!vb) {
            compare_report(c, 0, "venues.%s (removed)", va->name);
            continue;
        }
        snprintf(prefix, sizeof prefix, "venues.%s.", va->name);
        compare_rules(c, venue_rules, sizeof venue_rules / sizeof venue_rules[0], va, vb,
                      prefix);
        if (!compare_symbols(va, vb))
            compare_report(c, 0, "%ssymbols", prefix);
    }
    for (size_t i = 0; i < b->nvenues; i++)
        if (!compare_find_venue(a, b->venues[i].name))
            compare_report(c, 0, "venues.%s (added)", b->venues[i].name);
}

static void compare_strategies(compare *c, const config *a, const config *b)
{
    for (size_t i = 0; i < a->nstrategies; i++) {
        const config_strategy *sa = &a->strategies[i];
        const config_strategy *sb = config_find_strategy(b, sa->name);
        if (!sb) {
            compare_report(c, 0, "strategies.%s (removed)", sa->name);
            continue;
        }
        if (strcmp(sa->script, sb->script))
            compare_report(c, 1, "strategies.%s.script", sa->name);
        if (strcmp(sa->venue, sb->venue))
            compare_report(c, 0, "strategies.%s.venue", sa->name);
        if (!compare_params(sa, sb))
            compare_report(c, 1, "strategies.%s.params", sa->name);
    }
    for (size_t i = 0; i < b->nstrategies; i++)
        if (!config_find_strategy(a, b->strategies[i].name))
            compare_report(c, 0, "strategies.%s (added)", b->strategies[i].name);
}

size_t config_compare(const config *a, const config *b, config_change_fn fn, void *ud)
{
    compare c = {fn, ud, 0};

    compare_rules(&c, config_rules, sizeof config_rules / sizeof config_rules[0], a, b, "");
    if (!compare_max_position(&a->risk, &b->risk))
        compare_report(&c, 1, "risk.max_position");
    if (!compare_plugin_path(a, b))
        compare_report(&c, 0, "plugin_path");
    if (!compare_balances(a, b))
        compare_report(&c, 0, "balances");
    if (a->seed != b->seed || a->seed_set != b->seed_set)
        compare_report(&c, 0, "seed");
    compare_venues(&c, a, b);
    compare_strategies(&c, a, b);
    return c.changes;
}

const config_strategy *config_find_strategy(const config *c, const char *name)
{
    for (size_t i = 0; i < c->nstrategies; i++)
        if (!strcmp(c->strategies[i].name, name))
            return &c->strategies[i];
    return NULL;
}

int config_strategy_same_code(const config_strategy *a, const config_strategy *b)
{
    return strcmp(a->script, b->script) == 0 && compare_params(a, b);
}

void config_apply_live(config *running, const config *next)
{
    if (running == next)
        return;
    running->cancel_on_stop = next->cancel_on_stop;
    memcpy(running->log_level, next->log_level, sizeof running->log_level);
    running->risk = next->risk;
}
