/*
 * strategy.c -- a strategy's life: its lua_State, the file it runs, its
 * params, its handlers, the calls into them and what happens when one fails
 * or runs away.
 *
 * Load: luaL_newstate and the standard libraries; package.path gets the
 * library folder first; the ctx table, the FFI views and the timer API are
 * made (lua_ctx.c, lua_book.c, lua_timer.c); then the file is compiled and
 * run and must return a table of handlers. Its `params` table (the
 * defaults) is merged in place with the caller's overrides, so S.params and
 * ctx.params are the same table. Everything after that is a registry
 * reference: a call pushes the message handler, the cached handler, ctx and
 * the event, and runs lua_pcall.
 *
 * Failure: a Lua error in a handler marks the strategy failed, keeps
 * "handler on_bar: file.lua:12: ..." with the traceback, cancels its timers,
 * and every later call returns -1 without running Lua.
 *
 * Runaway handlers: a count hook fires every STRATEGY_HOOK_COUNT VM
 * instructions. Reading the clock before every call would cost more than
 * the call itself, so the hook notes the monotonic time when it first fires
 * in a given call (calls are numbered) and raises once the same call is
 * still running timeout later. It runs only in interpreted code: LuaJIT
 * does not run hooks inside compiled traces, so a loop the JIT compiled is
 * not caught here (DESIGN.md: a watchdog thread is the remedy for that).
 */
#include "strategy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "json_write.h"
#include "strategy_impl.h"
#include "watchdog.h"

#define STRATEGY_HOOK_COUNT 1000000
#define STRATEGY_DEFAULT_TIMEOUT_MS 1000

const char *const strategy_handler_names[HANDLER_COUNT] = {
    "on_start", "on_book", "on_trade", "on_bar", "on_order",
    "on_fill",  "on_status", "on_reload", "on_stop",
};

/* Registry key of the strategy a lua_State belongs to (for the hook). */
static char strategy_registry_key;

/* ---- -p key=value ---- */

static int param_is_name(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* A decimal number, whole text ("10", "-0.5", "1e-3"; not "0x10", "inf"). */
static int param_number(const char *s, double *out)
{
    char *end;
    double v;
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int strategy_param_parse(const char *kv, strategy_param *out, char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    const char *v;
    size_t klen, vlen;
    int quoted = 0;

    if (!eq) {
        snprintf(err, errlen, "parameter '%s': want key=value", kv);
        return -1;
    }
    klen = (size_t)(eq - kv);
    if (klen == 0) {
        snprintf(err, errlen, "parameter '%s': the key before '=' is empty", kv);
        return -1;
    }
    if (klen >= sizeof out->key) {
        snprintf(err, errlen, "parameter '%.*s...': a key has at most %zu characters", 20, kv,
                 sizeof out->key - 1);
        return -1;
    }
    if (!param_is_name(kv, klen)) {
        snprintf(err, errlen,
                 "parameter '%.*s': a key is letters, digits and '_', not starting with a digit",
                 (int)klen, kv);
        return -1;
    }
    v = eq + 1;
    vlen = strlen(v);
    if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
        v++;
        vlen -= 2;
        quoted = 1;
    }
    if (vlen >= sizeof out->str) {
        snprintf(err, errlen, "parameter '%.*s': a value has at most %zu characters", (int)klen,
                 kv, sizeof out->str - 1);
        return -1;
    }
    memset(out, 0, sizeof *out);
    memcpy(out->key, kv, klen);
    memcpy(out->str, v, vlen);
    out->type = PARAM_STRING;
    if (quoted)
        return 0;
    if (strcmp(out->str, "true") == 0 || strcmp(out->str, "false") == 0) {
        out->type = PARAM_BOOL;
        out->boolean = out->str[0] == 't';
    } else if (param_number(out->str, &out->num) == 0) {
        out->type = PARAM_NUMBER;
    }
    return 0;
}

/* ---- Helpers shared with lua_*.c ---- */

const char *strategy_format_number(double v, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
    return buf;
}

void strategy_sorted_keys(strategy *s, int idx)
{
    lua_State *L = s->L;
    int n = 0;
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, -3, ++n);
        }
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->sort_ref);
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
}

