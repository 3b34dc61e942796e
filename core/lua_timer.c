/*
 * lua_timer.c -- ctx:every(ms, fn), ctx:after(ms, fn) and the timer objects
 * they return (timer:cancel(), timer:active()).
 *
 * Timers run on the engine's clock (virtual in a backtest): the host keeps
 * them in its heap and calls strategy_on_timer(s, ref) when one is due. ref
 * numbers a slot of this strategy's `timers` table (luaL_ref on it), which
 * holds the timer object, a full userdata with the host's id (a uint64 that
 * a Lua number would round); a parallel table holds the functions. A
 * one-shot timer's slot is released after it fires, a cancelled timer's at
 * once; a failed or freed strategy cancels all of its timers at the host.
 *
 * The function is called as fn(ctx, timer), like a handler, so a repeating
 * timer can cancel itself.
 */
#include <math.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "strategy_impl.h"

typedef struct lua_timer {
    uint64_t id;   /* the host's */
    int ref;       /* slot in the timers table, LUA_NOREF once released */
    int once;
} lua_timer;

/* The tables: [timers, fns] pushed. */
static void lua_timer_push_tables(strategy *s)
{
    lua_State *L = s->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->timers_ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->timer_fns_ref);
}

/* Release a timer's slot (the tables at timers and fns). Its host timer
 * is cancelled first when cancel_at_host. */
static void lua_timer_release(strategy *s, lua_timer *t, int timers, int fns, int cancel_at_host)
{
    lua_State *L = s->L;
    if (t->ref == LUA_NOREF)
        return;
    if (cancel_at_host)
        s->ops->timer_cancel(s->host, t->id);
    lua_pushnil(L);
    lua_rawseti(L, fns, t->ref);
    luaL_unref(L, timers, t->ref);
    t->ref = LUA_NOREF;
}

static int lua_timer_start(lua_State *L, int repeat, const char *method)
{
    strategy *s = lua_touserdata(L, lua_upvalueindex(1));
    double ms;
    int64_t delay, now;
    lua_timer *t;
    int timers, fns, obj;

    if (!lua_rawequal(L, 1, lua_upvalueindex(2)))
        luaL_error(L, "ctx:%s: call it with a colon, ctx:%s(ms, fn)", method, method);
    if (lua_type(L, 2) != LUA_TNUMBER)
        luaL_error(L, "ctx:%s: ms: want a number, got %s", method, luaL_typename(L, 2));
    ms = lua_tonumber(L, 2);
    /* 1e12 ms is 31 years: far beyond any run, and now + it fits int64. */
    if (!isfinite(ms) || ms < 0 || (repeat && ms <= 0) || ms > 1e12)
        luaL_error(L, "ctx:%s: ms: want a number %s up to 1e12, got %f", method,
                   repeat ? "above 0" : "from 0", ms);
    if (!lua_isfunction(L, 3))
        luaL_error(L, "ctx:%s: fn: want a function, got %s", method, luaL_typename(L, 3));

    lua_timer_push_tables(s);
    fns = lua_gettop(L);
    timers = fns - 1;
    t = lua_newuserdata(L, sizeof *t);
    obj = lua_gettop(L);
    t->id = 0;
    t->ref = LUA_NOREF;
    t->once = !repeat;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->timer_meta_ref);
    lua_setmetatable(L, obj);

    lua_pushvalue(L, obj);
    t->ref = luaL_ref(L, timers);
    lua_pushvalue(L, 3);
    lua_rawseti(L, fns, t->ref);

    delay = llround(ms * 1e6);
    if (repeat && delay < 1)
        delay = 1;
    now = s->ops->now(s->host);
    t->id = s->ops->timer_add(s->host, s, now + delay, repeat ? delay : 0, t->ref);
    if (t->id == 0) {
        lua_timer_release(s, t, timers, fns, 0);
        lua_pushnil(L);
        lua_pushstring(L, "the host could not add the timer");
        return 2;
    }
    lua_pushvalue(L, obj);
    return 1;
}

static int lua_timer_every(lua_State *L)
{
    return lua_timer_start(L, 1, "every");
}

static int lua_timer_after(lua_State *L)
{
    return lua_timer_start(L, 0, "after");
}

/* The timer a method is called on (timer:cancel(), not timer.cancel()). */
static lua_timer *lua_timer_self(lua_State *L)
{
    return luaL_checkudata(L, 1, "lutra.timer");
}

/* timer:cancel() -> true if it was pending, false if it had fired or was
 * cancelled already. */
static int lua_timer_cancel_method(lua_State *L)
{
    strategy *s = lua_touserdata(L, lua_upvalueindex(1));
    lua_timer *t = lua_timer_self(L);
    int was = t->ref != LUA_NOREF;
    if (was) {
        lua_timer_push_tables(s);
        lua_timer_release(s, t, lua_gettop(L) - 1, lua_gettop(L), 1);
        lua_pop(L, 2);
    }
    lua_pushboolean(L, was);
    return 1;
}

static int lua_timer_active_method(lua_State *L)
{
    lua_timer *t = lua_timer_self(L);
    lua_pushboolean(L, t->ref != LUA_NOREF);
    return 1;
}

void lua_timer_open(strategy *s, int ctx_idx)
{
    lua_State *L = s->L;

    lua_newtable(L);
    s->timers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    s->timer_fns_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    luaL_newmetatable(L, "lutra.timer");
    lua_newtable(L);
    lua_pushlightuserdata(L, s);
    lua_pushcclosure(L, lua_timer_cancel_method, 1);
    lua_setfield(L, -2, "cancel");
    lua_pushcfunction(L, lua_timer_active_method);
    lua_setfield(L, -2, "active");
    lua_setfield(L, -2, "__index");
    s->timer_meta_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_pushlightuserdata(L, s);
    lua_pushvalue(L, ctx_idx);
    lua_pushcclosure(L, lua_timer_every, 2);
    lua_setfield(L, ctx_idx, "every");
    lua_pushlightuserdata(L, s);
    lua_pushvalue(L, ctx_idx);
    lua_pushcclosure(L, lua_timer_after, 2);
    lua_setfield(L, ctx_idx, "after");
}

int lua_timer_fire(strategy *s, int ref)
{
    lua_State *L = s->L;
    int timers, fns, rc;
    lua_timer *t;

    lua_timer_push_tables(s);
    fns = lua_gettop(L);
    timers = fns - 1;
    lua_rawgeti(L, timers, ref);
    t = lua_type(L, -1) == LUA_TUSERDATA ? lua_touserdata(L, -1) : NULL;
    if (!t || t->ref != ref) {
        lua_pop(L, 3); /* a timer released meanwhile: nothing to do */
        return 0;
    }
    strategy_push_traceback(s);
    lua_rawgeti(L, fns, ref);
    strategy_push_ctx(s);
    lua_pushvalue(L, timers + 2);
    /* The host has dropped a one-shot timer: it is over before its call
     * (timer:active() is false in it, timer:cancel() a no-op). */
    if (t->once)
        lua_timer_release(s, t, timers, fns, 0);
    rc = strategy_call(s, "timer", 2);
    lua_pop(L, 3);
    return rc;
}

void lua_timer_cancel_all(strategy *s)
{
    lua_State *L = s->L;
    int timers, fns, n;

    if (!L || s->timers_ref == LUA_NOREF)
        return;
    lua_timer_push_tables(s);
    fns = lua_gettop(L);
    timers = fns - 1;
    n = (int)lua_objlen(L, timers);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, timers, i);
        if (lua_type(L, -1) == LUA_TUSERDATA)
            lua_timer_release(s, lua_touserdata(L, -1), timers, fns, 1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
}
