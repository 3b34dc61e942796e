#!/usr/bin/env perl
# `lutra backtest` as a user runs it: its errors, bar-mode timing, a failing
# strategy, determinism and the HTML page. Uses only data made here and the
# build's sample data.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use Test::More;
use LutraTest qw(run_lutra build_dir tempdir);

my $dir = tempdir();
my $t = "$FindBin::Bin/strategies";
my $scripts = "$FindBin::Bin/../scripts";
my ($rc, $out, $err);

sub slurp { open my $f, '<', $_[0] or die "$_[0]: $!"; local $/; scalar <$f> }
sub spit { open my $f, '>', $_[0] or die "$_[0]: $!"; print $f $_[1]; close $f }

# Five daily bars with known opens.
spit("$dir/bars.csv", join '', "Date,Open,High,Low,Close,Volume\n",
     "2024-01-01,10,11,9,10.5,100\n", "2024-01-02,10.6,12,10,11.5,100\n",
     "2024-01-03,11.4,13,11,12.5,100\n", "2024-01-04,12.6,13,12,12.8,100\n",
     "2024-01-05,12.7,13.5,12.1,13,100\n");
my @common = ('--data', "$dir/bars.csv", '--symbol', 'TEST/USD', '--quiet');

($rc, $out) = run_lutra('backtest', '--help');
is($rc, 0, 'backtest --help exits 0');
like($out, qr/^usage: lutra backtest STRATEGY\.lua --data FILE/, 'and prints the usage');

($rc, undef, $err) = run_lutra('backtest', "$scripts/sma_cross.lua");
is($rc, 2, 'no --data is a usage error');
like($err, qr/no market data/, 'and says so');

($rc, undef, $err) = run_lutra('backtest', "$dir/nope.lua", @common, '--out', "$dir/o0");
is($rc, 1, 'a missing strategy file exits 1');
like($err, qr/nope\.lua: No such file/, 'and names it');

($rc, undef, $err) = run_lutra('backtest', "$scripts/sma_cross.lua", '--data', "$dir/none.csv",
                               '--out', "$dir/o1");
is($rc, 1, 'a missing data file exits 1');
like($err, qr/none\.csv: No such file/, 'and names it');

spit("$dir/mystery.txt", "hello\nworld\n");
($rc, undef, $err) = run_lutra('backtest', "$scripts/sma_cross.lua", '--data', "$dir/mystery.txt",
                               '--out', "$dir/o2");
is($rc, 1, 'data of an unknown format exits 1');
like($err, qr/cannot tell the format/, 'and says so');

($rc, undef, $err) = run_lutra('backtest', "$t/syntax_error.lua", @common, '--out', "$dir/o3");
is($rc, 1, 'a strategy that does not compile exits 1');
like($err, qr/syntax_error\.lua:\d+:/, 'with the Lua error and its line');

($rc, undef, $err) = run_lutra('backtest', "$t/no_handler.lua", @common, '--out', "$dir/o4");
is($rc, 1, 'a strategy without handlers exits 1');
like($err, qr/defines no handler/, 'and says so');

($rc, undef, $err) = run_lutra('backtest', "$scripts/sma_cross.lua", @common, '-p',
                               'symbol=ETHUSDT', '--out', "$dir/o5");
is($rc, 1, 'a symbol the data does not have exits 1');
like($err, qr/symbol ETHUSDT is not in the data \(it has: TEST\/USD\)/, 'and lists the symbols');

($rc, undef, $err) = run_lutra('backtest', "$scripts/sma_cross.lua", @common, '-p', 'nope=1',
                               '--out', "$dir/o6");
is($rc, 1, 'an unknown parameter exits 1');
like($err, qr/unknown parameter 'nope'/, 'and names it');

# Bar mode: a market order sent during bar 1 fills at bar 2's open, and the
# strategy hears of the fill before on_bar of bar 2.
($rc, undef, $err) = run_lutra('backtest', "$t/bt_order_of_events.lua", @common, '-p',
                               "log=$dir/events.log", '--out', "$dir/o7");
