/*
 * lua_book.c -- what on_book, on_trade and on_bar hand a handler: views of
 * engine memory read through LuaJIT's FFI.
 *
 * DESIGN.md measured the ways across the C/Lua boundary: a handler reading
 * a view that was cast once and kept costs about 20 ns a call; casting a
 * light userdata per call costs about 470 ns. So every view is a C struct
 * allocated once (per instrument for books, per strategy for trades and
 * bars), cast to a cdata pointer once when it is made, and kept in the
 * registry; per event C only stores a few numbers into the struct and pushes
 * the kept cdata.
 *
 * A book view holds the book pointer, its scales and book.ts. Its methods
 * (book:bid(i), book:depth(), ...) call C through a table of function
 * pointers (lutra_ffi_book_api) handed to Lua once as a cdata pointer: no
 * symbol lookup, no dlsym, and the JIT compiles the calls. The best levels,
 * which nearly every on_book reads, skip even that call: the view also
 * points at the book's own best bid and ask (book_best_levels, kept current
 * by every change), and book:best_bid(), best_ask(), mid() and spread() read
 * them directly, converting exactly as C would. Trade and bar
 * views are plain structs of numbers; symbol and side come from a small Lua
 * table through __index, so nothing is allocated or interned per event.
 *
 * The views are reused: the trade a handler gets is overwritten by the next
 * trade. A handler copies what it keeps (docs/strategy-api.md).
 *
 * LuaJIT 2.1.0-beta3 (Debian's) fuses a load from memory into the
 * instruction that uses it even when an FFI call in between rewrote that
 * memory: `local bid = book:best_bid(); local ask = book:best_ask()` then
 * compares ask with itself once compiled (the same out buffer was read
 * before and after the second call). Later LuaJIT fixed such fusion
 * conflicts (LuaJIT issue #1117 is one of them); here each strategy's JIT
 * runs with that fusion turned off (jit.opt.start("-fuse")), which t/strategy.c
 * checks with a compiled handler.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "book.h"
#include "fixed.h"
#include "strategy_impl.h"

/* The structs Lua sees; their layout is declared again in the prelude's
 * ffi.cdef, and the prelude checks sizes and offsets against these. */
typedef struct lutra_book_view {
    const book *book;   /* NULL until the host has one */
    const book_level *best; /* its best levels by side; NULL while book is */
    strategy *owner;
    double ts;          /* ms: the receive time of the message last delivered */
    double price_div;   /* 10^price_scale */
    double size_div;
    uint32_t instrument;
    int32_t reserved;
} lutra_book_view;

typedef struct lutra_trade_view {
    double ts, price, qty;
    uint32_t instrument;
    int32_t side;       /* 0 buy, 1 sell, -1 unknown */
} lutra_trade_view;

typedef struct lutra_bar_view {
    double ts, open, high, low, close, volume, interval;
    uint32_t instrument;
    int32_t reserved;
} lutra_bar_view;

typedef struct lutra_ffi_book_api {
    int (*level)(lutra_book_view *v, int side, int i, double *out);
    int (*depth)(lutra_book_view *v, int side);
    int (*synced)(lutra_book_view *v);
} lutra_ffi_book_api;

/* ---- The C side of the book methods ---- */

/* The view's book: a view made before the host had a book finds it on
 * first use, and points at its best levels from then on. */
static const book *lua_book_view_book(lutra_book_view *v)
{
    if (!v->book && (v->book = v->owner->ops->book(v->owner->host, v->instrument)))
        v->best = book_best_levels(v->book);
    return v->book;
}

/* Level i (0 best) of a side into out[0] price, out[1] qty.
 * @return 1, or 0 when there is no such level. */
static int lua_book_api_level(lutra_book_view *v, int side, int i, double *out)
{
    const book *b = lua_book_view_book(v);
    book_level lv;
    if (!b || i < 0 || (side != BOOK_BID && side != BOOK_ASK) ||
        book_level_at(b, (book_side)side, (size_t)i, &lv) < 0)
        return 0;
    /* as fixed_to_double: an exact integer over an exact power of ten */
    out[0] = (double)lv.price / v->price_div;
    out[1] = (double)lv.qty / v->size_div;
    return 1;
}

