#!/usr/bin/env perl
# t/reload_plugin.t -- connector reload and the control socket, end to end:
# `lutra run` with the Binance connector against the mock exchange, a
# strategy placing and cancelling orders all along
# (t/strategies/reload_trader.lua), and `lutra ctl` (docs/ctl.md,
# docs/hot-reload.md):
#
#   A  status: the venue ready, the connector's version, the strategy.
#   B  reload-plugin with the connector built again under another version
#      (build/t/fixtures/binance_reload.so), the mock answering REST 200 ms
#      late until the held orders go out, so that the swap takes a while:
#      the new version runs, orders made meanwhile waited and went out, the
#      venue was reconciled.
#   C  a .so built for another ABI: refused, nothing changes.
#   D  a .so that will not start: refused, the previous connector (the
#      reloaded version) runs again, its reason reported.
#   E  after all that: the mock's open orders are the store's, every order
#      the strategy placed reached the mock once, none was rejected.
#   F  lutra ctl: a bad command, a venue or strategy that does not exist,
#      --help, a socket nobody serves; reload-config and reload NAME.
#   G  SIGHUP reloads a connector whose file changed: the first build again.
#   H  the mock silent during a reload: after 5 s the orders that waited are
#      rejected with the reason, the venue's real state told; once the mock
#      answers again the new connector gets ready and the venue reconciled.
# Every wait is bounded; the mock and lutra are stopped at the end.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Copy qw(copy);
use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use LutraTest qw(lutra_bin tempdir slurp write_file wait_for mock_http start_quiet_mock
                 mock_venue_lua run_lutra start_run stop_run);

my $WAIT_S = 20;
my $build = dirname(lutra_bin());

my $dir = tempdir();
my ($rest, $ws) = start_quiet_mock($dir);

# The venue's connector is a file of ours, replaced the way a deploy does:
# a new file renamed over the old one.
sub deploy {
    my ($src) = @_;
    copy($src, "$dir/deploy.tmp") or die "copy $src: $!";
    rename("$dir/deploy.tmp", "$dir/binance.so") or die "rename: $!";
}
deploy("$build/plugins/binance.so");

my $venue = mock_venue_lua($dir, $rest, $ws, connector => "$dir/binance.so");
my $config = write_file("$dir/live.lua", <<"LUA");
return { mode = 'live', cancel_on_stop = false, state_dir = '$dir/state',
  log = { level = 'info' },
  venues = { $venue },
  strategies = { { name = 'trader', script = 't/strategies/reload_trader.lua', venue = 'binance',
                   params = { total = 80 } } } }
LUA

my ($pid, $log) = start_run($config);
# RELOAD_PLUGIN_LOG=FILE keeps lutra's log, to read after a failure.
END { copy($log, $ENV{RELOAD_PLUGIN_LOG}) if $log && $ENV{RELOAD_PLUGIN_LOG}; }

sub ctl { return run_lutra('ctl', '--config', $config, @_) }

sub ctl_json {
    my ($status, $out) = ctl(@_);
    my $json = eval { JSON::PP::decode_json($out) } // {};
    return ($status, $json);
}

