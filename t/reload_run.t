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
use lib 't/lib';
use LutraTest qw(tempdir slurp write_file wait_for start_quiet_mock mock_venue_lua start_run
                 stop_run);

my $WAIT_S = 20;

my $dir = tempdir();
my ($rest, $ws) = start_quiet_mock($dir);

# Replace a file the way editors save: a new one renamed over it.
sub replace_file {
    my ($path, $text) = @_;
    write_file("$path.new", $text);
    rename "$path.new", $path or die "rename $path.new: $!";
}

my $probe = slurp('t/strategies/reload_probe.lua');
$probe =~ s/\A[^\n]*\n//;
sub script { replace_file("$dir/probe.lua", "$_[0]\n$probe") }

sub config {
    my ($tag) = @_;
    my $venue = mock_venue_lua($dir, $rest, $ws);
    replace_file("$dir/live.lua", <<"LUA");
return { mode = 'live', cancel_on_stop = true, state_dir = '$dir/state',
  venues = { $venue },
  strategies = { { name = 'probe', script = '$dir/probe.lua', venue = 'binance',
                   params = { log = '$dir/probe.log', tag = '$tag', trade_every = 1000 } } } }
LUA
}

plan tests => 8;

script('local VERSION, BELOW = 1, 2000');
config('a');
my ($pid, $log) = start_run("$dir/live.lua");
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

is(stop_run($pid, $WAIT_S), 0, 'SIGTERM stops it cleanly');
like(slurp("$dir/probe.log"), qr/^stop 2 books=\d+ trades=\d+ reloads=2$/m,
     'on_stop ran in the reloaded instance, ctx.state counting the 2 reloads');