static int lua_book_api_depth(lutra_book_view *v, int side)
{
    const book *b = lua_book_view_book(v);
    if (!b || (side != BOOK_BID && side != BOOK_ASK))
        return 0;
    return (int)book_depth(b, (book_side)side);
}

static int lua_book_api_synced(lutra_book_view *v)
{
    const strategy *s = v->owner;
    return s->ops->book_synced ? s->ops->book_synced(s->host, v->instrument) : 1;
}

static const lutra_ffi_book_api lua_book_api = {
    lua_book_api_level,
    lua_book_api_depth,
    lua_book_api_synced,
};

/* ---- The Lua side ---- */

static const char lua_book_prelude[] =
    "local api_lud, layout = ...\n"
    "local ffi = require('ffi')\n"
    "if jit and jit.opt then jit.opt.start('-fuse') end\n"
    "ffi.cdef[[\n"
    "typedef struct lutra_book_level { int64_t price, qty; } lutra_book_level;\n"
    "typedef struct lutra_book_view { const void *_book; const lutra_book_level *_best;\n"
    "  void *_owner; double ts; double _price_div, _size_div; uint32_t _inst;\n"
    "  int32_t _reserved; } lutra_book_view;\n"
    "typedef struct lutra_trade_view { double ts, price, qty; uint32_t _inst; int32_t _side; }\n"
    "  lutra_trade_view;\n"
    "typedef struct lutra_bar_view { double ts, open, high, low, close, volume, interval;\n"
    "  uint32_t _inst; int32_t _reserved; } lutra_bar_view;\n"
    "typedef struct lutra_ffi_book_api {\n"
    "  int (*level)(lutra_book_view *v, int side, int i, double *out);\n"
    "  int (*depth)(lutra_book_view *v, int side);\n"
    "  int (*synced)(lutra_book_view *v);\n"
    "} lutra_ffi_book_api;\n"
    "]]\n"
    "for name, want in pairs(layout) do\n"
    "  local t, field = name:match('^(.-)%.(.*)$')\n"
    "  local got = field and ffi.offsetof(t, field) or ffi.sizeof(name)\n"
    "  assert(got == want, 'FFI layout of ' .. name .. ' differs from C')\n"
    "end\n"
    "local api = ffi.cast('const lutra_ffi_book_api *', api_lud)\n"
    "local level, depth, synced = api.level, api.depth, api.synced\n"
    "local out = ffi.new('double[2]')\n"
    "local symbols = {}\n"
    "local function at(v, side, i)\n"
    "  if level(v, side, i, out) == 0 then return nil end\n"
    "  return out[0], out[1]\n"
    "end\n"
    "-- The best level of a side, read from the book's own array; as at(v,\n"
    "-- side, 0) when the view has no book yet (C then looks for one).\n"
    "local function best(v, side)\n"
    "  local b = v._best\n"
    "  if b == nil then return at(v, side, 0) end\n"
    "  local lv = b[side]\n"
    "  if lv.qty == 0 then return nil end\n"
    "  return tonumber(lv.price) / v._price_div, tonumber(lv.qty) / v._size_div\n"
    "end\n"
    "local function index(i, what)\n"
    "  if type(i) ~= 'number' or i < 1 or i > 2147483647 or i % 1 ~= 0 then\n"
    "    error(what .. ': want a whole number from 1, got ' .. tostring(i), 3)\n"
    "  end\n"
    "end\n"
    "local methods = {}\n"
    "function methods.best_bid(v) return best(v, 0) end\n"
    "function methods.best_ask(v) return best(v, 1) end\n"
    "function methods.bid(v, i) index(i, 'book:bid(i)') return at(v, 0, i - 1) end\n"
    "function methods.ask(v, i) index(i, 'book:ask(i)') return at(v, 1, i - 1) end\n"
    "function methods.mid(v)\n"
    "  local bid = best(v, 0)\n"
    "  if bid == nil then return nil end\n"
    "  local ask = best(v, 1)\n"
    "  if ask == nil then return nil end\n"
    "  return (bid + ask) / 2\n"
    "end\n"
    "function methods.spread(v)\n"
    "  local bid = best(v, 0)\n"
    "  if bid == nil then return nil end\n"
    "  local ask = best(v, 1)\n"
    "  if ask == nil then return nil end\n"
    "  return ask - bid\n"
    "end\n"
    "function methods.depth(v) return depth(v, 0), depth(v, 1) end\n"
    "function methods.synced(v) return synced(v) ~= 0 end\n"
    "ffi.metatype('lutra_book_view', {\n"
    "  __index = function(v, k)\n"
    "    local m = methods[k]\n"
    "    if m ~= nil then return m end\n"
    "    if k == 'symbol' then return symbols[v._inst] end\n"
    "  end,\n"
    "  __tostring = function(v) return 'book ' .. tostring(symbols[v._inst]) end,\n"
    "})\n"
    "local sides = { [0] = 'buy', [1] = 'sell' }\n"
    "ffi.metatype('lutra_trade_view', {\n"
    "  __index = function(t, k)\n"
    "    if k == 'symbol' then return symbols[t._inst] end\n"
    "    if k == 'side' then return sides[t._side] end\n"
    "  end,\n"
    "})\n"
    "ffi.metatype('lutra_bar_view', {\n"
    "  __index = function(b, k)\n"
    "    if k == 'symbol' then return symbols[b._inst] end\n"
    "  end,\n"
    "})\n"
    "return {\n"
    "  book = function(lud) return ffi.cast('lutra_book_view *', lud) end,\n"
    "  trade = function(lud) return ffi.cast('lutra_trade_view *', lud) end,\n"
    "  bar = function(lud) return ffi.cast('lutra_bar_view *', lud) end,\n"
    "  symbols = symbols,\n"
    "}\n";

