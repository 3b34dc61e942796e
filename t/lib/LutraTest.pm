# LutraTest -- helpers for the script tests (t/*.t): where the binaries and
# the shared data are, and running lutra with its output captured.
package LutraTest;
use strict;
use warnings;
use Exporter 'import';
use File::Temp ();
use Test::More ();

our @EXPORT_OK = qw(lutra_bin build_dir shared_data run_lutra tempdir);

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

1;
