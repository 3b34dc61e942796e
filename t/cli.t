#!/usr/bin/env perl
# The lutra command's front: help, usage errors, import and inspect of the
# build's sample data, truncated and foreign files.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use Test::More;
use LutraTest qw(run_lutra build_dir tempdir);

my $dir = tempdir();
my ($rc, $out, $err);

($rc, $out) = run_lutra('--help');
is($rc, 0, 'lutra --help exits 0');
like($out, qr/^\s+import\s/m, '--help lists import');
like($out, qr/^\s+inspect\s/m, '--help lists inspect');

($rc, undef, $err) = run_lutra('frobnicate');
is($rc, 2, 'unknown command exits 2');
like($err, qr/no command 'frobnicate'/, 'and names it');

for my $c (qw(import inspect)) {
    ($rc, $out) = run_lutra($c, '--help');
    is($rc, 0, "lutra $c --help exits 0");
    like($out, qr/^usage: lutra $c/, "lutra $c --help prints usage");
}
($rc, $out) = run_lutra('help', 'import');
like($out, qr/binance-capture/, 'lutra help import lists the formats');

($rc, undef, $err) = run_lutra('import', 'x.csv');
is($rc, 2, 'import without -o is a usage error');
like($err, qr/-o OUTPUT/, 'and says what is missing');
($rc, undef, $err) = run_lutra('import', '--format', 'nope', 'x.csv', '-o', "$dir/x.lev");
is($rc, 2, 'unknown format is a usage error');
($rc, undef, $err) = run_lutra('inspect', 'x.lev', '--book-at', 'yesterday');
is($rc, 2, 'a bad --book-at time is a usage error');
like($err, qr/'yesterday': not a time/, 'and names the value');

# A CSV with a bad value: the error names file, line and column.
open my $fh, '>', "$dir/bars.csv" or die;
print $fh "Date,Open,High,Low,Close,Volume\n2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1.5,2x,1,1.2,11\n2024-01-03,1.2,1.3,1.1,1.25,12\n";
close $fh;
($rc, undef, $err) = run_lutra('import', '--quiet', "$dir/bars.csv", '-o', "$dir/bars.lev");
is($rc, 1, 'a bad row stops the import with exit 1');
like($err, qr/\Q$dir\E\/bars\.csv:3:\d+: /, 'the error names file and line');
ok(!-e "$dir/bars.lev", 'no partial output is left behind');
($rc, undef, $err) = run_lutra('import', '--skip-bad', "$dir/bars.csv", '-o', "$dir/bars.lev");
is($rc, 0, '--skip-bad imports the rest');
like($err, qr/1 bad rows skipped/, 'and counts the skipped row');
($rc, $out) = run_lutra('inspect', '--json', "$dir/bars.lev");
is($rc, 0, 'inspect --json of bars exits 0');
my $j = decode_json($out);
is($j->{instruments}[0]{counts}{bar}, 2, 'two bars imported');

# The build's own sample capture.
my $sample = build_dir() . '/sample/btcusdt-sample.capture.gz';
SKIP: {
    skip "sample data not built ($sample)", 9 unless -e $sample;
    ($rc, undef, $err) = run_lutra('import', $sample, '-o', "$dir/s.lev");
    is($rc, 0, 'import of the sample capture exits 0') or diag $err;
    like($err, qr/0 sequence gaps/, 'no sequence gap in the sample');
    ($rc, $out) = run_lutra('inspect', '--json', "$dir/s.lev");
    $j = decode_json($out);
    my $inst = $j->{instruments}[0];
    is($inst->{symbol}, 'BTCUSDT', 'instrument BTCUSDT');
    ok($inst->{counts}{book_delta} > 10000 && $inst->{counts}{trade} > 1000,
       'deltas and trades present');
    is($inst->{crossed}, 0, 'the book is never crossed at a message end');
    ok($inst->{book}{synced}, 'the book is synced at the end');
    my $mid = int(($j->{first} + $j->{last}) / 2);
    ($rc, $out) = run_lutra('inspect', "$dir/s.lev", '--book-at', $mid, '--depth', 3, '--json');
    my $b = decode_json($out);
    is(scalar @{$b->{bids}}, 3, '--depth 3 gives 3 bid levels');
    ok($b->{bids}[0][0] < $b->{asks}[0][0], 'best bid below best ask');

    # Cut the file inside its last record: inspect reads what is whole.
    my $size = -s "$dir/s.lev";
    truncate("$dir/s.lev", $size - 7) or die;
    ($rc, $out) = run_lutra('inspect', '--json', "$dir/s.lev");
    $j = decode_json($out);
    ok($j->{files}[0]{truncated_bytes} > 0, 'a cut-off file is reported as truncated');
}

# lutra run refuses a bad configuration before connecting, naming the key.
open $fh, '>', "$dir/bad.lua" or die;
print $fh "return { mode = 'live', risk = { max_ordr_notional = 5 } }\n";
close $fh;
($rc, undef, $err) = run_lutra('run', '--config', "$dir/bad.lua");
is($rc, 1, 'lutra run with an unknown key exits 1');
like($err, qr/unknown key 'risk\.max_ordr_notional' \(did you mean max_order_notional\?\)/,
     'and names the key');
($rc, $out) = run_lutra('run', '--help');
is($rc, 0, 'lutra run --help exits 0');

# Not an event file.
open $fh, '>', "$dir/not.lev" or die;
print $fh "hello, this is not an event file at all, but long enough to have a header.\n" x 20;
close $fh;
($rc, undef, $err) = run_lutra('inspect', "$dir/not.lev");
is($rc, 1, 'inspect of a foreign file exits 1');
like($err, qr/not a lutra event file/, 'and says so');

done_testing();
