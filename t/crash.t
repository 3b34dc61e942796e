#!/usr/bin/env perl
# t/crash.t -- kill lutra at random instants while it trades against the
# mock Binance exchange; after every kill a restart must know exactly what
# the exchange knows (docs/state.md, "Crash test"; issue 5).
#
# One mock exchange (its generated market moves and prints trades, so
# resting orders fill) serves the whole test. Each cycle:
#   1. lutra run trades (t/strategies/crash_trader.lua) and is killed with
#      SIGKILL, either by the test at a random instant 0.2-1.5 s after the
#      strategies start, or, every other cycle, by itself at a crash point
#      (LUTRA_CRASHPOINT=order-committed|fill-received|batch-committed:N,
#      a small random N): between committing an order and sending it,
#      between a fill arriving and its commit, right after a commit;
#   2. the market goes on for up to 0.5 s (what rests may fill while lutra
#      is down), then pauses (no fill can happen while the check runs);
#   3. lutra run starts again with the strategy told not to trade; once the
#      strategy hears the venue ready (reconciled), the store
#      (`lutra state dump --json`) is compared with the venue (allOrders,
#      myTrades and account, signed, and /mock/stats):
#        - every order in the store has the venue's status and filled qty
#          (rejected in the store <=> unknown to the venue);
#        - every order the venue holds is in the store;
#        - no client order id was sent twice (the mock counts reuses);
#        - the position is the signed sum of the venue's trades, and each
#          balance (free + locked) is the venue's;
#        - ctx.state.placed is the number of the strategy's orders in the
#          store, ctx.state.last the highest of them;
#      `lutra state check` finds nothing wrong; SIGTERM stops it with 0.
# The trading runs alternate in pairs between the read-only map and
# state_writemap (LMDB's MDB_WRITEMAP), so that both are killed at random
# instants and at every crash point, and the store changes hands between
# them.
# The first cycle that finds a difference ends the test (the ones after it
# would only repeat it), with the differences and the log lines.
#
# CRASH_KILLS (50) cycles, CRASH_SEED (fixed) for the random instants,
# CRASH_SECONDS (240; a minute is usual here) for the whole test: when it
# runs out, the test stops and needs CRASH_MIN_KILLS (the smaller of
# CRASH_KILLS and 50) survived.
# CRASH_KEEP=1 keeps the temporary folder (logs, store) and names it.
use strict;
use warnings;
use File::Temp ();
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use LutraTest qw(lutra_bin slurp write_file start_mock_binance mock_http write_mock_keys
                 mock_venue_lua start_run exit_status reap_or_kill kill_run stop_run);

my $SYMBOL = 'BTCUSDT';
my $STRATEGY = 'crash';
my $KILLS = $ENV{CRASH_KILLS} // 50;
my $SEED = $ENV{CRASH_SEED} // 20240808;
my $SECONDS = $ENV{CRASH_SECONDS} // 240;
my $MIN_KILLS = $ENV{CRASH_MIN_KILLS} // ($KILLS < 50 ? $KILLS : 50);
my $WAIT_S = 20;          # any one wait: a start, a crash point, a stop
my $SETTLE_S = 5;         # the store catching up with what it logged
my $DOWN_S = 0.5;         # the market goes on at most this long after a kill
my $CYCLE_S = 10;         # no cycle begins with less than this left
my $PAGE = 1000;          # allOrders and myTrades answer at most this many
# Every other cycle dies at one of these, in turn, the N-th time (N at
# random up to the number given). A batch may hold an order, a cancel, a
# fill or ctx.state: batch-committed comes twice as often.
my @CRASH_POINTS = (['order-committed', 6], ['batch-committed', 40], ['fill-received', 4],
                    ['batch-committed', 40]);
my %VENUE_STATUS = (NEW => 'new', PARTIALLY_FILLED => 'partially_filled', FILLED => 'filled',
                    CANCELED => 'canceled', EXPIRED => 'expired', REJECTED => 'rejected');

