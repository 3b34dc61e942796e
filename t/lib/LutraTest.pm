# LutraTest -- helpers for the script tests (t/*.t): where the binaries and
# the shared data are, running lutra with its output captured, and the
# pieces of a `lutra run` against the mock Binance exchange (the mock, its
# key files, a venue's configuration, the run in the background, stopping
# it within a deadline).
package LutraTest;
use strict;
use warnings;
use Exporter 'import';
use Digest::SHA ();
use File::Basename ();
use File::Temp ();
use HTTP::Tiny ();
use POSIX ();
use Time::HiRes ();
use Test::More ();

our @EXPORT_OK = qw(lutra_bin build_dir shared_data run_lutra tempdir slurp write_file wait_for
                    start_mock_binance mock_http mock_quote MOCK_API_KEY MOCK_API_SECRET
                    write_mock_keys mock_venue_lua start_quiet_mock
                    start_run exit_status reap reap_or_kill kill_run stop_run);

# The mock exchange's own key and secret (t/mock_binance/mock_binance.h).
use constant MOCK_API_KEY => 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A';
use constant MOCK_API_SECRET => 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j';

# The END blocks below clean up after the test itself, never in a child.
my $test_pid = $$;

sub build_dir { $ENV{LUTRA_BUILD} // 'build' }
sub lutra_bin { $ENV{LUTRA_BIN} // build_dir() . '/lutra' }

# The path of a shared data file; skips the whole test when it is absent,
# except under CI=true, where absence is a failure.
sub shared_data {
    my ($rel) = @_;
    my $root = $ENV{LUTRA_SHARED_DATA} // '../shared/data';
    my $path = "$root/$rel";
    return $path if -e $path;
    my $why = "shared data $path not found (set LUTRA_SHARED_DATA)";
    Test::More::BAIL_OUT("$why, and CI=true requires it") if ($ENV{CI} // '') eq 'true';
    Test::More::plan(skip_all => $why);
}

sub tempdir { File::Temp::tempdir('lutra-test-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

# Run lutra with arguments; returns (exit status, stdout, stderr).
sub run_lutra {
    my @args = @_;
    my $dir = tempdir();
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/out" or die;
        open STDERR, '>', "$dir/err" or die;
        exec lutra_bin(), @args or die "exec: $!";
    }
    waitpid($pid, 0);
    my $status = $? >> 8;
    $status = 128 + ($? & 127) if $? & 127;
    local $/;
    open my $o, '<', "$dir/out" or die;
    open my $e, '<', "$dir/err" or die;
    return ($status, scalar <$o>, scalar <$e>);
}

# A file's whole text ('' when it does not exist yet).
sub slurp {
    my ($path) = @_;
    open my $f, '<', $path or return '';
    local $/;
    return scalar <$f>;
}

# Write $text to $path, then chmod it to $mode when one is given.
# @return $path.
sub write_file {
    my ($path, $text, $mode) = @_;
    open my $f, '>', $path or die "$path: $!";
    print $f $text;
    close $f or die "$path: $!";
    if (defined $mode) {
        chmod $mode, $path or die "chmod $path: $!";
    }
    return $path;
}

# Wait until the file's text matches $re, at most $seconds.
# @return the match's first group (or 1), undef on timeout.
sub wait_for {
    my ($path, $re, $seconds) = @_;
    for (my $end = Time::HiRes::time() + $seconds; Time::HiRes::time() < $end;
         Time::HiRes::sleep(0.05)) {
        my @m = slurp($path) =~ $re;
        return $m[0] // 1 if @m;
    }
    return undef;
}

# ---- The mock Binance exchange ----

# Start the mock Binance exchange program of this build with @args, its
# output in $dir/mock.out and mock.err. @return ($pid, $rest_port,
# $ws_port); BAIL_OUT when it does not come up in 10 s. It is stopped
# (SIGTERM) when the test exits.
my @mock_pids;
END { kill 'TERM', @mock_pids if @mock_pids && $$ == $test_pid; }

sub start_mock_binance {
    my ($dir, @args) = @_;
    my $bin = File::Basename::dirname(lutra_bin()) . '/t/mock_binance/mock_binance';
    -x $bin or Test::More::BAIL_OUT("no mock exchange at $bin");
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/mock.out" or die;
        open STDERR, '>', "$dir/mock.err" or die;
        exec $bin, '--port', '0', @args or die "exec: $!";
    }
    push @mock_pids, $pid;
    my ($rest, $ws) = (undef, undef);
    for (my $end = Time::HiRes::time() + 10; Time::HiRes::time() < $end && !$rest;
         Time::HiRes::sleep(0.05)) {
        ($rest, $ws) = slurp("$dir/mock.out") =~ /rest_port=(\d+) ws_port=(\d+)/;
    }
    $rest or Test::More::BAIL_OUT('the mock exchange did not start: ' . slurp("$dir/mock.err"));
    return ($pid, $rest, $ws);
}

# One request to the mock's REST port: mock_http($port, METHOD, PATH,
# [query => 'a=b', signed => 1, key => K, secret => S]). Signed requests
# carry timestamp and signature the way Binance wants them, with the mock's
# own key and secret unless others are given.
# @return ($http_status, $body).
sub mock_http {
    my ($port, $method, $path, %o) = @_;
    my $query = $o{query} // '';
    if ($o{signed}) {
        $o{key} //= MOCK_API_KEY;
        my $secret = $o{secret} // MOCK_API_SECRET;
        $query .= ($query eq '' ? '' : '&') . 'timestamp=' . int(Time::HiRes::time() * 1000);
        $query .= '&signature=' . Digest::SHA::hmac_sha256_hex($query, $secret);
    }
    my $url = "http://127.0.0.1:$port$path" . ($query eq '' ? '' : "?$query");
    my %h = $o{key} ? (headers => { 'X-MBX-APIKEY' => $o{key} }) : ();
    my $r = HTTP::Tiny->new(timeout => 10)->request($method, $url, \%h);
    return ($r->{status}, $r->{content});
}

# The mock's BTCUSDT book: one level a side, qty 1 each.
sub mock_quote {
    my ($port, $bid, $ask) = @_;
    for my $level (['bid', $bid], ['ask', $ask]) {
        mock_http($port, 'POST', '/mock/level',
                  query => "symbol=BTCUSDT&side=$level->[0]&price=$level->[1]&qty=1");
    }
}

# The mock's key and secret in $dir/key and $dir/secret, mode 0600 (lutra
# refuses a secret file others may read), where mock_venue_lua points.
sub write_mock_keys {
    my ($dir) = @_;
    write_file("$dir/key", MOCK_API_KEY . "\n", 0600);
    write_file("$dir/secret", MOCK_API_SECRET . "\n", 0600);
}

# A configuration's venue `binance = { ... }` (Lua text) trading the mock
# on ports $rest and $ws with the key files of write_mock_keys($dir).
# Options: connector (a name or a path; 'binance'), symbols (['BTCUSDT']),
# keys (0: no key files, as on paper), extra (more fields, as Lua text).
sub mock_venue_lua {
    my ($dir, $rest, $ws, %o) = @_;
    my $symbols = join ', ', map { "'$_'" } @{ $o{symbols} // ['BTCUSDT'] };
    my $keys = ($o{keys} // 1)
        ? "    api_key = { file = '$dir/key' }, api_secret = { file = '$dir/secret' },\n" : '';
    my $extra = defined $o{extra} ? ", $o{extra}" : '';
    return "binance = { connector = '" . ($o{connector} // 'binance') . "',\n"
         . "    rest_url = 'http://127.0.0.1:$rest', ws_url = 'ws://127.0.0.1:$ws',\n"
         . $keys . "    symbols = { $symbols }$extra }";
}

# The mock as a test of `lutra run` against it usually wants it: its own
# generated market silent (--quiet-book), a book of 59999 / 60001, and its
# key files in $dir for mock_venue_lua. @return ($rest_port, $ws_port).
sub start_quiet_mock {
    my ($dir) = @_;
    my (undef, $rest, $ws) = start_mock_binance($dir, '--quiet-book');
    mock_quote($rest, '59999', '60001');
    write_mock_keys($dir);
    return ($rest, $ws);
}

# ---- `lutra run` in the background ----

# Every run started and not reaped yet: killed and reaped when the test
# exits, so that no lutra outlives it.
my (%running, %exited);
END {
    if ($$ == $test_pid) {
        kill 'KILL', keys %running;
        waitpid($_, 0) for keys %running;
    }
}

my $runs = 0;

# Start `lutra run --config $config`, its stderr (the log) in a file and its
# stdout beside it ($log.out). Options: log (the file; run<N>.log in the
# config's folder), env ({NAME => value} for lutra alone; an undef value
# sets nothing), args (more arguments). @return ($pid, $log).
sub start_run {
    my ($config, %o) = @_;
    my $log = $o{log} // File::Basename::dirname($config) . '/run' . ++$runs . '.log';
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$log.out" or die "$log.out: $!";
        open STDERR, '>', $log or die "$log: $!";
        for my $name (keys %{ $o{env} // {} }) {
            $ENV{$name} = $o{env}{$name} if defined $o{env}{$name};
        }
        { exec lutra_bin(), 'run', '--config', $config, @{ $o{args} // [] } }
        print STDERR "exec @{[lutra_bin()]}: $!\n";
        POSIX::_exit(127);
    }
    $running{$pid} = 1;
    return ($pid, $log);
}

# The wait status of a run that ended, undef while it runs.
sub exit_status {
    my ($pid) = @_;
    if ($running{$pid} && waitpid($pid, POSIX::WNOHANG()) == $pid) {
        delete $running{$pid};
        $exited{$pid} = $?;
    }
    return $exited{$pid};
}

# Wait for a run to end, at most $seconds. @return its wait status, undef
# while it still runs.
sub reap {
    my ($pid, $seconds) = @_;
    for (my $end = Time::HiRes::time() + $seconds; ; Time::HiRes::sleep(0.02)) {
        my $status = exit_status($pid);
        return $status if defined $status || Time::HiRes::time() >= $end;
    }
}

# SIGKILL a run and reap it (at most $seconds, 20 by default).
# @return its wait status.
sub kill_run {
    my ($pid, $seconds) = @_;
    kill 'KILL', $pid;
    return reap($pid, $seconds // 20);
}

# Wait for a run to end, at most $seconds (20 by default); one that has not
# ended by then is killed. @return its wait status, -1 when it had to be
# killed (so that our SIGKILL never passes for a crash of its own).
sub reap_or_kill {
    my ($pid, $seconds) = @_;
    my $status = reap($pid, $seconds // 20);
    return $status if defined $status;
    kill_run($pid);
    return -1;
}

# SIGTERM a run and wait as reap_or_kill does. @return its wait status
# (0: a clean stop), -1 when it had to be killed.
sub stop_run {
    my ($pid, $seconds) = @_;
    kill 'TERM', $pid;
    return reap_or_kill($pid, $seconds);
}

1;