is($rc, 0, 'the bar-mode strategy runs') or diag $err;
my @ev = split /\n/, slurp("$dir/events.log");
like($ev[0], qr/^bar \d+ 10\.00$/, 'first comes bar 1');
my ($fill) = grep { /^fill / } @ev;
like($fill, qr/^fill \S+ 10\.60 1$/, 'the fill is at bar 2\'s open (10.60)');
my ($fill_at) = grep { $ev[$_] =~ /^fill / } 0 .. $#ev;
like($ev[$fill_at + 1] // '', qr/^bar \d+ 10\.60$/, 'and comes before on_bar of bar 2');
my $r = decode_json(slurp("$dir/o7/report.json"));
is($r->{mode}, 'bar', 'the report says bar mode');
is($r->{fills}, 1, 'one fill');
is($r->{trades}, 0, 'an open position is not a trade');

# A failing strategy: exit 1, the error with its traceback in the report,
# its open order cancelled.
($rc, undef, $err) = run_lutra('backtest', "$t/bt_fails.lua", @common, '--out', "$dir/o8");
is($rc, 1, 'a strategy error exits 1');
like($err, qr/bt_fails\.lua:11:/, 'the error names file and line');
$r = decode_json(slurp("$dir/o8/report.json"));
like($r->{error} // '', qr/bt_fails\.lua:11:.*stack traceback/s, 'report.json has the error and traceback');
my @orders = grep { /,/ } split /\n/, slurp("$dir/o8/fills.csv");
is(scalar @orders, 1, 'the resting order never filled (fills.csv has only its header)');

# Risk gates through the whole engine: ctx:buy returns nil and the gate's
# reason for an order the config refuses, an id for one it allows.
($rc, undef, $err) = run_lutra('backtest', "$t/bt_risk.lua", @common, '-p', "log=$dir/risk.log",
                               '--config', "$FindBin::Bin/configs/small_orders.lua",
                               '--out', "$dir/o12");
is($rc, 0, 'the risk strategy runs') or diag $err;
my %risk = map { /^(\S+) (\S+) (.*)$/ ? ($1 => [$2, $3]) : () } split /\n/, slurp("$dir/risk.log");
is($risk{big}[0], 'nil', 'an order above max_order_notional is refused');
like($risk{big}[1], qr/^risk: max_order: notional [\d.]+ above max_order_notional 100$/,
     'with the gate and the numbers');
like($risk{small}[0], qr/^[A-Za-z0-9_-]{1,32}$/, 'a small order gets a client order id');
like($risk{offtick}[1], qr/^risk: valid: price 10\.005 is not a multiple of the tick 0\.1$/,
     'a price off the tick (0.1, the finest the CSV uses) is refused by the valid gate');
$r = decode_json(slurp("$dir/o12/report.json"));
is($r->{rejected}, 2, 'the report counts the two refusals');

# Runaway handlers: an interpreted loop is stopped by the count hook (the
# strategy fails, exit 1); a loop the JIT compiled cannot be interrupted, so
# the watchdog thread ends the process with status 70, naming the culprit.
my @fast = ('--config', "$FindBin::Bin/configs/fast_watchdog.lua");
($rc, undef, $err) = run_lutra('backtest', "$t/runaway.lua", @common, @fast, '--out', "$dir/o9");
is($rc, 1, 'an interpreted runaway handler fails its strategy (exit 1)');
like($err, qr/handler on_bar of strategy runaway ran longer than 200 ms/, 'naming strategy and handler');
($rc, undef, $err) = run_lutra('backtest', "$t/bt_jit_loop.lua", @common, @fast, '--out', "$dir/o10");
is($rc, 70, 'a compiled runaway loop ends the process with status 70');
like($err, qr/watchdog: handler on_bar of strategy bt_jit_loop has run for more than 300 ms/,
     'and the watchdog names strategy and handler');

# Determinism and the page, on the build's sample data (tick mode).
my $sample = build_dir() . '/sample/btcusdt-sample.lev';
SKIP: {
    skip "sample data not built ($sample)", 7 unless -e $sample;
    my @run = ('backtest', "$scripts/grid.lua", '--data', $sample, '--balance', 'BTC=0.1', '--quiet');
    ($rc, undef, $err) = run_lutra(@run, '--out', "$dir/g1");
    is($rc, 0, 'grid on the sample runs') or diag $err;
    ($rc) = run_lutra(@run, '--out', "$dir/g2");
    my ($a, $b) = map { decode_json(slurp("$dir/$_/report.json")) } qw(g1 g2);
    ok($a->{fills} > 0, "it trades ($a->{fills} fills)");
    is($a->{fills_sha256}, $b->{fills_sha256}, 'the same run twice gives the same fills_sha256');
    delete @$_{qw(wall_seconds events_per_sec)} for $a, $b;
    is_deeply($a, $b, 'and the same report but for wall time and speed');
    is($a->{mode}, 'tick', 'tick mode');
    my $html = slurp("$dir/g1/report.html");
    ok($html =~ /<svg/ && $html =~ /<\/html>\s*$/, 'report.html has its curves and ends whole');
    ok($html !~ m{https?://|\bsrc=|\@import|url\(}i, 'report.html loads nothing from outside');
}

# ctx:subscribe{bars="1m"}: bars built from trades, delivered when they
# close, equal to one-minute OHLCV computed here from the capture's trades.
my $capture = build_dir() . '/sample/btcusdt-sample.capture.gz';
SKIP: {
    skip "sample data not built ($capture)", 4 unless -e $capture && -e $sample;
    ($rc, undef, $err) = run_lutra('backtest', "$t/bt_bars_from_trades.lua", '--data', $sample,
                                   '-p', "log=$dir/bars.log", '--quiet', '--out', "$dir/o11");
    is($rc, 0, 'a strategy subscribing to 1m bars runs') or diag $err;
    my %want;    # minute -> [open, high, low, close, volume], in 1e-8 units
    open my $fh, '-|', 'gzip', '-dc', $capture or die;
    while (my $line = <$fh>) {
        next unless $line =~ /^(\d+) \{"stream":"\w+\@trade".*"p":"([\d.]+)","q":"([\d.]+)"/;
        my ($ns, $p, $q) = ($1, $2, $3);
        my $min = do { use integer; $ns / 60_000_000_000 };
        ($p, $q) = map { my ($i, $f) = split /\./; $i * 100_000_000 + $f } $p, $q;
        my $b = $want{$min} //= [$p, $p, $p, $p, 0];
        $b->[1] = $p if $p > $b->[1];
        $b->[2] = $p if $p < $b->[2];
        $b->[3] = $p;
        $b->[4] += $q;
    }
    my @got = map { [split / /] } split /\n/, slurp("$dir/bars.log");
    my @mins = sort { $a <=> $b } keys %want;
    pop @mins;    # the last minute never closes before the data ends
    is(scalar @got, scalar @mins, 'one bar per minute that had trades and closed');
    my ($late, $bad) = (0, 0);
    for my $i (0 .. $#got) {
        my ($ts, $now, @ohlcv) = @{$got[$i]};
        $late++ if $now != $ts + 60_000;
        my @w = map { sprintf '%d.%08d', $_ / 100_000_000, $_ % 100_000_000 } @{$want{$mins[$i]} // []};
        $bad++ unless $ts == $mins[$i] * 60_000 && "@ohlcv" eq "@w";
    }
    is($late, 0, 'each bar reaches the strategy exactly at its close');
    is($bad, 0, 'open, high, low, close and volume equal the trades of each minute');
}

done_testing();