my $deadline = time + $SECONDS;
my $dir = File::Temp::tempdir('lutra-crash-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{CRASH_KEEP});
diag("CRASH_KEEP: logs and store in $dir") if $ENV{CRASH_KEEP};
srand($SEED);

# ---- Processes (LutraTest kills and reaps every lutra left at the end) ----

sub seconds_left { my $left = $deadline - time; return $left > 0 ? $left : 0 }

# Wait until the log matches $re or the process ends, at most $seconds.
# @return 1 when it matched.
sub wait_log {
    my ($pid, $log, $re, $seconds) = @_;
    for (my $end = time + $seconds; time < $end; sleep 0.02) {
        return 1 if slurp($log) =~ $re;
        return slurp($log) =~ $re ? 1 : 0 if defined exit_status($pid);
    }
    return 0;
}

sub log_tail {
    my ($log, $lines) = @_;
    my @all = split /\n/, slurp($log);
    splice @all, 0, @all - $lines if @all > $lines;
    return join("\n", @all);
}

# ---- Configuration ----

my (undef, $rest, $ws) = start_mock_binance($dir);
write_mock_keys($dir);

sub config {
    my ($trade, $writemap) = @_;
    my $venue = mock_venue_lua($dir, $rest, $ws, symbols => [$SYMBOL]);
    return write_file("$dir/$trade-$writemap.lua", <<"LUA");
return { mode = 'live', cancel_on_stop = false, state_dir = '$dir/state',
  state_writemap = $writemap,
  log = { level = 'info' },
  venues = { $venue },
  strategies = { { name = '$STRATEGY', script = 't/strategies/crash_trader.lua',
                   venue = 'binance', params = { symbol = '$SYMBOL', trade = $trade } } } }
LUA
}
my @TRADE = (config('true', 'false'), config('true', 'true'));
my $CHECK = config('false', 'false');

# ---- The venue's side ----

sub mock_control {
    my ($path, $query) = @_;
    my ($status, $body) = mock_http($rest, 'POST', $path, query => $query // '');
    die "mock $path: $status $body\n" unless $status == 200;
    return JSON::PP::decode_json($body);
}

sub venue_get {
    my ($path, $query) = @_;
    my ($status, $body) = mock_http($rest, 'GET', $path, signed => 1, query => $query);
    die "GET $path?$query: $status $body\n" unless $status == 200;
    return JSON::PP::decode_json($body);
}

# Every element of a list the venue pages by id ($key), from $first on.
sub venue_pages {
    my ($path, $param, $key, $first) = @_;
    my @all;
    for (my $from = $first; ; ) {
        my $page = venue_get($path, "symbol=$SYMBOL&$param=$from&limit=$PAGE");
        push @all, @$page;
        return \@all if @$page < $PAGE;
        $from = $page->[-1]{$key} + 1;
    }
}

# What the venue knows: orders by client id, trades, balances, counters.
sub venue_view {
    mock_control('/mock/reset-weight'); # the test's reads must not throttle lutra
    my %orders;
    my @twice;
    for my $o (@{ venue_pages('/api/v3/allOrders', 'orderId', 'orderId', 1) }) {
        push @twice, $o->{clientOrderId} if $orders{ $o->{clientOrderId} };
        $orders{ $o->{clientOrderId} } = $o;
    }
    my %balances = map { $_->{asset} => units($_->{free}) + units($_->{locked}) }
        @{ venue_get('/api/v3/account', '')->{balances} };
    return { orders => \%orders, twice => \@twice, balances => \%balances,
             trades => venue_pages('/api/v3/myTrades', 'fromId', 'id', 0),
             stats => mock_control('/mock/stats') };
}

# ---- The store's side ----

sub store_view {
    my $out = `@{[lutra_bin()]} state dump --state $dir/state --json 2>&1`;
    die "lutra state dump: exit " . ($? >> 8) . ": $out\n" if $?;
    return JSON::PP::decode_json($out);
}

# A decimal string in units of 10^-8, exactly.
sub units {
    my ($s) = @_;
    return 0 unless defined $s;
    my ($sign, $int, $frac) = $s =~ /^(-?)(\d*)(?:\.(\d{0,8}))?$/ or die "not a decimal: $s\n";
    my $v = ($int || 0) * 100_000_000 + substr(($frac // '') . '00000000', 0, 8);
    return $sign ? -$v : $v;
}

sub order_number { my ($id) = @_; return ($id =~ /(\d+)$/)[0] // -1 }

# ---- The comparison ----

# Each order of the store against the venue's. @return the differences.
sub compare_orders {
    my ($store, $venue) = @_;
    my @diff;
    for my $o (@{ $store->{orders} }) {
        my $v = $venue->{orders}{ $o->{id} };
        if ($o->{status} eq 'rejected') {
            push @diff, "order $o->{id}: rejected in the store, $v->{status} at the venue"
                if $v && $v->{status} ne 'REJECTED';
            next;
        }
        unless ($v) {
            push @diff, "order $o->{id}: $o->{status} in the store, unknown to the venue";
            next;
        }
        my $want = $VENUE_STATUS{ $v->{status} } // "?$v->{status}";
        push @diff, "order $o->{id}: $o->{status} in the store, $want at the venue"
                  . ($o->{status} =~ /^pending/ ? ' (a request the restart neither sent nor settled)' : '')
            if $o->{status} ne $want;
        push @diff, "order $o->{id}: filled $o->{filled} in the store, $v->{executedQty} at the venue"
            if units($o->{filled}) != units($v->{executedQty});
    }
    my %known = map { $_->{id} => 1 } @{ $store->{orders} };
    push @diff, map { "order $_: at the venue ($venue->{orders}{$_}{status}), not in the store" }
        grep { !$known{$_} } sort keys %{ $venue->{orders} };
    push @diff, map { "client order id $_: two orders at the venue" } @{ $venue->{twice} };
    return @diff;
}

# Position, balances, no resend. @return the differences.
sub compare_money {
    my ($store, $venue) = @_;
    my @diff;
    my $traded = 0;
    $traded += ($_->{isBuyer} ? 1 : -1) * units($_->{qty}) for @{ $venue->{trades} };
    my ($p) = grep { $_->{venue} eq 'binance' && $_->{symbol} eq $SYMBOL } @{ $store->{positions} };
    my $held = units($p ? $p->{qty} : '0');
    push @diff, "position $SYMBOL: $held in the store, the venue's "
              . scalar(@{ $venue->{trades} }) . " trades sum to $traded (units of 1e-8)"
        if $held != $traded;
    my %mine = map { $_->{asset} => units($_->{free}) + units($_->{locked}) }
        grep { $_->{venue} eq 'binance' } @{ $store->{balances} };
    my %assets = (%mine, %{ $venue->{balances} });
    for my $a (sort keys %assets) {
        my ($s, $v) = ($mine{$a} // 0, $venue->{balances}{$a} // 0);
        push @diff, "balance $a: free+locked $s in the store, $v at the venue (units of 1e-8)"
            if $s != $v;
    }
    push @diff, "the venue received $venue->{stats}{client_id_reuses} orders reusing a client order id"
        if $venue->{stats}{client_id_reuses};
    return @diff;
}

# ctx.state against the store's orders. @return the differences.
sub compare_state {
    my ($store) = @_;
    my @mine = grep { $_->{strategy} eq $STRATEGY } @{ $store->{orders} };
    my ($last) = sort { order_number($b) <=> order_number($a) } map { $_->{id} } @mine;
    my $state = $store->{strategies}{$STRATEGY} // {};
    my ($placed, $named) = ($state->{placed} // 0, $state->{last} // 'none');
    my @diff;
    push @diff, "ctx.state.placed is $placed, the store holds " . scalar(@mine) . " orders of $STRATEGY"
        if $placed != @mine;
    push @diff, "ctx.state.last is $named, the highest order of $STRATEGY is " . ($last // 'none')
        if $named ne ($last // 'none');
    return @diff;
}

sub differences {
    my ($store, $venue) = @_;
    return (compare_orders($store, $venue), compare_money($store, $venue), compare_state($store));
}

# Compare until equal, for at most $SETTLE_S: the check run logs "ready"
# as it starts its strategy, and the store may commit what it reconciled a
# moment later. The venue does not move meanwhile (the market is paused,
# nothing trades), so a difference that stays is real.
sub settled_differences {
    my ($store, $venue, @diff);
    for (my $end = time + $SETTLE_S; ; sleep 0.2) {
        ($store, $venue) = (store_view(), venue_view());
        @diff = differences($store, $venue);
        last if !@diff || time >= $end;
    }
    return (\@diff, $store, $venue);
}

# ---- The cycles ----

# Trade, then die: killed by the test or at a crash point.
# @return (ok, what happened, its log, its wait status).
sub trade_and_die {
    my ($cycle) = @_;
    my $point = $cycle % 2 == 0 ? $CRASH_POINTS[($cycle / 2 - 1) % @CRASH_POINTS] : undef;
    my $crash = $point ? "$point->[0]:" . (1 + int(rand($point->[1]))) : undef;
    my $pause = 0.2 + rand(1.3);
    mock_control('/mock/feed', 'paused=false');
    # Cycles 1-2 read-only map, 3-4 writable, ...: each kind has both kills.
    my ($pid, $log) = start_run($TRADE[int(($cycle - 1) / 2) % 2],
                                env => { LUTRA_CRASHPOINT => $crash });
    if ($crash) {
        my $status = reap_or_kill($pid, $WAIT_S);
        return (0, "(crash point $crash not reached in $WAIT_S s)", $log, $status)
            if $status == -1;
        my $died = ($status & 127) == 9 && slurp($log) =~ /crashpoint reached/;
        return ($died, "at crash point $crash", $log, $status);
    }
    my $started = wait_log($pid, $log, qr/starting strategies/, $WAIT_S);
    return (0, '(the strategies did not start)', $log, kill_run($pid, $WAIT_S)) unless $started;
    sleep $pause;
    my $status = kill_run($pid, $WAIT_S);
    return (defined $status && ($status & 127) == 9, sprintf('by the test %.2f s in', $pause),
            $log, $status);
}

# The market goes on a moment while lutra is down: what rests may fill.
sub down_a_while {
    sleep rand($DOWN_S);
    mock_control('/mock/feed', 'paused=true');
}

# Restart without trading, compare, stop. @return 1 when all was well.
sub check_restart {
    my ($cycle, $how, $crash_log) = @_;
    down_a_while();
    my ($pid, $log) = start_run($CHECK);
    unless (ok(wait_log($pid, $log, qr/crash-trader ready/, $WAIT_S),
               "cycle $cycle: the restart reconciled and started the strategy")) {
        diag(log_tail($log, 30));
        kill_run($pid, $WAIT_S);
        return 0;
    }
    my ($diff) = settled_differences();
    ok(!@$diff, "cycle $cycle (killed $how): orders, fills, position, balances and ctx.state "
              . "equal the venue's")
        or diag(join("\n", @$diff, '--- the killed run:', log_tail($crash_log, 25),
                     '--- the restart:', log_tail($log, 40)));
    my $check = `@{[lutra_bin()]} state check --state $dir/state 2>&1`;
    my $consistent = is($? >> 8, 0, "cycle $cycle: lutra state check finds the store consistent")
        or diag($check);
    my $status = stop_run($pid, $WAIT_S);
    is($status, 0, "cycle $cycle: SIGTERM stops the restart, exit 0") or diag(log_tail($log, 20));
    return !@$diff && $consistent && $status == 0 ? 1 : 0;
}

my ($survived, $at_points, $cycle) = (0, 0, 0);
while ($survived < $KILLS && seconds_left() > $CYCLE_S) {
    $cycle++;
    my ($died, $how, $log, $status) = trade_and_die($cycle);
    unless (ok($died, "cycle $cycle: lutra died of SIGKILL $how")) {
        diag('wait status ' . ($status // 'none') . "\n" . log_tail($log, 30));
        last;
    }
    last unless check_restart($cycle, $how, $log);
    $survived++;
    $at_points++ if $how =~ /^at crash point/;
}
ok($survived >= $MIN_KILLS, "survived $survived kills, at least $MIN_KILLS wanted "
                          . "(seed $SEED, " . int($SECONDS - seconds_left()) . " s)");
diag("survived $survived kills ($at_points at crash points)");
done_testing();
