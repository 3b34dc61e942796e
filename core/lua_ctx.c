/*
 * lua_ctx.c -- the ctx table a strategy's handlers get: orders, positions,
 * balances, open orders, subscriptions, logs, metrics, rounding, time.
 *
 * Every method is a C closure over the strategy (upvalue 1) and ctx itself
 * (upvalue 2, to tell ctx.buy{...} from ctx:buy{...}). Two kinds of failure,
 * as lua-resty-core does it:
 *   - misuse (a missing or mistyped field, an unknown symbol, type or tif)
 *     raises an error; luaL_error names the caller's line, as error(msg, 2);
 *   - an operational refusal (a risk gate, a venue) returns nil, reason.
 *
 * Numbers to fixed point: a price or size v becomes v x 10^scale rounded to
 * the nearest whole unit, provided v x 10^scale is within a few ulps of that
 * unit (any decimal with no more places than the scale and at most 15
 * significant digits is: a double holds it to better than 1e-15 relative).
 * A value with more places than the scale is refused as
 * "risk: valid: price 0.123 is not a multiple of the tick 0.01", never
 * rounded silently; one on the scale but off the increment is left to the
 * "valid" risk gate, which refuses it with its own reason.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "copy.h"
#include "fixed.h"
#include "log.h"
#include "money.h"
#include "strategy_impl.h"

#define CTX_ORDER_FIELDS "symbol, qty, price, type, tif, stop_price, tag"
#define CTX_SUBSCRIBE_FIELDS "symbol, book, trades, bars"

/* ---- Arguments ---- */

static strategy *lua_ctx_self(lua_State *L, const char *method)
{
    if (!lua_rawequal(L, 1, lua_upvalueindex(2)))
        luaL_error(L, "ctx:%s: call it with a colon, ctx:%s(...)", method, method);
    return lua_touserdata(L, lua_upvalueindex(1));
}

static uint32_t lua_ctx_find_symbol(lua_State *L, strategy *s, const char *symbol,
                                    const char *method)
{
    int32_t id = s->ops->instrument_find(s->host, symbol);
    if (id < 0)
        luaL_error(L, "ctx:%s: unknown symbol '%s'", method, symbol);
    return (uint32_t)id;
}

/* Argument arg as an instrument: a symbol string, required. */
static uint32_t lua_ctx_symbol_arg(lua_State *L, strategy *s, int arg, const char *method)
{
    if (lua_type(L, arg) != LUA_TSTRING)
        luaL_error(L, "ctx:%s: symbol: want a string, got %s", method, luaL_typename(L, arg));
    return lua_ctx_find_symbol(L, s, lua_tostring(L, arg), method);
}

/* An optional symbol argument: -1 (every instrument) when absent. */
static int32_t lua_ctx_symbol_opt(lua_State *L, strategy *s, int arg, const char *method)
{
    if (lua_isnoneornil(L, arg))
        return -1;
    return (int32_t)lua_ctx_symbol_arg(L, s, arg, method);
}

static double lua_ctx_number_arg(lua_State *L, int arg, const char *what, const char *method)
{
    double v;
    if (lua_type(L, arg) != LUA_TNUMBER)
        luaL_error(L, "ctx:%s: %s: want a number, got %s", method, what, luaL_typename(L, arg));
    v = lua_tonumber(L, arg);
    if (!isfinite(v))
        luaL_error(L, "ctx:%s: %s: want a finite number", method, what);
    return v;
}

static const lutra_instrument *lua_ctx_instrument(lua_State *L, strategy *s, uint32_t id,
                                                  const char *method)
{
    const lutra_instrument *def = s->ops->instrument_get(s->host, id);
    if (!def)
        luaL_error(L, "ctx:%s: instrument %u has no definition", method, id);
    return def;
}

/* Push the values of the table at idx's fields, in the order of `known` (a
 * NULL-ended list; `list` is the same names for the message), one slot
 * each, nil where absent. One pass over the table, not a lookup per name
 * (ctx:buy is on the tick-to-order path). A field not in `known` raises:
 * a misspelt field would otherwise be ignored silently. idx must be
 * absolute. @return the stack index of the first slot. */
