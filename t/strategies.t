#!/usr/bin/env perl
# The strategies of scripts/ run by `lutra backtest` on real data from the
# shared folder, with assertions on their reports. Two of them are checked
# against an independent computation here: the SMA crossover on daily bars
# and the Donchian breakout on hourly bars give exactly the round trips their
# rule implies, entries and exits at the next bar's open (backtrader's
# default broker).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use List::Util qw(max min sum);
use Time::Local qw(timegm);
use Test::More;
use LutraTest qw(run_lutra shared_data tempdir);

my $orcl = shared_data('backtrader/orcl-1995-2014.txt');
my $nvda = shared_data('backtrader/nvda-1999-2014.txt');
my $btc_1h = shared_data('bbgo/BTCUSDT-1h-2021-Q1.csv');
my $capture = shared_data('hftbacktest/spot/btcusdt_20240808.gz');
my $scripts = "$FindBin::Bin/../scripts";
my $dir = tempdir();

# ---- Helpers ----

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# A CSV without quoted fields (the report's files and the data here): a list
# of hashes keyed by the header.
sub read_csv {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    chomp(my $head = <$fh>);
    my @cols = split /,/, $head;
    my @rows;
    while (my $line = <$fh>) {
        chomp $line;
        my %row;
        @row{@cols} = split /,/, $line, -1;
        push @rows, \%row;
    }
    return \@rows;
}

