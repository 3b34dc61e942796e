#!/usr/bin/env perl
# t/reload_run.t -- hot reload through `lutra run` (docs/hot-reload.md), against
# the mock Binance exchange program: SIGHUP reads the configuration file
# again and reloads the strategy with its new params; saving the strategy's
# file reloads it; a broken file is refused with file and line while the
# running version goes on; SIGTERM still stops cleanly. (The reloads under
# load, counted, are t/reload_strategy.c.)
# Every wait is bounded; the mock and lutra are stopped.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use LutraTest qw(lutra_bin tempdir slurp wait_for start_mock_binance mock_http);

my $KEY = 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
my $SECRET = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';
my $WAIT_S = 20;

my $dir = tempdir();
my (undef, $rest, $ws) = start_mock_binance($dir, '--quiet-book');
mock_http($rest, 'POST', '/mock/level', query => "symbol=BTCUSDT&side=$_->[0]&price=$_->[1]&qty=1")
    for ['bid', '59999'], ['ask', '60001'];
for my $f (['key', $KEY], ['secret', $SECRET]) {
    open my $o, '>', "$dir/$f->[0]" or die;
    print $o "$f->[1]\n";
    close $o;
    chmod 0600, "$dir/$f->[0]";
}

# Replace a file the way editors save: a new one renamed over it.
sub replace_file {
    my ($path, $text) = @_;
    open my $o, '>', "$path.new" or die;
    print $o $text;
    close $o or die;
    rename "$path.new", $path or die;
}

my $probe = slurp('t/strategies/reload_probe.lua');
$probe =~ s/\A[^\n]*\n//;
sub script { replace_file("$dir/probe.lua", "$_[0]\n$probe") }

sub config {
    my ($tag) = @_;
    replace_file("$dir/live.lua", <<"LUA");
return { mode = 'live', cancel_on_stop = true, state_dir = '$dir/state',
  venues = { binance = { connector = 'binance',
    rest_url = 'http://127.0.0.1:$rest', ws_url = 'ws://127.0.0.1:$ws',
    api_key = { file = '$dir/key' }, api_secret = { file = '$dir/secret' },
    symbols = { 'BTCUSDT' } } },
  strategies = { { name = 'probe', script = '$dir/probe.lua', venue = 'binance',
                   params = { log = '$dir/probe.log', tag = '$tag', trade_every = 1000 } } } }
LUA
}

plan tests => 8;

script('local VERSION, BELOW = 1, 2000');
config('a');
my $log = "$dir/run.log";
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', "$dir/run.out" or die;
    open STDERR, '>', $log or die;
    exec lutra_bin(), 'run', '--config', "$dir/live.lua" or die "exec: $!";
}
ok(wait_for("$dir/probe.log", qr/^start 0$/m, $WAIT_S), 'the strategy started')
    or diag(slurp($log));

config('b');
kill 'HUP', $pid;
ok(wait_for("$dir/probe.log", qr/^reload 1 version=1 tag=b /m, $WAIT_S),
   'SIGHUP: the strategy reloaded with the param changed in the configuration')
    or diag(slurp($log));
like(slurp($log), qr/configuration changed.*key=strategies\.probe\.params/,
     'SIGHUP: the change is logged');

script('local VERSION, BELOW = 2, 2500');
ok(wait_for("$dir/probe.log", qr/^reload 2 version=2 tag=b below=2500 /m, $WAIT_S),
   "saving the file reloads it: the new code, the file's new param, the config's kept")
    or diag(slurp($log));

script('local VERSION, BELOW = = 3');
ok(wait_for($log, qr/(strategy reload failed.*probe\.lua:1:.*)/, $WAIT_S),
   'a broken file is refused, naming file and line') or diag(slurp($log));
my $mark = length slurp("$dir/probe.log");
ok(wait_for("$dir/probe.log", qr/\A.{$mark}.*^timer 2$/ms, $WAIT_S),
   'the running version goes on');

kill 'TERM', $pid;
my $status = -1;
for (my $end = time + $WAIT_S; time < $end; sleep 0.05) {
    if (waitpid($pid, 1) == $pid) { $status = $? >> 8; last }
}
if ($status < 0) { kill 'KILL', $pid; waitpid($pid, 0) }
is($status, 0, 'SIGTERM stops it cleanly');
like(slurp("$dir/probe.log"), qr/^stop 2 books=\d+ trades=\d+ reloads=2$/m,
     'on_stop ran in the reloaded instance, ctx.state counting the 2 reloads');