static int lua_ctx_fields(lua_State *L, int idx, const char *const *known, const char *list,
                          const char *method)
{
    int first = lua_gettop(L) + 1, n = 0;

    while (known[n]) {
        lua_pushnil(L);
        n++;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int k = -1;
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "ctx:%s: unknown field of type %s (the fields are %s)", method,
                       luaL_typename(L, -2), list);
        for (int i = 0; i < n && k < 0; i++)
            if (strcmp(known[i], lua_tostring(L, -2)) == 0)
                k = i;
        if (k < 0)
            luaL_error(L, "ctx:%s: unknown field '%s' (the fields are %s)", method,
                       lua_tostring(L, -2), list);
        lua_replace(L, first + k); /* the value to its slot; the key stays for lua_next */
    }
    return first;
}

/* The string in a slot of lua_ctx_fields (field `name`), or NULL when nil.
 * The slot holds it: it stays valid while the slot is on the stack. */
static const char *lua_ctx_string_field(lua_State *L, int slot, const char *name,
                                        const char *method)
{
    if (lua_isnil(L, slot))
        return NULL;
    if (lua_type(L, slot) != LUA_TSTRING)
        luaL_error(L, "ctx:%s: %s: want a string, got %s", method, name, luaL_typename(L, slot));
    return lua_tostring(L, slot);
}

/* The finite number in a slot of lua_ctx_fields; *present 0 when nil. */
static double lua_ctx_number_field(lua_State *L, int slot, const char *name, const char *method,
                                   int *present)
{
    *present = !lua_isnil(L, slot);
    return *present ? lua_ctx_number_arg(L, slot, name, method) : 0;
}

/* ---- Numbers and fixed point ---- */

/* v x 10^scale to whole units. @return 0, 1 when v has more places than
 * the scale (*out is then the nearest unit), -1 when beyond int64. */
static int lua_ctx_to_units(double v, int scale, int64_t *out)
{
    double x = v * (double)fixed_pow10(scale);
    double r;
    if (!(fabs(x) < 9.2e18))
        return -1;
    r = round(x);
    *out = (int64_t)r;
    return fabs(x - r) <= fabs(x) * 1e-15 + 1e-9 ? 0 : 1;
}

static int64_t lua_ctx_increment(int64_t inc)
{
    return inc > 0 ? inc : 1;
}

/* Push nil and "risk: valid: <what> <v> <why> <step>" (ctx:buy's refusal). */
static int lua_ctx_refuse_value(lua_State *L, const char *what, double v, int64_t inc, int scale,
                                int rc)
{
    char num[32], step[FIXED_STR_MAX];
    strategy_format_number(v, num, sizeof num);
    fixed_format_trim(lua_ctx_increment(inc), scale, step, sizeof step);
    lua_pushnil(L);
    if (rc < 0)
        lua_pushfstring(L, "risk: valid: %s %s is beyond what %d decimals can hold", what, num,
                        scale);
    else
        lua_pushfstring(L, "risk: valid: %s %s is not a multiple of the %s %s", what, num,
                        strcmp(what, "qty") == 0 ? "lot" : "tick", step);
    return 2;
}

/* ---- Orders ---- */

typedef struct lua_ctx_order_args {
    double qty, price, stop_price;
    int has_price, has_stop;
} lua_ctx_order_args;

static void lua_ctx_order_rules(lua_State *L, const order_request *req, const lua_ctx_order_args *a,
                                const char *method)
{
    int wants_price = req->type == ORDER_LIMIT || req->type == ORDER_STOP_LIMIT;
    int wants_stop = req->type == ORDER_STOP || req->type == ORDER_STOP_LIMIT;
    const char *type = order_type_name(req->type);

    if (wants_price && !a->has_price)
        luaL_error(L, "ctx:%s: a %s order needs a price", method, type);
    if (!wants_price && a->has_price)
        luaL_error(L, "ctx:%s: a %s order takes no price", method, type);
    if (wants_stop && !a->has_stop)
        luaL_error(L, "ctx:%s: a %s order needs a stop_price", method, type);
    if (!wants_stop && a->has_stop)
        luaL_error(L, "ctx:%s: a %s order takes no stop_price", method, type);
    if (req->tif == ORDER_POST_ONLY && req->type != ORDER_LIMIT)
        luaL_error(L, "ctx:%s: post_only is for limit orders", method);
}

