#!/usr/bin/env perl
# paper_replay.t -- a paper session replayed through `lutra backtest` makes
# the same decisions (issue 4).
#
# The mock Binance exchange replays the shared BTCUSDT capture; `lutra run`
# trades it on paper with t/strategies/paper_replay.lua and records what it
# receives (--record); `lutra import` and `lutra backtest` run the same
# strategy, config and seed on that recording, as docs/record.md says (the
# venue's increments, the message the connector refused skipped as it was
# live). The strategy logs every decision (orders and
# cancels, with their side, price, quantity and time), every order report
# and fill, and every timer it fires: the two logs must be the same line for
# line up to the moment the session was stopped (SIGTERM, and its stop
# cancels orders; the replay stops at the end of the data: no longer the
# same inputs), or the recording's last message if it came earlier. Twice:
# latency 0, then seeded random order and response latencies.
# Each session runs until it has made enough decisions and fills that the
# comparison cannot pass vacuously, bounded by a deadline.
use strict;
use warnings;
use File::Basename qw(dirname);
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Uncompress::Gunzip ();
use List::Util qw(min);
use Test::More;
use Time::HiRes qw(sleep time);
use LutraTest qw(lutra_bin run_lutra shared_data tempdir slurp write_file start_mock_binance
                 mock_venue_lua start_run exit_status stop_run);

my $capture  = shared_data('hftbacktest/spot/btcusdt_20240808.gz');
my $strategy = 't/strategies/paper_replay.lua';
my $mock_bin = dirname(lutra_bin()) . '/t/mock_binance/mock_binance'; # the same build's
my $dir      = tempdir();
my $deadline_s = 30;
# What a session must reach before it is stopped (and the comparison must
# hold over): decisions, fills, cancels, timers fired.
my %want = (decide => 12, fill => 8, cancel => 2, resume => 2);

plan tests => 2 + 2 * 9;
ok(-x $mock_bin, "the mock exchange is built ($mock_bin)") or BAIL_OUT('no mock exchange');
ok(-x lutra_bin(), 'lutra is built') or BAIL_OUT('no lutra');

# ---- the mock exchange, replaying the capture 3 times as fast ----

my (undef, $rest, $ws) = start_mock_binance($dir, '--data', $capture, '--speed', '3');

session('latency 0', '');
session('seeded latencies',
        "latency = { order = { dist = 'normal', mean = 20, sd = 8 },\n"
      . "            response = { dist = 'exponential', mean = 10 } },\n");

# ---- one session and its replay ----

sub session {
    my ($name, $latency) = @_;
    my $sub = tempdir();
    my ($config, $rec) = ("$sub/paper.lua", "$sub/rec.gz");
    my $venue = mock_venue_lua($sub, $rest, $ws, keys => 0);

    write_file($config, <<"LUA");
return { mode = 'paper', cancel_on_stop = true, cash = 100000, balances = { BTC = 1 },
  state_dir = '$sub/state',
  seed = 7, fees = { maker = 1, taker = 4 }, queue_model = 'optimistic',
  $latency  risk = { max_open_orders = 10, orders_per_second = 1000 },
  venues = { $venue },
  strategies = { { name = 'mm', script = '$strategy', venue = 'binance' } } }
LUA
    my ($status, $paper_log) = run_paper($config, $rec);
    is($status, 0, "$name: lutra run --record exits 0 on SIGTERM");
    like($paper_log, qr/msg="paper clock" late_messages=0\b/,
         "$name: no message came after the paper clock had passed it");

    # The increments the session had from exchangeInfo (the mock's), which
    # the recording does not hold; a message the connector refused live (the
    # capture has quantities finer than the lot) is skipped here too.
    my ($im_status, undef, $im_log) = run_lutra('import', $rec, '--tick', '0.01', '--lot',
                                                '0.00001', '--skip-bad', '--quiet', '-o',
                                                "$sub/rec.lev");
    my ($bt_status, undef, $bt_log) = run_lutra('backtest', $strategy, '--data',
                                                "$sub/rec.lev", '--config', $config,
                                                '--out', "$sub/report", '--quiet');
    ok($im_status == 0 && $bt_status == 0,
       "$name: lutra import and lutra backtest replay the recording")
        or diag($im_log, $bt_log);

    my $last_ns = last_receive_ns($rec);
    my ($stop_ns) = map { ms_to_ns($_) } $paper_log =~ /\bmsg=stop at=(\d+\.\d{6})/;
    ok($last_ns && $stop_ns, "$name: the recording has messages, the session stopped");
    my $end_ns = min($last_ns, $stop_ns // $last_ns);
    my @paper = decisions($paper_log, $end_ns);
    my @replay = decisions($bt_log, $end_ns);
    my %n = counts(@paper);
    note(sprintf "%s: %d lines compared: %s", $name, scalar @paper,
         join(' ', map { "$_=$n{$_}" } sort keys %n));
    for my $kind (sort keys %want) {
        ok(($n{$kind} // 0) >= $want{$kind},
           "$name: at least $want{$kind} $kind lines before the stop");
    }
    is_deeply(\@replay, \@paper, "$name: the replay decides what the paper session decided");
}

# lutra run on paper with --record until the strategy has done enough, then
# SIGTERM. @return (exit status, stderr).
sub run_paper {
    my ($config, $rec) = @_;
    my ($pid, $err) = start_run($config, log => "$config.err", args => ['--record', $rec]);
    for (my $end = time + $deadline_s; time < $end && !defined exit_status($pid); sleep 0.1) {
        my %n = counts(decisions(slurp($err), undef));
        # A margin: the lines of the last moments are not compared.
        last unless grep { ($n{$_} // 0) < $want{$_} + 2 } keys %want;
    }
    my $wait = exit_status($pid) // stop_run($pid);
    my $status = $wait & 127 ? 128 + ($wait & 127) : $wait >> 8;
    return ($status, slurp($err));
}

# The strategy's lines (the text after msg=), and when $end_ns is given,
# only those of moments before it: the last moment compared is one that both
# runs finished. Times are ms with 6 decimals: cut 1 us early, the same on
# both sides, so that rounding cannot split a moment.
sub decisions {
    my ($log, $end_ns) = @_;
    my @out;
    for my $line (split /\n/, $log) {
        my ($msg, $at) = $line =~ /\bmsg=((?:decide|cancel|order|fill|resume) .*\bat=(\d+\.\d{6}).*)$/
            or next;
        next if defined $end_ns && ms_to_ns($at) >= $end_ns - 1000;
        push @out, $msg;
    }
    return @out;
}

# "1723161254087.891268" (ms) -> 1723161254087891268 (ns), in integers.
sub ms_to_ns {
    my ($ms, $frac) = split /\./, $_[0];
    return $ms * 1_000_000 + $frac;
}

sub counts {
    my %n;
    $n{(split / /, $_)[0]}++ for @_;
    return %n;
}

# The receive time (ns) of a capture's last line.
sub last_receive_ns {
    my ($path) = @_;
    my $z = IO::Uncompress::Gunzip->new($path) or return 0;
    my $last = 0;
    while (my $line = <$z>) {
        $last = $1 if $line =~ /^(\d+) /;
    }
    return $last;
}