/* At the top level (no handler running) the message handler and ctx wait
 * in stack slots 1 and 2, so a call pushes neither: pushing and removing
 * the message handler alone cost a quarter of an empty handler's call.
 * A call made while a handler runs (a venue reporting synchronously from
 * ctx:buy) is inside a C function's frame, where those slots are not ours:
 * it pushes them from the registry. */
#define STRATEGY_SLOT_TRACEBACK 1
#define STRATEGY_SLOT_CTX 2

void strategy_push_traceback(strategy *s)
{
    if (s->in_call > 0)
        lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->traceback_ref);
}

void strategy_push_ctx(strategy *s)
{
    if (s->in_call > 0)
        lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ctx_ref);
    else
        lua_pushvalue(s->L, STRATEGY_SLOT_CTX);
}

/* The message handler: the error text and the stack it came from. */
static int strategy_traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_isstring(L, -1))
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* ---- The watchdog ---- */

static int64_t strategy_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void strategy_hook(lua_State *L, lua_Debug *ar)
{
    strategy *s;
    int64_t now;

    (void)ar;
    lua_pushlightuserdata(L, &strategy_registry_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    s = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!s || s->in_call == 0)
        return;
    now = strategy_monotonic_ns();
    if (s->hook_seq != s->call_seq) {
        s->hook_seq = s->call_seq;
        s->hook_t0 = now;
        return;
    }
    if (now - s->hook_t0 < s->timeout_ns)
        return;
    s->timed_out = 1;
    lua_pushfstring(L, "handler %s of strategy %s ran longer than %d ms", s->handler, s->name,
                    (int)(s->timeout_ns / 1000000));
    lua_error(L);
}

/* ---- Calls ---- */

/* pcall [traceback, fn, args...] (traceback only when nested) as handler
 * `name`. On error the message (with traceback) is left on top. */
static int strategy_pcall(strategy *s, const char *name, int nargs, int nresults)
{
    lua_State *L = s->L;
    int nested = s->in_call > 0;
    int base = nested ? lua_gettop(L) - nargs - 1 : STRATEGY_SLOT_TRACEBACK;
    const char *outer = s->handler;
    int rc;

    s->handler = name;
    s->call_seq++;
    s->in_call++;
    watchdog_enter(s->name, name);
    rc = lua_pcall(L, nargs, nresults, base);
    watchdog_leave();
    s->in_call--;
    if (nested) {
        s->handler = outer;
        lua_remove(L, base);
    }
    return rc;
}

/* Fail the strategy with msg (the first failure is the one kept). */
static void strategy_fail_with(strategy *s, const char *msg)
{
    if (!s->failed) {
        s->failed = 1;
        free(s->error);
        s->error = strdup(msg ? msg : "out of memory");
    }
    lua_timer_cancel_all(s);
}

/* Fail with the error on top of the stack (popped). The watchdog's
 * message names the handler already. */
static void strategy_fail(strategy *s, const char *name)
{
    const char *msg = lua_tostring(s->L, -1);
    size_t len;
    char *full;

    if (!msg)
        msg = "(no message)";
    if (s->timed_out) {
        strategy_fail_with(s, msg);
    } else {
        len = strlen(name) + strlen(msg) + sizeof "handler : ";
        if ((full = malloc(len)) != NULL)
            snprintf(full, len, "handler %s: %s", name, msg);
        strategy_fail_with(s, full);
        free(full);
    }
    s->timed_out = 0;
    lua_pop(s->L, 1);
}

int strategy_call(strategy *s, const char *name, int nargs)
{
    if (strategy_pcall(s, name, nargs, 0) == 0)
        return 0;
    strategy_fail(s, name);
    return -1;
}

/* Push [traceback, handler, ctx]. @return 1 when pushed, 0 when the handler
 * is not defined, -1 when the strategy has failed. */
static int strategy_prepare(strategy *s, enum strategy_handler h)
{
    if (s->failed)
        return -1;
    if (s->handler_ref[h] == LUA_NOREF)
        return 0;
    strategy_push_traceback(s);
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->handler_ref[h]);
    strategy_push_ctx(s);
    return 1;
}