/* Read ctx:buy's table into req and a. Raises on misuse. */
static void lua_ctx_order_read(lua_State *L, strategy *s, order_request *req, lua_ctx_order_args *a,
                               const char *method)
{
    /* The fields, in CTX_ORDER_FIELDS' order; F_* are their slots. */
    static const char *const fields[] = {"symbol", "qty", "price", "type", "tif",
                                         "stop_price", "tag", NULL};
    enum { F_SYMBOL, F_QTY, F_PRICE, F_TYPE, F_TIF, F_STOP_PRICE, F_TAG };
    const char *symbol, *type, *tif, *tag;
    int has_qty, f;

    if (!lua_istable(L, 2))
        luaL_error(L, "ctx:%s: want a table {symbol=, qty=, price=, ...}, got %s", method,
                   luaL_typename(L, 2));
    f = lua_ctx_fields(L, 2, fields, CTX_ORDER_FIELDS, method);
    symbol = lua_ctx_string_field(L, f + F_SYMBOL, "symbol", method);
    if (!symbol)
        luaL_error(L, "ctx:%s: symbol is required", method);
    req->instrument = lua_ctx_find_symbol(L, s, symbol, method);
    a->qty = lua_ctx_number_field(L, f + F_QTY, "qty", method, &has_qty);
    if (!has_qty)
        luaL_error(L, "ctx:%s: qty is required", method);
    a->price = lua_ctx_number_field(L, f + F_PRICE, "price", method, &a->has_price);
    a->stop_price = lua_ctx_number_field(L, f + F_STOP_PRICE, "stop_price", method,
                                         &a->has_stop);

    type = lua_ctx_string_field(L, f + F_TYPE, "type", method);
    if (!type)
        req->type = a->has_price ? ORDER_LIMIT : ORDER_MARKET;
    else if (order_type_parse(type, &req->type) < 0)
        luaL_error(L, "ctx:%s: unknown type '%s' (want limit, market, stop or stop_limit)",
                   method, type);
    tif = lua_ctx_string_field(L, f + F_TIF, "tif", method);
    req->tif = ORDER_GTC;
    if (tif && order_tif_parse(tif, &req->tif) < 0)
        luaL_error(L, "ctx:%s: unknown tif '%s' (want gtc, ioc, fok or post_only)", method, tif);
    tag = lua_ctx_string_field(L, f + F_TAG, "tag", method);
    if (tag && strlen(tag) > ORDER_TAG_MAX)
        luaL_error(L, "ctx:%s: tag '%s' is longer than %d characters", method, tag,
                   ORDER_TAG_MAX);
    copy_str(req->tag, sizeof req->tag, tag ? tag : "");
    lua_settop(L, f - 1);
    lua_ctx_order_rules(L, req, a, method);
}