sub venue_status {
    my (undef, $st) = ctl_json('status');
    return ($st->{venues} // [{}])->[0];
}

sub count_of {
    my ($re) = @_;
    my @all = slurp($log) =~ /$re/g;
    return scalar @all;
}

# Wait until the count of $re in the log reaches $n.
sub wait_count {
    my ($re, $n) = @_;
    for (my $end = time + $WAIT_S; time < $end; sleep 0.05) {
        return 1 if count_of($re) >= $n;
    }
    return 0;
}

sub wait_reloaded {
    for (my $end = time + $WAIT_S; time < $end; sleep 0.1) {
        my $v = venue_status();
        return $v if defined $v->{reloading} && !$v->{reloading} && $v->{state} eq 'ready';
    }
    return venue_status();
}

plan tests => 45;

# ---- A: status ----
ok(wait_count(qr/reload-trader order \S+ new/, 3), 'A: the strategy has orders resting')
    or diag(slurp($log));
my ($rc, $st) = ctl_json('status');
is($rc, 0, 'A: lutra ctl status exits 0');
my $v = $st->{venues}[0] // {};
my ($lutra_version) = (run_lutra('--version'))[1] =~ /lutra (\S+)/;
is_deeply([@$v{qw(name state connector version)}], ['binance', 'ready', 'binance', $lutra_version],
          "A: the venue is ready, its connector binance $lutra_version");
is($st->{strategies}[0]{name} . ' ' . $st->{strategies}[0]{state}, 'trader running',
   'A: the strategy runs');
ok(-S "$dir/state/ctl.sock" && ((stat "$dir/state/ctl.sock")[2] & 0777) == 0600,
   'A: the socket is <state_dir>/ctl.sock, mode 0600');

# ---- B: reload the connector, built again under another version ----
mock_http($rest, 'POST', '/mock/fault', query => 'kind=delay&value=200');
deploy("$build/t/fixtures/binance_reload.so");
my ($out, $err);
($rc, $out, $err) = ctl('reload-plugin', 'binance');
is($rc, 0, 'B: reload-plugin binance exits 0') or diag("$out$err");
like($out, qr/"ok":true.*replaced by \Q$lutra_version\E-reload/, "B: the answer names the new version");
wait_for($log, qr/held orders go out/, $WAIT_S);
mock_http($rest, 'POST', '/mock/fault', query => 'kind=clear');
$v = wait_reloaded();
is($v->{version}, "$lutra_version-reload", 'B: lutra ctl status shows the new version');
like(slurp($log), qr/connector reloaded"? venue=binance from=\Q$lutra_version\E version=\Q$lutra_version\E-reload/,
     'B: the log says which version replaced which');
ok(count_of(qr/connector reload complete"? venue=binance/) >= 1, 'B: the reload completed');
ok(count_of(qr/venue reconciled"? venue=binance/) >= 2,
   'B: the venue was reconciled again, as after a restart');
ok(count_of(qr/order waits for the reloaded connector"? venue=binance/) >= 1,
   'B: orders made during the swap waited for the new connector');
like(slurp($log), qr/held orders go out"? venue=binance/, 'B: ... and went out through it');

# ---- C: a wrong ABI changes nothing ----
deploy("$build/t/fixtures/bad_abi.so");
($rc, $out, $err) = ctl('reload-plugin', 'binance');
is($rc, 1, 'C: a .so of another ABI: exit 1');
like($err, qr/ABI version 999.*version 1.*the running connector \(\Q$lutra_version\E-reload\) stays/,
     'C: the reason, and that the running connector stays');
like($out, qr/^\{"ok":false,"error":/, 'C: the answer is {"ok":false,"error":...}');
$v = venue_status();
ok($v->{version} eq "$lutra_version-reload" && !$v->{reloading} && $v->{state} eq 'ready',
   'C: the reloaded version still runs, ready');

# ---- D: a .so that will not start gives way to the previous image ----
deploy("$build/t/fixtures/start_fails.so");
($rc, $out, $err) = ctl('reload-plugin', 'binance');
is($rc, 1, 'D: a .so that fails to start: exit 1');
like($err, qr/did not start: .*never starts \(a test fixture\).*the previous one \(\Q$lutra_version\E-reload\) runs again/,
     'D: its reason, and that the previous connector runs again');
$v = wait_reloaded();
ok($v->{version} eq "$lutra_version-reload" && $v->{state} eq 'ready',
   "D: the previous connector ($lutra_version-reload) is back, ready");
ok(wait_count(qr/connector reload complete"? venue=binance/, 2), 'D: and reconciled');
deploy("$build/t/fixtures/binance_reload.so");

# ---- E: every order accounted for ----
ok(wait_for($log, qr/reload-trader done"? placed=(\d+)/, $WAIT_S), 'E: the strategy placed all its orders')
    or diag(slurp($log));
sub open_at_mock {
    my ($status, $body) = mock_http($rest, 'GET', '/api/v3/openOrders', signed => 1,
        query => 'symbol=BTCUSDT');
    return $status == 200 ? join(' ', sort map { $_->{clientOrderId} } @{ JSON::PP::decode_json($body) }) : "HTTP $status";
}
sub dump_state {
    my $json = `@{[lutra_bin()]} state dump --state $dir/state --json`;
    return $? == 0 ? JSON::PP::decode_json($json) : { orders => [] };
}
my %open_status = map { $_ => 1 } qw(pending_new new partially_filled pending_cancel);
sub open_in_store {
    return join ' ', sort map { $_->{id} } grep { $open_status{ $_->{status} } } @{ dump_state()->{orders} };
}
# Settled: both sides agree for a while (reports may still be on their way).
my ($mock_open, $store_open, $same) = ('', '', 0);
for (my $end = time + $WAIT_S; time < $end && $same < 3; sleep 0.2) {
    ($mock_open, $store_open) = (open_at_mock(), open_in_store());
    $same = $mock_open eq $store_open ? $same + 1 : 0;
}
is($store_open, $mock_open, "E: the store's open orders are the mock's ($mock_open)");
my @orders = @{ dump_state()->{orders} };
my ($placed) = slurp($log) =~ /reload-trader done"? placed=(\d+)/;
is(scalar @orders, $placed // -1, 'E: the store holds every order the strategy placed');
is(count_of(qr/reload-trader order \S+ rejected/), 0, 'E: none was rejected');
my ($ss, $stats) = mock_http($rest, 'POST', '/mock/stats');
my $new_orders = $ss == 200 ? JSON::PP::decode_json($stats)->{new_orders} : undef;
is($new_orders, scalar @orders, 'E: the mock received each order once (new_orders)');
is(scalar(grep { $_->{status} eq 'pending_new' } @orders), 0, 'E: none is left pending');
my ($canceled) = scalar grep { $_->{status} eq 'canceled' } @orders;
ok($canceled >= $placed - 3 - 1, "E: the strategy's cancels went through ($canceled canceled)");

# ---- F: lutra ctl's other answers ----
($rc, $out, $err) = ctl('reload-plugin', 'nosuch');
ok($rc == 1 && $err =~ /no venue named 'nosuch'/, 'F: reload-plugin of an unknown venue: exit 1, said');
($rc, $out, $err) = ctl('reload', 'nosuch');
ok($rc == 1 && $out =~ /"ok":false/, 'F: reload of an unknown strategy: exit 1');
($rc, $out, $err) = ctl('frobnicate');
ok($rc == 2 && $err =~ /no command 'frobnicate'/, 'F: an unknown command: exit 2 (usage)');
($rc, $out, $err) = ctl('reload');
is($rc, 2, 'F: reload without NAME: exit 2');
($rc, $out) = run_lutra('ctl', '--help');
ok($rc == 0 && $out =~ /usage: lutra ctl/ && $out =~ /reload-plugin NAME/, 'F: --help: exit 0, the usage');
($rc, $out, $err) = run_lutra('ctl', '--socket', "$dir/none.sock", 'status');
ok($rc == 1 && $err =~ /none\.sock/, 'F: a socket nobody serves: exit 1, named');
($rc, $st) = ctl_json('reload-config');
ok($rc == 0 && $st->{ok}, 'F: reload-config of an unchanged file: exit 0');
($rc, $st) = ctl_json('reload', 'trader');
ok($rc == 0 && $st->{ok}, 'F: reload trader: exit 0');

# ---- G: SIGHUP and a changed connector file ----
deploy("$build/plugins/binance.so");
kill 'HUP', $pid;
ok(wait_for($log, qr/connector reloaded"? venue=binance from=\Q$lutra_version\E-reload version=\Q$lutra_version\E /, $WAIT_S),
   'G: SIGHUP reloaded the changed connector file');
$v = wait_reloaded();
is($v->{version}, $lutra_version, 'G: the first build runs again');

# ---- H: a reload that does not finish in time ----
my $complete_before = count_of(qr/connector reload complete"? venue=binance/);
mock_http($rest, 'POST', '/mock/fault', query => 'kind=silent&value=1');
($rc, $out, $err) = ctl('reload-plugin', 'binance');
is($rc, 0, 'H: reload-plugin with the mock silent: the new connector starts (it connects later)');
ok(wait_for($log, qr/(reload-trader order \S+ rejected venue binance: its connector reload did not finish within 5000 ms)/, $WAIT_S),
   'H: after 5 s the waiting orders are rejected, saying why') or diag(slurp($log));
like(slurp($log), qr/reload-trader status connecting/, 'H: and the strategy hears the venue is not ready');
mock_http($rest, 'POST', '/mock/fault', query => 'kind=silent&value=0');
ok(wait_count(qr/connector reload complete"? venue=binance/, $complete_before + 1),
   'H: the mock answering again, the reload completes');
is(wait_reloaded()->{state}, 'ready', 'H: the venue is ready again');

# ---- the end ----
is(stop_run($pid, $WAIT_S), 0, 'lutra stopped cleanly') or diag(slurp($log));
ok(!-e "$dir/state/ctl.sock", 'the control socket is gone with it');