/* What a table event (order, fill, status) carries into the protected call. */
typedef struct strategy_event {
    strategy *s;
    enum strategy_handler handler;
    const order *order;
    const oms_change *change;
    const char *venue, *state, *reason;
} strategy_event;

/* Inside the protected call: [handler, ctx, event] -> handler(ctx, table).
 * Filling the reused table interns strings, which may raise. */
static int strategy_table_event(lua_State *L)
{
    strategy_event *ev = lua_touserdata(L, 3);
    lua_pop(L, 1);
    switch (ev->handler) {
    case HANDLER_ORDER: lua_ctx_push_order(ev->s, ev->order); break;
    case HANDLER_FILL: lua_ctx_push_fill(ev->s, ev->order, ev->change); break;
    default: lua_ctx_push_status(ev->s, ev->venue, ev->state, ev->reason); break;
    }
    lua_call(L, 2, 0);
    return 0;
}

static int strategy_call_table_event(strategy *s, strategy_event *ev)
{
    lua_State *L = s->L;
    if (s->failed)
        return -1;
    if (s->handler_ref[ev->handler] == LUA_NOREF)
        return 0;
    ev->s = s;
    strategy_push_traceback(s);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->event_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->handler_ref[ev->handler]);
    strategy_push_ctx(s);
    lua_pushlightuserdata(L, ev);
    return strategy_call(s, strategy_handler_names[ev->handler], 3);
}

/* The event could not be made (the host does not know the instrument, or
 * memory ran out): the strategy cannot go on without it. */
static int strategy_event_failed(strategy *s, enum strategy_handler h, uint32_t instrument)
{
    char msg[160];
    lua_pop(s->L, s->in_call > 0 ? 3 : 2);
    snprintf(msg, sizeof msg, "handler %s: no view of instrument %u (unknown to the host, or "
             "out of memory)", strategy_handler_names[h], instrument);
    strategy_fail_with(s, msg);
    return -1;
}

/* ---- Load ---- */

typedef struct strategy_open_args {
    strategy *s;
    const char *lib_path;
} strategy_open_args;

static int strategy_open_protected(lua_State *L)
{
    strategy_open_args *a = lua_touserdata(L, 1);
    strategy *s = a->s;
    const char *lib = a->lib_path;

    luaL_openlibs(L);
    lua_pushlightuserdata(L, &strategy_registry_key);
    lua_pushlightuserdata(L, s);
    lua_rawset(L, LUA_REGISTRYINDEX);

    lua_pushcfunction(L, strategy_traceback);
    s->traceback_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, strategy_table_event);
    s->event_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    s->sort_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);

    if (lib && *lib) {
        lua_getglobal(L, "package");
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", lib, lib, lua_tostring(L, -1));
        lua_setfield(L, -3, "path");
        lua_pop(L, 2);
    }
    lua_ctx_open(s);
    lua_book_open(s);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_timer_open(s, lua_gettop(L));
    lua_state_open(s, lua_gettop(L));
    lua_pop(L, 1);
    return 0;
}

/* Run a protected setup step; its error message goes to err. Its errors
 * are about the file's contents, not a stack: no traceback. */
static int strategy_protect(strategy *s, lua_CFunction fn, void *a, void *b, char *err,
                            size_t errlen)
{
    lua_State *L = s->L;
    int rc;
    lua_pushcfunction(L, fn);
    lua_pushlightuserdata(L, a);
    lua_pushlightuserdata(L, b);
    rc = lua_pcall(L, 2, 0, 0);
    if (rc != 0) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "out of memory");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