static int lua_ctx_order(lua_State *L, order_side side, const char *method)
{
    strategy *s = lua_ctx_self(L, method);
    order_request req;
    lua_ctx_order_args a;
    const lutra_instrument *def;
    char id[ORDER_ID_MAX + 1] = "";
    char reason[ORDER_REASON_MAX] = "";
    int rc;

    memset(&req, 0, sizeof req);
    memset(&a, 0, sizeof a);
    lua_ctx_order_read(L, s, &req, &a, method);
    def = lua_ctx_instrument(L, s, req.instrument, method);
    req.strategy = s->index;
    req.side = side;
    {
        const struct {
            const char *what;
            double v;
            int present, scale;
            int64_t inc, *out;
        } num[] = {
            {"qty", a.qty, 1, def->size_scale, def->size_increment, &req.qty},
            {"price", a.price, a.has_price, def->price_scale, def->price_increment, &req.price},
            {"stop_price", a.stop_price, a.has_stop, def->price_scale, def->price_increment,
             &req.stop_price},
        };
        for (size_t i = 0; i < sizeof num / sizeof num[0]; i++) {
            if (!num[i].present || !(rc = lua_ctx_to_units(num[i].v, num[i].scale, num[i].out)))
                continue;
            lua_ctx_refuse_value(L, num[i].what, num[i].v, num[i].inc, num[i].scale, rc);
            if (s->ops->refused)
                s->ops->refused(s->host, s, lua_tostring(L, -1));
            return 2;
        }
    }
    if (s->ops->submit(s->host, s, &req, id, reason, sizeof reason) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, reason[0] ? reason : "refused");
        return 2;
    }
    lua_pushstring(L, id);
    return 1;
}

static int lua_ctx_buy(lua_State *L)
{
    return lua_ctx_order(L, ORDER_BUY, "buy");
}

static int lua_ctx_sell(lua_State *L)
{
    return lua_ctx_order(L, ORDER_SELL, "sell");
}

static int lua_ctx_cancel(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "cancel");
    char reason[ORDER_REASON_MAX] = "";
    if (lua_type(L, 2) != LUA_TSTRING)
        luaL_error(L, "ctx:cancel: id: want a string, got %s", luaL_typename(L, 2));
    if (s->ops->cancel(s->host, s, lua_tostring(L, 2), reason, sizeof reason) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, reason[0] ? reason : "refused");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int lua_ctx_cancel_all(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "cancel_all");
    int32_t inst = lua_ctx_symbol_opt(L, s, 2, "cancel_all");
    lua_pushnumber(L, (lua_Number)s->ops->cancel_all(s->host, s, inst));
    return 1;
}

/* ---- Orders as tables ---- */

static void lua_ctx_set_string(lua_State *L, int idx, const char *name, const char *v)
{
    if (v && *v)
        lua_pushstring(L, v);
    else
        lua_pushnil(L);
    lua_setfield(L, idx, name);
}

static void lua_ctx_set_number(lua_State *L, int idx, const char *name, double v, int present)
{
    if (present)
        lua_pushnumber(L, v);
    else
        lua_pushnil(L);
    lua_setfield(L, idx, name);
}

void lua_ctx_order_fields(strategy *s, int idx, const order *o)
{
    lua_State *L = s->L;
    const lutra_instrument *def = s->ops->instrument_get(s->host, o->req.instrument);
    int ps = def ? def->price_scale : 0, ss = def ? def->size_scale : 0;
    int has_price = o->req.type == ORDER_LIMIT || o->req.type == ORDER_STOP_LIMIT;
    int has_stop = o->req.type == ORDER_STOP || o->req.type == ORDER_STOP_LIMIT;
    double filled = fixed_to_double(o->filled, ss);

    lua_ctx_set_string(L, idx, "id", o->id);
    lua_ctx_set_string(L, idx, "symbol", def ? def->symbol : NULL);
    lua_ctx_set_string(L, idx, "side", order_side_name(o->req.side));
    lua_ctx_set_string(L, idx, "type", order_type_name(o->req.type));
    lua_ctx_set_string(L, idx, "tif", order_tif_name(o->req.tif));
    lua_ctx_set_string(L, idx, "status", order_status_name(o->status));
    lua_ctx_set_number(L, idx, "price", fixed_to_double(o->req.price, ps), has_price);
    lua_ctx_set_number(L, idx, "stop_price", fixed_to_double(o->req.stop_price, ps), has_stop);
    lua_ctx_set_number(L, idx, "qty", fixed_to_double(o->req.qty, ss), 1);
    lua_ctx_set_number(L, idx, "filled", filled, 1);
    lua_ctx_set_number(L, idx, "avg_price", money_to_double(o->filled_value) / filled,
                       o->filled != 0);
    lua_ctx_set_string(L, idx, "tag", o->req.tag);
    lua_ctx_set_string(L, idx, "reason", o->reason);
}