static void lua_book_layout(lua_State *L, const char *name, size_t v)
{
    lua_pushnumber(L, (lua_Number)v);
    lua_setfield(L, -2, name);
}

/* Call maker(lud) of the prelude's table at idx and keep the result. */
static int lua_book_make(lua_State *L, int idx, const char *maker, void *p)
{
    lua_getfield(L, idx, maker);
    lua_pushlightuserdata(L, p);
    lua_call(L, 1, 1);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

void lua_book_open(strategy *s)
{
    lua_State *L = s->L;
    int t;

    s->trade_view = calloc(1, sizeof *s->trade_view);
    s->bar_view = calloc(1, sizeof *s->bar_view);
    if (!s->trade_view || !s->bar_view)
        luaL_error(L, "out of memory");
    if (luaL_loadbuffer(L, lua_book_prelude, sizeof lua_book_prelude - 1, "=lutra.book") != 0)
        lua_error(L);
    lua_pushlightuserdata(L, (void *)&lua_book_api);
    lua_newtable(L);
    lua_book_layout(L, "lutra_book_view", sizeof(lutra_book_view));
    lua_book_layout(L, "lutra_book_view._best", offsetof(lutra_book_view, best));
    lua_book_layout(L, "lutra_book_view._price_div", offsetof(lutra_book_view, price_div));
    lua_book_layout(L, "lutra_book_view._inst", offsetof(lutra_book_view, instrument));
    lua_book_layout(L, "lutra_book_level", sizeof(book_level));
    lua_book_layout(L, "lutra_book_level.qty", offsetof(book_level, qty));
    lua_book_layout(L, "lutra_book_view.ts", offsetof(lutra_book_view, ts));
    lua_book_layout(L, "lutra_trade_view", sizeof(lutra_trade_view));
    lua_book_layout(L, "lutra_trade_view._side", offsetof(lutra_trade_view, side));
    lua_book_layout(L, "lutra_bar_view", sizeof(lutra_bar_view));
    lua_book_layout(L, "lutra_bar_view._inst", offsetof(lutra_bar_view, instrument));
    lua_book_layout(L, "lutra_ffi_book_api", sizeof(lutra_ffi_book_api));
    lua_call(L, 2, 1);
    t = lua_gettop(L);

    lua_getfield(L, t, "book");
    s->book_new_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getfield(L, t, "symbols");
    s->symbols_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    s->trade_ref = lua_book_make(L, t, "trade", s->trade_view);
    s->bar_ref = lua_book_make(L, t, "bar", s->bar_view);
    s->trade_view->side = -1;
    lua_pop(L, 1);
}

void lua_book_close(strategy *s)
{
    for (size_t i = 0; i < s->nslots; i++)
        free(s->slots[i].view);
    free(s->slots);
    free(s->trade_view);
    free(s->bar_view);
    s->slots = NULL;
    s->nslots = 0;
    s->trade_view = NULL;
    s->bar_view = NULL;
}

/* ---- Slots ---- */

typedef struct lua_book_slot_args {
    strategy *s;
    lua_book_slot *slot;
    const char *symbol;
    uint32_t instrument;
} lua_book_slot_args;

/* The Lua half of a new slot: its symbol and its book object. Interning
 * and allocating may raise, so this runs under lua_cpcall. */
static int lua_book_slot_protected(lua_State *L)
{
    lua_book_slot_args *a = lua_touserdata(L, 1);
    strategy *s = a->s;

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->symbols_ref);
    lua_pushstring(L, a->symbol);
    lua_rawseti(L, -2, (int)a->instrument);
    lua_pop(L, 1);

    lua_rawgeti(L, LUA_REGISTRYINDEX, s->book_new_ref);
    lua_pushlightuserdata(L, a->slot->view);
    lua_call(L, 1, 1);
    a->slot->book_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}