static int strategy_run_file(strategy *s, char *err, size_t errlen)
{
    lua_State *L = s->L;

    strategy_push_traceback(s);
    if (luaL_loadfile(L, s->path) != 0) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    if (strategy_pcall(s, "main chunk", 0, 1) != 0) {
        snprintf(err, errlen, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    if (!lua_istable(L, -1)) {
        snprintf(err, errlen, "%s: must return a table of handlers, returned %s", s->path,
                 luaL_typename(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    s->module_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int strategy_is_handler_name(const char *k)
{
    for (int h = 0; h < HANDLER_COUNT; h++)
        if (strcmp(k, strategy_handler_names[h]) == 0)
            return 1;
    return 0;
}

/* Cache the handlers of the module table at idx. Raises on a handler that
 * is not a function, an on_* function that is not a handler, or none. */
static void strategy_cache_handlers(strategy *s, int idx)
{
    lua_State *L = s->L;
    int any = 0;

    for (int h = 0; h < HANDLER_COUNT; h++) {
        lua_getfield(L, idx, strategy_handler_names[h]);
        if (lua_isfunction(L, -1)) {
            s->handler_ref[h] = luaL_ref(L, LUA_REGISTRYINDEX);
            any = 1;
            continue;
        }
        if (!lua_isnil(L, -1))
            luaL_error(L, "%s: %s is a %s; a handler is a function", s->path,
                       strategy_handler_names[h], luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (k && strncmp(k, "on_", 3) == 0 && lua_isfunction(L, -1) && !strategy_is_handler_name(k))
            luaL_error(L, "%s: %s is not a handler (the handlers are on_start, on_book, on_trade, "
                       "on_bar, on_order, on_fill, on_status, on_reload, on_stop)", s->path, k);
        lua_pop(L, 1);
    }
    if (!any)
        luaL_error(L, "%s: defines no handler (on_book, on_trade, on_bar, ...)", s->path);
}

/* Push "a, b, c" (the string keys of the table at idx, sorted). */
static void strategy_push_key_list(strategy *s, int idx)
{
    lua_State *L = s->L;
    int keys, n;
    luaL_Buffer b;

    strategy_sorted_keys(s, idx);
    keys = lua_gettop(L);
    n = (int)lua_objlen(L, keys);
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addstring(&b, ", ");
        lua_rawgeti(L, keys, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_remove(L, keys);
}

static void strategy_param_error(strategy *s, const strategy_param *p, const char *want)
{
    luaL_error(s->L, "%s: parameter '%s': want %s, got '%s'", s->path, p->key, want,
               p->type == PARAM_BOOL ? (p->boolean ? "true" : "false") : p->str);
}

/* Push the value of override p converted to the type of the default at
 * top of the stack (which stays). */
static void strategy_push_override(strategy *s, const strategy_param *p)
{
    lua_State *L = s->L;
    double num;
    char buf[32];

    switch (lua_type(L, -1)) {
    case LUA_TNUMBER:
        if (p->type == PARAM_NUMBER)
            lua_pushnumber(L, p->num);
        else if (p->type == PARAM_STRING && param_number(p->str, &num) == 0)
            lua_pushnumber(L, num);
        else
            strategy_param_error(s, p, "a number");
        return;
    case LUA_TBOOLEAN:
        if (p->type == PARAM_BOOL)
            lua_pushboolean(L, p->boolean);
        else if (p->type == PARAM_STRING && (!strcmp(p->str, "true") || !strcmp(p->str, "false")))
            lua_pushboolean(L, p->str[0] == 't');
        else
            strategy_param_error(s, p, "true or false");
        return;
    case LUA_TSTRING:
        if (p->type == PARAM_BOOL)
            lua_pushstring(L, p->boolean ? "true" : "false");
        else if (p->type == PARAM_NUMBER && !p->str[0])
            lua_pushstring(L, strategy_format_number(p->num, buf, sizeof buf));
        else
            lua_pushstring(L, p->str);
        return;
    default:
        luaL_error(L, "%s: parameter '%s' is a %s and cannot be set from outside", s->path, p->key,
                   luaL_typename(L, -1));
    }
}

/* Merge cfg's overrides into the module's params table (made if absent). */
static void strategy_merge_params(strategy *s, int module, const strategy_config *cfg)
{
    lua_State *L = s->L;
    int params;

    lua_getfield(L, module, "params");
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, module, "params");
    } else if (!lua_istable(L, -1)) {
        luaL_error(L, "%s: params must be a table, got a %s", s->path, luaL_typename(L, -1));
    }
    params = lua_gettop(L);
    for (size_t i = 0; i < cfg->nparams; i++) {
        const strategy_param *p = &cfg->params[i];
        lua_getfield(L, params, p->key);
        if (lua_isnil(L, -1)) {
            strategy_push_key_list(s, params);
            if (lua_objlen(L, -1) == 0)
                luaL_error(L, "%s: unknown parameter '%s' (the strategy has no params)", s->path,
                           p->key);
            luaL_error(L, "%s: unknown parameter '%s' (the strategy's params are: %s)", s->path,
                       p->key, lua_tostring(L, -1));
        }
        strategy_push_override(s, p);
        lua_setfield(L, params, p->key);
        lua_pop(L, 1);
    }
}

static int strategy_setup_protected(lua_State *L)
{
    strategy *s = lua_touserdata(L, 1);
    const strategy_config *cfg = lua_touserdata(L, 2);
    int module, ctx;
    const char *mode = s->ops->mode ? s->ops->mode(s->host) : NULL;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->module_ref);
    module = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    ctx = lua_gettop(L);

    strategy_cache_handlers(s, module);
    strategy_merge_params(s, module, cfg);
    lua_setfield(L, ctx, "params");
    lua_pushstring(L, mode ? mode : "backtest");
    lua_setfield(L, ctx, "mode");
    return 0;
}

static void strategy_name_from_path(strategy *s, const char *path)
{
    const char *base = strrchr(path, '/');
    size_t n;
    base = base ? base + 1 : path;
    n = strcspn(base, ".");
    if (n == 0)
        n = strlen(base);
    if (n >= sizeof s->name)
        n = sizeof s->name - 1;
    memcpy(s->name, base, n);
    s->name[n] = '\0';
}

static strategy *strategy_new(const strategy_host_ops *ops, void *host,
                              const strategy_config *cfg)
{
    strategy *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ops = ops;
    s->host = host;
    s->index = cfg->index;
    s->path = strdup(cfg->path);
    if (cfg->name && *cfg->name)
        snprintf(s->name, sizeof s->name, "%s", cfg->name);
    else
        strategy_name_from_path(s, cfg->path);
    s->timeout_ns = (int64_t)(cfg->handler_timeout_ms > 0 ? cfg->handler_timeout_ms
                                                          : STRATEGY_DEFAULT_TIMEOUT_MS) *
                    1000000;
    for (int h = 0; h < HANDLER_COUNT; h++)
        s->handler_ref[h] = LUA_NOREF;
    s->traceback_ref = s->event_ref = s->ctx_ref = s->module_ref = s->sort_ref = LUA_NOREF;
    s->trade_ref = s->bar_ref = s->book_new_ref = s->symbols_ref = LUA_NOREF;
    s->order_ref = s->fill_ref = s->status_ref = s->format_ref = LUA_NOREF;
    s->timers_ref = s->timer_fns_ref = s->timer_meta_ref = LUA_NOREF;
    s->state_box_ref = LUA_NOREF;
    s->handler = "load";
    if (!s->path || !(s->L = luaL_newstate())) {
        free(s->path);
        free(s);
        return NULL;
    }
    return s;
}

strategy *strategy_load(const strategy_host_ops *ops, void *host, const strategy_config *cfg,
                        char *err, size_t errlen)
{
    strategy_open_args args;
    strategy *s;
    int rc;

    if (!ops || !cfg || !cfg->path) {
        snprintf(err, errlen, "strategy: no host or no file given");
        return NULL;
    }
    if (!(s = strategy_new(ops, host, cfg))) {
        snprintf(err, errlen, "%s: out of memory", cfg->path);
        return NULL;
    }
    args.s = s;
    args.lib_path = cfg->lib_path;
    rc = lua_cpcall(s->L, strategy_open_protected, &args);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", cfg->path, lua_tostring(s->L, -1));
        strategy_free(s);
        return NULL;
    }
    lua_settop(s->L, 0);
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->traceback_ref); /* STRATEGY_SLOT_TRACEBACK */
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->ctx_ref);       /* STRATEGY_SLOT_CTX */
    lua_sethook(s->L, strategy_hook, LUA_MASKCOUNT, STRATEGY_HOOK_COUNT);
    if (strategy_run_file(s, err, errlen) < 0 ||
        strategy_protect(s, strategy_setup_protected, s, (void *)cfg, err, errlen) < 0) {
        strategy_free(s);
        return NULL;
    }
    s->handler = "load";
    return s;
}

void strategy_free(strategy *s)
{
    if (!s)
        return;
    if (s->L) {
        lua_timer_cancel_all(s);
        lua_close(s->L);
    }
    lua_book_close(s);
    lua_state_close(s);
    free(s->scratch);
    free(s->error);
    free(s->path);
    free(s);
}

/* ---- Accessors ---- */

const char *strategy_name(const strategy *s)
{
    return s->name;
}

uint32_t strategy_index(const strategy *s)
{
    return s->index;
}

int strategy_failed(const strategy *s)
{
    return s->failed;
}

const char *strategy_error(const strategy *s)
{
    return s->error;
}

const char *strategy_current_handler(const strategy *s)
{
    return s->handler;
}

int strategy_in_handler(const strategy *s)
{
    return s->in_call > 0;
}

size_t strategy_memory(const strategy *s)
{
    if (!s->L)
        return 0;
    return (size_t)lua_gc(s->L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(s->L, LUA_GCCOUNTB, 0);
}

void strategy_collect_step(strategy *s)
{
    if (!s->L || s->in_call || strategy_failed(s))
        return;
    /* A finished cycle and nothing allocated since: nothing to collect. */
    if (s->gc_cycle_done && strategy_memory(s) <= s->gc_seen)
        return;
    s->gc_cycle_done = lua_gc(s->L, LUA_GCSTEP, 0) == 1;
    s->gc_seen = strategy_memory(s);
}

int strategy_wants_book(const strategy *s)
{
    return s->handler_ref[HANDLER_BOOK] != LUA_NOREF;
}

int strategy_wants_trades(const strategy *s)
{
    return s->handler_ref[HANDLER_TRADE] != LUA_NOREF;
}

int strategy_wants_bars(const strategy *s)
{
    return s->handler_ref[HANDLER_BAR] != LUA_NOREF;
}

/* ---- Params as JSON ---- */

/* A param read off the Lua stack before it is written: a luaL_Buffer must
 * find the stack as it left it, so nothing may stay pushed while it grows.
 * The strings stay alive in the keys and params tables. */
typedef struct strategy_json_param {
    const char *key, *str;
    size_t key_len, str_len;
    int type, boolean;
    double num;
} strategy_json_param;

static void strategy_json_put(void *b, const char *p, size_t n)
{
    luaL_addlstring(b, p, n);
}

/* The param whose key is keys[i]. */
static void strategy_json_param_get(lua_State *L, int params, int keys, int i,
                                    strategy_json_param *p)
{
    lua_rawgeti(L, keys, i);
    p->key = lua_tolstring(L, -1, &p->key_len);
    lua_gettable(L, params);
    p->type = lua_type(L, -1);
    p->num = lua_tonumber(L, -1);
    p->boolean = lua_toboolean(L, -1);
    p->str = p->type == LUA_TSTRING ? lua_tolstring(L, -1, &p->str_len) : NULL;
    lua_pop(L, 1);
}

static void strategy_json_param_put(luaL_Buffer *b, const strategy_json_param *p)
{
    char num[32];

    json_write_string(strategy_json_put, b, p->key, p->key_len);
    luaL_addchar(b, ':');
    switch (p->type) {
    case LUA_TNUMBER:
        if (isfinite(p->num))
            luaL_addstring(b, strategy_format_number(p->num, num, sizeof num));
        else
            luaL_addstring(b, "null");
        break;
    case LUA_TBOOLEAN:
        luaL_addstring(b, p->boolean ? "true" : "false");
        break;
    case LUA_TSTRING:
        json_write_string(strategy_json_put, b, p->str, p->str_len);
        break;
    default:
        luaL_addstring(b, "null");
    }
}

/* Push the params as a JSON object, keys sorted. */
static int strategy_params_json_protected(lua_State *L)
{
    strategy *s = lua_touserdata(L, 1);
    strategy_json_param p;
    int params, keys, n;
    luaL_Buffer b;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->ctx_ref);
    lua_getfield(L, -1, "params");
    if (!lua_istable(L, -1)) {
        lua_pushliteral(L, "{}");
        return 1;
    }
    params = lua_gettop(L);
    strategy_sorted_keys(s, params);
    keys = lua_gettop(L);
    n = (int)lua_objlen(L, keys);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '{');
    for (int i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, ',');
        strategy_json_param_get(L, params, keys, i, &p);
        strategy_json_param_put(&b, &p);
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    return 1;
}

const char *strategy_params_json(strategy *s)
{
    static char *json;
    lua_State *L = s->L;
    const char *text = "{}";
    size_t len;
    char *copy;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->traceback_ref);
    lua_pushcfunction(L, strategy_params_json_protected);
    lua_pushlightuserdata(L, s);
    if (lua_pcall(L, 1, 1, -3) == 0 && lua_isstring(L, -1))
        text = lua_tolstring(L, -1, &len);
    len = strlen(text);
    copy = realloc(json, len + 1);
    if (copy) {
        memcpy(copy, text, len + 1);
        json = copy;
    }
    lua_pop(L, 2);
    return json ? json : "{}";
}