void lua_ctx_push_order(strategy *s, const order *o)
{
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->order_ref);
    lua_ctx_order_fields(s, lua_gettop(s->L), o);
}

void lua_ctx_push_fill(strategy *s, const order *o, const oms_change *c)
{
    lua_State *L = s->L;
    const lutra_instrument *def = s->ops->instrument_get(s->host, o->req.instrument);
    int ps = def ? def->price_scale : 0, ss = def ? def->size_scale : 0;
    int idx;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->fill_ref);
    idx = lua_gettop(L);
    lua_ctx_set_string(L, idx, "order_id", o->id);
    lua_ctx_set_string(L, idx, "symbol", def ? def->symbol : NULL);
    lua_ctx_set_string(L, idx, "side", order_side_name(o->req.side));
    lua_ctx_set_number(L, idx, "price", fixed_to_double(c->fill_price, ps), 1);
    lua_ctx_set_number(L, idx, "qty", fixed_to_double(c->fill_qty, ss), 1);
    lua_ctx_set_number(L, idx, "fee", money_to_double(c->fill_fee), 1);
    lua_ctx_set_string(L, idx, "fee_asset", o->fee_asset);
    lua_ctx_set_string(L, idx, "liquidity", c->fill_liquidity == ORDER_MAKER ? "maker" : "taker");
    lua_ctx_set_string(L, idx, "tag", o->req.tag);
}

void lua_ctx_push_status(strategy *s, const char *venue, const char *state, const char *reason)
{
    lua_State *L = s->L;
    int idx;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->status_ref);
    idx = lua_gettop(L);
    lua_ctx_set_string(L, idx, "venue", venue);
    lua_ctx_set_string(L, idx, "state", state);
    lua_ctx_set_string(L, idx, "reason", reason);
}

static int lua_ctx_open_orders(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "open_orders");
    int32_t inst = lua_ctx_symbol_opt(L, s, 2, "open_orders");
    size_t n = s->ops->open_orders(s->host, s, inst, s->scratch, s->scratch_cap);

    if (n > s->scratch_cap) {
        const order **grown = realloc(s->scratch, n * sizeof *grown);
        if (!grown)
            luaL_error(L, "ctx:open_orders: out of memory");
        s->scratch = grown;
        s->scratch_cap = n;
        n = s->ops->open_orders(s->host, s, inst, s->scratch, s->scratch_cap);
        if (n > s->scratch_cap)
            n = s->scratch_cap;
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 13);
        lua_ctx_order_fields(s, lua_gettop(L), s->scratch[i]);
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

/* ---- Positions, balances, books ---- */

static int lua_ctx_position(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "position");
    uint32_t inst = lua_ctx_symbol_arg(L, s, 2, "position");
    const lutra_instrument *def = lua_ctx_instrument(L, s, inst, "position");
    const oms_position *p = s->ops->position(s->host, inst);
    double qty;

    if (!p || p->qty == 0) {
        lua_pushnumber(L, 0);
        lua_pushnil(L);
        return 2;
    }
    qty = fixed_to_double(p->qty, def->size_scale);
    lua_pushnumber(L, qty);
    lua_pushnumber(L, money_to_double(p->cost) / qty);
    return 2;
}

static int lua_ctx_balance(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "balance");
    oms_balance b;
    if (lua_type(L, 2) != LUA_TSTRING)
        luaL_error(L, "ctx:balance: asset: want a string, got %s", luaL_typename(L, 2));
    b = s->ops->balance(s->host, lua_tostring(L, 2));
    lua_pushnumber(L, money_to_double(b.free));
    lua_pushnumber(L, money_to_double(b.locked));
    return 2;
}

static int lua_ctx_book(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "book");
    uint32_t inst = lua_ctx_symbol_arg(L, s, 2, "book");
    if (!s->ops->book(s->host, inst) || lua_book_push(s, inst, -1) < 0)
        lua_pushnil(L);
    return 1;
}