static int lua_book_slots_grow(strategy *s, uint32_t instrument)
{
    size_t n = (size_t)instrument + 8;
    lua_book_slot *slots;
    if (instrument < s->nslots)
        return 0;
    slots = realloc(s->slots, n * sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = s->nslots; i < n; i++) {
        memset(&slots[i], 0, sizeof slots[i]);
        slots[i].book_ref = LUA_NOREF;
    }
    s->slots = slots;
    s->nslots = n;
    return 0;
}

lua_book_slot *lua_book_slot_get(strategy *s, uint32_t instrument)
{
    const lutra_instrument *def;
    lua_book_slot *slot;
    lutra_book_view *v;
    lua_book_slot_args a;

    if (instrument < s->nslots && s->slots[instrument].known)
        return &s->slots[instrument];
    def = s->ops->instrument_get(s->host, instrument);
    if (!def || lua_book_slots_grow(s, instrument) < 0)
        return NULL;
    slot = &s->slots[instrument];
    if (!slot->view && !(slot->view = calloc(1, sizeof *slot->view)))
        return NULL;
    v = slot->view;
    v->owner = s;
    v->instrument = instrument;
    v->price_div = (double)fixed_pow10(def->price_scale);
    v->size_div = (double)fixed_pow10(def->size_scale);

    a.s = s;
    a.slot = slot;
    a.symbol = def->symbol;
    a.instrument = instrument;
    if (lua_cpcall(s->L, lua_book_slot_protected, &a) != 0) {
        lua_pop(s->L, 1);
        return NULL;
    }
    slot->known = 1;
    return slot;
}

/* ---- Per event ---- */

int lua_book_push(strategy *s, uint32_t instrument, int64_t ts)
{
    lua_book_slot *slot = lua_book_slot_get(s, instrument);
    if (!slot)
        return -1;
    lua_book_view_book(slot->view);
    if (ts >= 0)
        slot->view->ts = (double)ts / 1e6;
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, slot->book_ref);
    return 0;
}

int lua_book_push_trade(strategy *s, const lutra_trade *t)
{
    lua_book_slot *slot = lua_book_slot_get(s, t->h.instrument);
    lutra_trade_view *v = s->trade_view;
    if (!slot)
        return -1;
    v->ts = (double)t->h.ts_recv / 1e6;
    v->price = (double)t->price / slot->view->price_div;
    v->qty = (double)t->qty / slot->view->size_div;
    v->instrument = t->h.instrument;
    if (t->h.flags & LUTRA_F_NO_SIDE)
        v->side = -1;
    else
        v->side = (t->h.flags & LUTRA_F_BUY) ? 0 : 1;
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->trade_ref);
    return 0;
}

int lua_book_push_bar(strategy *s, const lutra_bar *b, int64_t interval_ns)
{
    lua_book_slot *slot = lua_book_slot_get(s, b->h.instrument);
    lutra_bar_view *v = s->bar_view;
    double pd, sd;
    if (!slot)
        return -1;
    pd = slot->view->price_div;
    sd = slot->view->size_div;
    v->ts = (double)b->h.ts_exch / 1e6;
    v->open = (double)b->open / pd;
    v->high = (double)b->high / pd;
    v->low = (double)b->low / pd;
    v->close = (double)b->close / pd;
    v->volume = (double)b->volume / sd;
    v->interval = (double)interval_ns / 1e9;
    v->instrument = b->h.instrument;
    lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->bar_ref);
    return 0;
}