/* ---- Handlers ---- */

int strategy_on_start(strategy *s)
{
    int rc = strategy_prepare(s, HANDLER_START);
    return rc <= 0 ? rc : strategy_call(s, strategy_handler_names[HANDLER_START], 1);
}

int strategy_on_book(strategy *s, uint32_t instrument, int64_t ts)
{
    int rc = strategy_prepare(s, HANDLER_BOOK);
    if (rc <= 0)
        return rc;
    if (lua_book_push(s, instrument, ts) < 0)
        return strategy_event_failed(s, HANDLER_BOOK, instrument);
    return strategy_call(s, strategy_handler_names[HANDLER_BOOK], 2);
}

int strategy_on_trade(strategy *s, const lutra_trade *t)
{
    int rc = strategy_prepare(s, HANDLER_TRADE);
    if (rc <= 0)
        return rc;
    if (lua_book_push_trade(s, t) < 0)
        return strategy_event_failed(s, HANDLER_TRADE, t->h.instrument);
    return strategy_call(s, strategy_handler_names[HANDLER_TRADE], 2);
}

int strategy_on_bar(strategy *s, const lutra_bar *b, int64_t interval_ns)
{
    int rc = strategy_prepare(s, HANDLER_BAR);
    if (rc <= 0)
        return rc;
    if (lua_book_push_bar(s, b, interval_ns) < 0)
        return strategy_event_failed(s, HANDLER_BAR, b->h.instrument);
    return strategy_call(s, strategy_handler_names[HANDLER_BAR], 2);
}