/* ---- Subscriptions ---- */

/* "1m", "15m", "4h", "1d", "30s", or a number of seconds, to ns. */
static int64_t lua_ctx_bar_ns(lua_State *L, int idx)
{
    double secs = 0, n;
    char unit = 0;
    int used = 0;

    if (lua_type(L, idx) == LUA_TNUMBER) {
        secs = lua_tonumber(L, idx);
    } else if (lua_type(L, idx) == LUA_TSTRING) {
        const char *t = lua_tostring(L, idx);
        if (sscanf(t, "%lf%c%n", &n, &unit, &used) == 2 && t[used] == '\0') {
            static const char units[] = "smhd";
            static const double mult[] = {1, 60, 3600, 86400};
            const char *u = strchr(units, unit);
            secs = u && unit ? n * mult[u - units] : 0;
        }
    } else {
        luaL_error(L, "ctx:subscribe: bars: want \"1m\", \"1h\", ... or seconds, got %s",
                   luaL_typename(L, idx));
    }
    if (!(secs >= 1e-9) || secs > 1e9)
        luaL_error(L, "ctx:subscribe: bars: want an interval like \"1m\", \"5m\", \"1h\", "
                   "\"1d\" or a number of seconds, got '%s'", lua_tostring(L, idx));
    return llround(secs * 1e9);
}

/* The boolean in a slot of lua_ctx_fields; *present 0 when nil. */
static int lua_ctx_bool_field(lua_State *L, int slot, const char *name, int *present)
{
    *present = !lua_isnil(L, slot);
    if (*present && !lua_isboolean(L, slot))
        luaL_error(L, "ctx:subscribe: %s: want true or false, got %s", name,
                   luaL_typename(L, slot));
    return lua_toboolean(L, slot);
}

static int lua_ctx_subscribe(lua_State *L)
{
    static const char *const fields[] = {"symbol", "book", "trades", "bars", NULL};
    enum { F_SYMBOL, F_BOOK, F_TRADES, F_BARS };
    strategy *s = lua_ctx_self(L, "subscribe");
    const char *symbol;
    int book, trades, has_book, has_trades, f;
    int64_t bar_ns = 0;
    uint32_t inst;
    char reason[ORDER_REASON_MAX] = "";

    if (!lua_istable(L, 2))
        luaL_error(L, "ctx:subscribe: want a table {symbol=, book=, trades=, bars=}, got %s",
                   luaL_typename(L, 2));
    f = lua_ctx_fields(L, 2, fields, CTX_SUBSCRIBE_FIELDS, "subscribe");
    symbol = lua_ctx_string_field(L, f + F_SYMBOL, "symbol", "subscribe");
    if (!symbol)
        luaL_error(L, "ctx:subscribe: symbol is required");
    inst = lua_ctx_find_symbol(L, s, symbol, "subscribe");
    book = lua_ctx_bool_field(L, f + F_BOOK, "book", &has_book);
    trades = lua_ctx_bool_field(L, f + F_TRADES, "trades", &has_trades);
    if (!lua_isnil(L, f + F_BARS))
        bar_ns = lua_ctx_bar_ns(L, f + F_BARS);
    lua_settop(L, f - 1);
    /* {symbol=} alone asks for the symbol's market data. */
    if (!has_book && !has_trades && bar_ns == 0)
        book = trades = 1;
    if (s->ops->subscribe(s->host, s, inst, book, trades, bar_ns, reason, sizeof reason) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, reason[0] ? reason : "refused");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- Log, metric, time, rounding ---- */

static int lua_ctx_log(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "log");
    int level = -1, nargs = lua_gettop(L) - 2;

    if (lua_type(L, 2) != LUA_TSTRING || (level = log_level_parse(lua_tostring(L, 2))) < 0)
        luaL_error(L, "ctx:log: level: want \"debug\", \"info\", \"warn\" or \"error\", got %s",
                   lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : luaL_typename(L, 2));
    if (lua_type(L, 3) != LUA_TSTRING)
        luaL_error(L, "ctx:log: fmt: want a string, got %s", luaL_typename(L, 3));
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->format_ref);
    for (int i = 3; i < 3 + nargs; i++)
        lua_pushvalue(L, i);
    lua_call(L, nargs, 1);
    if (s->ops->log)
        s->ops->log(s->host, s, level, lua_tostring(L, -1));
    return 0;
}

