# LutraTest -- helpers for the script tests (t/*.t): where the binaries and
# the shared data are, and running lutra with its output captured.
package LutraTest;
use strict;
use warnings;
use Exporter 'import';
use Digest::SHA ();
use File::Basename ();
use File::Temp ();
use HTTP::Tiny ();
use Time::HiRes ();
use Test::More ();

our @EXPORT_OK = qw(lutra_bin build_dir shared_data run_lutra tempdir slurp wait_for
                    start_mock_binance mock_http);

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

# Start the mock Binance exchange program of this build with @args, its
# output in $dir/mock.out and mock.err. @return ($pid, $rest_port,
# $ws_port); BAIL_OUT when it does not come up in 10 s. It is stopped
# (SIGTERM) when the test exits.
my @mock_pids;
END { kill 'TERM', @mock_pids if @mock_pids; }

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
# carry timestamp and signature the way Binance wants them.
# @return ($http_status, $body).
sub mock_http {
    my ($port, $method, $path, %o) = @_;
    my $query = $o{query} // '';
    if ($o{signed}) {
        $query .= ($query eq '' ? '' : '&') . 'timestamp=' . int(Time::HiRes::time() * 1000);
        $query .= '&signature=' . Digest::SHA::hmac_sha256_hex($query, $o{secret});
    }
    my $url = "http://127.0.0.1:$port$path" . ($query eq '' ? '' : "?$query");
    my %h = $o{key} ? (headers => { 'X-MBX-APIKEY' => $o{key} }) : ();
    my $r = HTTP::Tiny->new(timeout => 10)->request($method, $url, \%h);
    return ($r->{status}, $r->{content});
}

1;