int strategy_on_order(strategy *s, const order *o)
{
    strategy_event ev = {.handler = HANDLER_ORDER, .order = o};
    return strategy_call_table_event(s, &ev);
}

int strategy_on_fill(strategy *s, const order *o, const oms_change *c)
{
    strategy_event ev = {.handler = HANDLER_FILL, .order = o, .change = c};
    return strategy_call_table_event(s, &ev);
}

int strategy_on_status(strategy *s, const char *venue, const char *state, const char *reason)
{
    strategy_event ev = {.handler = HANDLER_STATUS, .venue = venue, .state = state,
                         .reason = reason};
    return strategy_call_table_event(s, &ev);
}

int strategy_on_timer(strategy *s, int ref)
{
    if (s->failed)
        return -1;
    return lua_timer_fire(s, ref);
}

int strategy_on_reload(strategy *s)
{
    int rc = strategy_prepare(s, HANDLER_RELOAD);
    return rc <= 0 ? rc : strategy_call(s, strategy_handler_names[HANDLER_RELOAD], 1);
}

int strategy_on_stop(strategy *s)
{
    int rc = strategy_prepare(s, HANDLER_STOP);
    return rc <= 0 ? rc : strategy_call(s, strategy_handler_names[HANDLER_STOP], 1);
}

int strategy_stop_with(strategy *s, const char *msg)
{
    strategy_fail_with(s, msg);
    return -1;
}