# ISO-8601 UTC (the report's times) to seconds since the epoch.
sub iso_seconds {
    my ($iso) = @_;
    my ($y, $mo, $d, $h, $mi, $s, $frac) =
        $iso =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$/ or die "bad time $iso";
    return timegm($s, $mi, $h, $d, $mo - 1, $y) + ($frac // 0);
}

# Run a strategy; returns its report (decoded report.json) and its folder.
sub backtest {
    my ($name, $script, @args) = @_;
    my $out = "$dir/$name";
    my ($rc, undef, $err) =
        run_lutra('backtest', "$scripts/$script.lua", '--quiet', '--out', $out, @args);
    is($rc, 0, "$name: lutra backtest exits 0") or diag $err;
    my $rep = -e "$out/report.json" ? decode_json(slurp("$out/report.json")) : {};
    return ($rep, $out);
}

# What every run must show: no error, the mode, orders and fills counted as
# the files list them, and trades as trades.csv has them.
sub check_report {
    my ($name, $rep, $out, $mode) = @_;
    ok(!defined $rep->{error}, "$name: no error") or diag $rep->{error};
    is($rep->{mode}, $mode, "$name: $mode mode");
    ok(($rep->{orders} // 0) > 0, "$name: sent orders ($rep->{orders})");
    ok(($rep->{fills} // 0) > 0, "$name: has fills ($rep->{fills})");
    my $fills = read_csv("$out/fills.csv");
    is(scalar @$fills, $rep->{fills}, "$name: fills.csv has every fill");
    my $trades = read_csv("$out/trades.csv");
    is(scalar @$trades, $rep->{trades}, "$name: trades.csv has every trade");
    return ($fills, $trades);
}

# The net quantity bought of a symbol after each fill, from fills.csv: the
# position the run built (holdings from before it not counted).
sub inventory_path {
    my ($fills, $symbol) = @_;
    my ($pos, @path) = (0);
    for my $f (grep { $_->{symbol} eq $symbol } @$fills) {
        $pos += ($f->{side} eq 'buy' ? 1 : -1) * $f->{qty};
        push @path, $pos;
    }
    return @path;
}

sub near { abs($_[0] - $_[1]) <= 1e-9 * max(1, abs($_[1])) }

# Bars of a Yahoo CSV (Date,Open,High,Low,Close,...) or Binance klines
# (open_time ms, open, high, low, close, ...): time (s), open, high, low,
# close as the file's decimal text.
sub read_bars {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    my @bars;
    while (my $line = <$fh>) {
        chomp $line;
        my @f = split /,/, $line;
        next unless $f[0] =~ /^\d/;
        my $t = $f[0] =~ /^(\d{4})-(\d\d)-(\d\d)$/ ? timegm(0, 0, 0, $3, $2 - 1, $1) : $f[0] / 1000;
        push @bars, { t => $t, open => $f[1], high => $f[2], low => $f[3], close => $f[4] };
    }
    return \@bars;
}

# A decimal string as an exact integer count of 10^-scale (native integers
# are exact far beyond the sums taken here).
sub scaled {
    my ($s, $scale) = @_;
    my ($int, $frac) = $s =~ /^(\d+)(?:\.(\d*))?$/ or die "bad decimal $s";
    $frac //= '';
    die "$s has more than $scale decimals" if length $frac > $scale;
    return 0 + ($int . $frac . ('0' x ($scale - length $frac)));
}

# Round trips of a long-only rule: signal(i) says 'in' or 'out' at bar i's
# close (or undef); orders fill at bar i + 1's open. Returns [entry bar,
# exit bar] pairs of closed trips.
sub long_trips {
    my ($bars, $signal) = @_;
    my ($long, $entry, @trips) = (0);
    for my $i (0 .. $#$bars - 1) {
        my $s = $signal->($i) // next;
        if ($s eq 'in' && !$long) {
            ($long, $entry) = (1, $i + 1);
        } elsif ($s eq 'out' && $long) {
            push @trips, [$entry, $i + 1];
            $long = 0;
        }
    }
    return @trips;
}

# trades.csv against the trips a rule implies: same count, each long, of qty,
# entered and left at the open of the expected bars, on the bar's time.
sub check_trips {
    my ($name, $trades, $bars, $trips, $qty) = @_;
    is(scalar @$trades, scalar @$trips, "$name: as many trades as the rule implies");
    my $bad = 0;
    for my $k (0 .. min($#$trades, $#$trips)) {
        my ($t, $e, $x) = ($trades->[$k], $bars->[$trips->[$k][0]], $bars->[$trips->[$k][1]]);
        my $ok = $t->{side} eq 'long' && near($t->{qty}, $qty) &&
                 near($t->{entry_avg_price}, $e->{open}) &&
                 near($t->{exit_avg_price}, $x->{open}) &&
                 fill_on_bar(iso_seconds($t->{entry_time}), $bars, $trips->[$k][0]) &&
                 fill_on_bar(iso_seconds($t->{exit_time}), $bars, $trips->[$k][1]);
        next if $ok;
        diag sprintf("trade %d: got %s %s %s -> %s %s; want entry %s at %s, exit %s at %s",
                     $k + 1, $t->{side}, $t->{entry_time}, $t->{entry_avg_price},
                     $t->{exit_time}, $t->{exit_avg_price}, scalar gmtime($e->{t}), $e->{open},
                     scalar gmtime($x->{t}), $x->{open}) if $bad++ < 5;
    }
    is($bad, 0, "$name: every trade enters and exits at the next bar's open");
}

# A fill at bar i's open happens within that bar: from its open time to the
# next bar's.
sub fill_on_bar {
    my ($t, $bars, $i) = @_;
    my $next = $i < $#$bars ? $bars->[$i + 1]{t} : $bars->[$i]{t} + 86400;
    return $t >= $bars->[$i]{t} && $t <= $next;
}

# ---- sma_cross: daily ORCL, a CSV imported on the fly ----

{
    my ($rep, $out) = backtest('sma_cross', 'sma_cross', '--data', $orcl, '--symbol', 'ORCL/USD',
                               '--cash', 100000, '-p', 'symbol=ORCL/USD', '-p', 'qty=100');
    my (undef, $trades) = check_report('sma_cross', $rep, $out, 'bar');
    ok($rep->{trades} > 10, "sma_cross: many round trips over 20 years ($rep->{trades})");
    is_deeply($rep->{params}, { symbol => 'ORCL/USD', fast => 10, slow => 30, qty => 100,
                                fraction => 0.95, quote => '' },
              'sma_cross: the report has the final params');

    # The crossover in exact arithmetic: the closes as integers of 1e-6,
    # fast - slow has the sign of slow * sum(fast closes) - fast * sum(slow
    # closes); a cross needs a strict change of that sign, equality carrying
    # the last side (backtrader's CrossOver).
    my $bars = read_bars($orcl);
    my @close = map { scaled($_->{close}, 6) } @$bars;
    my ($fast, $slow, $sf, $ss, $side, @signal) = (10, 30, 0, 0, 0);
    for my $i (0 .. $#close) {
        $sf += $close[$i] - ($i >= $fast ? $close[$i - $fast] : 0);
        $ss += $close[$i] - ($i >= $slow ? $close[$i - $slow] : 0);
        next if $i < $slow - 1;
        my $s = $slow * $sf <=> $fast * $ss;
        next if $s == 0;
        $signal[$i] = $s > 0 ? 'in' : 'out' if $side && $s != $side;
        $side = $s;
    }
    my @trips = long_trips($bars, sub { $signal[$_[0]] });
    check_trips('sma_cross', $trades, $bars, \@trips, 100);
}

# ---- rsi_reversion: daily ORCL ----

{
    my ($rep, $out) = backtest('rsi', 'rsi_reversion', '--data', $orcl, '--symbol', 'ORCL/USD',
                               '--cash', 100000, '-p', 'symbol=ORCL/USD', '-p', 'qty=100');
    my ($fills) = check_report('rsi_reversion', $rep, $out, 'bar');
    ok($rep->{trades} > 0, "rsi_reversion: closed round trips ($rep->{trades})");
    my @path = inventory_path($fills, 'ORCL/USD');
    ok(!grep({ $_ < 0 || $_ > 100 } @path), 'rsi_reversion: long only, one entry at a time');
}

# ---- donchian: daily ORCL, and hourly BTCUSDT klines checked bar by bar ----

{
    my ($rep, $out) = backtest('donchian', 'donchian', '--data', $orcl, '--symbol', 'ORCL/USD',
                               '--cash', 100000, '-p', 'symbol=ORCL/USD', '-p', 'qty=100');
    check_report('donchian ORCL', $rep, $out, 'bar');
    ok($rep->{trades} > 0, "donchian ORCL: closed round trips ($rep->{trades})");

    ($rep, $out) = backtest('donchian-btc', 'donchian', '--data', $btc_1h, '-p', 'qty=0.1',
                            '-p', 'entry=24', '-p', 'exit=12');
    my (undef, $trades) = check_report('donchian BTCUSDT 1h', $rep, $out, 'bar');
    my $bars = read_bars($btc_1h);
    my @trips = long_trips($bars, sub {
        my $i = shift;
        my $b = $bars->[$i];
        return 'in' if $i >= 24 && $b->{close} > max(map { $bars->[$_]{high} } $i - 24 .. $i - 1);
        return 'out' if $i >= 12 && $b->{close} < min(map { $bars->[$_]{low} } $i - 12 .. $i - 1);
        return undef;
    });
    check_trips('donchian BTCUSDT 1h', $trades, $bars, \@trips, 0.1);
}

# ---- pairs: ORCL against NVDA from 1999, imported under their names ----

{
    for (['ORCL/USD', $orcl, 'orcl'], ['NVDA/USD', $nvda, 'nvda']) {
        my ($rc, undef, $err) =
            run_lutra('import', '--quiet', '--symbol', $_->[0], $_->[1], '-o', "$dir/$_->[2].lev");
        is($rc, 0, "import $_->[0]") or diag $err;
    }
    open my $fh, '>', "$dir/margin.lua" or die;
    print $fh "return { margin = true }\n";
    close $fh;
    my @pair = ('--data', "$dir/orcl.lev", '--data', "$dir/nvda.lev", '--from', '1999-01-22',
                '-p', 'symbol_a=ORCL/USD', '-p', 'symbol_b=NVDA/USD');

    my ($rep, $out) = backtest('pairs', 'pairs', @pair, '--config', "$dir/margin.lua");
    my ($fills) = check_report('pairs', $rep, $out, 'bar');
    ok($rep->{trades} > 0, "pairs: closed round trips ($rep->{trades})");
    my %legs;
    $legs{"$_->{time} $_->{symbol}"}++ for @$fills;
    my %times = map { (split / /)[0] => 1 } keys %legs;
    is(scalar keys %legs, 2 * keys %times, 'pairs: both legs fill together, every time');
    ok((grep { $_ < 0 } inventory_path($fills, 'ORCL/USD'), inventory_path($fills, 'NVDA/USD')),
       'pairs: one leg goes short (margin)');

    ($rep, $out) = backtest('pairs-long', 'pairs', @pair, '-p', 'long_only=true');
    ($fills) = check_report('pairs long_only', $rep, $out, 'bar');
    is($rep->{rejected}, 0, 'pairs long_only: nothing refused on spot');
    ok(!grep({ $_->{symbol} ne 'ORCL/USD' } @$fills), 'pairs long_only: trades leg A only');
    ok(!grep({ $_ < 0 } inventory_path($fills, 'ORCL/USD')), 'pairs long_only: never short');
}

# ---- Tick strategies on a Binance capture ----

# The capture imported on the fly: its prices are written with 8 decimals, so
# that is the increment; fine for market orders.
my @tick = ('--data', $capture, '--balance', 'BTC=1');

# Resting quotes need the market's real tick (0.01), given at import.
my ($rc, undef, $err) = run_lutra('import', '--quiet', '--tick', '0.01', $capture,
                                  '-o', "$dir/btcusdt.lev");
is($rc, 0, 'import of the capture with --tick 0.01') or diag $err;
my @ticked = ('--data', "$dir/btcusdt.lev", '--balance', 'BTC=1');

{
    # One quote of inventory at most (the default, 5, is never reached here).
    my @mm = (@ticked, '-p', 'max_position=0.001');
    my ($rep, $out) = backtest('mm', 'market_maker', @mm);
    my ($fills) = check_report('market_maker', $rep, $out, 'tick');
    ok(!grep({ $_->{liquidity} ne 'maker' } @$fills), 'market_maker: post-only quotes only make');
    ok((grep { $_->{side} eq 'buy' } @$fills) && (grep { $_->{side} eq 'sell' } @$fills),
       'market_maker: fills on both sides');
    ok(!grep({ abs($_) > 0.001 + 1e-9 } inventory_path($fills, 'BTCUSDT')),
       'market_maker: inventory within max_position');

    # Determinism: the same run again gives the same fills, byte for byte.
    my ($again, $out2) = backtest('mm-again', 'market_maker', @mm);
    is($again->{fills_sha256}, $rep->{fills_sha256}, 'market_maker: same fills_sha256 twice');
    is(slurp("$out2/fills.csv"), slurp("$out/fills.csv"), 'market_maker: same fills.csv twice');
}

{
    my ($rep, $out) = backtest('obi', 'obi', @tick, '-p', 'cooldown_ms=5000');
    my ($fills) = check_report('obi', $rep, $out, 'tick');
    ok(!grep({ $_->{liquidity} ne 'taker' } @$fills), 'obi: market orders take');
    ok(!grep({ abs($_) > 0.005 + 1e-9 } inventory_path($fills, 'BTCUSDT')),
       'obi: inventory within max_position');
    my %first;
    $first{$_->{order_id}} //= iso_seconds($_->{time}) for @$fills;
    my @t = sort { $a <=> $b } values %first;
    ok(!grep({ $t[$_] - $t[$_ - 1] < 5 - 1e-6 } 1 .. $#t),
       'obi: orders at least the cooldown apart');
}

{
    my ($rep, $out) = backtest('grid', 'grid', @ticked);
    my ($fills) = check_report('grid', $rep, $out, 'tick');
    # Every fill of a resting grid order is at a grid price: prices differ by
    # whole steps.
    my @px = sort { $a <=> $b } map { $_->{price} } grep { $_->{liquidity} eq 'maker' } @$fills;
    my @gaps = grep { $_ > 1e-6 } map { $px[$_] - $px[$_ - 1] } 1 .. $#px;
    my $step = min(@gaps) // 0;
    ok(@px > 1 && $step > 0, "grid: resting orders filled at several prices (step $step)");
    ok(!grep({ my $n = $_ / $step; abs($n - int($n + 0.5)) > 1e-6 } @gaps),
       'grid: fill prices are whole steps apart');
    ok(!grep({ abs($_ * 100 - int($_ * 100 + 0.5)) > 1e-6 } @px), 'grid: prices on the 0.01 tick');
    my %sides = map { $_->{side} => 1 } @$fills;
    ok($sides{buy} && $sides{sell}, 'grid: fills on both sides');
}

{
    my ($rep, $out) = backtest('twap', 'twap', @tick, '-p', 'total_qty=0.01', '-p', 'slices=10',
                               '-p', 'duration_ms=300000');
    my ($fills) = check_report('twap', $rep, $out, 'tick');
    is($rep->{orders}, 10, 'twap: ten children');
    ok(near(sum(map { $_->{qty} } @$fills), 0.01), 'twap: the whole parent order filled');
    ok(!grep({ $_->{side} ne 'buy' } @$fills), 'twap: buys only');
    my $start = iso_seconds($rep->{start});
    my %first;
    $first{$_->{order_id}} //= iso_seconds($_->{time}) - $start for @$fills;
    my @t = sort { $a <=> $b } values %first;
    ok(!grep({ my $k = $_ + 1; $t[$_] < 30 * $k || $t[$_] > 30 * $k + 1 } 0 .. $#t),
       'twap: child k fills within a second after k intervals');

    # Selling through IOC limit children priced 1 bp through the touch.
    ($rep, $out) = backtest('twap-sell', 'twap', @tick, '-p', 'side=sell', '-p', 'order_type=limit',
                            '-p', 'slippage_bps=1', '-p', 'total_qty=0.05');
    ($fills) = check_report('twap sell limit', $rep, $out, 'tick');
    ok(near(sum(map { $_->{qty} } @$fills), 0.05) && !grep({ $_->{side} ne 'sell' } @$fills),
       'twap sell limit: sold the whole parent order');
}

done_testing();