static int lua_ctx_metric(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "metric");
    double v;
    if (lua_type(L, 2) != LUA_TSTRING)
        luaL_error(L, "ctx:metric: name: want a string, got %s", luaL_typename(L, 2));
    v = lua_ctx_number_arg(L, 3, "value", "metric");
    if (s->ops->metric)
        s->ops->metric(s->host, s, lua_tostring(L, 2), v);
    return 0;
}

static int lua_ctx_now(lua_State *L)
{
    strategy *s = lua_ctx_self(L, "now");
    lua_pushnumber(L, (double)s->ops->now(s->host) / 1e6);
    return 1;
}

/* Round v to a multiple of inc units at scale: to the nearest (prices) or
 * toward zero (sizes, so a position is never exceeded). */
static int lua_ctx_round(lua_State *L, const char *method, int toward_zero)
{
    strategy *s = lua_ctx_self(L, method);
    uint32_t inst = lua_ctx_symbol_arg(L, s, 2, method);
    const lutra_instrument *def = lua_ctx_instrument(L, s, inst, method);
    double v = lua_ctx_number_arg(L, 3, toward_zero ? "qty" : "price", method);
    int scale = toward_zero ? def->size_scale : def->price_scale;
    int64_t inc = lua_ctx_increment(toward_zero ? def->size_increment : def->price_increment);
    int64_t units = 0;
    int rc = lua_ctx_to_units(v, scale, &units);

    if (rc < 0)
        luaL_error(L, "ctx:%s: %f is beyond what %d decimals can hold", method, v, scale);
    if (toward_zero) {
        /* off the scale: drop the excess places rather than round up */
        if (rc == 1)
            units = (int64_t)trunc(v * (double)fixed_pow10(scale));
        units = units / inc * inc;
    } else {
        units = llround(v * (double)fixed_pow10(scale) / (double)inc) * inc;
    }
    lua_pushnumber(L, fixed_to_double(units, scale));
    return 1;
}

static int lua_ctx_round_price(lua_State *L)
{
    return lua_ctx_round(L, "round_price", 0);
}

static int lua_ctx_round_qty(lua_State *L)
{
    return lua_ctx_round(L, "round_qty", 1);
}

/* ---- The table ---- */

static const luaL_Reg lua_ctx_methods[] = {
    {"buy", lua_ctx_buy},
    {"sell", lua_ctx_sell},
    {"cancel", lua_ctx_cancel},
    {"cancel_all", lua_ctx_cancel_all},
    {"open_orders", lua_ctx_open_orders},
    {"position", lua_ctx_position},
    {"balance", lua_ctx_balance},
    {"book", lua_ctx_book},
    {"subscribe", lua_ctx_subscribe},
    {"log", lua_ctx_log},
    {"metric", lua_ctx_metric},
    {"now", lua_ctx_now},
    {"round_price", lua_ctx_round_price},
    {"round_qty", lua_ctx_round_qty},
    {NULL, NULL},
};

void lua_ctx_open(strategy *s)
{
    lua_State *L = s->L;
    int ctx;

    lua_newtable(L);
    ctx = lua_gettop(L);
    for (const luaL_Reg *m = lua_ctx_methods; m->name; m++) {
        lua_pushlightuserdata(L, s);
        lua_pushvalue(L, ctx);
        lua_pushcclosure(L, m->func, 2);
        lua_setfield(L, ctx, m->name);
    }
    s->ctx_ref = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    s->format_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);

    lua_createtable(L, 0, 13);
    s->order_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 9);
    s->fill_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_createtable(L, 0, 3);
    s->status_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}
