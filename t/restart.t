#!/usr/bin/env perl
# t/restart.t -- a restart knows every order, fill, position, balance and
# strategy state, against the mock Binance exchange (docs/state.md):
#
#   A  an order rests; lutra stops without cancelling it.
#   B  (the order filled while lutra was down; an order was placed by hand)
#      the restart hears the fill through on_order/on_fill after on_start,
#      ctx.state came back, the hand-placed order is reported and left alone.
#   C  killed between committing an order and sending it (crash point):
#   D  the restart marks it rejected, and never sends it.
#   E  killed between a fill arriving and its commit (crash point):
#   F  the restart recovers the fill from the venue, once.
#   G  one more restart changes nothing.
# Every wait is bounded; the mock and every lutra started are stopped.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use LutraTest qw(lutra_bin tempdir slurp write_file wait_for mock_http start_quiet_mock
                 mock_venue_lua start_run reap_or_kill stop_run);

my $WAIT_S = 20;

my $dir = tempdir();
my ($rest, $ws) = start_quiet_mock($dir);

sub config {
    my ($action, $price, $venue_extra) = @_;
    my $venue = mock_venue_lua($dir, $rest, $ws, extra => $venue_extra);
    return write_file("$dir/$action.lua", <<"LUA");
return { mode = 'live', cancel_on_stop = false, state_dir = '$dir/state',
  log = { level = 'info' },
  venues = { $venue },
  strategies = { { name = 'probe', script = 't/strategies/restart_probe.lua', venue = 'binance',
                   params = { action = '$action', price = ${\ ($price // 59000)} } } } }
LUA
}

sub dump_state {
    my $out = `@{[lutra_bin()]} state dump --state $dir/state --json`;
    return $? == 0 ? JSON::PP::decode_json($out) : undef;
}

sub order_of {
    my ($st, $id) = @_;
    my ($o) = grep { $_->{id} eq $id } @{ $st->{orders} };
    return $o // {};
}

sub position_qty {
    my ($st) = @_;
    my ($p) = grep { $_->{symbol} eq 'BTCUSDT' } @{ $st->{positions} };
    return $p ? $p->{qty} + 0 : 0;
}

sub mock_order {
    my ($id) = @_;
    my ($status, $body) = mock_http($rest, 'GET', '/api/v3/order', signed => 1,
        query => "symbol=BTCUSDT&origClientOrderId=$id");
    return $status == 200 ? JSON::PP::decode_json($body) : { code => ($body =~ /"code":(-?\d+)/)[0] };
}

sub mock_btc {
    my ($status, $body) = mock_http($rest, 'GET', '/api/v3/account', signed => 1);
    my ($b) = grep { $_->{asset} eq 'BTC' } @{ JSON::PP::decode_json($body)->{balances} };
    return $b->{free} + $b->{locked};
}

use JSON::PP ();

plan tests => 35;

# ---- A: an order rests; stop without cancelling ----
my ($pid, $log) = start_run(config('rest', 59000));
my $first = wait_for($log, qr/restart-probe placed (\S+) /, $WAIT_S);
ok($first, 'A: the strategy placed an order') or diag(slurp($log));
ok(wait_for($log, qr/restart-probe order \Q$first\E new/, $WAIT_S), "A: $first rests at the venue");
is(stop_run($pid, $WAIT_S), 0, 'A: stopped cleanly');

# ---- while down: the order fills, and an order is placed by hand ----
mock_http($rest, 'POST', '/mock/trade', query => 'symbol=BTCUSDT&price=58990&qty=0.01&buyerMaker=true');
is(mock_order($first)->{status}, 'FILLED', "the venue filled $first while lutra was down");
my ($hs) = mock_http($rest, 'POST', '/api/v3/order', signed => 1,
    query => 'symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.001&price=70000'
           . '&newClientOrderId=byhand1');
is($hs, 200, 'an order placed by hand at the venue');

# ---- B: the restart hears what happened ----
($pid, $log) = start_run(config('none'));
ok(wait_for($log, qr/restart-probe fill \Q$first\E 0\.00100/, $WAIT_S), 'B: on_fill heard the fill')
    or diag(slurp($log));
my $text = slurp($log);
like($text, qr/restart-probe start"? starts=2 last=\Q$first\E/, 'B: ctx.state came back (starts=2)');
ok(index($text, 'restart-probe start') < index($text, "restart-probe fill $first"),
   'B: on_start came first, then what changed while down');
like($text, qr/restart-probe order \Q$first\E filled/, 'B: on_order heard it filled');
like($text, qr/not sent by lutra: left alone.*order=byhand1/, 'B: the hand-placed order reported, left alone');
is(stop_run($pid, $WAIT_S), 0, 'B: stopped cleanly');
my $st = dump_state();
is(order_of($st, $first)->{status}, 'filled', "B: the store has $first filled");

# ---- C: killed between committing an order and sending it ----
($pid, $log) = start_run(config('rest', 58000), env => { LUTRA_CRASHPOINT => 'order-committed:1' });
my $status = reap_or_kill($pid, $WAIT_S);
is($status & 127, 9, 'C: the crash point killed lutra (SIGKILL)') or diag(slurp($log));
my ($unsent) = slurp($log) =~ /restart-probe placed (\S+) /;
$st = dump_state();
is(order_of($st, $unsent // '')->{status}, 'pending_new', 'C: the order is in the store, pending_new');
is(mock_order($unsent // 'none')->{code}, -2013, 'C: the venue never got it');

# ---- D: the restart settles it without sending it ----
($pid, $log) = start_run(config('none'));
ok(wait_for($log, qr/restart-probe order \Q$unsent\E rejected/, $WAIT_S), 'D: on_order heard it rejected')
    or diag(slurp($log));
is(stop_run($pid, $WAIT_S), 0, 'D: stopped cleanly');
is(mock_order($unsent)->{code}, -2013, 'D: it was never sent');

# ---- E: killed between a fill arriving and its commit ----
my $btc_before = mock_btc();
($pid, $log) = start_run(config('market'), env => { LUTRA_CRASHPOINT => 'fill-received:1' });
$status = reap_or_kill($pid, $WAIT_S);
is($status & 127, 9, 'E: the crash point killed lutra at the fill') or diag(slurp($log));
my ($market) = slurp($log) =~ /restart-probe placed (\S+) /;
is(mock_order($market // 'none')->{status}, 'FILLED', 'E: the venue filled it');

# ---- F: the restart recovers the fill, once ----
($pid, $log) = start_run(config('none'));
ok(wait_for($log, qr/restart-probe order \Q$market\E filled/, $WAIT_S), 'F: on_order heard it filled')
    or diag(slurp($log));
is(stop_run($pid, $WAIT_S), 0, 'F: stopped cleanly');
$st = dump_state();
is(position_qty($st), 0.002, 'F: the position holds both fills, each once');
my ($bal) = grep { $_->{asset} eq 'BTC' } @{ $st->{balances} // [] };
is($bal ? $bal->{free} + $bal->{locked} : -1, mock_btc() + 0, "F: the store's BTC balance is the venue's");

# ---- G: one more restart changes nothing ----
($pid, $log) = start_run(config('none'));
wait_for($log, qr/restart-probe status ready/, $WAIT_S);
stop_run($pid, $WAIT_S);
my @fills = slurp($log) =~ /restart-probe fill/g;
is(scalar @fills, 0, 'G: no fill heard again');

# ---- I: killed between committing a cancel and sending it ----
($pid, $log) = start_run(config('rest', 57000));
my $rest2 = wait_for($log, qr/restart-probe placed (\S+) /, $WAIT_S);
ok($rest2 && wait_for($log, qr/restart-probe order \Q$rest2\E new/, $WAIT_S), 'I: an order rests')
    or diag(slurp($log));
stop_run($pid, $WAIT_S);
($pid, $log) = start_run(config('cancel'), env => { LUTRA_CRASHPOINT => 'cancel-committed:1' });
$status = reap_or_kill($pid, $WAIT_S);
is($status & 127, 9, 'I: the crash point killed lutra before the cancel left') or diag(slurp($log));
is(order_of(dump_state(), $rest2 // '')->{status}, 'pending_cancel', 'I: the store has it pending_cancel');
is(mock_order($rest2 // 'none')->{status}, 'NEW', 'I: the venue still has it open');

# ---- J: the restart sends the cancel again ----
($pid, $log) = start_run(config('none'));
ok(wait_for($log, qr/restart-probe order \Q$rest2\E canceled/, $WAIT_S),
   'J: the cancel was sent again, and on_order heard it canceled') or diag(slurp($log));
is(stop_run($pid, $WAIT_S), 0, 'J: stopped cleanly');
is(mock_order($rest2)->{status}, 'CANCELED', 'J: the venue cancelled it');

# ---- H: adopt_orders takes the hand-placed order as lutra's ----
($pid, $log) = start_run(config('none', undef, 'adopt_orders = true'));
ok(wait_for($log, qr/open order at the venue adopted.*order=byhand1/, $WAIT_S),
   'H: the hand-placed order is adopted') or diag(slurp($log));
is(stop_run($pid, $WAIT_S), 0, 'H: stopped cleanly');
my $adopted = order_of(dump_state(), 'byhand1');
ok(($adopted->{status} // '') eq 'new' && ($adopted->{strategy} // 'x') eq '',
   'H: the store holds it open, owned by no strategy');
note("BTC at the venue: before the market buy $btc_before, after " . mock_btc());
