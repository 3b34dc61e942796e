#!/usr/bin/env perl
# The order book lutra builds from real Binance captures, checked against an
# independent reference: this script applies Binance's documented local order
# book algorithm itself (Perl hashes, JSON::PP) and compares the top levels
# with `lutra inspect --book-at` at several moments of each capture.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use Test::More;
use LutraTest qw(run_lutra shared_data tempdir);

my $DEPTH = 10;
my $MOMENTS = 6;

sub norm {    # "61837.63000000" -> "61837.63", "2.00" -> "2"
    my ($s) = @_;
    $s =~ s/(\.\d*?)0+$/$1/ if $s =~ /\./;
    $s =~ s/\.$//;
    return $s;
}

sub top {
    my ($side, $desc) = @_;
    my @p = sort { $desc ? $b <=> $a : $a <=> $b } keys %$side;
    splice(@p, $DEPTH) if @p > $DEPTH;
    return [map { [$_, $side->{$_}] } @p];
}

# Replays the capture's depth stream; returns { time => {bids, asks} }.
sub reference {
    my ($path, $usdm, @times) = @_;
    my (%bid, %ask, @buffer, $last_u, %at);
    my $synced = 0;
    my $apply = sub {
        my ($d) = @_;
        for my $pair ([\%bid, $d->{b}], [\%ask, $d->{a}]) {
            my ($book, $levels) = @$pair;
            for my $l (@$levels) {
                my ($p, $q) = (norm($l->[0]), norm($l->[1]));
                if ($q eq '0') { delete $book->{$p} } else { $book->{$p} = $q }
            }
        }
        $last_u = $d->{u};
    };
    open my $fh, '-|', 'gzip', '-dc', $path or die "gzip: $!";
    while (my $line = <$fh>) {
        my ($ns, $json) = split / /, $line, 2;
        while (@times && $ns > $times[0]) {
            my $t = shift @times;
            $at{$t} = { synced => $synced, bids => top(\%bid, 1), asks => top(\%ask, 0) };
        }
        if ($json =~ /^\{"lastUpdateId"/) {
            my $s = decode_json($json);
            my $L = $s->{lastUpdateId};
            %bid = map { (norm($_->[0]) => norm($_->[1])) } @{$s->{bids}};
            %ask = map { (norm($_->[0]) => norm($_->[1])) } @{$s->{asks}};
            delete $bid{$_} for grep { $bid{$_} eq '0' } keys %bid;
            delete $ask{$_} for grep { $ask{$_} eq '0' } keys %ask;
            $last_u = undef;
            for my $d (grep { $_->{u} > $L } @buffer) {
                if (!defined $last_u) {
                    my $ok = $usdm ? ($d->{U} <= $L && $d->{u} >= $L)
                                   : ($d->{U} <= $L + 1 && $d->{u} >= $L + 1);
                    die "first diff does not straddle the snapshot" unless $ok;
                }
                $apply->($d);
            }
            $last_u //= $L;
            $synced = 1;
            @buffer = ();
        } elsif ($json =~ /"e":"depthUpdate"/) {
            my $d = decode_json($json)->{data};
            if (!$synced) { push @buffer, $d; next; }
            my $continues = $usdm ? $d->{pu} == $last_u : $d->{U} == $last_u + 1;
            die "gap in the capture at u=$d->{u}" unless $continues;
            $apply->($d);
        }
    }
    for my $t (@times) {
        $at{$t} = { synced => $synced, bids => top(\%bid, 1), asks => top(\%ask, 0) };
    }
    return \%at;
}

sub span {
    my ($path) = @_;
    open my $fh, '-|', 'gzip', '-dc', $path or die;
    my ($first, $last);
    while (my $line = <$fh>) {
        my ($ns) = $line =~ /^(\d+)/;
        $first //= $ns;
        $last = $ns;
    }
    return ($first, $last);
}

my $dir = tempdir();
for my $case (['spot', 'hftbacktest/spot/btcusdt_20240808.gz', 0],
              ['usdm', 'hftbacktest/usdm/btcusdt_20240808.gz', 1]) {
    my ($name, $rel, $usdm) = @$case;
    my $path = shared_data($rel);
    my ($rc, $out, $err) = run_lutra('import', '--quiet', $path, '-o', "$dir/$name.lev");
    is($rc, 0, "$name: import exits 0") or diag $err;

    # Moments spread over the capture, after the first minute (the snapshot
    # arrives in its first seconds).
    my ($first, $last) = span($path);
    # Integer arithmetic: ns times do not fit a double exactly.
    my @times = do {
        use integer;
        my $skip = 60_000_000_000;
        map { $first + $skip + ($last - $first - $skip) / $MOMENTS * $_ } 0 .. $MOMENTS - 1;
    };
    my $ref = reference($path, $usdm, @times);
    ($rc, $out, $err) = run_lutra('inspect', "$dir/$name.lev", '--depth', $DEPTH, '--json',
                                  map { ('--book-at', $_) } @times);
    is($rc, 0, "$name: inspect --book-at exits 0") or diag $err;
    my @lines = map { decode_json($_) } split /\n/, $out;
    is(scalar @lines, $MOMENTS, "$name: one line per moment (one symbol)");
    for my $l (@lines) {
        my $want = $ref->{$l->{ts}};
        ok($l->{synced} && $want->{synced}, "$name at $l->{ts}: synced");
        my $got = { bids => [map { [norm($_->[0]), norm($_->[1])] } @{$l->{bids}}],
                    asks => [map { [norm($_->[0]), norm($_->[1])] } @{$l->{asks}}] };
        is_deeply($got, { bids => $want->{bids}, asks => $want->{asks} },
                  "$name at $l->{ts}: top $DEPTH levels equal the reference");
    }
}
done_testing();
